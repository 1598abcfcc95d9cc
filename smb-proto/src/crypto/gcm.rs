//! AES-GCM and GMAC (NIST SP 800-38D) on the CPU's AES and carry-less multiply
//! instructions, in two tiers picked at run time:
//!
//! * VAES (AVX-512 with VAES and VPCLMULQDQ): AES-CTR on 512-bit registers, four blocks
//!   each and 32 blocks per step, and a GHASH that multiplies those 32 blocks with one
//!   reduction. Each 512-byte chunk is hashed while it is in registers, right after
//!   encryption or right before decryption, so the message is read once. (Inputs under
//!   1 KiB are hashed 128 bits wide, as the powers of H for 32 blocks cost more to make
//!   than they save there.)
//! * CLMUL: AES from the `aes` crate, then a GHASH that multiplies four blocks per
//!   reduction with PCLMULQDQ.
//!
//! Why this exists: the `aes-gcm` crate's GHASH (polyval 0.6) handles one block per
//! multiplication and reduction. Profiling a signed 1 GiB download showed 58% of the
//! client's CPU in that loop (about 1.3 GB/s). Aggregation removes all but one reduction
//! in four (CLMUL) or 32 (VAES) and lets the multiplies overlap; VAES then does four
//! AES blocks per instruction, and one pass over the data instead of two. Where the CPU
//! has neither tier the callers fall back to `aes-gcm` (see [`available`]).
//!
//! The carry-less arithmetic follows Gueron and Kounavis, "Intel Carry-Less
//! Multiplication Instruction and its Usage for Computing the GCM Mode" (2014): operands
//! are byte-reflected, the 256-bit product is shifted left by one bit, then reduced
//! modulo x^128 + x^7 + x^2 + x + 1. Both tiers share that representation and reduction.
//! Every tier is checked against `aes-gcm` in the tests below.
//!
//! This module holds the crate's only `unsafe`: calling the `#[target_feature]` entry
//! points, each with a [`Tier`] that shows the CPU has the features, and the 512-bit
//! loads and stores of whole 64-byte arrays.
#![allow(unsafe_code)]

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockEncrypt, KeyInit};
use aes::{Aes128, Aes256};

#[cfg(target_arch = "x86_64")]
use self::tier::Kind;
use self::tier::Tier;
use super::encryption::CryptoError;

/// Whether the fast path can run on this CPU.
pub(crate) fn available() -> bool {
    Tier::best().is_some()
}

/// What the entry points return on a CPU without any tier: unreachable through the
/// callers, which check [`available`] first, and failing closed beats running
/// instructions the CPU lacks.
const NO_TIER: CryptoError = CryptoError::Decrypt;

/// Encrypts `buf` in place and returns the tag. `nonce` is the 12-byte GCM nonce.
/// Callers must have checked [`available`].
pub(crate) fn seal(
    key: &[u8],
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; 16], CryptoError> {
    seal_on(Tier::best().ok_or(NO_TIER)?, key, nonce, aad, buf)
}

/// Checks the tag, then decrypts `buf` in place; on failure `buf` is left as it was.
/// Callers must have checked [`available`].
pub(crate) fn open(
    key: &[u8],
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut [u8],
    expected: &[u8; 16],
) -> Result<(), CryptoError> {
    open_on(Tier::best().ok_or(NO_TIER)?, key, nonce, aad, buf, expected)
}

/// GMAC: the GCM tag of `aad` (in pieces, each but the last a multiple of 16 bytes) with
/// no plaintext. Callers must have checked [`available`].
pub(crate) fn gmac(key: &[u8], nonce: &[u8; 12], aad: &[&[u8]]) -> Result<[u8; 16], CryptoError> {
    gmac_on(Tier::best().ok_or(NO_TIER)?, key, nonce, aad)
}

/// Encrypts `out[from..]` in place and then `tail` as the rest of the same message,
/// appending its ciphertext to `out`, and returns the tag: what [`seal`] gives for
/// `out[from..]` followed by `tail`, without first copying `tail` into `out` (a large
/// WRITE's data goes from the caller's buffer straight into the send buffer, encrypted).
/// Callers must have checked [`available`].
pub(crate) fn seal_append(
    key: &[u8],
    nonce: &[u8; 12],
    aad: &[u8],
    out: &mut Vec<u8>,
    from: usize,
    tail: &[u8],
) -> Result<[u8; 16], CryptoError> {
    seal_append_on(
        Tier::best().ok_or(NO_TIER)?,
        key,
        nonce,
        aad,
        out,
        from,
        tail,
    )
}

fn seal_append_on(
    tier: Tier,
    key: &[u8],
    nonce: &[u8; 12],
    aad: &[u8],
    out: &mut Vec<u8>,
    from: usize,
    tail: &[u8],
) -> Result<[u8; 16], CryptoError> {
    #[cfg(target_arch = "x86_64")]
    if tier.kind() == Kind::Vaes && from <= out.len() {
        // The part in place ends on a block boundary: the few bytes of `tail` that
        // complete its last block are copied.
        let k = (16 - (out.len() - from) % 16) % 16;
        if let Some((first, tail)) = tail.split_at_checked(k) {
            let key = Key::new(key)?;
            out.extend_from_slice(first);
            out.reserve(tail.len());
            let len = out.len();
            let base = out.as_mut_ptr();
            // SAFETY: `head` is `out[from..len]` and `dst` the first `tail.len()` bytes
            // of `out`'s spare capacity (reserved above): disjoint, both within the
            // allocation, and nothing else touches `out` while they live. `vaes::seal_split`
            // writes every byte of `dst` (checked in the tests), so the new length covers
            // initialised bytes only. `tier` shows the CPU has the features it needs.
            unsafe {
                let head = std::slice::from_raw_parts_mut(base.add(from), len - from);
                let dst = std::slice::from_raw_parts_mut(
                    base.add(len).cast::<std::mem::MaybeUninit<u8>>(),
                    tail.len(),
                );
                let tag = vaes::seal_split(key, nonce, aad, head, tail, dst);
                out.set_len(len + tail.len());
                return Ok(tag);
            }
        }
    }
    out.extend_from_slice(tail);
    let buf = out
        .get_mut(from..)
        .ok_or(CryptoError::MessageTooShort(from))?;
    seal_on(tier, key, nonce, aad, buf)
}

fn seal_on(
    tier: Tier,
    key: &[u8],
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; 16], CryptoError> {
    let key = Key::new(key)?;
    #[cfg(target_arch = "x86_64")]
    if tier.kind() == Kind::Vaes {
        // SAFETY: `tier` shows the CPU has the features `vaes::seal` is compiled for.
        return Ok(unsafe { vaes::seal(key, nonce, aad, buf) });
    }
    let s = setup(key, nonce);
    ctr_xor(&s.aes, &s.j0, buf);
    Ok(tag(tier, &s, &[aad], buf))
}

