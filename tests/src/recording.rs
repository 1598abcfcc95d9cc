//! The [replay script](crate::script) played by each driver: recorded against a live
//! server through [`ConnectOptions::record`], and replayed with no network through each
//! driver's `replay` (DESIGN.md testing ladder, step 4). The bytes are recorded and
//! compared by `smb_proto::replay`; this only makes the calls.

use smb_proto::client::{ConnectOptions, RecordBuffer, RecordTarget};
use smb_proto::replay::{RecordOptions, Recording, Replay};

use crate::script::{self, content, Step, DIR, FILE, RENAMED, SHARE, STEPS};

/// A driver the script runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// `smb-blocking`.
    Blocking,
    /// `smb-tokio`, on a multi-threaded runtime.
    Tokio,
    /// `smb-asyncstd` on smol's executor.
    Smol,
}

impl Driver {
    /// Every driver.
    pub const ALL: [Driver; 3] = [Driver::Blocking, Driver::Tokio, Driver::Smol];
}

fn fail(step: Step, e: impl std::fmt::Display) -> String {
    format!("{step:?}: {e}")
}

/// Plays [`STEPS`] on a blocking connection, `file_len` bytes put and got; the last step
/// closes it.
pub fn play_blocking(conn: smb_blocking::Connection, file_len: usize) -> Result<(), String> {
    let data = content(file_len);
    let len = file_len as u64;
    for step in STEPS {
        let f = |e| fail(step, e);
        match step {
            Step::Mkdir => conn.create_directory(SHARE, DIR).map_err(f)?,
            Step::Put => {
                let n = conn.store_file(SHARE, FILE, &mut &data[..]).map_err(f)?;
                (n == len)
                    .then_some(())
                    .ok_or(f(smb_blocking::Error::Io(short(n))))?
            }
            Step::Stat => script::check_stat(&conn.get_attributes(SHARE, FILE).map_err(f)?, len)?,
            Step::List => script::check_listing(&conn.list_path(SHARE, DIR, "*").map_err(f)?, len)?,
            Step::Get => {
                let mut got = Vec::new();
                conn.retrieve_file(SHARE, FILE, &mut got).map_err(f)?;
                if got != data {
                    return Err(format!("{step:?}: the file read back differs"));
                }
            }
            Step::Rename => conn.rename(SHARE, FILE, RENAMED).map_err(f)?,
            Step::StatMissing => match conn.get_attributes(SHARE, FILE) {
                Err(smb_blocking::Error::Smb(e)) => script::check_missing(&e)?,
                other => return Err(format!("{step:?}: {other:?}")),
            },
            Step::Delete => {
                conn.delete_files(SHARE, RENAMED).map_err(f)?;
            }
            Step::Rmdir => conn.delete_directory(SHARE, DIR).map_err(f)?,
            Step::Echo => conn.echo().map_err(f)?,
            Step::Logoff => return conn.close().map_err(f),
        }
    }
    Ok(())
}

fn short(n: u64) -> std::io::Error {
    std::io::Error::other(format!("only {n} bytes stored"))
}

/// Plays [`STEPS`] on an async client (tokio's, async-std's and smol's are all this
/// one); the last step closes it.
pub async fn play_async(client: smb_asyncstd::Client, file_len: usize) -> Result<(), String> {
    let data = content(file_len);
    let len = file_len as u64;
    for step in STEPS {
        let f = |e| fail(step, e);
        match step {
            Step::Mkdir => client.create_directory(SHARE, DIR).await.map_err(f)?,
            Step::Put => {
                let n = client
                    .store_file(SHARE, FILE, &mut &data[..])
                    .await
                    .map_err(f)?;
                (n == len)
                    .then_some(())
                    .ok_or(f(smb_asyncstd::Error::Io(short(n))))?
            }
            Step::Stat => {
                let info = client.get_attributes(SHARE, FILE).await.map_err(f)?;
                script::check_stat(&info, len)?
            }
            Step::List => {
                let entries = client.list_path(SHARE, DIR, "*").await.map_err(f)?;
                script::check_listing(&entries, len)?
            }
            Step::Get => {
                let mut got = Vec::new();
                client
                    .retrieve_file(SHARE, FILE, &mut got)
                    .await
                    .map_err(f)?;
                if got != data {
                    return Err(format!("{step:?}: the file read back differs"));
                }
            }
            Step::Rename => client.rename(SHARE, FILE, RENAMED).await.map_err(f)?,
            Step::StatMissing => match client.get_attributes(SHARE, FILE).await {
                Err(smb_asyncstd::Error::Smb(e)) => script::check_missing(&e)?,
                other => return Err(format!("{step:?}: {other:?}")),
            },
            Step::Delete => {
                client.delete_files(SHARE, RENAMED).await.map_err(f)?;
            }
            Step::Rmdir => client.delete_directory(SHARE, DIR).await.map_err(f)?,
            Step::Echo => client.echo().await.map_err(f)?,
            Step::Logoff => return client.close().await.map_err(f),
        }
    }
    Ok(())
}

