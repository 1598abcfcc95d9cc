//! smb:// URLs and share paths: parsing never panics, and what parses never names a path
//! other than the one written (no escaped separator, no `..`, no NUL or control
//! character in a component), and prints back to the same URL.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smb_proto::client::{Glob, OpenMode, PurePath, ShareTarget};
use smb_proto::ops::{self, Operation};
use smb_proto::url::SmbUrl;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(url) = SmbUrl::parse(s) {
        let components = url.share.iter().map(String::as_str).chain(
            url.path
                .strip_suffix('\\')
                .unwrap_or(&url.path)
                .split('\\')
                .filter(|c| !c.is_empty()),
        );
        for c in components {
            assert!(c != ".." && c != ".", "{s:?}: dot component {c:?}");
            assert!(!c.contains(['/', '\\']), "{s:?}: separator in {c:?}");
            assert!(
                !c.chars().any(char::is_control),
                "{s:?}: control character in {c:?}"
            );
        }
        assert!(!s.contains('?'), "{s:?}: a '?' parsed");
        // Printed without the password (never shown), it parses back to the same URL.
        let mut again = SmbUrl::parse(&url.to_string()).expect("a printed URL parses");
        let mut url = url;
        url.set_password(None);
        again.set_password(None);
        assert_eq!(again, url, "{s:?}");
    }
    // Whatever the caller passes as a path, the core refuses or accepts without panicking.
    let _ = ops::Delete::new("share", s).check();
    let _ = ops::ListDir::new("share", s, s).check();
    let _ = ops::Rename::new("share", s, s, false).check();
    let _ = ops::ConnectShare::new(s).check();
    let _ = ops::MakeDirectory::new("share", s).check();
    let _ = ops::Touch::new("share", s, true, Default::default()).check();
    // The pathlib layer: pure paths keep the components written, patterns match
    // without blowing up, and nothing here panics.
    let p = PurePath::new(s);
    assert!(
        !p.as_str().starts_with('/') && !p.as_str().ends_with('/'),
        "{s:?}"
    );
    assert!(
        p.components().all(|c| c != "." && !c.contains('\\')),
        "{s:?}"
    );
    let _ = (
        p.parent(),
        p.stem(),
        p.suffix(),
        p.with_name(s),
        p.with_suffix(s),
    );
    if let Ok(g) = Glob::new(s) {
        // Every character of a pattern matches itself (`?` any one, `*` any run).
        assert!(g.matches(s), "{s:?}");
    }
    let _ = OpenMode::parse(s);
    let _ = ShareTarget::from_lookup(|_| Some(s.to_string()));
});