fn open_on(
    tier: Tier,
    key: &[u8],
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut [u8],
    expected: &[u8; 16],
) -> Result<(), CryptoError> {
    let key = Key::new(key)?;
    #[cfg(target_arch = "x86_64")]
    if tier.kind() == Kind::Vaes {
        // SAFETY: `tier` shows the CPU has the features `vaes::open` is compiled for.
        let ok = unsafe { vaes::open(key, nonce, aad, buf, expected) };
        return if ok {
            Ok(())
        } else {
            Err(CryptoError::Decrypt)
        };
    }
    let s = setup(key, nonce);
    if !ct_eq(&tag(tier, &s, &[aad], buf), expected) {
        return Err(CryptoError::Decrypt);
    }
    ctr_xor(&s.aes, &s.j0, buf);
    Ok(())
}

fn gmac_on(
    tier: Tier,
    key: &[u8],
    nonce: &[u8; 12],
    aad: &[&[u8]],
) -> Result<[u8; 16], CryptoError> {
    let key = Key::new(key)?;
    #[cfg(target_arch = "x86_64")]
    if tier.kind() == Kind::Vaes {
        // SAFETY: `tier` shows the CPU has the features `vaes::gmac` is compiled for.
        return Ok(unsafe { vaes::gmac(key, nonce, aad) });
    }
    let s = setup(key, nonce);
    Ok(tag(tier, &s, aad, &[]))
}

mod tier {
    /// The implementations.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Kind {
        /// AVX-512 VAES and VPCLMULQDQ.
        Vaes,
        /// AES-NI (through the `aes` crate) and PCLMULQDQ.
        Clmul,
    }

    /// A [`Kind`] this CPU has been found to run. Only [`Tier::detect`] makes one (the
    /// field is private to this module), so holding one is what makes calling that kind's
    /// `#[target_feature]` functions sound.
    #[derive(Clone, Copy, Debug)]
    pub(super) struct Tier(Kind);

    impl Tier {
        /// `kind`, if this CPU runs it.
        pub(super) fn detect(kind: Kind) -> Option<Tier> {
            #[cfg(target_arch = "x86_64")]
            {
                use std::arch::is_x86_feature_detected as has;
                let clmul = has!("pclmulqdq") && has!("sse2");
                let runs = match kind {
                    Kind::Clmul => clmul,
                    Kind::Vaes => {
                        clmul
                            && has!("aes")
                            && has!("avx512f")
                            && has!("avx512bw")
                            && has!("vaes")
                            && has!("vpclmulqdq")
                    }
                };
                runs.then_some(Tier(kind))
            }
            #[cfg(not(target_arch = "x86_64"))]
            {
                let _ = kind;
                None
            }
        }

        /// Every tier this CPU runs, fastest first.
        pub(super) fn all() -> impl Iterator<Item = Tier> {
            [Kind::Vaes, Kind::Clmul]
                .into_iter()
                .filter_map(Tier::detect)
        }

        pub(super) fn best() -> Option<Tier> {
            Tier::all().next()
        }

        pub(super) fn kind(self) -> Kind {
            self.0
        }
    }
}

