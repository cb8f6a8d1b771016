//! The adapters that hold no storage: the system clock, the OS's random
//! generator, Argon2id password hashing and XChaCha20-Poly1305 sealing.

use std::sync::{Condvar, Mutex, PoisonError};

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use mfa_core::{Password, SealingKey, TotpSecret, UnixTime};

use crate::model::{SealedSecret, UserId};
use crate::ports::{Clock, HashError, PasswordHasher, Randomness, SealError, SecretSealer};

/// The wall clock. The only place the service reads it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        // A clock set before 1970 reads as the epoch: codes then fail, safely.
        UnixTime(since.map_or(0, |d| d.as_secs()))
    }
}

/// The operating system's CSPRNG (`getrandom`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Randomness for OsRandom {
    fn fill_bytes(&self, dest: &mut [u8]) {
        if let Err(e) = getrandom::fill(dest) {
            // Continuing would hand out predictable secrets; stop this request.
            panic!("the operating system's random number generator failed: {e}");
        }
    }
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Settings {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
    /// Hashes computed at once; more wait. Each holds `memory_kib` of memory.
    pub max_concurrent: usize,
}

impl Default for Argon2Settings {
    /// OWASP's m=19456 KiB, t=2, p=1, one hash at a time per core.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            max_concurrent: cores,
        }
    }
}

/// Why Argon2 settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Argon2SettingsError {
    /// Below every configuration OWASP's cheat sheet lists.
    #[error(
        "Argon2id parameters are weaker than OWASP's minimum (m=19456 KiB with t=2, or m*t of at least 35840 with m of at least 7168 KiB)"
    )]
    TooWeak,
    /// Not accepted by the argon2 crate.
    #[error("invalid Argon2id parameters: {0}")]
    Invalid(String),
    /// Zero concurrent hashes would block every login.
    #[error("at least one password hash must be allowed at a time")]
    NoConcurrency,
}

/// A counting semaphore: Argon2 allocates its whole memory cost per hash, so
/// an unbounded number at once would exhaust memory under a login flood.
#[derive(Debug)]
struct Permits {
    free: Mutex<usize>,
    released: Condvar,
}

impl Permits {
    fn run<T>(&self, work: impl FnOnce() -> T) -> T {
        {
            let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
            while *free == 0 {
                free = self
                    .released
                    .wait(free)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            *free -= 1;
        }
        let _release = Release(self);
        work()
    }
}

struct Release<'a>(&'a Permits);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.0.released.notify_one();
    }
}

/// Argon2id password hashing with a bound on concurrent hashes.
#[derive(Debug)]
pub struct Argon2Hasher {
    argon2: Argon2<'static>,
    permits: Permits,
    dummy_hash: String,
}

impl Argon2Hasher {
    /// Checks the parameters against OWASP's minimum and prepares the hash
    /// used to spend the same time on unknown emails.
    pub fn new(settings: Argon2Settings) -> Result<Self, Argon2SettingsError> {
        let m = u64::from(settings.memory_kib);
        if m < 7_168 || m * u64::from(settings.iterations) < 35_840 || settings.parallelism == 0 {
            return Err(Argon2SettingsError::TooWeak);
        }
        if settings.max_concurrent == 0 {
            return Err(Argon2SettingsError::NoConcurrency);
        }
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| Argon2SettingsError::Invalid(e.to_string()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let permits = Permits {
            free: Mutex::new(settings.max_concurrent),
            released: Condvar::new(),
        };
        let mut hasher = Self {
            argon2,
            permits,
            dummy_hash: String::new(),
        };

        let mut filler = [0u8; 24];
        OsRandom.fill_bytes(&mut filler);
        let dummy = Password::parse(&hex(&filler))
            .map_err(|e| Argon2SettingsError::Invalid(e.to_string()))?;
        hasher.dummy_hash = hasher
            .hash(&dummy)
            .map_err(|e| Argon2SettingsError::Invalid(e.0))?;
        Ok(hasher)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &Password) -> Result<String, HashError> {
        let mut salt = [0u8; 16];
        OsRandom.fill_bytes(&mut salt);
        self.permits.run(|| {
            self.argon2
                .hash_password_with_salt(password.expose().as_bytes(), &salt)
                .map(|phc| phc.to_string())
                .map_err(|e| HashError(e.to_string()))
        })
    }

    fn verify(&self, password: &Password, phc: &str) -> bool {
        // The parameters stored in `phc` are used, so raising the cost later
        // keeps old hashes verifiable.
        self.permits.run(|| {
            self.argon2
                .verify_password(password.expose().as_bytes(), phc)
                .is_ok()
        })
    }

    fn verify_dummy(&self, password: &Password) {
        let _ = self.verify(password, &self.dummy_hash);
    }
}

const SEAL_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const HEADER_LEN: usize = 2 + NONCE_LEN;

/// XChaCha20-Poly1305 sealing of TOTP secrets under a ring of keys. The
/// current key seals; each sealed secret names its key, so secrets sealed
/// before a rotation still open. The version, the key id and the user's id
/// are the associated data, so a sealed secret copied to another row, or
/// relabelled with another key id, does not open.
/// Layout: version byte, key id, 24-byte random nonce, ciphertext with tag.
pub struct XChaChaSealer {
    current: u8,
    ciphers: Vec<(u8, XChaCha20Poly1305)>,
}

impl core::fmt::Debug for XChaChaSealer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let ids: Vec<u8> = self.ciphers.iter().map(|(id, _)| *id).collect();
        f.debug_struct("XChaChaSealer")
            .field("current", &self.current)
            .field("keys", &ids)
            .finish()
    }
}

