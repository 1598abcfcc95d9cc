//! A private Samba for `scripts/demo.sh` and for trying the `smb` CLI by hand.
//!
//! Prints `URL=smb://user:password@127.0.0.1:PORT/share` and `SHARE_DIR=/path/backing/share`
//! on stdout, then serves until its stdin reaches end of file, and stops Samba and removes its
//! directory. Closing stdin is the way to stop it: std cannot catch signals, and a signal
//! would skip that cleanup. A script that dies closes the pipe too, so nothing is left behind.
#![forbid(unsafe_code)]

use std::io::Read;

use smb_tests::{SambaServer, Share};

fn main() {
    let server = SambaServer::builder().share(Share::new("share")).start();
    println!("URL={}", server.url("share"));
    println!("SHARE_DIR={}", server.share_path("share").display());
    // Any input is ignored; only end of file (or a read error) matters.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(server);
}
