//! In-memory fakes of every port, for tests of the use cases and of code
//! that links this crate. One mutex guards all state, which makes every
//! operation atomic, as the port contracts demand of real adapters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use mfa_core::testing::SeqRng;
use mfa_core::{BackupCodeHash, Failures, Password, StoredBackupCode, UnixTime};
use rand_core::Rng;

use crate::adapters::XChaChaSealer;
use crate::model::{
    AuditEvent, NewUser, PendingSetupRecord, SealedSecret, SecretSlot, SessionId, SessionRecord,
    SetupId, StoredMfa, UserId, UserRecord,
};
use crate::ports::{
    AuditLog, Clock, HashError, HealthCheck, LoginThrottleStore, PasswordHasher, Randomness,
    SessionStore, StoreError, UserStore,
};
use crate::service::{Keys, Ports, Service, Settings};

#[derive(Debug, Default)]
struct State {
    users: HashMap<UserId, (String, UserRecord)>,
    pending: HashMap<UserId, PendingSetupRecord>,
    password_failures: HashMap<String, Failures>,
    sessions: HashMap<SessionId, SessionRecord>,
    audit: Vec<AuditEvent>,
}

/// Every storage port in memory.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    state: Mutex<State>,
}

impl InMemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with_user<T>(
        &self,
        id: UserId,
        f: impl FnOnce(&mut UserRecord) -> T,
    ) -> Result<Option<T>, StoreError> {
        Ok(self.lock().users.get_mut(&id).map(|(_, r)| f(r)))
    }
}

impl UserStore for InMemoryStore {
    fn create_user(&self, user: &NewUser) -> Result<(), StoreError> {
        let mut state = self.lock();
        if state
            .users
            .values()
            .any(|(email, _)| *email == user.canonical_email)
        {
            return Err(StoreError::Conflict);
        }
        let record = UserRecord {
            user: user.user.clone(),
            password_hash: user.password_hash.clone(),
            mfa: StoredMfa::Disabled,
            second_factor_failures: Failures::default(),
        };
        state
            .users
            .insert(user.user.id, (user.canonical_email.clone(), record));
        Ok(())
    }

    fn user_by_email(&self, canonical_email: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(self
            .lock()
            .users
            .values()
            .find(|(e, _)| e == canonical_email)
            .map(|(_, r)| r.clone()))
    }

    fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.lock().users.get(&id).map(|(_, r)| r.clone()))
    }

    fn claim_second_factor_attempt(
        &self,
        id: UserId,
        seen: Failures,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        Ok(self
            .with_user(id, |r| {
                let current = r.second_factor_failures.consecutive == seen.consecutive;
                if current {
                    r.second_factor_failures = Failures {
                        consecutive: seen.consecutive + 1,
                        last_at: Some(now),
                    };
                }
                current
            })?
            .unwrap_or(false))
    }

    fn reset_second_factor_failures(&self, id: UserId) -> Result<(), StoreError> {
        self.with_user(id, |r| r.second_factor_failures = Failures::default())?;
        Ok(())
    }

    fn accept_totp_step(&self, id: UserId, step: u64) -> Result<bool, StoreError> {
        Ok(self
            .with_user(id, |r| match &mut r.mfa {
                StoredMfa::Enabled {
                    last_accepted_step, ..
                } if last_accepted_step.is_none_or(|s| s < step) => {
                    *last_accepted_step = Some(step);
                    true
                }
                _ => false,
            })?
            .unwrap_or(false))
    }

    fn consume_backup_code(
        &self,
        id: UserId,
        hash: &BackupCodeHash,
        _now: UnixTime,
    ) -> Result<bool, StoreError> {
        Ok(self
            .with_user(id, |r| match &mut r.mfa {
                StoredMfa::Enabled { backup_codes, .. } => {
                    match backup_codes.iter_mut().find(|c| !c.used && c.hash == *hash) {
                        Some(code) => {
                            code.used = true;
                            true
                        }
                        None => false,
                    }
                }
                StoredMfa::Disabled => false,
            })?
            .unwrap_or(false))
    }

    fn replace_backup_codes(
        &self,
        id: UserId,
        hashes: &[BackupCodeHash],
        _now: UnixTime,
    ) -> Result<bool, StoreError> {
        Ok(self
            .with_user(id, |r| match &mut r.mfa {
                StoredMfa::Enabled { backup_codes, .. } => {
                    *backup_codes = hashes
                        .iter()
                        .map(|&hash| StoredBackupCode { hash, used: false })
                        .collect();
                    true
                }
                StoredMfa::Disabled => false,
            })?
            .unwrap_or(false))
    }

    fn put_pending_setup(&self, id: UserId, setup: &PendingSetupRecord) -> Result<(), StoreError> {
        self.lock().pending.insert(id, setup.clone());
        Ok(())
    }

    fn pending_setup(&self, id: UserId) -> Result<Option<PendingSetupRecord>, StoreError> {
        Ok(self.lock().pending.get(&id).cloned())
    }

    fn record_setup_failure(&self, id: UserId, setup: SetupId) -> Result<Option<u32>, StoreError> {
        Ok(self
            .lock()
            .pending
            .get_mut(&id)
            .filter(|p| p.id == setup)
            .map(|p| {
                p.failed_attempts += 1;
                p.failed_attempts
            }))
    }

    fn discard_pending_setup(&self, id: UserId, setup: SetupId) -> Result<(), StoreError> {
        let mut state = self.lock();
        if state.pending.get(&id).is_some_and(|p| p.id == setup) {
            state.pending.remove(&id);
        }
        Ok(())
    }

    fn enable_mfa(
        &self,
        id: UserId,
        setup: &PendingSetupRecord,
        enabled_at: UnixTime,
        accepted_step: u64,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let State { users, pending, .. } = &mut *state;
        let Some((_, record)) = users.get_mut(&id) else {
            return Ok(false);
        };
        if matches!(record.mfa, StoredMfa::Enabled { .. })
            || pending.get(&id).is_none_or(|p| p.id != setup.id)
        {
            return Ok(false);
        }
        pending.remove(&id);
        record.mfa = StoredMfa::Enabled {
            sealed_secret: setup.sealed_secret.clone(),
            enabled_at,
            last_accepted_step: Some(accepted_step),
            backup_codes: setup
                .backup_codes
                .iter()
                .map(|&hash| StoredBackupCode { hash, used: false })
                .collect(),
        };
        record.second_factor_failures = Failures::default();
        Ok(true)
    }

    fn sealed_secrets_after(
        &self,
        slot: SecretSlot,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<(UserId, SealedSecret)>, StoreError> {
        let state = self.lock();
        let mut found: Vec<(UserId, SealedSecret)> = match slot {
            SecretSlot::Active => state
                .users
                .iter()
                .filter_map(|(id, (_, r))| match &r.mfa {
                    StoredMfa::Enabled { sealed_secret, .. } => Some((*id, sealed_secret.clone())),
                    StoredMfa::Disabled => None,
                })
                .collect(),
            SecretSlot::Pending => state
                .pending
                .iter()
                .map(|(id, p)| (*id, p.sealed_secret.clone()))
                .collect(),
        };
        found.retain(|(id, _)| after.is_none_or(|a| *id > a));
        found.sort_by_key(|(id, _)| *id);
        found.truncate(limit);
        Ok(found)
    }

    fn replace_sealed_secret(
        &self,
        id: UserId,
        slot: SecretSlot,
        old: &SealedSecret,
        new: &SealedSecret,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let stored = match slot {
            SecretSlot::Active => match state.users.get_mut(&id).map(|(_, r)| &mut r.mfa) {
                Some(StoredMfa::Enabled { sealed_secret, .. }) => Some(sealed_secret),
                _ => None,
            },
            SecretSlot::Pending => state.pending.get_mut(&id).map(|p| &mut p.sealed_secret),
        };
        Ok(match stored {
            Some(sealed) if sealed == old => {
                *sealed = new.clone();
                true
            }
            _ => false,
        })
    }

    fn disable_mfa(&self, id: UserId, keep: Option<SessionId>) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let Some((_, record)) = state.users.get_mut(&id) else {
            return Ok(false);
        };
        let was_on = matches!(record.mfa, StoredMfa::Enabled { .. });
        record.mfa = StoredMfa::Disabled;
        record.second_factor_failures = Failures::default();
        state.pending.remove(&id);
        for session in state.sessions.values_mut() {
            if session.user_id == id && Some(session.id) != keep {
                session.revoked = true;
            }
        }
        Ok(was_on)
    }
}

impl LoginThrottleStore for InMemoryStore {
    fn password_failures(&self, canonical_email: &str) -> Result<Failures, StoreError> {
        Ok(self
            .lock()
            .password_failures
            .get(canonical_email)
            .copied()
            .unwrap_or_default())
    }

    fn record_password_failure(
        &self,
        canonical_email: &str,
        now: UnixTime,
    ) -> Result<Failures, StoreError> {
        let mut state = self.lock();
        let entry = state
            .password_failures
            .entry(canonical_email.to_owned())
            .or_default();
        *entry = Failures {
            consecutive: entry.consecutive + 1,
            last_at: Some(now),
        };
        Ok(*entry)
    }

