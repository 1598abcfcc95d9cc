//! Two private smbds making a DFS namespace, for the DFS tests of the library and of
//! the `smb` command: a target on 127.0.0.2 and a DFS root on 127.0.0.1 on the same
//! port (a referral names no port; clients keep the root's with `dfs_keep_port`).

use std::net::Ipv4Addr;
use std::os::unix::fs::symlink;

use crate::{SambaServer, Share};

/// What `hello.txt` on the target holds.
pub const CONTENT: &[u8] = b"hello from the target server\n";

/// The target (127.0.0.2, share `target` holding `hello.txt` and `sub/a.txt`,
/// `sub/b.txt`) and the root (127.0.0.1 on the same port, share `dfsroot` with
/// `link1` → the target, `link2` → 127.0.0.3 (where nothing listens) then the target,
/// and a plain file `local.txt`), in that order: `(root, target)`.
pub fn servers() -> (SambaServer, SambaServer) {
    let target = SambaServer::builder()
        .address(Ipv4Addr::new(127, 0, 0, 2))
        .share(Share::new("target"))
        .start();
    let dir = target.share_path("target");
    std::fs::write(dir.join("hello.txt"), CONTENT).unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/a.txt"), b"a").unwrap();
    std::fs::write(dir.join("sub/b.txt"), b"bb").unwrap();
    let root = SambaServer::builder()
        .port(target.port())
        .global("host msdfs", "yes")
        .share(Share::new("dfsroot").option("msdfs root", "yes"))
        .start();
    let dir = root.share_path("dfsroot");
    symlink("msdfs:127.0.0.2\\target", dir.join("link1")).unwrap();
    symlink(
        "msdfs:127.0.0.3\\target,127.0.0.2\\target",
        dir.join("link2"),
    )
    .unwrap();
    std::fs::write(dir.join("local.txt"), b"local").unwrap();
    (root, target)
}
