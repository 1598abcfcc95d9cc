//! `smb_tokio::Share::from_env` against a private smbd, with the share named by the
//! `SMB_*` variables and by pike's `PIKE_*` ones. A test binary of its own: these tests
//! set the process's environment (see `smb_tests::share_env`).

use std::time::Duration;

use smb_tests::share_env::{pike_vars, smb_vars, with_env};
use smb_tests::{SambaServer, Share as ServerShare};
use smb_tokio::Share;

/// How long a test waits for something that must not hang before it calls it a hang.
const HANG: Duration = Duration::from_secs(120);

/// A file written through the share the environment names, seen on the server's disk,
/// read back and removed.
async fn write_through_the_environment(srv: &SambaServer, name: &str) {
    let share = Share::from_env().await.expect("Share::from_env");
    let file = &share / name;
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

#[test]
fn from_env_reads_smb_and_pike_variables_on_tokio() {
    let srv = SambaServer::builder().share(ServerShare::new("x")).start();
    for (vars, name) in [
        (smb_vars(&srv, "x"), "smb.txt"),
        (pike_vars(&srv, "x"), "pike.txt"),
    ] {
        with_env(&vars, || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async {
                tokio::time::timeout(HANG, write_through_the_environment(&srv, name))
                    .await
                    .unwrap_or_else(|_| panic!("{name}: hung for {HANG:?}"))
            });
        });
    }
}