    fn reset_password_failures(&self, canonical_email: &str) -> Result<(), StoreError> {
        self.lock().password_failures.remove(canonical_email);
        Ok(())
    }
}

impl SessionStore for InMemoryStore {
    fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        self.lock().sessions.insert(session.id, session.clone());
        Ok(())
    }

    fn session(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.lock().sessions.get(&id).cloned())
    }

    fn revoke_session(&self, id: SessionId) -> Result<(), StoreError> {
        if let Some(s) = self.lock().sessions.get_mut(&id) {
            s.revoked = true;
        }
        Ok(())
    }

    fn revoke_user_sessions(
        &self,
        user: UserId,
        keep: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        let mut count = 0;
        for s in self.lock().sessions.values_mut() {
            if s.user_id == user && Some(s.id) != keep && !s.revoked {
                s.revoked = true;
                count += 1;
            }
        }
        Ok(count)
    }
}

impl AuditLog for InMemoryStore {
    fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.lock().audit.push(event.clone());
        Ok(())
    }

    fn audit_events(
        &self,
        user: Option<UserId>,
        since: Option<UnixTime>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        Ok(self
            .lock()
            .audit
            .iter()
            .filter(|e| {
                user.is_none_or(|u| e.user_id == Some(u)) && since.is_none_or(|t| e.at >= t)
            })
            .cloned()
            .collect())
    }
}

impl HealthCheck for InMemoryStore {
    fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct FixedClock(AtomicU64);

impl FixedClock {
    /// Stopped at `at`.
    #[must_use]
    pub fn at(at: UnixTime) -> Self {
        Self(AtomicU64::new(at.0))
    }

    /// Moves forward by `secs`.
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
}

/// Reproducible "random" bytes from a seed.
#[derive(Debug)]
pub struct SeededRandom(Mutex<SeqRng>);

impl SeededRandom {
    /// A stream determined by `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(SeqRng::new(seed)))
    }
}

impl Randomness for SeededRandom {
    fn fill_bytes(&self, dest: &mut [u8]) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fill_bytes(dest);
    }
}

/// A fast, insecure stand-in for Argon2, so use-case tests run quickly. The
/// "hash" is a checksum of the password; never use it for real. It counts
/// verifications, real and dummy, so tests can check that every login path
/// pays for exactly one.
#[derive(Debug, Default)]
pub struct FakeHasher {
    verifications: AtomicU64,
}

impl FakeHasher {
    fn digest(password: &Password) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        password.expose().hash(&mut h);
        format!("fake${:016x}", h.finish())
    }

    /// Verifications so far, dummy ones included.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::SeqCst)
    }
}

impl PasswordHasher for FakeHasher {
    fn hash(&self, password: &Password) -> Result<String, HashError> {
        Ok(Self::digest(password))
    }

    fn verify(&self, password: &Password, phc: &str) -> bool {
        self.verifications.fetch_add(1, Ordering::SeqCst);
        Self::digest(password) == phc
    }

    fn verify_dummy(&self, _password: &Password) {
        self.verifications.fetch_add(1, Ordering::SeqCst);
    }
}

/// The fakes as one set of ports; sealing uses the real XChaCha20-Poly1305
/// adapter, which needs no I/O.
#[derive(Debug)]
pub struct FakePorts;

impl Ports for FakePorts {
    type Store = InMemoryStore;
    type Clock = FixedClock;
    type Random = SeededRandom;
    type Hasher = FakeHasher;
    type Sealer = XChaChaSealer;
}

/// A service on the fakes, its clock stopped at `now`, its randomness and
/// keys determined by `seed`.
#[must_use]
pub fn service(seed: u64, now: UnixTime, settings: Settings) -> Service<FakePorts> {
    let mut key = [0u8; 32];
    SeededRandom::new(seed ^ 0x5eed).fill_bytes(&mut key);
    let ring = mfa_core::Keyring::single(mfa_core::ServerKey::from_bytes(key));
    service_on(InMemoryStore::new(), seed, now, settings, &ring)
}

/// A service on the fakes over an existing store and a given keyring.
#[must_use]
pub fn service_on(
    store: InMemoryStore,
    seed: u64,
    now: UnixTime,
    settings: Settings,
    ring: &mfa_core::Keyring,
) -> Service<FakePorts> {
    Service::new(
        store,
        FixedClock::at(now),
        SeededRandom::new(seed),
        FakeHasher::default(),
        XChaChaSealer::from_keyring(ring),
        settings,
        Keys::from_keyring(ring),
    )
}
