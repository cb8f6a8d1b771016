//! Single-use backup codes: generation, input normalisation, keyed hashing.
//!
//! A code is 12 symbols from a 31-symbol alphabet without look-alikes
//! (no 0/O, 1/I/L), about 59.4 bits, shown as `XXXX-XXXX-XXXX`. Only its
//! keyed hash ([`BackupCodeHash`]) is ever stored: without the server's key
//! the hashes cannot be tested offline, and with it a lookup is one HMAC, not
//! a password hash per stored code.

use hmac::{Hmac, KeyInit, Mac};
use rand_core::CryptoRng;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The symbols a code is drawn from.
pub const ALPHABET: &[u8; 31] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// Symbols per code.
pub const CODE_LEN: usize = 12;

/// Codes per set.
pub const SET_SIZE: usize = 10;

/// A backup code in canonical form (upper case, no separators).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct BackupCode {
    symbols: [u8; CODE_LEN],
}

impl core::fmt::Debug for BackupCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("BackupCode(..)")
    }
}

/// Why input is not a backup code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a backup code is 12 letters and digits, written XXXX-XXXX-XXXX")]
pub struct BackupCodeFormatError;

impl BackupCode {
    /// Draws one code uniformly: each symbol takes 5 random bits and draws
    /// again on the one value past the alphabet, so there is no modulo bias.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut symbols = [0u8; CODE_LEN];
        let mut filled = 0;
        let mut pool = [0u8; 16];
        while filled < CODE_LEN {
            rng.fill_bytes(&mut pool);
            for byte in pool {
                let index = usize::from(byte & 0x1f);
                if index < ALPHABET.len() && filled < CODE_LEN {
                    symbols[filled] = ALPHABET[index];
                    filled += 1;
                }
            }
        }
        pool.zeroize();
        Self { symbols }
    }

    /// Reads a code as a person types it: any case, with or without dashes,
    /// spaces anywhere.
    pub fn parse(input: &str) -> Result<Self, BackupCodeFormatError> {
        let mut symbols = [0u8; CODE_LEN];
        let mut count = 0;
        for byte in input.bytes() {
            match byte {
                b'-' | b' ' | b'\t' => continue,
                _ if count == CODE_LEN => return Err(BackupCodeFormatError),
                _ => {
                    let upper = byte.to_ascii_uppercase();
                    if !ALPHABET.contains(&upper) {
                        return Err(BackupCodeFormatError);
                    }
                    symbols[count] = upper;
                    count += 1;
                }
            }
        }
        if count != CODE_LEN {
            symbols.zeroize();
            return Err(BackupCodeFormatError);
        }
        Ok(Self { symbols })
    }

    /// The display form `XXXX-XXXX-XXXX`, for showing to the user once.
    #[must_use]
    pub fn expose_formatted(&self) -> zeroize::Zeroizing<String> {
        let mut out = zeroize::Zeroizing::new(String::with_capacity(CODE_LEN + 2));
        for (i, &symbol) in self.symbols.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(char::from(symbol));
        }
        out
    }
}

/// Draws a set of [`SET_SIZE`] distinct codes.
pub fn generate_set(rng: &mut impl CryptoRng) -> Vec<BackupCode> {
    let mut codes: Vec<BackupCode> = Vec::with_capacity(SET_SIZE);
    while codes.len() < SET_SIZE {
        let code = BackupCode::generate(rng);
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

/// The keys of the backup-code hash, derived from the server keys: new
/// codes are hashed under the current one; codes hashed under an older one
/// (before a key rotation) still match until they are used or replaced.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct BackupCodeKey {
    current: [u8; 32],
    older: Vec<[u8; 32]>,
}

impl core::fmt::Debug for BackupCodeKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("BackupCodeKey(..)")
    }
}

impl BackupCodeKey {
    /// One key.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            current: bytes,
            older: Vec::new(),
        }
    }

    /// The current key and the keys of earlier rotations.
    #[must_use]
    pub fn ring(current: [u8; 32], older: impl IntoIterator<Item = [u8; 32]>) -> Self {
        Self {
            current,
            older: older.into_iter().filter(|k| *k != current).collect(),
        }
    }

    fn hash_with(key: &[u8; 32], code: &BackupCode) -> BackupCodeHash {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
        mac.update(b"mfa backup code v1\0");
        mac.update(&code.symbols);
        BackupCodeHash(mac.finalize().into_bytes().into())
    }

    /// HMAC-SHA-256 of the canonical code under the current key: the form
    /// new codes are stored in.
    #[must_use]
    pub fn hash(&self, code: &BackupCode) -> BackupCodeHash {
        Self::hash_with(&self.current, code)
    }

    /// The code's hash under every key, current first: one of them is the
    /// stored form of a code issued before or after any rotation.
    #[must_use]
    pub fn candidate_hashes(&self, code: &BackupCode) -> Vec<BackupCodeHash> {
        core::iter::once(&self.current)
            .chain(&self.older)
            .map(|key| Self::hash_with(key, code))
            .collect()
    }
}

