//! Fast hashing for short keys the program itself bounds (attribute names, fact
//! names): FNV-1a, shared by the modules that look such names up.

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
