//! `Share::from_env` on smol and on async-std against a private smbd, with the share
//! named by the `SMB_*` variables and by pike's `PIKE_*` ones. A test binary of its
//! own: these tests set the process's environment (see `smb_tests::share_env`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_lite::FutureExt;
use smb_asyncstd::runtime::Runtime;
use smb_asyncstd::Share;
use smb_tests::share_env::{pike_vars, smb_vars, with_env};
use smb_tests::{SambaServer, Share as ServerShare};

/// How long a test waits for something that must not hang before it calls it a hang.
const HANG: Duration = Duration::from_secs(120);

async fn guard<T>(what: &str, f: impl Future<Output = T>) -> T {
    f.or(async {
        async_io::Timer::after(HANG).await;
        panic!("{what} hung for {HANG:?}")
    })
    .await
}

/// A file written through the share the environment names, seen on the server's disk,
/// read back and removed.
async fn write_through_the_environment(srv: &SambaServer, runtime: Arc<dyn Runtime>, name: &str) {
    let share = Share::from_env(runtime).await.expect("Share::from_env");
    let file = share.path(name);
    file.write_text("from the environment\n").await.unwrap();
    let on_disk = srv.share_path("x").join(name);
    assert_eq!(
        std::fs::read_to_string(&on_disk).unwrap(),
        "from the environment\n"
    );
    assert_eq!(file.read_text().await.unwrap(), "from the environment\n");
    file.unlink(false).await.unwrap();
    assert!(!on_disk.exists());
}

/// Both sets of names, each with `block_on` running the test on `runtime()`.
fn both_names(block_on: impl Fn(&SambaServer, &str)) {
    let srv = SambaServer::builder().share(ServerShare::new("x")).start();
    for (vars, name) in [
        (smb_vars(&srv, "x"), "smb.txt"),
        (pike_vars(&srv, "x"), "pike.txt"),
    ] {
        with_env(&vars, || block_on(&srv, name));
    }
}

#[test]
fn from_env_reads_smb_and_pike_variables_on_smol() {
    both_names(|srv, name| {
        let test = write_through_the_environment(srv, smb_asyncstd::runtime(), name);
        smol::block_on(guard(name, test));
    });
}

#[test]
fn from_env_reads_smb_and_pike_variables_on_async_std() {
    both_names(|srv, name| {
        let runtime = smb_asyncstd::runtime_with(Arc::new(|f| drop(async_std::task::spawn(f))));
        let test = write_through_the_environment(srv, runtime, name);
        async_std::task::block_on(guard(name, test));
    });
}
