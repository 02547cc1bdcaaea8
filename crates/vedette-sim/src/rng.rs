//! The simulation's only source of randomness: SplitMix64, seeded explicitly.
//!
//! Every random choice of a run (the plan, latencies, losses, fault timing, per-node core seeds) is drawn
//! from one `Rng` per world, in scheduler order, so a seed reproduces a run bit for bit. SplitMix64 is tiny,
//! has no dependencies and its quality is far beyond what a fault schedule needs.

/// A seeded SplitMix64 generator.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose whole output is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n == 0`). Lemire's multiply-shift: no modulo bias worth caring about.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `ppm` parts per million.
    pub fn chance_ppm(&mut self, ppm: u32) -> bool {
        ppm > 0 && self.below(1_000_000) < u64::from(ppm)
    }

    /// True with probability `pct` percent.
    pub fn chance_pct(&mut self, pct: u32) -> bool {
        self.chance_ppm(pct.saturating_mul(10_000))
    }

    /// A uniformly chosen index into a slice of length `len` (0 when empty).
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// An independent generator for a sub-stream (e.g. one per node).
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }

    /// 40 lowercase hex characters (a sentinel or Redis run id).
    pub fn hex40(&mut self) -> String {
        let mut s = String::with_capacity(40);
        while s.len() < 40 {
            let v = self.next_u64();
            for i in 0..16 {
                if s.len() == 40 {
                    break;
                }
                let nib = ((v >> (i * 4)) & 0xf) as u32;
                s.push(char::from_digit(nib, 16).unwrap_or('0'));
            }
        }
        s
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.index(i + 1);
            v.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn below_is_in_range() {
        let mut r = Rng::new(1);
        for n in 1..200 {
            assert!(r.below(n) < n);
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(r.hex40().len(), 40);
    }
}