/// The stored form of a backup code. Equality is constant-time.
#[derive(Clone, Copy, Eq)]
pub struct BackupCodeHash([u8; 32]);

impl BackupCodeHash {
    /// Rebuilds a hash read from storage.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The bytes to store.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for BackupCodeHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl core::fmt::Debug for BackupCodeHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("BackupCodeHash(..)")
    }
}

/// One stored code and whether it was spent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBackupCode {
    /// The keyed hash.
    pub hash: BackupCodeHash,
    /// Whether it was already accepted once.
    pub used: bool,
}

/// A user's set of backup codes as a value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupCodeSet {
    codes: Vec<StoredBackupCode>,
}

/// Why a code could not be marked used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BackupCodeError {
    /// No unused code of the set has this hash.
    #[error("the backup code is not valid")]
    NotFound,
}

impl BackupCodeSet {
    /// A fresh set, every code unused.
    #[must_use]
    pub fn fresh(hashes: impl IntoIterator<Item = BackupCodeHash>) -> Self {
        Self {
            codes: hashes
                .into_iter()
                .map(|hash| StoredBackupCode { hash, used: false })
                .collect(),
        }
    }

    /// A set as read from storage.
    #[must_use]
    pub fn from_stored(codes: Vec<StoredBackupCode>) -> Self {
        Self { codes }
    }

    /// The stored entries.
    #[must_use]
    pub fn entries(&self) -> &[StoredBackupCode] {
        &self.codes
    }

