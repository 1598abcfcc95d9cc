//! Workgroup browsing, as libsmbclient finds a workgroup's master browser: a private nmbd
//! on 127.0.0.3 that wins its workgroup's browser election, found by the client's name
//! query for `WORKGROUP<1d>` and recognised by the `__MSBROWSE__<01>` group name in its
//! node status (MS-BRWS 2.1.1.3), by a unicast query and by a broadcast without a name
//! server. Only one nmbd can run per machine, and the election
//! takes over 20 s, so one function checks everything that needs the master browser,
//! the URL context's `smb://` and `smb://WORKGROUP` listings included (libsmbclient's
//! browsing, through the core's `client::browse` planner).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use smb_blocking::{ConnectOptions, Connection, Context, DirentType, ErrorKind};

use smb_proto::client::browse::BrowseOptions;
use smb_proto::netbios::{suffix, NameService, NameServiceError, NetBiosName};
use smb_tests::nmbd::NmbServer;
use smb_tests::{SambaServer, Share};

#[test]
fn the_master_browser_of_a_workgroup_is_found_by_name() {
    let nmbd = NmbServer::master_browser();
    // RD clear, as a browsing client asks a node directly (nmbd ignores RD queries
    // for names it holds only as a browser).
    let netbios = smb_blocking::NetBios::new(NameService::new().recursion_desired(false));
    let timeout = Duration::from_secs(2);
    let master = format!("{}#1d", nmbd.workgroup());
    let found = netbios
        .query_name(&master, nmbd.address(), timeout)
        .unwrap_or_else(|e| panic!("{master}: {e}\n--- nmbd log ---\n{}", nmbd.log()));
    assert_eq!(found, vec![nmbd.address()]);

    let status = netbios.node_status(nmbd.address(), timeout).unwrap();
    let msbrowse = status
        .names
        .iter()
        .find(|n| n.name == NetBiosName::msbrowse())
        .unwrap_or_else(|| panic!("no __MSBROWSE__ in {:?}", status.names));
    assert!(msbrowse.is_group(), "__MSBROWSE__<01> is a group name");
    let workgroup_master = NetBiosName::new(nmbd.workgroup(), suffix::MASTER_BROWSER).unwrap();
    assert!(
        status
            .names
            .iter()
            .any(|n| n.name == workgroup_master && !n.is_group()),
        "{workgroup_master} (unique) missing from {:?}",
        status.names
    );

    // Without a name server: a broadcast on the loopback subnet, answered by the master
    // browser from its own address, in every driver (each sets SO_BROADCAST itself).
    let everyone = Ipv4Addr::new(127, 255, 255, 255);
    let broadcast = NameService::new().broadcast(true);
    let by_broadcast = smb_blocking::NetBios::new(broadcast)
        .query_name(&master, everyone, timeout)
        .unwrap_or_else(|e| panic!("broadcast {master}: {e}\n--- nmbd log ---\n{}", nmbd.log()));
    assert_eq!(by_broadcast, vec![nmbd.address()]);
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let on_tokio = tokio
        .block_on(async {
            smb_tokio::netbios(broadcast)
                .query_name(&master, everyone, timeout)
                .await
        })
        .unwrap();
    assert_eq!(on_tokio, vec![nmbd.address()]);
    let on_smol =
        smol::block_on(smb_asyncstd::netbios(broadcast).query_name(&master, everyone, timeout))
            .unwrap();
    assert_eq!(on_smol, vec![nmbd.address()]);
    // Nobody holds this one: silence until the timeout.
    let nobody = smb_blocking::NetBios::new(broadcast).query_name(
        "NOSUCHGROUP#1d",
        everyone,
        Duration::from_millis(600),
    );
    assert!(nobody.is_err(), "{nobody:?}");

    // A workgroup with no master browser has none to find: a negative answer, not the
    // address of whatever node answered.
    let nobody = netbios.query_name("NOSUCHGROUP#1d", nmbd.address(), timeout);
    assert!(nobody.is_err(), "{nobody:?}");

    // The browse list, over RAP: an SMB1 smbd sharing nmbd's cache directory serves the
    // list nmbd keeps (browse.dat), as a master browser's smbd does.
    // It speaks SMB1 to 3.1.1; the browsing client asks for SMB1 only.
    // On nmbd's address: the URL context reaches the master browser where it answered.
    let smbd = SambaServer::builder()
        .share(Share::new("share"))
        .address(nmbd.address())
        .min_dialect("NT1")
        .global("workgroup", nmbd.workgroup())
        .global("cache directory", &nmbd.cache_dir().display().to_string())
        .start();
    let mut smb1 = smbd.connect_options().smb1(true);
    smb1.max_dialect = smb_proto::Dialect::Nt1;
    let conn = Connection::connect(&smb1).unwrap();
    assert_eq!(conn.negotiated().dialect, smb_proto::Dialect::Nt1);
    // nmbd writes browse.dat some seconds after it won the election.
    let deadline = Instant::now() + Duration::from_secs(60);
    let servers = loop {
        let servers = conn.list_servers(nmbd.workgroup());
        match &servers {
            Ok(list) if list.iter().any(|s| s.name == nmbd.netbios_name()) => break servers,
            _ if Instant::now() > deadline => panic!(
                "{} not in the browse list: {servers:?}\n--- nmbd log ---\n{}",
                nmbd.netbios_name(),
                nmbd.log()
            ),
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
    }
    .unwrap();
    let server = servers
        .iter()
        .find(|s| s.name == nmbd.netbios_name())
        .unwrap();
    assert_ne!(
        server.server_type & smb_proto::rpc::rap::server_type::MASTER_BROWSER,
        0,
        "{server:?}"
    );
    let workgroups = conn.list_workgroups(nmbd.workgroup()).unwrap();
    assert!(
        workgroups.iter().any(|w| w.name == nmbd.workgroup()),
        "{workgroups:?}"
    );
    // RAP is SMB1's: an SMB2 connection refuses the call, naming the option.
    let smb2 = Connection::connect(&smbd.connect_options()).unwrap();
    let e = smb2.list_servers(nmbd.workgroup()).unwrap_err();
    assert_eq!(e.kind(), smb_blocking::ErrorKind::Unsupported, "{e}");
    assert!(e.to_string().contains("smb1"), "{e}");

    drop(conn);
    drop(smb2);

    // The URL context, as libsmbclient's opendir: `smb://` lists the workgroups the
    // master browser knows, `smb://WORKGROUP` its servers, `smb://SERVER` (an address
    // here) its shares; asked by broadcast on the loopback subnet and of nmbd alone.
    let context = |browse: BrowseOptions| {
        Context::new(
            ConnectOptions::new("")
                .port(smbd.port())
                .smb1(true)
                .user(smbd.user(), smbd.password()),
        )
        .credentials(nmbd.workgroup(), smbd.user(), smbd.password())
        .browse(browse)
    };
    let by_broadcast = context(BrowseOptions::broadcast(everyone));
    let by_unicast = context(BrowseOptions::name_server(nmbd.address()));
    for ctx in [&by_broadcast, &by_unicast] {
        let workgroups: Vec<_> = ctx.opendir("smb://").unwrap().collect();
        assert!(
            workgroups
                .iter()
                .any(|e| e.name == nmbd.workgroup() && e.kind == DirentType::Workgroup),
            "{workgroups:?}"
        );
        assert!(workgroups
            .iter()
            .all(|e| e.kind == DirentType::Workgroup && e.info.is_none()));
        let url = format!("smb://{}", nmbd.workgroup().to_lowercase());
        let servers: Vec<_> = ctx.opendir(&url).unwrap().collect();
        let server = servers
            .iter()
            .find(|e| e.name == nmbd.netbios_name())
            .unwrap_or_else(|| panic!("{} not in {servers:?}", nmbd.netbios_name()));
        assert_eq!(
            (server.kind, server.kind.smbc_type()),
            (DirentType::Server, 2)
        );
    }
    // Found through `__MSBROWSE__<01>` alone: the context's own workgroup has no master
    // browser, so the fallback query for `NOSUCHGROUP<1d>` / `<1b>` cannot be what
    // found nmbd's workgroup.
    for browse in [
        BrowseOptions::broadcast(everyone),
        BrowseOptions::name_server(nmbd.address()),
    ] {
        let ctx = context(browse).credentials("NOSUCHGROUP", smbd.user(), smbd.password());
        let workgroups: Vec<_> = ctx.opendir("smb://").unwrap().collect();
        assert!(
            workgroups.iter().any(|e| e.name == nmbd.workgroup()),
            "{workgroups:?}"
        );
    }
    // A server's URL still lists its shares, without a name query.
    let shares: Vec<_> = by_unicast
        .opendir(&format!("smb://{}:{}", nmbd.address(), smbd.port()))
        .unwrap()
        .collect();
    assert!(
        shares
            .iter()
            .any(|e| e.name == "share" && e.kind == DirentType::FileShare),
        "{shares:?}"
    );
    // The same listings through the async context, on tokio.
    let tokio_workgroups = tokio.block_on(async {
        let ctx = smb_tokio::Context::new(
            ConnectOptions::new("")
                .port(smbd.port())
                .smb1(true)
                .user(smbd.user(), smbd.password()),
        )
        .credentials(nmbd.workgroup(), smbd.user(), smbd.password())
        .browse(BrowseOptions::broadcast(everyone));
        let mut names = Vec::new();
        for url in ["smb://".to_string(), format!("smb://{}", nmbd.workgroup())] {
            let mut dir = ctx.opendir(&url).await.unwrap();
            while let Some(entry) = dir.next().await {
                let entry = entry.unwrap();
                names.push((entry.name, entry.kind));
            }
        }
        names
    });
    for wanted in [
        (nmbd.workgroup().to_string(), DirentType::Workgroup),
        (nmbd.netbios_name().to_string(), DirentType::Server),
    ] {
        assert!(
            tokio_workgroups.contains(&wanted),
            "{wanted:?} not in {tokio_workgroups:?}"
        );
    }
    // No SMB1, no browsing: the error names the option, and nothing was asked.
    let e = Context::new(ConnectOptions::new("").port(smbd.port()))
        .browse(BrowseOptions::name_server(nmbd.address()))
        .opendir("smb://")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(e.to_string().contains("--smb1"), "{e}");
}

/// No master browser answering `smb://`'s name queries is an error of its own (ENOENT),
/// naming where the queries went and what they asked for: here a name service port on
/// which a socket is bound and never answers.
#[test]
fn browsing_without_a_master_browser_fails_with_a_typed_error() {
    let silent = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = silent.local_addr().unwrap().port();
    let browse = BrowseOptions::name_server(Ipv4Addr::LOCALHOST)
        .port(port)
        .timeout(Duration::from_millis(300));
    let started = Instant::now();
    let e = Context::new(ConnectOptions::new("").smb1(true))
        .credentials("SOMEGROUP", "", "")
        .browse(browse)
        .opendir("smb://")
        .unwrap_err();
    assert!(
        matches!(
            e,
            smb_blocking::Error::NameService(NameServiceError::NoMasterBrowser { .. })
        ),
        "{e:?}"
    );
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let msg = e.to_string();
    for part in [
        "no master browser",
        "127.0.0.1",
        "__MSBROWSE__",
        "SOMEGROUP<1d>",
        "SOMEGROUP<1b>",
    ] {
        assert!(msg.contains(part), "{part:?} missing in {msg}");
    }
    // Three names asked, each for its timeout.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    // The async context says the same.
    let on_smol = smol::block_on(async {
        smb_async::Context::new(smb_asyncstd::runtime(), ConnectOptions::new("").smb1(true))
            .credentials("SOMEGROUP", "", "")
            .browse(browse)
            .opendir("smb://")
            .await
            .map(drop)
            .unwrap_err()
    });
    assert_eq!(on_smol.kind(), ErrorKind::NotFound, "{on_smol}");
}
