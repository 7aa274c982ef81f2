//! A fast hasher for the engine's in-memory maps: integer codes and short strings, never keys an
//! attacker could choose to collide (the maps hold what the engine itself stored).
//!
//! The maps find a key's slot by the hash's low bits and tell keys apart by its top seven, so
//! every bit of the hash must depend on every byte of the key. The Fx steps alone do not give
//! that: a product's low bits depend only on its factors' low bits, so strings that differ in
//! the middle of their last word (`user-012345`, `user-012346`, ...) would share a few slots
//! and each look-up walk long chains. The hash is therefore mixed once more when it is taken.

use std::hash::{BuildHasherDefault, Hasher};

/// The Fx hash (as in rustc): a multiply and a rotate per word.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    /// The state, its high bits folded into the low ones by a shift, a multiply and a shift.
    #[inline]
    fn finish(&self) -> u64 {
        let h = (self.0 ^ (self.0 >> 32)).wrapping_mul(SEED);
        h ^ (h >> 29)
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;
pub(crate) type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;
pub(crate) type FxHashSet<K> = std::collections::HashSet<K, FxBuild>;

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    /// How many of `slots` (a power of two) the low bits of the keys' hashes reach, against
    /// how many keys hashed at random would reach.
    fn spread(keys: impl ExactSizeIterator<Item = String>, slots: u64) -> (usize, f64) {
        let n = keys.len() as f64;
        let reached: FxHashSet<u64> = keys
            .map(|key| FxBuild::default().hash_one(key.as_str()) & (slots - 1))
            .collect();
        let random = slots as f64 * (1.0 - (-n / slots as f64).exp());
        (reached.len(), random)
    }

    #[test]
    fn keys_differing_in_their_last_word_spread_over_the_slots() {
        for (keys, slots) in [
            (
                (0..100_000)
                    .map(|i| format!("user-{i:06}"))
                    .collect::<Vec<_>>(),
                1 << 17,
            ),
            ((0..5_000).map(|i| format!("ref-{i}")).collect(), 1 << 13),
            ((0..1_000).map(|i| format!("/page/{i}")).collect(), 1 << 11),
            ((0..20_000).map(|i| i.to_string()).collect(), 1 << 15),
        ] {
            let first = keys[0].clone();
            let (reached, random) = spread(keys.into_iter(), slots);
            assert!(
                reached as f64 > 0.95 * random,
                "keys like {first:?} reach {reached} of {slots} slots, at random {random:.0}"
            );
        }
    }

    #[test]
    fn codes_spread_over_the_slots() {
        let reached: FxHashSet<u64> = (0..4_096u32)
            .map(|code| FxBuild::default().hash_one(code) & 4_095)
            .collect();
        assert!(reached.len() > 2_500, "{}", reached.len());
    }
}
