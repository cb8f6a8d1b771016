//! TOTP (RFC 6238) over HOTP (RFC 4226): generation and verification.
//!
//! [`Totp`] keys the HMAC once and clones that state for every time step it
//! tries, so a verification costs one HMAC per step in the window and no
//! re-keying. Verification walks the window from the newest step down and
//! stops at the first match, which is therefore the newest matching step;
//! it refuses that step if it is at or below the last accepted one. A wrong
//! code always costs the whole window, and each comparison is constant-time,
//! so the time taken never depends on how close a wrong code came: only on
//! whether, and at which step of the window, the right code matched.

use hmac::{Hmac, KeyInit, Mac};
use subtle::ConstantTimeEq;

use crate::secret::TotpSecret;
use crate::time::UnixTime;

/// The HMAC hash of RFC 6238. SHA-1 is what authenticator apps support.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA-1, the default and the only one every app implements.
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name used in otpauth URIs.
    #[must_use]
    pub fn uri_name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }
}

/// How many digits a code has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Digits {
    /// Six digits, what authenticator apps show.
    #[default]
    Six,
    /// Eight digits.
    Eight,
}

impl Digits {
    /// The number of digits.
    #[must_use]
    pub fn count(self) -> usize {
        match self {
            Self::Six => 6,
            Self::Eight => 8,
        }
    }

    fn modulus(self) -> u32 {
        match self {
            Self::Six => 1_000_000,
            Self::Eight => 100_000_000,
        }
    }
}

/// The parameters shared with the authenticator and the tolerated skew.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TotpConfig {
    /// The HMAC hash.
    pub algorithm: Algorithm,
    /// Digits per code.
    pub digits: Digits,
    /// Length of a time step in seconds (RFC 6238's X), at least 1.
    pub period: u64,
    /// How many steps before the current one are still accepted.
    pub steps_back: u8,
    /// How many steps after the current one are accepted.
    pub steps_forward: u8,
}

impl Default for TotpConfig {
    /// SHA-1, 6 digits, 30 s steps, current step ±1 (RFC 6238 section 5.2).
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Sha1,
            digits: Digits::Six,
            period: 30,
            steps_back: 1,
            steps_forward: 1,
        }
    }
}

/// Why a TOTP code was refused. Callers should tell the user the same thing
/// for every variant; the distinction is for logs and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// Not exactly the configured number of ASCII digits.
    #[error("the code is not a {0}-digit number")]
    Malformed(usize),
    /// No step in the window produces this code.
    #[error("the code does not match")]
    Mismatch,
    /// The code matches, but only a step already used or older.
    #[error("the code was already used")]
    Replayed,
}

/// A one-time code as entered: exactly `digits` ASCII digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct OtpInput {
    value: u32,
}

impl core::fmt::Debug for OtpInput {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("OtpInput(..)")
    }
}

impl OtpInput {
    /// Parses user input: surrounding whitespace trimmed, inner spaces
    /// removed, then exactly `digits` ASCII digits. Signs, full-width digits
    /// and longer numbers with leading zeros are refused.
    pub fn parse(input: &str, digits: Digits) -> Result<Self, TotpError> {
        let malformed = TotpError::Malformed(digits.count());
        let mut value: u32 = 0;
        let mut count = 0usize;
        for byte in input.trim().bytes() {
            match byte {
                b' ' => continue,
                b'0'..=b'9' if count < digits.count() => {
                    value = value * 10 + u32::from(byte - b'0');
                    count += 1;
                }
                _ => return Err(malformed),
            }
        }
        if count != digits.count() {
            return Err(malformed);
        }
        Ok(Self { value })
    }
}

#[derive(Clone)]
enum KeyedMac {
    Sha1(Hmac<sha1::Sha1>),
    Sha256(Hmac<sha2::Sha256>),
    Sha512(Hmac<sha2::Sha512>),
}

impl KeyedMac {
    fn new(algorithm: Algorithm, key: &[u8]) -> Self {
        // HMAC takes keys of any length, so these constructors cannot fail;
        // the fallback keeps the function total without a panic path.
        match algorithm {
            Algorithm::Sha1 => Self::Sha1(
                Hmac::new_from_slice(key).unwrap_or_else(|_| Hmac::new(&Default::default())),
            ),
            Algorithm::Sha256 => Self::Sha256(
                Hmac::new_from_slice(key).unwrap_or_else(|_| Hmac::new(&Default::default())),
            ),
            Algorithm::Sha512 => Self::Sha512(
                Hmac::new_from_slice(key).unwrap_or_else(|_| Hmac::new(&Default::default())),
            ),
        }
    }

    /// RFC 4226 section 5.3: HMAC of the big-endian counter, dynamic
    /// truncation to 31 bits.
    fn truncated(&self, counter: u64) -> u32 {
        let msg = counter.to_be_bytes();
        match self {
            Self::Sha1(mac) => {
                dynamic_truncation(&mac.clone().chain_update(msg).finalize().into_bytes())
            }
            Self::Sha256(mac) => {
                dynamic_truncation(&mac.clone().chain_update(msg).finalize().into_bytes())
            }
            Self::Sha512(mac) => {
                dynamic_truncation(&mac.clone().chain_update(msg).finalize().into_bytes())
            }
        }
    }
}