/// A multi-threaded tokio runtime, as a program using smb-tokio would have.
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Connects with `opts` on `driver` and plays the script.
pub fn play_live(driver: Driver, opts: &ConnectOptions, file_len: usize) -> Result<(), String> {
    let connect = |e: smb_proto::client::ClientError| format!("connect: {e}");
    match driver {
        Driver::Blocking => play_blocking(
            smb_blocking::Connection::connect(opts).map_err(connect)?,
            file_len,
        ),
        Driver::Tokio => tokio_runtime().block_on(async {
            let client = smb_tokio::Client::connect(opts).await.map_err(connect)?;
            play_async((*client).clone(), file_len).await
        }),
        Driver::Smol => smol::block_on(async {
            let client = smb_asyncstd::connect(opts).await.map_err(connect)?;
            play_async(client, file_len).await
        }),
    }
}

/// Plays the script on `driver` against the server `opts` reach, recording the session
/// in memory; returns the recording.
pub fn record(
    driver: Driver,
    opts: &ConnectOptions,
    file_len: usize,
    options: RecordOptions,
) -> Result<Recording, String> {
    let (target, buffer): (RecordTarget, RecordBuffer) = RecordTarget::memory();
    let opts = opts.clone().record(target.with_options(options));
    play_live(driver, &opts, file_len).map_err(|e| format!("{driver:?}, live: {e}"))?;
    buffer
        .recording()
        .map_err(|e| format!("{driver:?}: the recording does not parse: {e}"))
}

/// Replays `recording` on `driver` with no network, playing the script; checks that the
/// whole recording was replayed.
pub fn replay(driver: Driver, recording: &Recording, file_len: usize) -> Result<(), String> {
    let replay = Replay::new(recording.clone()).map_err(|e| e.to_string())?;
    let login = |e: smb_proto::client::ClientError| format!("{driver:?}, replayed login: {e}");
    let played = match driver {
        Driver::Blocking => play_blocking(
            smb_blocking::Connection::replay(&replay).map_err(login)?,
            file_len,
        ),
        Driver::Tokio => tokio_runtime().block_on(async {
            let client = smb_tokio::Client::replay(&replay).await.map_err(login)?;
            play_async((*client).clone(), file_len).await
        }),
        Driver::Smol => smol::block_on(async {
            let client = smb_asyncstd::replay(&replay).await.map_err(login)?;
            play_async(client, file_len).await
        }),
    };
    // The replay's own verdict comes first: it says where the bytes diverged, which
    // is why a call failed.
    replay
        .finish()
        .map_err(|e| format!("{driver:?}, replay: {e}"))?;
    played.map_err(|e| format!("{driver:?}, replayed script: {e}"))
}

/// Replays `recording` on the bare core ([`script::CoreReplay`]).
pub fn replay_core(recording: &Recording, file_len: usize) -> Result<(), String> {
    let replay = Replay::new(recording.clone()).map_err(|e| e.to_string())?;
    let mut core = script::CoreReplay::login(&replay).map_err(|e| format!("core login: {e}"))?;
    let played = core.play_script(file_len);
    replay.finish().map_err(|e| format!("core, replay: {e}"))?;
    played.map_err(|e| format!("core: {e}"))
}

/// Replays `recording` with no network, logging in as `opts` say (a recorded Kerberos
/// login needs its password), on the blocking driver and then on the bare core, playing
/// the script each time; checks that the whole recording was replayed both times.
pub fn replay_as(
    recording: &Recording,
    opts: &ConnectOptions,
    file_len: usize,
) -> Result<(), String> {
    let replay = Replay::new(recording.clone()).map_err(|e| e.to_string())?;
    let conn = smb_blocking::Connection::replay_with(&replay, opts)
        .map_err(|e| format!("blocking, replayed login: {e}"))?;
    let played = play_blocking(conn, file_len);
    replay
        .finish()
        .map_err(|e| format!("blocking, replay: {e}"))?;
    played.map_err(|e| format!("blocking, replayed script: {e}"))?;
    let replay = Replay::new(recording.clone()).map_err(|e| e.to_string())?;
    let mut core =
        script::CoreReplay::login_as(&replay, opts).map_err(|e| format!("core login: {e}"))?;
    let played = core.play_script(file_len);
    replay.finish().map_err(|e| format!("core, replay: {e}"))?;
    played.map_err(|e| format!("core: {e}"))
}

/// Replays `recording` on the async `driver` (tokio or smol) with no network, logging in
/// as `opts` say (a recorded Kerberos login needs its password), playing the script;
/// checks that the whole recording was replayed. [`replay_as`] for the async drivers.
pub fn replay_async_as(
    driver: Driver,
    recording: &Recording,
    opts: &ConnectOptions,
    file_len: usize,
) -> Result<(), String> {
    let replay = Replay::new(recording.clone()).map_err(|e| e.to_string())?;
    let login = |e: smb_proto::client::ClientError| format!("{driver:?}, replayed login: {e}");
    let played = match driver {
        Driver::Blocking => return Err("not an async driver: use replay_as".into()),
        Driver::Tokio => tokio_runtime().block_on(async {
            let client = smb_tokio::Client::replay_with(&replay, opts)
                .await
                .map_err(login)?;
            play_async((*client).clone(), file_len).await
        }),
        Driver::Smol => smol::block_on(async {
            let client = smb_asyncstd::replay_with(&replay, opts)
                .await
                .map_err(login)?;
            play_async(client, file_len).await
        }),
    };
    // The replay's own verdict first, as in [`replay`].
    replay
        .finish()
        .map_err(|e| format!("{driver:?}, replay: {e}"))?;
    played.map_err(|e| format!("{driver:?}, replayed script: {e}"))
}
