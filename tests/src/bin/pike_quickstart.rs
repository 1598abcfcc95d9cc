use smb_blocking::Share;

fn main() -> smb_blocking::Result<()> {
    // SMB_SERVER, SMB_CREDS (DOMAIN\user%password) and SMB_SHARE, or pike's PIKE_* names.
    let share = Share::from_env()?;
    let root = &share / "";

    let dir = root.join("quickstart");
    dir.mkdir(false, true)?;
    let hello = &dir / "hello.txt";
    hello.write_text("Hello from Rust!\n")?;
    assert_eq!(hello.read_text()?, "Hello from Rust!\n");

    for entry in dir.iterdir()? {
        println!("{entry} ({} bytes)", entry.stat()?.size);
    }
    let texts: Vec<_> = dir.glob("*.txt")?.collect();
    assert_eq!(texts, [dir.join("hello.txt")]);

    hello.unlink(false)?;
    dir.rmdir()?;
    assert!(!dir.exists()?);
    Ok(())
}