impl XChaChaSealer {
    /// A sealer with one key, id 1.
    #[must_use]
    pub fn new(key: &SealingKey) -> Self {
        Self::with_keys(1, &[(1, key.clone())])
    }

    /// A sealer whose key `current` seals and whose `keys` all open.
    #[must_use]
    pub fn with_keys(current: u8, keys: &[(u8, SealingKey)]) -> Self {
        let ciphers = keys
            .iter()
            .map(|(id, key)| (*id, XChaCha20Poly1305::new(&key.0.into())))
            .collect();
        Self { current, ciphers }
    }

    /// The sealer of every key of a server keyring.
    #[must_use]
    pub fn from_keyring(ring: &mfa_core::Keyring) -> Self {
        Self::with_keys(ring.current_id(), &ring.sealing_keys())
    }

    fn cipher(&self, id: u8) -> Option<&XChaCha20Poly1305> {
        self.ciphers.iter().find(|(k, _)| *k == id).map(|(_, c)| c)
    }

    fn associated_data(key_id: u8, user: UserId) -> [u8; 34] {
        let mut aad = [0u8; 34];
        aad[0] = SEAL_VERSION;
        aad[1] = key_id;
        aad[2..18].copy_from_slice(b"mfa totp secret\0");
        aad[18..].copy_from_slice(user.0.as_bytes());
        aad
    }
}

impl SecretSealer for XChaChaSealer {
    fn seal(&self, user: UserId, secret: &TotpSecret) -> Result<SealedSecret, SealError> {
        let cipher = self.cipher(self.current).ok_or(SealError)?;
        let mut nonce = [0u8; NONCE_LEN];
        OsRandom.fill_bytes(&mut nonce);
        let aad = Self::associated_data(self.current, user);
        let payload = Payload {
            msg: secret.expose_bytes(),
            aad: &aad,
        };
        let ciphertext = cipher
            .encrypt(&XNonce::from(nonce), payload)
            .map_err(|_| SealError)?;

        let mut sealed = Vec::with_capacity(HEADER_LEN + ciphertext.len());
        sealed.extend_from_slice(&[SEAL_VERSION, self.current]);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(SealedSecret(sealed))
    }

    fn unseal(&self, user: UserId, sealed: &SealedSecret) -> Result<TotpSecret, SealError> {
        let key_id = self.key_id(sealed).ok_or(SealError)?;
        let cipher = self.cipher(key_id).ok_or(SealError)?;
        let nonce: [u8; NONCE_LEN] = sealed.0[2..HEADER_LEN].try_into().map_err(|_| SealError)?;
        let aad = Self::associated_data(key_id, user);
        let payload = Payload {
            msg: &sealed.0[HEADER_LEN..],
            aad: &aad,
        };
        let plain = zeroize::Zeroizing::new(
            cipher
                .decrypt(&XNonce::from(nonce), payload)
                .map_err(|_| SealError)?,
        );
        TotpSecret::from_bytes(&plain).map_err(|_| SealError)
    }

