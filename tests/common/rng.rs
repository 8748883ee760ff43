//! Random numbers for the tests that randomise a schedule (kill -9 under load): a small
//! deterministic generator, and a seed that is printed and can be replayed.

/// xorshift64*: deterministic given its seed, so a failing schedule can be replayed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The seed of a randomised kill -9 schedule: `RGET_CRASH_SEED` to replay one, else the clock. It is
/// printed, so a failing schedule can be replayed.
pub fn crash_seed() -> u64 {
    let seed = std::env::var("RGET_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("kill -9 schedule seed: {seed} (replay with RGET_CRASH_SEED={seed})");
    seed
}
