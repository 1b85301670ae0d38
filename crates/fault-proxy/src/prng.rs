//! A tiny, lock-free xorshift64* generator: repeatable from a seed, good enough for fault injection.

use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) struct Prng(AtomicU64);

impl Prng {
    pub fn new(seed: u64) -> Prng {
        // splitmix64 spreads small seeds; xorshift must never hold 0.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Prng(AtomicU64::new(if z == 0 {
            0x2545_F491_4F6C_DD1D
        } else {
            z
        }))
    }

    fn step(mut x: u64) -> u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }

    pub fn next_u64(&self) -> u64 {
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            let next = Self::step(current);
            match self
                .0
                .compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next.wrapping_mul(0x2545_F491_4F6C_DD1D),
                Err(actual) => current = actual,
            }
        }
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n) (n > 0; slightly biased, which does not matter here).
    pub fn below(&self, n: usize) -> usize {
        (self.next_u64() % (n.max(1) as u64)) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeatable_and_spread() {
        let a = Prng::new(0);
        let b = Prng::new(0);
        let xs: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..100).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(Prng::new(1).next_u64(), Prng::new(2).next_u64());
        let c = Prng::new(9);
        let mean = (0..10_000).map(|_| c.next_f64()).sum::<f64>() / 10_000.0;
        assert!((0.45..0.55).contains(&mean), "{mean}");
        assert!((0..1000).all(|_| c.below(3) < 3));
    }
}
