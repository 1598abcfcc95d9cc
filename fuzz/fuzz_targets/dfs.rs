//! DFS referrals (MS-DFSC 2.2.4): RESP_GET_DFS_REFERRAL decoding never panics, and
//! what decodes goes into the client's referral cache for a path the input names (the
//! first byte is its length), which resolves, prefers and expires without panicking.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use smb_proto::client::dfs::ReferralCache;
use smb_proto::wire::dfs::DfsReferralResponse;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let (path, buf) = rest.split_at(usize::from(n).min(rest.len()));
    let Ok(referral) = DfsReferralResponse::decode(buf) else {
        return;
    };
    let now = Instant::now();
    let mut cache = ReferralCache::new();
    let requested = String::from_utf8_lossy(path);
    // The path the client asked for, and the one the referral names.
    let paths = std::iter::once(requested.to_string())
        .chain(referral.referrals.iter().map(|r| r.dfs_path.clone()));
    for p in paths {
        if let Ok(targets) = cache.insert(&p, &referral, now) {
            assert!(!targets.is_empty(), "{p:?}");
            let found = cache.resolve(&p, now);
            if let Some(first) = targets.last() {
                cache.prefer(&p, first);
            }
            let _ = (found, cache.resolve(&format!("{p}\\x"), now));
        }
        for r in &referral.referrals {
            let _ = (r.is_root(), r.starts_target_set());
        }
    }
    let later = now + Duration::from_secs(u64::from(u32::MAX) + 1);
    assert_eq!(cache.len(later), 0);
});