    /// How many codes are still unused.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.codes.iter().filter(|c| !c.used).count()
    }

    /// Whether an unused code has this hash. Every entry is compared, in
    /// constant time, whatever matched before.
    #[must_use]
    pub fn contains_unused(&self, hash: &BackupCodeHash) -> bool {
        let mut found = subtle::Choice::from(0);
        for code in &self.codes {
            found |= code.hash.0.ct_eq(&hash.0) & subtle::Choice::from(u8::from(!code.used));
        }
        found.into()
    }

    /// A new set in which the code with this hash is spent.
    pub fn mark_used(&self, hash: &BackupCodeHash) -> Result<Self, BackupCodeError> {
        if !self.contains_unused(hash) {
            return Err(BackupCodeError::NotFound);
        }
        let codes = self
            .codes
            .iter()
            .map(|c| StoredBackupCode {
                hash: c.hash,
                used: c.used || c.hash == *hash,
            })
            .collect();
        Ok(Self { codes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SeqRng;
    use proptest::prelude::*;

    fn key() -> BackupCodeKey {
        BackupCodeKey::from_bytes([7; 32])
    }

    #[test]
    fn a_set_is_ten_distinct_well_formed_codes() {
        let codes = generate_set(&mut SeqRng::new(3));
        assert_eq!(codes.len(), 10);
        for code in &codes {
            let shown = code.expose_formatted();
            assert_eq!(shown.len(), 14);
            assert_eq!(shown.as_bytes()[4], b'-');
            assert_eq!(shown.as_bytes()[9], b'-');
            assert!(
                shown
                    .bytes()
                    .filter(|b| *b != b'-')
                    .all(|b| ALPHABET.contains(&b))
            );
            assert!(!shown.contains(['0', 'O', '1', 'I', 'L']));
        }
        for (i, a) in codes.iter().enumerate() {
            assert!(codes[i + 1..].iter().all(|b| a != b));
        }
    }

    #[test]
    fn every_symbol_is_drawn_about_equally_often() {
        let mut rng = SeqRng::new(11);
        let mut counts = [0u32; 31];
        for _ in 0..3_000 {
            for &s in &BackupCode::generate(&mut rng).symbols {
                counts[ALPHABET.iter().position(|&a| a == s).unwrap()] += 1;
            }
        }
        // 36,000 draws over 31 symbols: Pearson's chi-square with 30 degrees
        // of freedom stays under 59.7 (p = 0.001) for a uniform draw; taking
        // a byte modulo 31 instead would bias 8 symbols by 12% and give ~100.
        let expected = 36_000.0 / 31.0;
        let chi2: f64 = counts
            .iter()
            .map(|&n| (f64::from(n) - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < 59.7, "chi-square {chi2:.1} for counts {counts:?}");
    }

    #[test]
    fn parse_accepts_what_people_type() {
        let code = BackupCode::parse("ABCD-EFGH-JKMN").unwrap();
        for input in [
            "abcd-efgh-jkmn",
            "ABCDEFGHJKMN",
            " abcd efgh jkmn ",
            "AbCd-EfGh-JkMn",
        ] {
            assert_eq!(BackupCode::parse(input).unwrap(), code, "{input}");
        }
        assert_eq!(code.expose_formatted().as_str(), "ABCD-EFGH-JKMN");
    }

    #[test]
    fn parse_refuses_look_alikes_and_wrong_lengths() {
        for input in [
            "ABCD-EFGH-JKM0",
            "ABCD-EFGH-JKMI",
            "ABCD-EFGH-JKM",
            "ABCD-EFGH-JKMNP",
            "",
            "ABCD_EFGH_JKMN",
            "ＡBCD-EFGH-JKMN",
        ] {
            assert_eq!(
                BackupCode::parse(input),
                Err(BackupCodeFormatError),
                "{input}"
            );
        }
    }

    #[test]
    fn hashes_are_keyed() {
        let code = BackupCode::parse("ABCD-EFGH-JKMN").unwrap();
        let other = BackupCodeKey::from_bytes([8; 32]);
        assert_eq!(key().hash(&code), key().hash(&code));
        assert_ne!(key().hash(&code), other.hash(&code));
        assert_eq!(
            format!("{:?} {:?} {:?}", code, key(), key().hash(&code)),
            "BackupCode(..) BackupCodeKey(..) BackupCodeHash(..)"
        );
    }

    #[test]
    fn codes_hashed_before_a_rotation_stay_recognisable() {
        let code = BackupCode::parse("ABCD-EFGH-JKMN").unwrap();
        let before = BackupCodeKey::from_bytes([7; 32]).hash(&code);
        let rotated = BackupCodeKey::ring([8; 32], [[7; 32]]);
        assert_ne!(rotated.hash(&code), before, "new codes use the new key");
        assert_eq!(
            rotated.candidate_hashes(&code),
            vec![rotated.hash(&code), before]
        );
    }

    #[test]
    fn marking_used_spends_exactly_one_code() {
        let codes = generate_set(&mut SeqRng::new(5));
        let set = BackupCodeSet::fresh(codes.iter().map(|c| key().hash(c)));
        let first = key().hash(&codes[0]);
        assert!(set.contains_unused(&first));
        let after = set.mark_used(&first).unwrap();
        assert_eq!(set.remaining(), 10, "the original value is untouched");
        assert_eq!(after.remaining(), 9);
        assert!(!after.contains_unused(&first));
        assert_eq!(after.mark_used(&first), Err(BackupCodeError::NotFound));
        assert!(after.contains_unused(&key().hash(&codes[1])));
    }

    proptest! {
        #[test]
        fn normalisation_is_case_and_separator_blind(
            seed in any::<u64>(),
            lower in any::<bool>(),
            sep in prop::sample::select(vec!["-", " ", "", " - "]),
        ) {
            let code = BackupCode::generate(&mut SeqRng::new(seed));
            let shown = code.expose_formatted();
            let mut typed = shown.replace('-', sep);
            if lower { typed = typed.to_lowercase(); }
            prop_assert_eq!(BackupCode::parse(&typed).unwrap(), code);
        }

        #[test]
        fn no_backup_code_is_accepted_twice(
            seed in any::<u64>(),
            order in proptest::collection::vec(0usize..10, 1..30),
        ) {
            let codes = generate_set(&mut SeqRng::new(seed));
            let mut set = BackupCodeSet::fresh(codes.iter().map(|c| key().hash(c)));
            let mut spent = std::collections::HashSet::new();
            for i in order {
                let hash = key().hash(&codes[i]);
                match set.mark_used(&hash) {
                    Ok(next) => { prop_assert!(spent.insert(i)); set = next; }
                    Err(_) => prop_assert!(spent.contains(&i)),
                }
                prop_assert_eq!(set.remaining(), 10 - spent.len());
            }
        }

        #[test]
        fn parse_output_is_always_canonical(text in "\\PC{0,40}") {
            if let Ok(code) = BackupCode::parse(&text) {
                let shown = code.expose_formatted();
                prop_assert_eq!(BackupCode::parse(&shown).unwrap(), code);
            }
        }
    }
}
