//! DFS against two private smbds: a DFS root on 127.0.0.1 (`host msdfs`, a share with
//! `msdfs root`) whose links are `msdfs:` symlinks to a share of a second smbd on
//! 127.0.0.2, both on one port (a referral names no port; the client keeps the root's
//! with `dfs_keep_port`). Reads, listings and stats go through a link; a link whose
//! first target is down (127.0.0.3, where nothing listens) fails over to the second;
//! the referral cache answers a second call without a new referral until the
//! referral's time to live has passed on the context's clock.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smb_blocking::{Connection, Context, NtStatus, O_RDONLY};
use smb_proto::ops::GetDfsReferral;
use smb_tests::dfs::{servers, CONTENT};
use smb_tests::SambaServer;

/// A context that keeps the root's port for referral targets, and whose clock the
/// test moves forward by `offset` seconds.
fn context(root: &SambaServer, offset: Arc<AtomicU64>) -> Context {
    let start = Instant::now();
    Context::new(root.connect_options().dfs_keep_port(true))
        .clock(move || start + Duration::from_secs(offset.load(Ordering::SeqCst)))
}

fn read(ctx: &Context, url: &str) -> Vec<u8> {
    let mut f = ctx
        .open(url, O_RDONLY)
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let mut got = Vec::new();
    f.read_to_end(&mut got).unwrap();
    got
}

/// What the core logged at debug level while `f` ran on this thread.
fn logged(f: impl FnOnce()) -> String {
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    text
}

fn referrals_asked(logs: &str) -> usize {
    logs.matches("asking for a dfs referral").count()
}

/// On the root's own connection: a plain file of the DFS share is reached with DFS
/// paths (the tree is flagged DFS, the CREATE names `127.0.0.1\dfsroot\local.txt`);
/// a path through a link is STATUS_PATH_NOT_COVERED; the referral names the target.
#[test]
fn root_connection_dfs_paths_and_referral() {
    let (root, _target) = servers();
    let conn = Connection::connect(&root.connect_options()).unwrap();
    let logs = logged(|| {
        assert_eq!(conn.get_attributes("dfsroot", "local.txt").unwrap().size, 5);
    });
    assert!(logs.contains("dfs=true"), "tree not flagged DFS:\n{logs}");
    let e = conn
        .get_attributes("dfsroot", "link1\\hello.txt")
        .unwrap_err();
    assert_eq!(e.status(), Some(NtStatus::PATH_NOT_COVERED), "{e}");

    let referral = conn
        .call(GetDfsReferral::new(
            "\\127.0.0.1\\dfsroot\\link2\\hello.txt",
        ))
        .unwrap();
    let targets: Vec<&str> = referral
        .referrals
        .iter()
        .map(|r| r.network_address.as_str())
        .collect();
    assert_eq!(targets, ["\\127.0.0.3\\target", "\\127.0.0.2\\target"]);
    let first = &referral.referrals[0];
    assert!(!first.is_root() && first.ttl > 0, "{first:?}");
    assert!(
        first
            .dfs_path
            .to_ascii_lowercase()
            .ends_with("\\dfsroot\\link2"),
        "{first:?}"
    );
    // A path under no link of a share that is no DFS root has no referral.
    let e = conn
        .call(GetDfsReferral::new("\\127.0.0.1\\IPC$\\x"))
        .unwrap_err();
    assert!(e.status().is_some(), "{e}");
}

/// Read, stat and list through a link, on the target server.
#[test]
fn read_stat_and_list_through_a_link() {
    let (root, target) = servers();
    let ctx = context(&root, Arc::default());
    let base = root.url("dfsroot");
    assert_eq!(read(&ctx, &format!("{base}/link1/hello.txt")), CONTENT);
    let info = ctx.stat(&format!("{base}/link1/sub/b.txt")).unwrap();
    assert_eq!(info.size, 2);
    let mut names: Vec<String> = ctx
        .opendir(&format!("{base}/link1/sub"))
        .unwrap()
        .map(|e| e.name)
        .collect();
    names.sort();
    assert_eq!(names, ["a.txt", "b.txt"]);
    // Writes land on the target's disk.
    ctx.mkdir(&format!("{base}/link1/made")).unwrap();
    assert!(target.share_path("target").join("made").is_dir());
    // Two servers: the root and the target.
    assert_eq!(ctx.connections(), 2);
    // A plain file of the root share is still the root's.
    assert_eq!(read(&ctx, &format!("{base}/local.txt")), b"local");
}

