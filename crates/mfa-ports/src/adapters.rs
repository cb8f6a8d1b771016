//! The adapters that hold no storage: the system clock, the OS's random
//! generator, Argon2id password hashing and XChaCha20-Poly1305 sealing.

use std::sync::{Arc, Mutex, PoisonError, mpsc};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
        "Argon2id parameters are weaker than OWASP's minimum \
         (m=19456 KiB with t=2, or m*t of at least 35840 with m of at least 7168 KiB)"
    )]
    TooWeak,
    /// Not accepted by the argon2 crate.
    #[error("invalid Argon2id parameters: {0}")]
    Invalid(String),
    /// Zero concurrent hashes would block every login.
    #[error("at least one password hash must be allowed at a time")]
    NoConcurrency,
}

/// Argon2 working memory, owned by one hashing thread for its lifetime.
type Memory = Vec<Block>;

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// A fixed set of threads that run every password hash, each with its own
/// Argon2 memory allocated once. Argon2 needs its whole memory cost per
/// hash; allocated per call, glibc keeps the freed 19 MiB in whichever
/// arena served it, and under a login flood those blocks pile up across
/// arenas (hundreds of MB measured). Here at most `threads` hashes run at
/// once, and at most `threads` blocks of memory exist, ever (each taken on
/// its thread's first hash).
#[derive(Debug)]
struct Workers {
    queue: Option<mpsc::Sender<Job>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Workers {
    fn start(threads: usize, blocks: usize) -> std::io::Result<Self> {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let threads = (0..threads)
            .map(|i| {
                let jobs = Arc::clone(&jobs);
                std::thread::Builder::new()
                    .name(format!("argon2-{i}"))
                    .spawn(move || {
                        // Allocated on the first job, so an idle server holds none.
                        let mut memory: Memory = Vec::new();
                        loop {
                            let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
                            let Ok(job) = job else { break };
                            fit(&mut memory, blocks);
                            // A panicking job must not take the thread with it.
                            let run = std::panic::AssertUnwindSafe(|| job(&mut memory));
                            let _ = std::panic::catch_unwind(run);
                        }
                    })
            })
            .collect::<std::io::Result<_>>()?;
        Ok(Self {
            queue: Some(queue),
            threads,
        })
    }

    /// Runs `work` on a worker with its memory and waits for it; `None` if
    /// it panicked.
    fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Option<T> {
        let (done, result) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |memory| {
            let _ = done.send(work(memory));
        });
        self.queue.as_ref()?.send(job).ok()?;
        result.recv().ok()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.queue.take();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Argon2id of `password` with `salt` in the worker's own memory, as a PHC
/// string.
fn hash_in(
    memory: &mut Memory,
    params: &Params,
    password: &[u8],
    salt: &[u8],
) -> Result<String, HashError> {
    let fail = |e: &dyn std::fmt::Display| HashError(e.to_string());
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut output = zeroize::Zeroizing::new([0u8; 32]);
    fit(memory, params.block_count());
    argon2
        .hash_password_into_with_memory(password, salt, output.as_mut_slice(), &mut memory[..])
        .map_err(|e| fail(&e))?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| fail(&e))?,
        salt: Some(Salt::new(salt).map_err(|e| fail(&e))?),
        hash: Some(Output::new(output.as_slice()).map_err(|e| fail(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc`, computed with the
/// parameters stored in it, in the worker's own memory.
fn verify_in(memory: &mut Memory, password: &[u8], phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        Params::try_from(&hash),
        Algorithm::try_from(hash.algorithm.as_str()),
    ) else {
        return false;
    };
    let Ok(version) = hash.version.map_or(Ok(Version::V0x13), Version::try_from) else {
        return false;
    };
    let mut output = zeroize::Zeroizing::new(vec![0u8; expected.len()]);
    fit(memory, params.block_count());
    let argon2 = Argon2::new(algorithm, version, params);
    argon2
        .hash_password_into_with_memory(password, salt.as_ref(), &mut output, &mut memory[..])
        .is_ok()
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            output.as_slice(),
            expected.as_bytes(),
        ))
}

/// Grows the memory for a stored hash of a higher cost; never shrinks it.
fn fit(memory: &mut Memory, blocks: usize) {
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
}

/// Argon2id password hashing on a fixed set of worker threads.
pub struct Argon2Hasher {
    params: Params,
    workers: Workers,
    dummy_hash: String,
}

impl core::fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Argon2Hasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
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
        let workers =
            Workers::start(settings.max_concurrent, params.block_count()).map_err(|e| {
                Argon2SettingsError::Invalid(format!("cannot start the hashing threads: {e}"))
            })?;
        let mut hasher = Self {
            params,
            workers,
            dummy_hash: String::new(),
        };

        // The dummy hash is made here, on the calling thread, with memory
        // that is returned when freed: the workers stay without any until
        // the first login, so an idle server stays small.
        let mut filler = [0u8; 24];
        OsRandom.fill_bytes(&mut filler);
        let mut salt = [0u8; 16];
        OsRandom.fill_bytes(&mut salt);
        let mut memory = Vec::new();
        hasher.dummy_hash = hash_in(&mut memory, &hasher.params, hex(&filler).as_bytes(), &salt)
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
        let (params, password) = (self.params.clone(), password.clone());
        self.workers
            .run(move |memory| hash_in(memory, &params, password.expose().as_bytes(), &salt))
            .unwrap_or_else(|| Err(HashError("the password hashing thread failed".to_owned())))
    }

    fn verify(&self, password: &Password, phc: &str) -> bool {
        // The parameters stored in `phc` are used, so raising the cost later
        // keeps old hashes verifiable.
        let (password, phc) = (password.clone(), phc.to_owned());
        self.workers
            .run(move |memory| verify_in(memory, password.expose().as_bytes(), &phc))
            .unwrap_or(false)
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
    fn hashes_interoperate_with_the_argon2_crates_own_phc_strings() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = Argon2Hasher::new(Argon2Settings {
            max_concurrent: 1,
            ..Argon2Settings::default()
        })
        .unwrap();
        let password = Password::parse("interoperable secret").unwrap();
        let reference = Argon2::default();

        let ours = hasher.hash(&password).unwrap();
        assert!(
            reference
                .verify_password(b"interoperable secret", ours.as_str())
                .is_ok()
        );
        assert!(
            reference
                .verify_password(b"another password", ours.as_str())
                .is_err()
        );

        let theirs = reference
            .hash_password_with_salt(b"interoperable secret", &[5; 16])
            .unwrap()
            .to_string();
        assert!(hasher.verify(&password, &theirs));
        let costlier = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(32_768, 3, 1, None).unwrap(),
        )
        .hash_password_with_salt(b"interoperable secret", &[6; 16])
        .unwrap()
        .to_string();
        assert!(
            hasher.verify(&password, &costlier),
            "a stored hash of a higher cost still verifies"
        );
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::default())
            .hash_password_with_salt(b"interoperable secret", &[7; 16])
            .unwrap()
            .to_string();
        assert!(
            hasher.verify(&password, &argon2i),
            "the variant named in the string is used"
        );
    }

    #[test]
    fn the_workers_bound_concurrency_and_the_threads_that_hash() {
        use std::collections::HashSet;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let workers = Arc::new(Workers::start(2, 8).unwrap());
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..8)
            .map(|i| {
                let (workers, running, peak) = (workers.clone(), running.clone(), peak.clone());
                std::thread::spawn(move || {
                    workers.run(move |_| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                        (i, std::thread::current().id())
                    })
                })
            })
            .collect();
        let results: Vec<_> = callers
            .into_iter()
            .map(|t| t.join().unwrap().unwrap())
            .collect();
        assert_eq!(peak.load(Ordering::SeqCst), 2, "two at a time");
        let mut answered: Vec<_> = results.iter().map(|(i, _)| *i).collect();
        answered.sort_unstable();
        assert_eq!(
            answered,
            (0..8).collect::<Vec<_>>(),
            "each caller got its own answer"
        );
        let threads: HashSet<_> = results.iter().map(|(_, id)| *id).collect();
        assert!(threads.len() <= 2, "all work ran on the two workers");
        assert_eq!(workers.run(|_| panic!("deliberate")), None::<()>);
        assert_eq!(
            workers.run(|memory| memory.len()),
            Some(8),
            "a panic does not cost a worker"
        );
    }
}
