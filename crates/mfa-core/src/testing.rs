//! Deterministic helpers for tests. Compiled only for this crate's tests and
//! behind the `testing` feature; nothing here is fit for production.

use rand_core::{TryCryptoRng, TryRng};
use sha2::{Digest, Sha256};

/// A reproducible byte stream: SHA-256 of a seed and a block counter.
///
/// It claims `CryptoRng` only so that tests can drive the same code paths as
/// production; anyone who knows the seed knows every byte.
#[derive(Debug, Clone)]
pub struct SeqRng {
    seed: u64,
    block: u64,
    buffer: [u8; 32],
    used: usize,
}

impl SeqRng {
    /// A stream determined by `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            block: 0,
            buffer: [0; 32],
            used: 32,
        }
    }

    fn refill(&mut self) {
        let mut hasher = Sha256::new();
        hasher.update(self.seed.to_le_bytes());
        hasher.update(self.block.to_le_bytes());
        self.buffer = hasher.finalize().into();
        self.block += 1;
        self.used = 0;
    }
}

impl TryRng for SeqRng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for byte in dst {
            if self.used == self.buffer.len() {
                self.refill();
            }
            *byte = self.buffer[self.used];
            self.used += 1;
        }
        Ok(())
    }
}

impl TryCryptoRng for SeqRng {}
