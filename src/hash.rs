//! Fast hashing shared by the modules: FNV-1a for short keys the program itself bounds
//! (attribute names, fact names), and a seeded hash for keys the input chooses (case
//! ids, markings of a user's net).

/// FNV-1a: much faster than SipHash on short keys. Only for attribute names, never for
/// keys an attacker could choose to collide (a log's own names are bounded by its schema).
#[derive(Debug, Clone, Copy, Default)]
pub struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// Builds [`Fnv`] hashers.
pub type FastHash = std::hash::BuildHasherDefault<Fnv>;

/// The per-process seed of [`seeded`] hashes: keys that come from the input (case ids,
/// a net's markings) would otherwise be chosen to collide.
fn seed() -> u64 {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SEED.get_or_init(|| {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64)
    })
}

/// A hash of bytes from a per-process random seed: a word-at-a-time folded-multiply mix
/// with a full avalanche at the end, so its low bits serve a Bloom filter too. Keys that
/// are alike (`INC0001234`, `INC0001243`) do not collide.
pub fn seeded(b: &[u8]) -> u64 {
    mix_bytes(seed(), b)
}

fn mix_bytes(seed: u64, b: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    // The high half of the 128-bit product folded into the low: every bit of the word
    // reaches every bit of the hash. (A plain multiply carries only upwards, and words
    // that differ in their high bytes then collide with ones that differ in the next
    // word's low bytes.)
    let mix = |h: u64, w: u64| {
        let p = u128::from(h ^ w) * u128::from(K);
        (p as u64) ^ ((p >> 64) as u64)
    };
    let mut h = mix(seed, b.len() as u64);
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        h = mix(h, u64::from_le_bytes(word));
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(last));
    }
    // murmur3's finaliser
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Hashes bytes with [`seeded`]'s mix, each write chained to the ones before; a `u64`
/// (a hash already) is taken as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Seeded(u64);

impl std::hash::Hasher for Seeded {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = mix_bytes(self.0 ^ seed(), bytes);
    }
    fn write_u8(&mut self, i: u8) {
        // (the end mark `str` adds after its bytes: already in the length mixed in)
        self.0 ^= u64::from(i);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 ^= i;
    }
    // A length before bytes, or a number beside them (a search state's position): one
    // folded multiply, not the whole mix.
    fn write_u32(&mut self, i: u32) {
        self.0 = fold(self.0 ^ seed() ^ u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.0 = fold(self.0 ^ seed() ^ i as u64);
    }
}

fn fold(x: u64) -> u64 {
    let p = u128::from(x) * u128::from(0x9e37_79b9_7f4a_7c15_u64);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Hash maps keyed by what the input chooses (case ids, markings of a user's net):
/// seeded per process, so that an input cannot choose colliding keys, and far faster
/// than SipHash. `watch` keys its open cases with it; the alignment search its states.
pub type SeededHash = std::hash::BuildHasherDefault<Seeded>;