fn dynamic_truncation(hash: &[u8]) -> u32 {
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let word = [
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ];
    u32::from_be_bytes(word)
}

/// A secret keyed for one configuration, ready to generate and verify.
#[derive(Clone)]
pub struct Totp {
    mac: KeyedMac,
    config: TotpConfig,
}

impl core::fmt::Debug for Totp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Totp")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Totp {
    /// Keys the HMAC with `secret` once.
    #[must_use]
    pub fn new(secret: &TotpSecret, config: TotpConfig) -> Self {
        Self {
            mac: KeyedMac::new(config.algorithm, secret.expose_bytes()),
            config,
        }
    }

    /// The configuration this instance was built with.
    #[must_use]
    pub fn config(&self) -> &TotpConfig {
        &self.config
    }

    /// The time step (RFC 6238's T) that contains `time`.
    #[must_use]
    pub fn step_at(&self, time: UnixTime) -> u64 {
        time.0 / self.config.period.max(1)
    }

    /// The HOTP value for `counter`, already reduced to the digit count.
    #[must_use]
    pub fn hotp(&self, counter: u64) -> u32 {
        self.mac.truncated(counter) % self.config.digits.modulus()
    }

    /// The code for a given step, zero-padded to the digit count.
    #[must_use]
    pub fn code_at_step(&self, step: u64) -> String {
        format!(
            "{:0width$}",
            self.hotp(step),
            width = self.config.digits.count()
        )
    }

    /// The code an authenticator shows at `time`.
    #[must_use]
    pub fn generate(&self, time: UnixTime) -> String {
        self.code_at_step(self.step_at(time))
    }

    /// Checks `input` against every step of the window around `time` and
    /// returns the newest matching step, which the caller must then record as
    /// the last accepted one. Steps at or below `last_accepted` are refused.
    pub fn verify(
        &self,
        input: &str,
        time: UnixTime,
        last_accepted: Option<u64>,
    ) -> Result<u64, TotpError> {
        let code = OtpInput::parse(input, self.config.digits)?;
        self.verify_parsed(code, time, last_accepted)
    }

    /// [`Totp::verify`] for input that is already parsed.
    pub fn verify_parsed(
        &self,
        code: OtpInput,
        time: UnixTime,
        last_accepted: Option<u64>,
    ) -> Result<u64, TotpError> {
        let current = self.step_at(time);
        let first = current.saturating_sub(u64::from(self.config.steps_back));
        let last = current.saturating_add(u64::from(self.config.steps_forward));

        let newest = (first..=last)
            .rev()
            .find(|&step| bool::from(self.hotp(step).ct_eq(&code.value)));
        match (newest, last_accepted) {
            (None, _) => Err(TotpError::Mismatch),
            (Some(step), Some(used)) if step <= used => Err(TotpError::Replayed),
            (Some(step), _) => Ok(step),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totp(key: &[u8], algorithm: Algorithm, digits: Digits) -> Totp {
        let secret = TotpSecret::from_bytes(key).unwrap();
        Totp::new(
            &secret,
            TotpConfig {
                algorithm,
                digits,
                ..TotpConfig::default()
            },
        )
    }

    const SHA1_KEY: &[u8] = b"12345678901234567890";
    const SHA256_KEY: &[u8] = b"12345678901234567890123456789012";
    const SHA512_KEY: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    /// RFC 4226 Appendix D: HOTP values for counters 0 to 9.
    #[test]
    fn rfc4226_appendix_d() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        let hotp = totp(SHA1_KEY, Algorithm::Sha1, Digits::Six);
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(
                hotp.code_at_step(counter as u64),
                *code,
                "counter {counter}"
            );
        }
    }

    /// RFC 6238 Appendix B: every row of the table, 8 digits.
    #[test]
    fn rfc6238_appendix_b() {
        let table: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        let sha1 = totp(SHA1_KEY, Algorithm::Sha1, Digits::Eight);
        let sha256 = totp(SHA256_KEY, Algorithm::Sha256, Digits::Eight);
        let sha512 = totp(SHA512_KEY, Algorithm::Sha512, Digits::Eight);
        for (time, c1, c256, c512) in table {
            let at = UnixTime(time);
            assert_eq!(sha1.generate(at), c1, "SHA-1 at {time}");
            assert_eq!(sha256.generate(at), c256, "SHA-256 at {time}");
            assert_eq!(sha512.generate(at), c512, "SHA-512 at {time}");
            assert_eq!(sha1.verify(c1, at, None), Ok(sha1.step_at(at)));
            assert_eq!(sha256.verify(c256, at, None), Ok(sha256.step_at(at)));
            assert_eq!(sha512.verify(c512, at, None), Ok(sha512.step_at(at)));
        }
    }

    #[test]
    fn window_accepts_one_step_each_side_and_no_more() {
        let t = totp(SHA1_KEY, Algorithm::Sha1, Digits::Six);
        let now = UnixTime(1_700_000_015);
        let step = t.step_at(now);
        assert_eq!(t.verify(&t.code_at_step(step - 1), now, None), Ok(step - 1));
        assert_eq!(t.verify(&t.code_at_step(step + 1), now, None), Ok(step + 1));
        assert_eq!(
            t.verify(&t.code_at_step(step - 2), now, None),
            Err(TotpError::Mismatch)
        );
        assert_eq!(
            t.verify(&t.code_at_step(step + 2), now, None),
            Err(TotpError::Mismatch)
        );
    }

    #[test]
    fn window_edges_follow_the_step_boundaries() {
        let t = totp(SHA1_KEY, Algorithm::Sha1, Digits::Six);
        // 59 is the last second of step 1; 60 is the first of step 2.
        let code_step0 = t.code_at_step(0);
        assert_eq!(t.verify(&code_step0, UnixTime(59), None), Ok(0));
        assert_eq!(
            t.verify(&code_step0, UnixTime(60), None),
            Err(TotpError::Mismatch)
        );
        // At time 0 there is no step before 0; the window starts there.
        assert_eq!(t.verify(&code_step0, UnixTime(0), None), Ok(0));
    }

    #[test]
    fn a_wider_window_is_configurable() {
        let secret = TotpSecret::from_bytes(SHA1_KEY).unwrap();
        let config = TotpConfig {
            steps_back: 3,
            steps_forward: 0,
            ..TotpConfig::default()
        };
        let t = Totp::new(&secret, config);
        let now = UnixTime(3_000);
        let step = t.step_at(now);
        assert_eq!(t.verify(&t.code_at_step(step - 3), now, None), Ok(step - 3));
        assert_eq!(
            t.verify(&t.code_at_step(step + 1), now, None),
            Err(TotpError::Mismatch)
        );
    }

    #[test]
    fn replay_of_the_same_or_an_older_step_is_refused() {
        let t = totp(SHA1_KEY, Algorithm::Sha1, Digits::Six);
        let now = UnixTime(1_700_000_000);
        let step = t.step_at(now);
        let code = t.code_at_step(step);
        let accepted = t.verify(&code, now, None).unwrap();
        assert_eq!(
            t.verify(&code, now, Some(accepted)),
            Err(TotpError::Replayed)
        );
        assert_eq!(
            t.verify(&format!(" {code} "), now, Some(accepted)),
            Err(TotpError::Replayed)
        );
        assert_eq!(
            t.verify(&t.code_at_step(step - 1), now, Some(accepted)),
            Err(TotpError::Replayed)
        );
        assert_eq!(
            t.verify(&t.code_at_step(step + 1), now, Some(accepted)),
            Ok(step + 1)
        );
    }

    #[test]
    fn the_newest_matching_step_wins() {
        // A window of 511 steps makes two steps with one code likely (six
        // digits, birthday bound); search windows until such a pair shows up.
        let secret = TotpSecret::from_bytes(SHA1_KEY).unwrap();
        let config = TotpConfig {
            steps_back: 255,
            steps_forward: 255,
            ..TotpConfig::default()
        };
        let t = Totp::new(&secret, config);
        let (older, newer, now) = (0..200u64)
            .find_map(|window| {
                let centre = 255 + window * 511;
                let mut seen = std::collections::HashMap::new();
                let mut pair = None;
                for step in centre - 255..=centre + 255 {
                    if let Some(first) = seen.insert(t.hotp(step), step) {
                        pair = Some((first, step));
                    }
                }
                pair.map(|(a, b)| (a, b, UnixTime(centre * 30)))
            })
            .expect("a collision within 200 windows");
        let code = t.code_at_step(older);
        assert_eq!(t.code_at_step(newer), code);
        assert_eq!(t.verify(&code, now, None), Ok(newer));
        assert_eq!(t.verify(&code, now, Some(older)), Ok(newer));
        assert_eq!(t.verify(&code, now, Some(newer)), Err(TotpError::Replayed));
    }

    #[test]
    fn input_normalisation_is_strict_about_digits() {
        let t = totp(SHA1_KEY, Algorithm::Sha1, Digits::Six);
        let now = UnixTime(1_700_000_000);
        let code = t.generate(now);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(t.verify(&spaced, now, None).is_ok());
        assert!(t.verify(&format!("\t{code}\n"), now, None).is_ok());
        let refused = [
            format!("0{code}"),
            format!("+{code}"),
            format!("-{code}"),
            code[..5].to_string(),
            code.chars()
                .map(|c| char::from_u32(c as u32 - 0x30 + 0xFF10).unwrap())
                .collect(),
            format!("{code}x"),
            String::new(),
            "      ".to_string(),
        ];
        for input in refused {
            assert_eq!(
                t.verify(&input, now, None),
                Err(TotpError::Malformed(6)),
                "{input:?}"
            );
        }
    }

    #[test]
    fn debug_of_a_keyed_totp_hides_the_key() {
        let t = totp(SHA1_KEY, Algorithm::Sha1, Digits::Six);
        let shown = format!("{t:?}");
        assert!(shown.starts_with("Totp { config"));
        assert!(!shown.contains("mac"));
    }
}
