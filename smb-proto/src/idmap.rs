//! Maps keyed by the core's own numbers: operation ids, message ids, child indexes,
//! tree ids. They sit on the path of every request and answer, where SipHash (std's
//! default, made to resist keys an attacker chooses) cost a many-small-file download
//! about a tenth of its instructions. These keys are counters the core hands out (or the
//! few tree ids of a session), so a multiply-and-rotate hash does: no peer picks many
//! of them. Maps keyed by what a server sends in bulk (file ids, lease keys, names) keep
//! std's hasher.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` keyed by the core's own ids (see the module docs).
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A multiply-and-rotate hash in the manner of the one rustc uses for its own integer
/// keys ("FxHash").
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

/// An odd multiplier (rustc-hash 2's): consecutive ids get distinct low bits, and most
/// get distinct top 7 bits too (96 of 128; FxHash's first constant gave 61).
const SEED: u64 = 0xf1_35_7a_ea_2e_62_a9_c5;

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash<T: Hash>(t: T) -> u64 {
        BuildHasherDefault::<IdHasher>::default().hash_one(t)
    }

    #[test]
    fn consecutive_ids_spread_over_the_top_bits_hashbrown_uses() {
        // hashbrown picks a group from the low bits and tags entries with the top 7:
        // consecutive message ids must differ in both.
        let tops: std::collections::HashSet<u64> = (0..128u64).map(|i| hash(i) >> 57).collect();
        assert!(tops.len() > 64, "{} distinct tags of 128", tops.len());
        let lows: std::collections::HashSet<u64> = (0..128u64).map(|i| hash(i) & 127).collect();
        assert!(lows.len() > 64, "{} distinct low bits of 128", lows.len());
    }

    #[test]
    fn a_map_finds_what_it_holds() {
        let mut m: IdMap<(u64, usize), u32> = IdMap::default();
        for i in 0..10_000u64 {
            m.insert((i, (i % 7) as usize), i as u32);
        }
        assert_eq!(m.len(), 10_000);
        assert!((0..10_000u64).all(|i| m.get(&(i, (i % 7) as usize)) == Some(&(i as u32))));
        assert_ne!(hash([1u8, 2, 3].as_slice()), hash([1u8, 2, 4].as_slice()));
    }
}