    fn key_id(&self, sealed: &SealedSecret) -> Option<u8> {
        match sealed.0.as_slice() {
            [SEAL_VERSION, key_id, ..] if sealed.0.len() > HEADER_LEN => Some(*key_id),
            _ => None,
        }
    }

    fn current_key_id(&self) -> u8 {
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn sealer(byte: u8) -> XChaChaSealer {
        XChaChaSealer::new(&SealingKey([byte; 32]))
    }

    #[test]
    fn sealed_secrets_open_only_for_their_user_and_key() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890").unwrap();
        let alice = UserId(Uuid::from_u128(1));
        let bob = UserId(Uuid::from_u128(2));
        let sealed = sealer(1).seal(alice, &secret).unwrap();

        assert_eq!(sealer(1).unseal(alice, &sealed).unwrap(), secret);
        assert_eq!(sealer(1).unseal(bob, &sealed), Err(SealError));
        assert_eq!(sealer(2).unseal(alice, &sealed), Err(SealError));
        assert!(!sealed.0.windows(20).any(|w| w == b"12345678901234567890"));
        assert_ne!(
            sealed,
            sealer(1).seal(alice, &secret).unwrap(),
            "fresh nonce each time"
        );

        let mut flipped = sealed.clone();
        *flipped.0.last_mut().unwrap() ^= 1;
        assert_eq!(sealer(1).unseal(alice, &flipped), Err(SealError));
        assert_eq!(
            sealer(1).unseal(alice, &SealedSecret(vec![])),
            Err(SealError)
        );
        assert_eq!(
            sealer(1).unseal(alice, &SealedSecret(vec![1; 10])),
            Err(SealError)
        );
    }

    #[test]
    fn secrets_sealed_under_an_older_key_open_after_a_rotation() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890").unwrap();
        let alice = UserId(Uuid::from_u128(1));
        let before = XChaChaSealer::with_keys(1, &[(1, SealingKey([1; 32]))]);
        let after =
            XChaChaSealer::with_keys(2, &[(2, SealingKey([2; 32])), (1, SealingKey([1; 32]))]);
        let old = before.seal(alice, &secret).unwrap();
        let new = after.seal(alice, &secret).unwrap();
        assert_eq!(
            (before.key_id(&old), after.key_id(&new)),
            (Some(1), Some(2))
        );
        assert_eq!(after.unseal(alice, &old).unwrap(), secret);
        assert_eq!(after.unseal(alice, &new).unwrap(), secret);
        assert_eq!(
            before.unseal(alice, &new),
            Err(SealError),
            "an unknown key id does not open"
        );

        let mut relabelled = new.clone();
        relabelled.0[1] = 1;
        assert_eq!(
            after.unseal(alice, &relabelled),
            Err(SealError),
            "the key id is authenticated"
        );
    }

    #[test]
    fn argon2id_hashes_verify_and_refuse_weak_settings() {
        let hasher = Argon2Hasher::new(Argon2Settings {
            max_concurrent: 2,
            ..Argon2Settings::default()
        })
        .unwrap();
        let password = Password::parse("correct horse battery").unwrap();
        let phc = hasher.hash(&password).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher.verify(&password, &phc));
        assert!(!hasher.verify(&Password::parse("wrong horse battery").unwrap(), &phc));
        assert!(!hasher.verify(&password, "not a phc string"));
        hasher.verify_dummy(&password);

        let weak = Argon2Settings {
            memory_kib: 4_096,
            iterations: 1,
            ..Argon2Settings::default()
        };
        assert_eq!(
            Argon2Hasher::new(weak).unwrap_err(),
            Argon2SettingsError::TooWeak
        );
        let none = Argon2Settings {
            max_concurrent: 0,
            ..Argon2Settings::default()
        };
        assert_eq!(
            Argon2Hasher::new(none).unwrap_err(),
            Argon2SettingsError::NoConcurrency
        );
    }

    #[test]
    fn the_permits_bound_concurrent_work() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let permits = Arc::new(Permits {
            free: Mutex::new(2),
            released: Condvar::new(),
        });
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (permits, running, peak) = (permits.clone(), running.clone(), peak.clone());
                std::thread::spawn(move || {
                    permits.run(|| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert_eq!(*permits.free.lock().unwrap(), 2);
    }
}
