//! TOTP shared secrets and their base32 text form.

use rand_core::CryptoRng;
use zeroize::Zeroizing;

/// Length of a generated secret: 160 bits, as RFC 4226 section 4 recommends.
pub const GENERATED_SECRET_LEN: usize = 20;

/// Shortest secret accepted from outside: 128 bits (RFC 4226, R6).
pub const MIN_SECRET_LEN: usize = 16;

/// Longest secret accepted from outside, enough for an HMAC-SHA-512 block.
pub const MAX_SECRET_LEN: usize = 128;

const BASE32: base32::Alphabet = base32::Alphabet::Rfc4648 { padding: false };

/// The key shared with an authenticator app.
///
/// The bytes are wiped from memory when the value is dropped; `Debug` shows
/// only the type name, and there is deliberately no `Display` or `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret {
    bytes: Zeroizing<Vec<u8>>,
}

/// Why a secret was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The text is not RFC 4648 base32.
    #[error("the secret is not valid base32")]
    NotBase32,
    /// The decoded key is shorter or longer than this crate accepts.
    #[error("the secret must be between {MIN_SECRET_LEN} and {MAX_SECRET_LEN} bytes long")]
    BadLength,
}

impl TotpSecret {
    /// Draws a new 160-bit secret from `rng`.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; GENERATED_SECRET_LEN]);
        rng.fill_bytes(&mut bytes);
        Self { bytes }
    }

    /// Wraps raw key bytes, refusing keys shorter than 128 bits.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SecretError> {
        if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&bytes.len()) {
            return Err(SecretError::BadLength);
        }
        Ok(Self {
            bytes: Zeroizing::new(bytes.to_vec()),
        })
    }

    /// Decodes base32 as people and apps write it: any case, spaces
    /// anywhere, with or without `=` padding.
    pub fn parse_base32(text: &str) -> Result<Self, SecretError> {
        let compact: Zeroizing<String> = Zeroizing::new(
            text.chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect::<String>()
                .trim_end_matches('=')
                .to_ascii_uppercase(),
        );
        let valid = compact
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
        if compact.is_empty() || !valid {
            return Err(SecretError::NotBase32);
        }
        let bytes = base32::decode(BASE32, &compact).ok_or(SecretError::NotBase32)?;
        Self::from_bytes(&Zeroizing::new(bytes))
    }

    /// The RFC 4648 base32 form without padding, as authenticator apps
    /// expect it. The caller decides where this text may go.
    #[must_use]
    pub fn to_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(base32::encode(BASE32, &self.bytes))
    }

    /// The raw key bytes, for sealing at rest.
    #[must_use]
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl core::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SeqRng;
    use proptest::prelude::*;

    #[test]
    fn generated_secrets_are_160_bits_and_differ() {
        let mut rng = SeqRng::new(1);
        let a = TotpSecret::generate(&mut rng);
        let b = TotpSecret::generate(&mut rng);
        assert_eq!(a.expose_bytes().len(), 20);
        assert_ne!(a, b);
        assert_eq!(a.to_base32().len(), 32);
    }

    #[test]
    fn decoder_accepts_lower_case_spaces_and_padding() {
        let reference = TotpSecret::parse_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
        for text in [
            "gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ",
            " GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ ",
        ] {
            assert_eq!(TotpSecret::parse_base32(text).unwrap(), reference, "{text}");
        }
        assert_eq!(reference.expose_bytes(), b"12345678901234567890");
        let padded = TotpSecret::parse_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGE======").unwrap();
        assert_eq!(padded.expose_bytes(), b"123456789012345678901");
    }

    #[test]
    fn decoder_refuses_garbage_and_short_keys() {
        assert_eq!(TotpSecret::parse_base32(""), Err(SecretError::NotBase32));
        assert_eq!(
            TotpSecret::parse_base32("GEZDGNBV1"),
            Err(SecretError::NotBase32)
        );
        assert_eq!(
            TotpSecret::parse_base32("ÄEZDGNBV"),
            Err(SecretError::NotBase32)
        );
        assert_eq!(
            TotpSecret::parse_base32("GEZDGNBV"),
            Err(SecretError::BadLength)
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890").unwrap();
        let shown = format!("{secret:?}");
        assert_eq!(shown, "TotpSecret(..)");
        assert!(!shown.contains("GEZD"));
    }

    proptest! {
        #[test]
        fn base32_round_trips(bytes in proptest::collection::vec(any::<u8>(), 16..=64)) {
            let secret = TotpSecret::from_bytes(&bytes).unwrap();
            let text = secret.to_base32();
            prop_assert!(!text.contains('='));
            prop_assert_eq!(TotpSecret::parse_base32(&text).unwrap(), secret.clone());
            prop_assert_eq!(TotpSecret::parse_base32(&text.to_lowercase()).unwrap(), secret);
        }

        #[test]
        fn whatever_the_decoder_accepts_round_trips(text in "\\PC{0,80}") {
            if let Ok(secret) = TotpSecret::parse_base32(&text) {
                prop_assert_eq!(TotpSecret::parse_base32(&secret.to_base32()).unwrap(), secret);
            }
        }
    }
}
