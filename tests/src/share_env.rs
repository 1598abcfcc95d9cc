//! A test server's share named in this process's environment, for the path API's
//! `Share::from_env`: the `SMB_*` variables, or pike's `PIKE_*` ones.
//!
//! The environment belongs to the whole process, and C code (the name resolver, through
//! `getenv`) may read it on one thread while another thread sets it. So [`with_env`]
//! lets one caller at a time change it, and every test of a binary that uses it must
//! connect only inside `with_env`: keep such tests in test binaries of their own.

use std::sync::Mutex;

use smb_test_server::SambaServer;

/// Holders of the environment, one at a time per process.
static ENV: Mutex<()> = Mutex::new(());

/// `share` on `srv` in the `SMB_*` names: server, port and `user%password` apart.
pub fn smb_vars(srv: &SambaServer, share: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SMB_SERVER", srv.host().to_string()),
        ("SMB_PORT", srv.port().to_string()),
        ("SMB_CREDS", format!("{}%{}", srv.user(), srv.password())),
        ("SMB_SHARE", share.to_string()),
    ]
}

/// `share` on `srv` in pike's `PIKE_*` names: `host:port`, and `DOMAIN\user%password`.
pub fn pike_vars(srv: &SambaServer, share: &str) -> Vec<(&'static str, String)> {
    vec![
        ("PIKE_SERVER", format!("{}:{}", srv.host(), srv.port())),
        (
            "PIKE_CREDS",
            format!("WORKGROUP\\{}%{}", srv.user(), srv.password()),
        ),
        ("PIKE_SHARE", share.to_string()),
    ]
}

/// Runs `f` with `vars` as the only `SMB_*` and `PIKE_*` variables of the environment
/// (those the process started with are removed for good), and removes them again
/// afterwards, even if `f` panics. Calls in one process take turns.
pub fn with_env<T>(vars: &[(&str, String)], f: impl FnOnce() -> T) -> T {
    struct Unset<'a>(&'a [(&'a str, String)]);
    impl Drop for Unset<'_> {
        fn drop(&mut self) {
            for (name, _) in self.0 {
                std::env::remove_var(name);
            }
        }
    }

    // A test that panicked holding the lock has already unset its variables.
    let _turn = ENV.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for (name, _) in std::env::vars_os() {
        let ours = name.to_str();
        if ours.is_some_and(|n| n.starts_with("SMB_") || n.starts_with("PIKE_")) {
            std::env::remove_var(&name);
        }
    }
    let _unset = Unset(vars);
    for (name, value) in vars {
        std::env::set_var(name, value);
    }
    f()
}