/// `link2`'s first target (127.0.0.3) refuses connections: the context moves on to
/// the second, and then tries that one first.
#[test]
fn fails_over_to_the_next_target() {
    let (root, _target) = servers();
    let ctx = context(&root, Arc::default());
    let base = root.url("dfsroot");
    let logs = logged(|| {
        assert_eq!(read(&ctx, &format!("{base}/link2/hello.txt")), CONTENT);
    });
    assert_eq!(
        logs.matches("dfs target unreachable").count(),
        1,
        "the first target was not tried first:\n{logs}"
    );
    assert!(logs.contains("server=127.0.0.3"), "{logs}");
    let logs = logged(|| {
        assert_eq!(
            ctx.stat(&format!("{base}/link2/sub/a.txt")).unwrap().size,
            1
        );
    });
    assert!(
        !logs.contains("dfs target unreachable"),
        "the target that answered is not tried first:\n{logs}"
    );
}

/// The second call under a link asks no referral; once the clock passes the
/// referral's time to live, the next call asks again.
#[test]
fn referral_cache_until_ttl() {
    let (root, _target) = servers();
    let offset = Arc::new(AtomicU64::new(0));
    let ctx = context(&root, offset.clone());
    let base = root.url("dfsroot");
    let url = format!("{base}/link1/hello.txt");
    let logs = logged(|| {
        assert_eq!(read(&ctx, &url), CONTENT);
    });
    assert_eq!(referrals_asked(&logs), 1, "{logs}");
    assert_eq!(ctx.dfs_referrals(), 1);
    let logs = logged(|| {
        assert_eq!(ctx.stat(&url).unwrap().size, CONTENT.len() as u64);
        assert_eq!(
            ctx.stat(&format!("{base}/link1/sub/a.txt")).unwrap().size,
            1
        );
    });
    assert_eq!(referrals_asked(&logs), 0, "the cache was not used:\n{logs}");
    // Samba's referrals live 300 s (`msdfs:` links have no TTL of their own); a day on
    // is past any.
    offset.store(86_400, Ordering::SeqCst);
    assert_eq!(ctx.dfs_referrals(), 0, "the referral outlived its TTL");
    let logs = logged(|| {
        assert_eq!(read(&ctx, &url), CONTENT);
    });
    assert_eq!(referrals_asked(&logs), 1, "{logs}");
}

/// Rename through a link: both ends under one link are renamed on the target's disk
/// (the new name's directory being the link itself, or a directory under it); ends
/// that land on different targets (the root's own share and a link's target) are
/// refused with `NotSameDfsTarget` (EXDEV), nothing renamed.
#[test]
fn rename_through_a_link() {
    let (root, target) = servers();
    let ctx = context(&root, Arc::default());
    let base = root.url("dfsroot");
    let disk = target.share_path("target");
    ctx.rename(
        &format!("{base}/link1/sub/a.txt"),
        &format!("{base}/link1/sub/renamed.txt"),
    )
    .unwrap();
    assert!(disk.join("sub/renamed.txt").is_file() && !disk.join("sub/a.txt").exists());
    ctx.rename(
        &format!("{base}/link1/sub/renamed.txt"),
        &format!("{base}/link1/top.txt"),
    )
    .unwrap();
    assert_eq!(std::fs::read(disk.join("top.txt")).unwrap(), b"a");

    for (from, to) in [
        ("link1/hello.txt", "moved.txt"),
        ("local.txt", "link1/local.txt"),
    ] {
        let e = ctx
            .rename(&format!("{base}/{from}"), &format!("{base}/{to}"))
            .unwrap_err();
        assert!(
            matches!(
                e,
                smb_blocking::Error::Smb(smb_proto::Error::NotSameDfsTarget { .. })
            ),
            "{from} -> {to}: {e}"
        );
        assert_eq!(e.errno(), smb_proto::Errno::EXDEV, "{e}");
    }
    assert!(disk.join("hello.txt").is_file());
    assert!(root.share_path("dfsroot").join("local.txt").is_file());
    assert!(!disk.join("local.txt").exists());
    // A rename within the root's own share is a plain one.
    ctx.rename(&format!("{base}/local.txt"), &format!("{base}/local2.txt"))
        .unwrap();
    assert!(root.share_path("dfsroot").join("local2.txt").is_file());
}

