//! The ports: what the use cases need from the world, as traits.
//!
//! Every method that must hold across concurrent requests and across server
//! instances says so in its contract, and the adapter makes it atomic (one
//! conditional statement or one transaction). Use cases never do a
//! read-modify-write of such state in memory.

use mfa_core::{BackupCodeHash, Failures, Password, TotpSecret, UnixTime};

use crate::model::{
    AuditEvent, NewUser, PendingSetupRecord, SealedSecret, SecretSlot, SessionId, SessionRecord,
    SetupId, UserId, UserRecord,
};

/// A storage failure. Its text is for the operator's log and never holds a
/// secret; clients only ever see a generic error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write (for users: the email).
    #[error("the record already exists")]
    Conflict,
    /// The database could not be reached or refused the statement.
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// Accounts and their MFA columns.
pub trait UserStore: Send + Sync {
    /// Inserts a user; [`StoreError::Conflict`] if the canonical email exists.
    fn create_user(&self, user: &NewUser) -> Result<(), StoreError>;

    /// The user with this canonical (lower-case) email.
    fn user_by_email(&self, canonical_email: &str) -> Result<Option<UserRecord>, StoreError>;

    /// The user with this id.
    fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StoreError>;

    /// Atomically: if the user's second-factor failure count still equals
    /// `seen.consecutive`, sets it to one more and its time to `now`, and
    /// answers true. Answers false, changing nothing, when another request
    /// moved the count first. Each attempt is counted before it is checked,
    /// so no number of concurrent requests gets more tries than the policy.
    fn claim_second_factor_attempt(
        &self,
        id: UserId,
        seen: Failures,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Sets the second-factor failure count to zero.
    fn reset_second_factor_failures(&self, id: UserId) -> Result<(), StoreError>;

    /// Atomically records `step` as the last accepted TOTP step, only if MFA
    /// is on and the stored step is absent or older. True if this caller won.
    fn accept_totp_step(&self, id: UserId, step: u64) -> Result<bool, StoreError>;

    /// Atomically marks the unused backup code with this hash as used. True
    /// if this caller spent it; false if it was unknown or already spent.
    fn consume_backup_code(
        &self,
        id: UserId,
        hash: &BackupCodeHash,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// In one transaction, replaces the user's backup codes with a new set,
    /// if MFA is on. True if it was.
    fn replace_backup_codes(
        &self,
        id: UserId,
        hashes: &[BackupCodeHash],
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Stores a pending setup, replacing any earlier one of the user.
    fn put_pending_setup(&self, id: UserId, setup: &PendingSetupRecord) -> Result<(), StoreError>;

    /// The user's pending setup, expired or not.
    fn pending_setup(&self, id: UserId) -> Result<Option<PendingSetupRecord>, StoreError>;

    /// Atomically adds one wrong verification code to this pending setup and
    /// returns the new count; `None` if the setup is gone.
    fn record_setup_failure(&self, id: UserId, setup: SetupId) -> Result<Option<u32>, StoreError>;

    /// Deletes this pending setup if it is still the user's.
    fn discard_pending_setup(&self, id: UserId, setup: SetupId) -> Result<(), StoreError>;

    /// In one transaction: deletes pending setup `setup` (it must still be
    /// the user's), turns MFA on with its secret and codes, `enabled_at` and
    /// `accepted_step`, and clears the failure count. False, changing
    /// nothing, if the setup is gone or MFA is already on.
    fn enable_mfa(
        &self,
        id: UserId,
        setup: &PendingSetupRecord,
        enabled_at: UnixTime,
        accepted_step: u64,
    ) -> Result<bool, StoreError>;

    /// Sealed secrets of one slot, of users whose id is after `after`, in
    /// id order, at most `limit`: the pages of a re-sealing pass.
    fn sealed_secrets_after(
        &self,
        slot: SecretSlot,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<(UserId, SealedSecret)>, StoreError>;

    /// Atomically replaces the user's sealed secret in `slot` with `new`,
    /// only if it still is `old`. True if this caller replaced it.
    fn replace_sealed_secret(
        &self,
        id: UserId,
        slot: SecretSlot,
        old: &SealedSecret,
        new: &SealedSecret,
    ) -> Result<bool, StoreError>;

    /// In one transaction: erases the secret, the codes, any pending setup
    /// and the last step, turns MFA off, and revokes every session of the
    /// user but `keep`. Answers whether MFA was on.
    fn disable_mfa(&self, id: UserId, keep: Option<SessionId>) -> Result<bool, StoreError>;
}

/// Wrong passwords per canonical email, whether or not an account exists,
/// so that a lock-out says nothing about which emails are registered.
pub trait LoginThrottleStore: Send + Sync {
    /// The current count for this email.
    fn password_failures(&self, canonical_email: &str) -> Result<Failures, StoreError>;

    /// Atomically adds one failure at `now` and returns the new count.
    fn record_password_failure(
        &self,
        canonical_email: &str,
        now: UnixTime,
    ) -> Result<Failures, StoreError>;

    /// Forgets the failures of this email.
    fn reset_password_failures(&self, canonical_email: &str) -> Result<(), StoreError>;
}

/// Login sessions.
pub trait SessionStore: Send + Sync {
    /// Inserts a session.
    fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;

    /// The session with this id, revoked or not.
    fn session(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError>;

    /// Marks one session revoked.
    fn revoke_session(&self, id: SessionId) -> Result<(), StoreError>;

    /// Marks every session of the user revoked but `keep`; returns how many.
    fn revoke_user_sessions(
        &self,
        user: UserId,
        keep: Option<SessionId>,
    ) -> Result<u64, StoreError>;
}

/// The append-only table of security events.
pub trait AuditLog: Send + Sync {
    /// Appends one event.
    fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;

    /// Events, oldest first, of one user or all, from `since` on.
    fn audit_events(
        &self,
        user: Option<UserId>,
        since: Option<UnixTime>,
    ) -> Result<Vec<AuditEvent>, StoreError>;
}

/// Whether storage answers.
pub trait HealthCheck: Send + Sync {
    /// A trivial round trip to the database.
    fn ping(&self) -> Result<(), StoreError>;
}

/// Every storage port at once, as one adapter usually provides them.
pub trait Store: UserStore + LoginThrottleStore + SessionStore + AuditLog + HealthCheck {}
impl<T: UserStore + LoginThrottleStore + SessionStore + AuditLog + HealthCheck> Store for T {}

/// The time, read once per use case.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> UnixTime;
}

/// A cryptographically secure source of bytes.
pub trait Randomness: Send + Sync {
    /// Fills `dest`. An adapter whose source fails must panic rather than
    /// return predictable bytes.
    fn fill_bytes(&self, dest: &mut [u8]);
}

/// A password hash failure (only on broken parameters or memory exhaustion).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(pub String);

/// Password hashing, blocking and slow by design.
pub trait PasswordHasher: Send + Sync {
    /// A PHC string of a fresh salted hash.
    fn hash(&self, password: &Password) -> Result<String, HashError>;

    /// Whether `password` matches `phc`; false for a malformed `phc`.
    fn verify(&self, password: &Password, phc: &str) -> bool;

    /// Costs what a [`PasswordHasher::verify`] costs, so that an unknown
    /// email takes as long as a wrong password.
    fn verify_dummy(&self, password: &Password);
}

/// A sealing failure: a wrong key, a corrupt or foreign ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the sealed secret could not be opened")]
pub struct SealError;

/// Encryption of TOTP secrets at rest, bound to the user they belong to.
pub trait SecretSealer: Send + Sync {
    /// Encrypts `secret` for `user`.
    fn seal(&self, user: UserId, secret: &TotpSecret) -> Result<SealedSecret, SealError>;

    /// Decrypts a secret sealed for `user`; fails for any other user.
    fn unseal(&self, user: UserId, sealed: &SealedSecret) -> Result<TotpSecret, SealError>;

    /// The id of the key that sealed `sealed`, if it is of this sealer's form.
    fn key_id(&self, sealed: &SealedSecret) -> Option<u8>;

    /// The id of the key that seals now.
    fn current_key_id(&self) -> u8;
}