/// An AES key of one of the two sizes GCM is used with here.
#[derive(Clone, Copy)]
enum Key<'a> {
    A128(&'a [u8; 16]),
    A256(&'a [u8; 32]),
}

impl<'a> Key<'a> {
    fn new(key: &'a [u8]) -> Result<Self, CryptoError> {
        if let Ok(k) = key.try_into() {
            return Ok(Key::A128(k));
        }
        key.try_into()
            .map(Key::A256)
            .map_err(|_| CryptoError::KeyLength {
                expected: 16,
                got: key.len(),
            })
    }
}

/// An expanded AES key of either size, for the CLMUL tier.
enum Aes {
    A128(Box<Aes128>),
    A256(Box<Aes256>),
}

impl Aes {
    fn new(key: Key) -> Self {
        match key {
            Key::A128(k) => Aes::A128(Box::new(Aes128::new(GenericArray::from_slice(k)))),
            Key::A256(k) => Aes::A256(Box::new(Aes256::new(GenericArray::from_slice(k)))),
        }
    }

    fn encrypt_blocks(&self, blocks: &mut [aes::Block]) {
        match self {
            Aes::A128(a) => a.encrypt_blocks(blocks),
            Aes::A256(a) => a.encrypt_blocks(blocks),
        }
    }

    fn encrypt_block(&self, block: [u8; 16]) -> [u8; 16] {
        let mut b = [aes::Block::from(block)];
        self.encrypt_blocks(&mut b);
        b[0].into()
    }
}

/// Counter blocks encrypted per batch: enough for AES-NI's eight-way pipeline.
const BATCH: usize = 32;

/// XORs the CTR keystream starting at counter block `ctr` (inc32 per block) into `buf`.
fn ctr_xor(aes: &Aes, j0: &[u8; 16], buf: &mut [u8]) {
    let base = u32::from_be_bytes([j0[12], j0[13], j0[14], j0[15]]);
    let mut counter = base.wrapping_add(1);
    let mut blocks = [aes::Block::default(); BATCH];
    for chunk in buf.chunks_mut(16 * BATCH) {
        let n = chunk.len().div_ceil(16);
        for b in blocks.iter_mut().take(n) {
            b[..12].copy_from_slice(&j0[..12]);
            b[12..].copy_from_slice(&counter.to_be_bytes());
            counter = counter.wrapping_add(1);
        }
        aes.encrypt_blocks(&mut blocks[..n]);
        for (data, ks) in chunk.chunks_mut(16).zip(blocks.iter()) {
            match <&mut [u8; 16]>::try_from(&mut *data) {
                Ok(d) => {
                    *d = (u128::from_ne_bytes(*d) ^ u128::from_ne_bytes((*ks).into())).to_ne_bytes()
                }
                Err(_) => data.iter_mut().zip(ks.iter()).for_each(|(d, k)| *d ^= k),
            }
        }
    }
}

/// The GCM pieces that depend only on key and nonce: the expanded key, the hash key H,
/// and J0, whose encryption masks the tag.
struct Setup {
    aes: Aes,
    h: [u8; 16],
    j0: [u8; 16],
}

fn setup(key: Key, nonce: &[u8; 12]) -> Setup {
    let aes = Aes::new(key);
    let h = aes.encrypt_block([0; 16]);
    Setup {
        aes,
        h,
        j0: j0(nonce),
    }
}

/// The pre-counter block J0 of a 96-bit nonce: nonce || 0^31 || 1 (SP 800-38D 7.1).
fn j0(nonce: &[u8; 12]) -> [u8; 16] {
    let mut j0 = [0u8; 16];
    j0[..12].copy_from_slice(nonce);
    j0[15] = 1;
    j0
}

/// GHASH's last block: the bit lengths of the AAD and the ciphertext.
fn lengths_block(aad_len: usize, ct_len: usize) -> [u8; 16] {
    let mut lengths = [0u8; 16];
    lengths[..8].copy_from_slice(&((aad_len as u64) * 8).to_be_bytes());
    lengths[8..].copy_from_slice(&((ct_len as u64) * 8).to_be_bytes());
    lengths
}

fn xor16(a: [u8; 16], b: [u8; 16]) -> [u8; 16] {
    (u128::from_ne_bytes(a) ^ u128::from_ne_bytes(b)).to_ne_bytes()
}

/// The tag on the CLMUL tier: E(K, J0) xor GHASH(H, aad, ct); `aad` may come in pieces
/// (each but the last a multiple of 16 bytes), as a signed message's header and body do.
/// `_proof` is the tier that shows the CPU runs `clmul`.
fn tag(_proof: Tier, s: &Setup, aad: &[&[u8]], ct: &[u8]) -> [u8; 16] {
    let mask = s.aes.encrypt_block(s.j0);
    let aad_len: usize = aad.iter().map(|a| a.len()).sum();
    let lengths = lengths_block(aad_len, ct.len());
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_proof` shows the CPU has PCLMULQDQ and SSE2 (every tier includes them),
    // the features `ghash` is compiled for.
    let y = unsafe { clmul::ghash(&s.h, aad, ct, &lengths) };
    #[cfg(not(target_arch = "x86_64"))]
    let y = {
        let _ = lengths;
        [0u8; 16]
    };
    xor16(y, mask)
}

fn ct_eq(a: &[u8; 16], b: &[u8; 16]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(target_arch = "x86_64")]
mod clmul {
    use std::arch::x86_64::*;

    #[target_feature(enable = "sse2")]
    pub(super) fn from_u128(v: u128) -> __m128i {
        _mm_set_epi64x((v >> 64) as i64, v as u64 as i64)
    }

    #[target_feature(enable = "sse2")]
    pub(super) fn to_u128(x: __m128i) -> u128 {
        let lo = _mm_cvtsi128_si64(x) as u64;
        let hi = _mm_cvtsi128_si64(_mm_unpackhi_epi64(x, x)) as u64;
        (u128::from(hi) << 64) | u128::from(lo)
    }

    /// A block as the byte-reflected 128-bit value the multiplication works on.
    #[target_feature(enable = "sse2")]
    pub(super) fn load(b: &[u8; 16]) -> __m128i {
        from_u128(u128::from_be_bytes(*b))
    }

    #[target_feature(enable = "sse2")]
    pub(super) fn store(x: __m128i) -> [u8; 16] {
        to_u128(x).to_be_bytes()
    }

    /// The 256-bit carry-less product of `a` and `b`, as (low, high) halves.
    #[target_feature(enable = "pclmulqdq,sse2")]
    fn mul(a: __m128i, b: __m128i) -> (__m128i, __m128i) {
        let lo = _mm_clmulepi64_si128::<0x00>(a, b);
        let hi = _mm_clmulepi64_si128::<0x11>(a, b);
        let mid = _mm_xor_si128(
            _mm_clmulepi64_si128::<0x10>(a, b),
            _mm_clmulepi64_si128::<0x01>(a, b),
        );
        (
            _mm_xor_si128(lo, _mm_slli_si128::<8>(mid)),
            _mm_xor_si128(hi, _mm_srli_si128::<8>(mid)),
        )
    }

    /// Shifts the reflected 256-bit product left by one bit and reduces it modulo the GCM
    /// polynomial (Gueron–Kounavis, algorithm 5).
    #[target_feature(enable = "sse2")]
    pub(super) fn reduce(lo: __m128i, hi: __m128i) -> __m128i {
        let c_lo = _mm_srli_epi32::<31>(lo);
        let c_hi = _mm_srli_epi32::<31>(hi);
        let mut lo = _mm_slli_epi32::<1>(lo);
        let mut hi = _mm_slli_epi32::<1>(hi);
        let carry_across = _mm_srli_si128::<12>(c_lo);
        lo = _mm_or_si128(lo, _mm_slli_si128::<4>(c_lo));
        hi = _mm_or_si128(_mm_or_si128(hi, _mm_slli_si128::<4>(c_hi)), carry_across);

        let t = _mm_xor_si128(
            _mm_xor_si128(_mm_slli_epi32::<31>(lo), _mm_slli_epi32::<30>(lo)),
            _mm_slli_epi32::<25>(lo),
        );
        let t_hi = _mm_srli_si128::<4>(t);
        lo = _mm_xor_si128(lo, _mm_slli_si128::<12>(t));
        let u = _mm_xor_si128(
            _mm_xor_si128(_mm_srli_epi32::<1>(lo), _mm_srli_epi32::<2>(lo)),
            _mm_xor_si128(_mm_srli_epi32::<7>(lo), t_hi),
        );
        _mm_xor_si128(hi, _mm_xor_si128(lo, u))
    }

    #[target_feature(enable = "pclmulqdq,sse2")]
    pub(super) fn gfmul(a: __m128i, b: __m128i) -> __m128i {
        let (lo, hi) = mul(a, b);
        reduce(lo, hi)
    }

    /// H^1..H^4.
    #[target_feature(enable = "pclmulqdq,sse2")]
    pub(super) fn powers(h1: __m128i) -> [__m128i; 4] {
        let h2 = gfmul(h1, h1);
        [h1, h2, gfmul(h2, h1), gfmul(h2, h2)]
    }

    /// Folds `data` into the hash `y`, four blocks per reduction; a partial last block is
    /// zero-padded (SP 800-38D 6.4).
    #[target_feature(enable = "pclmulqdq,sse2")]
    pub(super) fn absorb(h: &[__m128i; 4], mut y: __m128i, data: &[u8]) -> __m128i {
        let (quads, rest) = data.as_chunks::<64>();
        for q in quads {
            let (b, _) = q.as_chunks::<16>();
            let (l0, h0) = mul(_mm_xor_si128(y, load(&b[0])), h[3]);
            let (l1, h1) = mul(load(&b[1]), h[2]);
            let (l2, h2) = mul(load(&b[2]), h[1]);
            let (l3, h3) = mul(load(&b[3]), h[0]);
            let lo = _mm_xor_si128(_mm_xor_si128(l0, l1), _mm_xor_si128(l2, l3));
            let hi = _mm_xor_si128(_mm_xor_si128(h0, h1), _mm_xor_si128(h2, h3));
            y = reduce(lo, hi);
        }
        for chunk in rest.chunks(16) {
            let mut b = [0u8; 16];
            b.iter_mut().zip(chunk).for_each(|(b, c)| *b = *c);
            y = gfmul(_mm_xor_si128(y, load(&b)), h[0]);
        }
        y
    }

    /// GHASH(H, A, C) (SP 800-38D 7.1 step 5): `aad` pieces, each but the last a multiple
    /// of 16 bytes, then the ciphertext, then the lengths block.
    #[target_feature(enable = "pclmulqdq,sse2")]
    pub(super) fn ghash(h: &[u8; 16], aad: &[&[u8]], ct: &[u8], lengths: &[u8; 16]) -> [u8; 16] {
        let powers = powers(load(h));
        let mut y = _mm_setzero_si128();
        for a in aad {
            y = absorb(&powers, y, a);
        }
        y = absorb(&powers, y, ct);
        y = absorb(&powers, y, lengths);
        store(y)
    }
}

#[cfg(target_arch = "x86_64")]
mod vaes {
    use std::arch::x86_64::*;
    use std::mem::MaybeUninit;

    use super::{clmul, ct_eq, j0, lengths_block, xor16, Key};

    /// Registers per step of the main loops, four blocks each; a step's 32 blocks share
    /// one GHASH reduction. Measured on Zen 4: eight run AES-GCM 10% and GMAC 50% faster
    /// than four, sixteen run out of registers and lose half.
    const REGS: usize = 8;
    /// Bytes per step.
    const CHUNK: usize = 64 * REGS;
    /// The shortest input worth the 512-bit GHASH: below it, making the powers of H it
    /// multiplies by costs more than it saves over `clmul::absorb` (measured).
    const WIDE_GHASH_MIN: usize = 2 * CHUNK;
    type Regs = [__m512i; REGS];

    /// AES round keys: AES-128 uses the first 11, AES-256 all 15.
    type RoundKeys = [__m128i; 15];

    /// A block in memory order (GHASH's byte-reflected order is [`clmul::load`]).
    #[target_feature(enable = "sse2")]
    fn load_block(b: &[u8; 16]) -> __m128i {
        clmul::from_u128(u128::from_le_bytes(*b))
    }

    #[target_feature(enable = "sse2")]
    fn store_block(x: __m128i) -> [u8; 16] {
        clmul::to_u128(x).to_le_bytes()
    }

    /// The running XOR of the four 32-bit words of `k` (w0, w0^w1, w0^w1^w2, …): how a
    /// round key's words each fold in the word before them (FIPS 197 5.2).
    #[target_feature(enable = "sse2")]
    fn prefix_xor(k: __m128i) -> __m128i {
        let k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
        _mm_xor_si128(k, _mm_slli_si128::<8>(k))
    }

    /// FIPS 197 key expansion with AESKEYGENASSIST (Gueron, "Intel Advanced Encryption
    /// Standard (AES) New Instructions Set", 2010, figures 24 and 26).
    #[target_feature(enable = "aes,sse2")]
    fn expand(key: Key) -> RoundKeys {
        let mut rk = [_mm_setzero_si128(); 15];
        // Round key `i` is round key `i - back` (one key length earlier) with its words
        // chained by `prefix_xor`, XORed with a word of AESKEYGENASSIST of round key
        // `i - 1` that SHUF broadcasts: RotWord(SubWord(w3)) ^ rcon (0xFF) or
        // SubWord(w3) (0xAA, AES-256's middle step).
        macro_rules! next {
            ($i:literal, $back:literal, $rcon:literal, $shuf:literal) => {
                rk[$i] = _mm_xor_si128(
                    prefix_xor(rk[$i - $back]),
                    _mm_shuffle_epi32::<$shuf>(_mm_aeskeygenassist_si128::<$rcon>(rk[$i - 1])),
                )
            };
        }
        match key {
            Key::A128(k) => {
                rk[0] = load_block(k);
                next!(1, 1, 0x01, 0xFF);
                next!(2, 1, 0x02, 0xFF);
                next!(3, 1, 0x04, 0xFF);
                next!(4, 1, 0x08, 0xFF);
                next!(5, 1, 0x10, 0xFF);
                next!(6, 1, 0x20, 0xFF);
                next!(7, 1, 0x40, 0xFF);
                next!(8, 1, 0x80, 0xFF);
                next!(9, 1, 0x1B, 0xFF);
                next!(10, 1, 0x36, 0xFF);
            }
            Key::A256(k) => {
                if let ([a, b], _) = k.as_chunks::<16>() {
                    rk[0] = load_block(a);
                    rk[1] = load_block(b);
                }
                next!(2, 2, 0x01, 0xFF);
                next!(3, 2, 0x00, 0xAA);
                next!(4, 2, 0x02, 0xFF);
                next!(5, 2, 0x00, 0xAA);
                next!(6, 2, 0x04, 0xFF);
                next!(7, 2, 0x00, 0xAA);
                next!(8, 2, 0x08, 0xFF);
                next!(9, 2, 0x00, 0xAA);
                next!(10, 2, 0x10, 0xFF);
                next!(11, 2, 0x00, 0xAA);
                next!(12, 2, 0x20, 0xFF);
                next!(13, 2, 0x00, 0xAA);
                next!(14, 2, 0x40, 0xFF);
            }
        }
        rk
    }

    #[target_feature(enable = "aes,sse2")]
    fn encrypt_block<const ROUNDS: usize>(rk: &RoundKeys, block: &[u8; 16]) -> [u8; 16] {
        let mut x = _mm_xor_si128(load_block(block), rk[0]);
        for k in &rk[1..ROUNDS] {
            x = _mm_aesenc_si128(x, *k);
        }
        store_block(_mm_aesenclast_si128(x, rk[ROUNDS]))
    }

    /// Encrypts `buf` in place and returns the tag.
    #[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq")]
    pub(super) fn seal(key: Key, nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
        let wide = aad.len().max(buf.len()) >= WIDE_GHASH_MIN;
        match key {
            Key::A128(_) => Gcm::<10>::new(key, nonce, wide).seal(aad, buf),
            Key::A256(_) => Gcm::<14>::new(key, nonce, wide).seal(aad, buf),
        }
    }

    /// Encrypts `head` (whole blocks) in place, then `tail` into `dst` (as long as
    /// `tail`), as one message, and returns the tag.
    #[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq")]
    pub(super) fn seal_split(
        key: Key,
        nonce: &[u8; 12],
        aad: &[u8],
        head: &mut [u8],
        tail: &[u8],
        dst: &mut [MaybeUninit<u8>],
    ) -> [u8; 16] {
        match key {
            Key::A128(_) => Gcm::<10>::new(key, nonce, true).seal_split(aad, head, tail, dst),
            Key::A256(_) => Gcm::<14>::new(key, nonce, true).seal_split(aad, head, tail, dst),
        }
    }

    /// Decrypts `buf` in place if the tag is `expected`; otherwise leaves it as it was
    /// and returns false.
    #[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq")]
    pub(super) fn open(
        key: Key,
        nonce: &[u8; 12],
        aad: &[u8],
        buf: &mut [u8],
        expected: &[u8; 16],
    ) -> bool {
        let wide = aad.len().max(buf.len()) >= WIDE_GHASH_MIN;
        match key {
            Key::A128(_) => Gcm::<10>::new(key, nonce, wide).open(aad, buf, expected),
            Key::A256(_) => Gcm::<14>::new(key, nonce, wide).open(aad, buf, expected),
        }
    }

    /// The GCM tag of `aad` (in pieces, each but the last a multiple of 16 bytes) and no
    /// plaintext.
    #[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq")]
    pub(super) fn gmac(key: Key, nonce: &[u8; 12], aad: &[&[u8]]) -> [u8; 16] {
        let wide = aad.iter().any(|a| a.len() >= WIDE_GHASH_MIN);
        match key {
            Key::A128(_) => Gcm::<10>::new(key, nonce, wide).gmac(aad),
            Key::A256(_) => Gcm::<14>::new(key, nonce, wide).gmac(aad),
        }
    }

    /// One message's key- and nonce-dependent state, for AES with `ROUNDS` rounds.
    struct Gcm<const ROUNDS: usize> {
        /// Round keys, each in all four lanes.
        rk: [__m512i; 15],
        /// H^1..H^4, for the 128-bit GHASH.
        h: [__m128i; 4],
        /// For the 512-bit GHASH, if some input is long enough to be worth it.
        powers: Option<Powers>,
        /// The first four counter blocks after J0 with each lane's last 32 bits (the
        /// big-endian counter) byte-swapped, so that `_mm512_add_epi32` is inc32;
        /// [`keystream`] swaps them back.
        ctr: __m512i,
        /// E(K, J0), which masks the tag.
        mask: [u8; 16],
    }

    impl<const ROUNDS: usize> Gcm<ROUNDS> {
        /// `wide`: whether to make the powers for the 512-bit GHASH.
        #[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq")]
        fn new(key: Key, nonce: &[u8; 12], wide: bool) -> Self {
            let rk = expand(key);
            let j0 = j0(nonce);
            let h = clmul::powers(clmul::load(&encrypt_block::<ROUNDS>(&rk, &[0; 16])));
            let first = _mm_insert_epi32::<3>(load_block(&j0), 2);
            let mut broadcast = [_mm512_setzero_si512(); 15];
            for (b, k) in broadcast.iter_mut().zip(rk) {
                *b = _mm512_broadcast_i32x4(k);
            }
            Gcm {
                rk: broadcast,
                h,
                powers: wide.then(|| Powers::new(&h)),
                ctr: _mm512_add_epi32(
                    _mm512_broadcast_i32x4(first),
                    _mm512_set_epi32(3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0),
                ),
                mask: encrypt_block::<ROUNDS>(&rk, &j0),
            }
        }

        #[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq")]
        fn seal(&self, aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
            let y = self.absorb(_mm_setzero_si128(), aad);
            let y = self.crypt::<true>(self.ctr, y, buf);
            self.finish(y, aad.len(), buf.len())
        }

        #[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq")]
        fn seal_split(
            &self,
            aad: &[u8],
            head: &mut [u8],
            tail: &[u8],
            dst: &mut [MaybeUninit<u8>],
        ) -> [u8; 16] {
            let y = self.absorb(_mm_setzero_si128(), aad);
            let y = self.crypt::<true>(self.ctr, y, head);
            let blocks = (head.len() / 16) as i32;
            let ctr = _mm512_add_epi32(
                self.ctr,
                _mm512_broadcast_i32x4(_mm_set_epi32(blocks, 0, 0, 0)),
            );
            let y = self.encrypt_into(ctr, y, tail, dst);
            self.finish(y, aad.len(), head.len() + tail.len())
        }

        #[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq")]
        fn open(&self, aad: &[u8], buf: &mut [u8], expected: &[u8; 16]) -> bool {
            let y = self.absorb(_mm_setzero_si128(), aad);
            let y = self.crypt::<false>(self.ctr, y, buf);
            if ct_eq(&self.finish(y, aad.len(), buf.len()), expected) {
                return true;
            }
            // Decrypting while hashing saves a pass over the data; on a bad tag, CTR
            // being its own inverse puts the ciphertext back.
            self.crypt::<true>(self.ctr, y, buf);
            false
        }

        #[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq")]
        fn gmac(&self, aad: &[&[u8]]) -> [u8; 16] {
            let mut y = _mm_setzero_si128();
            for a in aad {
                y = self.absorb(y, a);
            }
            self.finish(y, aad.iter().map(|a| a.len()).sum(), 0)
        }

        /// Folds `data` into the hash `y`; a partial last block is zero-padded.
        #[target_feature(enable = "avx512f,avx512bw,vpclmulqdq,pclmulqdq")]
        fn absorb(&self, mut y: __m128i, data: &[u8]) -> __m128i {
            let Some(p) = &self.powers else {
                return clmul::absorb(&self.h, y, data);
            };
            let (chunks, rest) = data.as_chunks::<CHUNK>();
            for c in chunks {
                y = ghash(p, y, load_chunk(c));
            }
            clmul::absorb(&self.h, y, rest)
        }

        /// XORs the keystream from the counters `ctr` on into `buf` and folds the
        /// ciphertext into the hash `y`: the output if `ENCRYPT`, else the input. Whole
        /// chunks are hashed while in registers; the rest (all of an input too short for
        /// the 512-bit GHASH) is hashed in a pass of its own.
        #[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq")]
        fn crypt<const ENCRYPT: bool>(
            &self,
            mut ctr: __m512i,
            mut y: __m128i,
            buf: &mut [u8],
        ) -> __m128i {
            let rest = match &self.powers {
                Some(p) => {
                    let (chunks, rest) = buf.as_chunks_mut::<CHUNK>();
                    for c in chunks {
                        let input = load_chunk(c);
                        if !ENCRYPT {
                            y = ghash(p, y, input);
                        }
                        let output = xor(input, keystream::<ROUNDS>(&self.rk, ctr));
                        ctr = _mm512_add_epi32(ctr, advance(REGS));
                        store_chunk(c, output);
                        if ENCRYPT {
                            y = ghash(p, y, output);
                        }
                    }
                    rest
                }
                None => buf,
            };
            if !ENCRYPT {
                y = clmul::absorb(&self.h, y, rest);
            }
            self.xor_keystream(ctr, rest);
            if ENCRYPT {
                y = clmul::absorb(&self.h, y, rest);
            }
            y
        }

        /// Encrypts `src` into `dst` (the first `src.len()` bytes of it, all written)
        /// with the keystream from the counters `ctr` on, and folds the ciphertext into
        /// the hash `y`.
        #[target_feature(enable = "avx512f,avx512bw,vaes,vpclmulqdq,aes,pclmulqdq")]
        fn encrypt_into(
            &self,
            mut ctr: __m512i,
            mut y: __m128i,
            src: &[u8],
            dst: &mut [MaybeUninit<u8>],
        ) -> __m128i {
            let (chunks, rest) = src.as_chunks::<CHUNK>();
            let (out_chunks, out_rest) = dst.as_chunks_mut::<CHUNK>();
            for (c, o) in chunks.iter().zip(out_chunks.iter_mut()) {
                let output = xor(load_chunk(c), keystream::<ROUNDS>(&self.rk, ctr));
                ctr = _mm512_add_epi32(ctr, advance(REGS));
                for (b, v) in o.as_chunks_mut::<64>().0.iter_mut().zip(output) {
                    // SAFETY: an unaligned store of exactly the 64 bytes of `b`, borrowed
                    // mutably; writing initialises them.
                    unsafe { _mm512_storeu_si512(b.as_mut_ptr().cast(), v) };
                }
                y = match &self.powers {
                    Some(p) => ghash(p, y, output),
                    None => {
                        let mut bytes = [0u8; CHUNK];
                        store_chunk(&mut bytes, output);
                        clmul::absorb(&self.h, y, &bytes)
                    }
                };
            }
            let mut padded = [0u8; CHUNK];
            padded
                .iter_mut()
                .zip(rest.iter())
                .for_each(|(p, r)| *p = *r);
            self.xor_keystream(ctr, &mut padded[..rest.len()]);
            out_rest
                .iter_mut()
                .zip(padded.iter())
                .take(rest.len())
                .for_each(|(o, p)| {
                    o.write(*p);
                });
            clmul::absorb(&self.h, y, &padded[..rest.len()])
        }

        /// XORs the keystream from the counters `ctr` on into `buf`.
        #[target_feature(enable = "avx512f,avx512bw,vaes")]
        fn xor_keystream(&self, mut ctr: __m512i, buf: &mut [u8]) {
            let (chunks, rest) = buf.as_chunks_mut::<CHUNK>();
            let mut padded = [0u8; CHUNK];
            padded
                .iter_mut()
                .zip(rest.iter())
                .for_each(|(p, r)| *p = *r);
            let last = (!rest.is_empty()).then_some(&mut padded);
            for c in chunks.iter_mut().chain(last) {
                let output = xor(load_chunk(c), keystream::<ROUNDS>(&self.rk, ctr));
                ctr = _mm512_add_epi32(ctr, advance(REGS));
                store_chunk(c, output);
            }
            rest.iter_mut().zip(padded).for_each(|(r, p)| *r = p);
        }

        /// The tag, from the hash of AAD and ciphertext.
        #[target_feature(enable = "pclmulqdq,sse2")]
        fn finish(&self, y: __m128i, aad_len: usize, ct_len: usize) -> [u8; 16] {
            let y = clmul::absorb(&self.h, y, &lengths_block(aad_len, ct_len));
            xor16(clmul::store(y), self.mask)
        }
    }

    /// The increment that moves a register of counters `n` registers (4n blocks) on.
    #[target_feature(enable = "sse2,avx512f")]
    fn advance(n: usize) -> __m512i {
        _mm512_broadcast_i32x4(_mm_set_epi32(4 * n as i32, 0, 0, 0))
    }

    /// AES of the counter blocks `ctr`, `ctr`+4, `ctr`+8, … (see [`Gcm::ctr`]).
    #[target_feature(enable = "avx512f,avx512bw,vaes")]
    fn keystream<const ROUNDS: usize>(rk: &[__m512i; 15], ctr: __m512i) -> Regs {
        let swap = _mm512_broadcast_i32x4(_mm_set_epi8(
            12, 13, 14, 15, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
        ));
        let mut c = ctr;
        let mut x = [_mm512_setzero_si512(); REGS];
        for x in &mut x {
            *x = _mm512_xor_si512(_mm512_shuffle_epi8(c, swap), rk[0]);
            c = _mm512_add_epi32(c, advance(1));
        }
        for k in &rk[1..ROUNDS] {
            for x in &mut x {
                *x = _mm512_aesenc_epi128(*x, *k);
            }
        }
        for x in &mut x {
            *x = _mm512_aesenclast_epi128(*x, rk[ROUNDS]);
        }
        x
    }

    /// Folds a chunk (registers of blocks in memory order) into the hash `y`:
    /// (y + b0)·H^n + b1·H^(n-1) + … + b(n-1)·H, all products summed lane by lane before
    /// one reduction, as `clmul::absorb` does with four. Each product takes three
    /// carry-less multiplications (Karatsuba) instead of four: the multiplier shares its
    /// pipe with AES and is the scarcer resource.
    #[target_feature(enable = "avx512f,avx512bw,vpclmulqdq,pclmulqdq")]
    fn ghash(p: &Powers, y: __m128i, blocks: Regs) -> __m128i {
        // Reverses each block's bytes: the reflected order of `clmul::load`.
        let reflect = _mm512_broadcast_i32x4(_mm_set_epi8(
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
        ));
        let mut lo = _mm512_setzero_si512();
        let mut hi = _mm512_setzero_si512();
        let mut mid = _mm512_setzero_si512();
        let mut y = _mm512_zextsi128_si512(y);
        for ((b, h), k) in blocks.into_iter().zip(p.h).zip(p.k) {
            let x = _mm512_xor_si512(_mm512_shuffle_epi8(b, reflect), y);
            y = _mm512_setzero_si512();
            lo = _mm512_xor_si512(lo, _mm512_clmulepi64_epi128::<0x00>(x, h));
            hi = _mm512_xor_si512(hi, _mm512_clmulepi64_epi128::<0x11>(x, h));
            mid = _mm512_xor_si512(mid, _mm512_clmulepi64_epi128::<0x00>(halves_xor(x), k));
        }
        let (lo, hi) = (fold(lo), fold(hi));
        // (x_hi + x_lo)(h_hi + h_lo) - lo - hi is the middle term.
        let mid = _mm_xor_si128(fold(mid), _mm_xor_si128(lo, hi));
        clmul::reduce(
            _mm_xor_si128(lo, _mm_slli_si128::<8>(mid)),
            _mm_xor_si128(hi, _mm_srli_si128::<8>(mid)),
        )
    }

    /// Each lane's two 64-bit halves XORed together (in both halves).
    #[target_feature(enable = "avx512f")]
    fn halves_xor(x: __m512i) -> __m512i {
        _mm512_xor_si512(x, _mm512_shuffle_epi32::<0x4E>(x))
    }

    /// The XOR of a register's four 128-bit lanes.
    #[target_feature(enable = "avx512f")]
    fn fold(x: __m512i) -> __m128i {
        let x = _mm256_xor_si256(_mm512_castsi512_si256(x), _mm512_extracti64x4_epi64::<1>(x));
        _mm_xor_si128(_mm256_castsi256_si128(x), _mm256_extracti128_si256::<1>(x))
    }

    /// The hash key powers [`ghash`] multiplies a chunk by.
    struct Powers {
        /// H^n..H^1 for the n = 4 * REGS blocks of a chunk: register `i` holds
        /// H^(n-4i) in its first lane down to H^(n-4i-3) in its last.
        h: Regs,
        /// [`halves_xor`] of `h`.
        k: Regs,
    }

    impl Powers {
        /// From H^1..H^4.
        #[target_feature(enable = "avx512f,pclmulqdq")]
        fn new(h: &[__m128i; 4]) -> Self {
            // p[i][j] = H^(4i+j+1): four independent chains of multiplications by H^4.
            let mut p = [*h; REGS];
            for i in 1..REGS {
                let previous = p[i - 1];
                for (p, previous) in p[i].iter_mut().zip(previous) {
                    *p = clmul::gfmul(previous, h[3]);
                }
            }
            let mut powers = Powers {
                h: [_mm512_setzero_si512(); REGS],
                k: [_mm512_setzero_si512(); REGS],
            };
            for ((h, k), p) in powers.h.iter_mut().zip(&mut powers.k).zip(p.iter().rev()) {
                *h = descending(*p);
                *k = halves_xor(*h);
            }
            powers
        }
    }

    /// A register with `q[3]` in lane 0 down to `q[0]` in lane 3.
    #[target_feature(enable = "avx512f")]
    fn descending(q: [__m128i; 4]) -> __m512i {
        let low = _mm256_set_m128i(q[2], q[3]);
        let high = _mm256_set_m128i(q[0], q[1]);
        _mm512_inserti64x4::<1>(_mm512_castsi256_si512(low), high)
    }

    #[target_feature(enable = "avx512f")]
    fn xor(a: Regs, b: Regs) -> Regs {
        let mut x = a;
        for (x, b) in x.iter_mut().zip(b) {
            *x = _mm512_xor_si512(*x, b);
        }
        x
    }

    #[target_feature(enable = "avx512f")]
    fn load_chunk(c: &[u8; CHUNK]) -> Regs {
        let mut v = [_mm512_setzero_si512(); REGS];
        for (v, b) in v.iter_mut().zip(c.as_chunks::<64>().0) {
            // SAFETY: an unaligned load of exactly the 64 bytes of `b`.
            *v = unsafe { _mm512_loadu_si512(b.as_ptr().cast()) };
        }
        v
    }

    #[target_feature(enable = "avx512f")]
    fn store_chunk(c: &mut [u8; CHUNK], v: Regs) {
        for (b, v) in c.as_chunks_mut::<64>().0.iter_mut().zip(v) {
            // SAFETY: an unaligned store of exactly the 64 bytes of `b`, borrowed mutably.
            unsafe { _mm512_storeu_si512(b.as_mut_ptr().cast(), v) };
        }
    }

    /// AES of one block under `key`, for the tests to check [`expand`] against the `aes`
    /// crate.
    #[cfg(test)]
    #[target_feature(enable = "aes,sse2")]
    pub(super) fn encrypt(key: Key, block: &[u8; 16]) -> [u8; 16] {
        match key {
            Key::A128(_) => encrypt_block::<10>(&expand(key), block),
            Key::A256(_) => encrypt_block::<14>(&expand(key), block),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::aead::AeadInPlace;
    use aes_gcm::{Aes128Gcm, Aes256Gcm};

    /// Deterministic test bytes.
    fn bytes(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed).rotate_left(3))
            .collect()
    }

    fn reference(key: &[u8], nonce: &[u8; 12], aad: &[u8], pt: &[u8]) -> (Vec<u8>, [u8; 16]) {
        let mut buf = pt.to_vec();
        let tag = if key.len() == 16 {
            Aes128Gcm::new_from_slice(key)
                .unwrap()
                .encrypt_in_place_detached(nonce.into(), aad, &mut buf)
        } else {
            Aes256Gcm::new_from_slice(key)
                .unwrap()
                .encrypt_in_place_detached(nonce.into(), aad, &mut buf)
        }
        .unwrap();
        (buf, tag.into())
    }

    /// Every tier this CPU runs, each tested on its own so that the slower ones stay
    /// covered on a CPU that has the faster.
    fn tiers() -> Vec<Tier> {
        let tiers: Vec<Tier> = Tier::all().collect();
        #[cfg(target_arch = "x86_64")]
        assert!(
            !tiers.is_empty(),
            "every x86_64 CPU this runs on has PCLMULQDQ"
        );
        tiers
    }

    #[test]
    fn every_tier_matches_aes_gcm_for_every_length_and_key_size() {
        let tiers = tiers();
        let lengths = (0..=600).chain([
            1023,
            1024,
            1025,
            4095,
            4096,
            4097,
            65_536 + 7,
            (1 << 20) + 3,
        ]);
        for key_len in [16, 32] {
            let key = bytes(key_len, 1);
            let nonce: [u8; 12] = bytes(12, 2).try_into().unwrap();
            for len in lengths.clone() {
                let pt = bytes(len, 3);
                for aad_len in [0, 1, 15, 16, 17, 52, 64, 100, 112, 511, 512, 513, 1100] {
                    let aad = bytes(aad_len, 4);
                    let (want_ct, want_tag) = reference(&key, &nonce, &aad, &pt);
                    for &tier in &tiers {
                        let mut buf = pt.clone();
                        let tag = seal_on(tier, &key, &nonce, &aad, &mut buf).unwrap();
                        assert!(
                            buf == want_ct && tag == want_tag,
                            "{tier:?} key {key_len} len {len} aad {aad_len}"
                        );
                        open_on(tier, &key, &nonce, &aad, &mut buf, &want_tag).unwrap();
                        assert!(buf == pt, "{tier:?} key {key_len} len {len} aad {aad_len}");
                    }
                }
            }
        }
    }

    #[test]
    fn sealing_a_tail_from_elsewhere_equals_sealing_it_in_place() {
        let tiers = tiers();
        for key_len in [16, 32] {
            let key = bytes(key_len, 11);
            let nonce: [u8; 12] = bytes(12, 12).try_into().unwrap();
            let aad = bytes(32, 13);
            for head_len in [0, 1, 15, 16, 17, 64, 112, 113, 600] {
                for tail_len in [0, 1, 5, 15, 16, 511, 512, 513, 1024 + 17, 16_384 + 3] {
                    let head = bytes(head_len, 14);
                    let tail = bytes(tail_len, 15);
                    let whole = [&head[..], &tail[..]].concat();
                    let (want_ct, want_tag) = reference(&key, &nonce, &aad, &whole);
                    for &tier in &tiers {
                        // Bytes before `from` are left alone; the spare capacity starts
                        // dirty, so a byte left unwritten would show.
                        let mut out = vec![0xEE; 7 + tail_len + 64];
                        out.truncate(7);
                        out.extend_from_slice(&head);
                        let tag =
                            seal_append_on(tier, &key, &nonce, &aad, &mut out, 7, &tail).unwrap();
                        assert!(
                            out[..7] == [0xEE; 7] && out[7..] == want_ct[..] && tag == want_tag,
                            "{tier:?} key {key_len} head {head_len} tail {tail_len}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn gmac_in_pieces_equals_gmac_of_the_whole() {
        for tier in tiers() {
            for key_len in [16, 32] {
                let key = bytes(key_len, 9);
                let nonce: [u8; 12] = bytes(12, 8).try_into().unwrap();
                for body in [0, 1, 15, 16, 100, 255, 256, 257, 1000, 4096 + 5, 65_536 + 1] {
                    let msg = bytes(64 + body, 5);
                    let (_, want) = reference(&key, &nonce, &msg, &[]);
                    // A split at a multiple of 16 after the header, leaving whole chunks
                    // on both sides of it where the body is long enough.
                    let mid = 64 + body / 2 / 16 * 16;
                    for pieces in [
                        vec![&msg[..]],
                        vec![&msg[..64], &msg[64..]],
                        vec![&msg[..64], &msg[64..mid], &msg[mid..]],
                        vec![&msg[..0], &msg[..64], &msg[64..64], &msg[64..]],
                    ] {
                        assert_eq!(
                            gmac_on(tier, &key, &nonce, &pieces).unwrap(),
                            want,
                            "{tier:?} key {key_len} body {body} pieces {}",
                            pieces.len()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn tampering_fails_to_open_and_leaves_the_buffer_as_it_was() {
        for tier in tiers() {
            for key_len in [16, 32] {
                let key = bytes(key_len, 1);
                let nonce = [7u8; 12];
                for len in [1, 100, 1000, 65_536 + 7] {
                    let mut sealed = bytes(len, 2);
                    let tag = seal_on(tier, &key, &nonce, b"aad", &mut sealed).unwrap();
                    let fails = |key: &[u8], nonce: &[u8; 12], aad: &[u8], ct: &[u8], tag| {
                        let mut buf = ct.to_vec();
                        let result = open_on(tier, key, nonce, aad, &mut buf, tag);
                        assert_eq!(result, Err(CryptoError::Decrypt), "{tier:?} len {len}");
                        assert!(buf == ct, "{tier:?} len {len}: buffer changed");
                    };
                    for at in [0, len / 2, len - 1] {
                        let mut ct = sealed.clone();
                        ct[at] ^= 1;
                        fails(&key, &nonce, b"aad", &ct, &tag);
                    }
                    let mut bad_tag = tag;
                    bad_tag[15] ^= 0x80;
                    fails(&key, &nonce, b"aad", &sealed, &bad_tag);
                    fails(&key, &nonce, b"aaD", &sealed, &tag);
                    fails(&key, &[8u8; 12], b"aad", &sealed, &tag);
                    fails(&bytes(key_len, 3), &nonce, b"aad", &sealed, &tag);
                    open_on(tier, &key, &nonce, b"aad", &mut sealed, &tag).unwrap();
                    assert_eq!(sealed, bytes(len, 2));
                }
            }
            let short = CryptoError::KeyLength {
                expected: 16,
                got: 5,
            };
            let nonce = [7u8; 12];
            assert_eq!(
                seal_on(tier, &[0; 5], &nonce, b"", &mut []),
                Err(short.clone())
            );
            assert_eq!(
                open_on(tier, &[0; 5], &nonce, b"", &mut [], &[0; 16]),
                Err(short.clone())
            );
            assert_eq!(gmac_on(tier, &[0; 5], &nonce, &[]), Err(short));
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vaes_key_expansion_matches_the_aes_crate() {
        let Some(_vaes) = Tier::detect(Kind::Vaes) else {
            eprintln!("this CPU lacks the VAES tier; its key expansion is not reachable");
            return;
        };
        let encrypt = |key: &[u8], block: &[u8; 16]| {
            // SAFETY: `_vaes` shows the CPU has AES-NI, the feature `vaes::encrypt` needs.
            unsafe { vaes::encrypt(Key::new(key).unwrap(), block) }
        };
        // FIPS 197 appendix C.1 and C.3.
        let block: [u8; 16] = (0..16)
            .map(|i| i * 0x11)
            .collect::<Vec<u8>>()
            .try_into()
            .unwrap();
        let key128: Vec<u8> = (0..16).collect();
        let key256: Vec<u8> = (0..32).collect();
        assert_eq!(
            encrypt(&key128, &block),
            [
                0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30, 0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4,
                0xc5, 0x5a
            ]
        );
        assert_eq!(
            encrypt(&key256, &block),
            [
                0x8e, 0xa2, 0xb7, 0xca, 0x51, 0x67, 0x45, 0xbf, 0xea, 0xfc, 0x49, 0x90, 0x4b, 0x49,
                0x60, 0x89
            ]
        );
        for seed in 0..32 {
            for key_len in [16, 32] {
                let key = bytes(key_len, seed);
                let block: [u8; 16] = bytes(16, seed ^ 0x5A).try_into().unwrap();
                let want = Aes::new(Key::new(&key).unwrap()).encrypt_block(block);
                assert_eq!(encrypt(&key, &block), want, "key {key_len} seed {seed}");
            }
        }
    }
}