/// The path API on a DFS namespace: `Context::locate` says where a path lives (the
/// target server and share), and `Context::path` gives a `SmbPath` there that reads
/// and lists through the link.
#[test]
fn path_api_through_a_link() {
    let (root, _target) = servers();
    let ctx = context(&root, Arc::default());
    let base = root.url("dfsroot");
    let (_, at) = ctx.locate(&format!("{base}/link1/sub/a.txt")).unwrap();
    assert_eq!(
        (at.url.host.as_str(), at.share().unwrap(), at.path()),
        ("127.0.0.2", "target", "sub\\a.txt")
    );
    // A missing file's location is known too; a plain file is the root's.
    let (_, at) = ctx.locate(&format!("{base}/link1/nothing")).unwrap();
    assert_eq!(at.url.host, "127.0.0.2");
    let (_, at) = ctx.locate(&format!("{base}/local.txt")).unwrap();
    assert_eq!(
        (at.url.host.as_str(), at.share().unwrap()),
        ("127.0.0.1", "dfsroot")
    );

    let sub = ctx.path(&format!("{base}/link1/sub")).unwrap();
    let mut names: Vec<String> = sub
        .iterdir()
        .unwrap()
        .map(|p| p.name().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["a.txt", "b.txt"]);
    assert_eq!(sub.join("b.txt").read_bytes().unwrap(), b"bb");
    let hello = ctx.path(&format!("{base}/link2/hello.txt")).unwrap();
    assert_eq!(hello.read_bytes().unwrap(), CONTENT);
}

/// The async context (on tokio) follows links by the same state machine: reads,
/// lists, stats, fails over from the down first target of `link2`, renames through a
/// link and gives a path on the target.
#[test]
fn async_context_follows_links_and_fails_over() {
    use tokio::io::AsyncReadExt;
    let (root, target) = servers();
    let base = root.url("dfsroot");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ctx =
        rt.block_on(async { smb_tokio::Context::new(root.connect_options().dfs_keep_port(true)) });
    let logs = logged(|| {
        rt.block_on(async {
            let mut f = ctx
                .open(&format!("{base}/link1/hello.txt"), O_RDONLY)
                .await
                .unwrap();
            let mut got = Vec::new();
            f.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, CONTENT);
            let mut dir = ctx.opendir(&format!("{base}/link1/sub")).await.unwrap();
            let mut names = Vec::new();
            while let Some(entry) = dir.next().await {
                names.push(entry.unwrap().name);
            }
            names.sort();
            assert_eq!(names, ["a.txt", "b.txt"]);
            assert_eq!(ctx.connections(), 2);
            assert_eq!(ctx.dfs_referrals(), 1);
        })
    });
    assert_eq!(referrals_asked(&logs), 1, "{logs}");

    let logs = logged(|| {
        rt.block_on(async {
            let info = ctx.stat(&format!("{base}/link2/sub/b.txt")).await.unwrap();
            assert_eq!(info.size, 2);
        })
    });
    assert_eq!(
        logs.matches("dfs target unreachable").count(),
        1,
        "the first target was not tried first:\n{logs}"
    );
    assert!(logs.contains("server=127.0.0.3"), "{logs}");
    let logs = logged(|| {
        rt.block_on(async {
            let mut dir = ctx.opendir(&format!("{base}/link2")).await.unwrap();
            let mut n = 0;
            while let Some(entry) = dir.next().await {
                entry.unwrap();
                n += 1;
            }
            assert_eq!(n, 2, "hello.txt and sub");
        })
    });
    assert!(
        !logs.contains("dfs target unreachable") && referrals_asked(&logs) == 0,
        "the target that answered is not tried first, or the cache unused:\n{logs}"
    );

    rt.block_on(async {
        ctx.rename(
            &format!("{base}/link1/sub/a.txt"),
            &format!("{base}/link1/sub/c.txt"),
        )
        .await
        .unwrap();
        assert!(target.share_path("target").join("sub/c.txt").is_file());
        let e = ctx
            .rename(&format!("{base}/link1/hello.txt"), &format!("{base}/x.txt"))
            .await
            .unwrap_err();
        assert_eq!(e.errno(), smb_proto::Errno::EXDEV, "{e}");
        let p = ctx.path(&format!("{base}/link1/sub/b.txt")).await.unwrap();
        assert_eq!(p.read_bytes().await.unwrap(), b"bb");
    });
}
