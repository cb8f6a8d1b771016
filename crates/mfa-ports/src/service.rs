//! The service object the use cases hang off, and the steps they share.

use mfa_core::{
    BackupCodeKey, EnabledMfa, FactorError, Failures, MfaPolicy, ServerKey, ThrottlePolicy,
    TokenKey, UnixTime, VerifiedFactor, throttle::AttemptDecision,
};
use rand_core::{TryCryptoRng, TryRng};
use uuid::Uuid;

use crate::model::{AuditEvent, AuditKind, StoredMfa, UserId, UserRecord};
use crate::ports::{
    AuditLog, Clock, HashError, PasswordHasher, Randomness, SealError, SecretSealer, Store,
    StoreError, UserStore,
};

/// The adapters one service runs on.
pub trait Ports: Send + Sync + 'static {
    /// Every storage port.
    type Store: Store;
    /// The time.
    type Clock: Clock;
    /// Secure random bytes.
    type Random: Randomness;
    /// Password hashing.
    type Hasher: PasswordHasher;
    /// Sealing of TOTP secrets.
    type Sealer: SecretSealer;
}

/// The tunable rules of one deployment.
#[derive(Clone, Debug)]
pub struct Settings {
    /// TOTP parameters, setup lifetime, enable attempts.
    pub policy: MfaPolicy,
    /// Lock-out after refused second factors.
    pub second_factor_throttle: ThrottlePolicy,
    /// Lock-out after wrong passwords.
    pub password_throttle: ThrottlePolicy,
    /// Lifetime of a login session and its token, in seconds.
    pub session_ttl_secs: u64,
    /// The issuer shown in authenticator apps.
    pub issuer: String,
    /// At or below this many unused backup codes, an audit event warns.
    pub backup_codes_low: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            policy: MfaPolicy::default(),
            second_factor_throttle: ThrottlePolicy::default(),
            password_throttle: ThrottlePolicy::default(),
            session_ttl_secs: 12 * 60 * 60,
            issuer: "MFA Service".to_owned(),
            backup_codes_low: 3,
        }
    }
}

/// The keys the use cases need, derived from the server key.
#[derive(Clone, Debug)]
pub struct Keys {
    /// Signs bearer tokens.
    pub token: TokenKey,
    /// Keys backup-code hashes.
    pub backup_codes: BackupCodeKey,
}

impl Keys {
    /// Derives the keys from one server key.
    #[must_use]
    pub fn derive(server: &ServerKey) -> Self {
        Self::from_keyring(&mfa_core::Keyring::single(server.clone()))
    }

    /// Derives the keys from every server key: the current signs and hashes,
    /// the older ones still verify tokens and match backup codes.
    #[must_use]
    pub fn from_keyring(ring: &mfa_core::Keyring) -> Self {
        Self {
            token: ring.token_key(),
            backup_codes: ring.backup_code_key(),
        }
    }
}

/// Who is asking, for the audit trail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// The client's address.
    pub client: Option<String>,
}

/// A failure no client can act on: logged once by the caller, answered with
/// a generic error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InternalError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Password hashing failed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// A stored secret could not be opened (wrong key file?).
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The configured issuer cannot go into an otpauth URI.
    #[error("the issuer cannot be used in an otpauth URI")]
    Issuer,
}

/// The use cases, generic over their adapters.
#[derive(Debug)]
pub struct Service<P: Ports> {
    pub(crate) store: P::Store,
    pub(crate) clock: P::Clock,
    pub(crate) random: P::Random,
    pub(crate) hasher: P::Hasher,
    pub(crate) sealer: P::Sealer,
    pub(crate) settings: Settings,
    pub(crate) keys: Keys,
}

/// Why a second factor did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FactorFailure {
    /// Locked out; try again after this many seconds.
    LockedOut(u64),
    /// Wrong, replayed or malformed; counted.
    Refused,
    /// Something broke.
    Internal(InternalError),
}

impl<E: Into<InternalError>> From<E> for FactorFailure {
    fn from(e: E) -> Self {
        Self::Internal(e.into())
    }
}

/// A second factor that passed and was spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PassedFactor {
    /// Unused backup codes left, when a backup code was spent.
    pub backup_codes_remaining: Option<usize>,
}

/// How often a request retries claiming an attempt that other requests keep
/// claiming first; past this it is answered as locked out.
const CLAIM_RETRIES: usize = 64;

impl<P: Ports> Service<P> {
    /// Assembles a service from its adapters.
    pub fn new(
        store: P::Store,
        clock: P::Clock,
        random: P::Random,
        hasher: P::Hasher,
        sealer: P::Sealer,
        settings: Settings,
        keys: Keys,
    ) -> Self {
        Self {
            store,
            clock,
            random,
            hasher,
            sealer,
            settings,
            keys,
        }
    }

    /// The storage adapter, for health checks and operator commands.
    pub fn store(&self) -> &P::Store {
        &self.store
    }

    /// Gives the storage adapter back, to run it under other adapters (as
    /// a test of a key rotation does).
    pub fn into_store(self) -> P::Store {
        self.store
    }

    /// The password hasher, for tests that count its work.
    pub fn hasher(&self) -> &P::Hasher {
        &self.hasher
    }

    /// The clock the use cases read.
    pub fn clock(&self) -> &P::Clock {
        &self.clock
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(crate) fn now(&self) -> UnixTime {
        self.clock.now()
    }

    pub(crate) fn rng(&self) -> RandomRng<'_, P::Random> {
        RandomRng(&self.random)
    }

    pub(crate) fn new_uuid(&self) -> Uuid {
        let mut bytes = [0u8; 16];
        self.random.fill_bytes(&mut bytes);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    /// Appends a security event and logs it at the `mfa::security` target.
    pub(crate) fn audit(
        &self,
        kind: AuditKind,
        user: Option<UserId>,
        ctx: &RequestContext,
        detail: &str,
    ) -> Result<(), StoreError> {
        tracing::info!(
            target: "mfa::security",
            event = kind.as_str(),
            user.id = user.map(|u| u.0.to_string()).as_deref(),
            client.addr = ctx.client.as_deref(),
            detail,
            "security event"
        );
        let event = AuditEvent {
            kind,
            user_id: user,
            at: self.now(),
            client: ctx.client.clone(),
            detail: detail.to_owned(),
        };
        self.store.append_audit(&event)
    }

    /// The user's active MFA, with the secret unsealed; `None` when off.
    pub(crate) fn active_mfa(
        &self,
        record: &UserRecord,
    ) -> Result<Option<EnabledMfa>, InternalError> {
        let StoredMfa::Enabled {
            sealed_secret,
            enabled_at,
            last_accepted_step,
            backup_codes,
        } = &record.mfa
        else {
            return Ok(None);
        };
        let secret = self.sealer.unseal(record.user.id, sealed_secret)?;
        Ok(Some(EnabledMfa {
            secret,
            backup_codes: mfa_core::BackupCodeSet::from_stored(backup_codes.clone()),
            enabled_at: *enabled_at,
            last_accepted_step: *last_accepted_step,
        }))
    }

    /// Checks a second factor with the throttle around it: refuses while
    /// locked out (without counting), counts the attempt before checking the
    /// code, spends the factor atomically, and resets the count on success.
    pub(crate) fn pass_second_factor(
        &self,
        record: &UserRecord,
        mfa: &EnabledMfa,
        code: &str,
        ctx: &RequestContext,
    ) -> Result<PassedFactor, FactorFailure> {
        let user = record.user.id;
        let now = self.now();
        let claimed = self.claim_attempt(user, record.second_factor_failures, now)?;

        let spent = match mfa_core::state::verify_second_factor(
            mfa,
            code,
            now,
            &self.settings.policy,
            &self.keys.backup_codes,
        ) {
            Ok(VerifiedFactor::Totp { step }) => {
                self.store.accept_totp_step(user, step)?.then_some(None)
            }
            Ok(VerifiedFactor::BackupCode { hash }) => {
                match self.store.consume_backup_code(user, &hash, now)? {
                    true => Some(Some(self.unused_codes(user)?)),
                    false => None,
                }
            }
            Err(FactorError::Malformed | FactorError::Invalid | FactorError::Replayed) => None,
        };

        let Some(backup_codes_remaining) = spent else {
            self.after_refused_factor(user, claimed, ctx)?;
            return Err(FactorFailure::Refused);
        };
        self.store.reset_second_factor_failures(user)?;
        if let Some(remaining) = backup_codes_remaining {
            self.audit(
                AuditKind::BackupCodeUsed,
                Some(user),
                ctx,
                &format!("remaining={remaining}"),
            )?;
            if remaining <= self.settings.backup_codes_low {
                self.audit(
                    AuditKind::BackupCodesLow,
                    Some(user),
                    ctx,
                    &format!("remaining={remaining}"),
                )?;
            }
        }
        Ok(PassedFactor {
            backup_codes_remaining,
        })
    }

    /// Unused backup codes of the user, as stored now.
    pub(crate) fn unused_codes(&self, user: UserId) -> Result<usize, InternalError> {
        let record = self.store.user_by_id(user)?;
        Ok(match record.map(|r| r.mfa) {
            Some(StoredMfa::Enabled { backup_codes, .. }) => {
                backup_codes.iter().filter(|c| !c.used).count()
            }
            _ => 0,
        })
    }

    /// Claims one attempt against the second-factor throttle, re-reading the
    /// count when a concurrent request moved it first. Returns the count
    /// this attempt brought it to.
    fn claim_attempt(
        &self,
        user: UserId,
        mut seen: Failures,
        now: UnixTime,
    ) -> Result<u32, FactorFailure> {
        for _ in 0..CLAIM_RETRIES {
            if let AttemptDecision::LockedUntil(until) =
                self.settings.second_factor_throttle.decide(seen, now)
            {
                return Err(FactorFailure::LockedOut(now.secs_until(until).max(1)));
            }
            if self.store.claim_second_factor_attempt(user, seen, now)? {
                return Ok(seen.consecutive.saturating_add(1));
            }
            let Some(fresh) = self.store.user_by_id(user)? else {
                return Err(FactorFailure::Refused);
            };
            seen = fresh.second_factor_failures;
        }
        Err(FactorFailure::LockedOut(1))
    }

    /// Audits a refused factor, and the lock-out it starts, if any. Attempts
    /// refused while locked are never counted, so every counted failure past
    /// the free ones starts a new lock-out.
    fn after_refused_factor(
        &self,
        user: UserId,
        failures: u32,
        ctx: &RequestContext,
    ) -> Result<(), InternalError> {
        self.audit(
            AuditKind::SecondFactorFailed,
            Some(user),
            ctx,
            &format!("failures={failures}"),
        )?;
        if let Some(secs) = self.settings.second_factor_throttle.lockout_secs(failures) {
            let detail = format!("factor=second failures={failures} seconds={secs}");
            self.audit(AuditKind::LockedOut, Some(user), ctx, &detail)?;
        }
        Ok(())
    }
}

/// [`Randomness`] as a `rand_core` generator, for the core's functions.
#[derive(Debug)]
pub struct RandomRng<'a, R: Randomness + ?Sized>(pub &'a R);

impl<R: Randomness + ?Sized> TryRng for RandomRng<'_, R> {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0; 4];
        self.0.fill_bytes(&mut b);
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0; 8];
        self.0.fill_bytes(&mut b);
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

// Sound because every `Randomness` must be cryptographically secure.
impl<R: Randomness + ?Sized> TryCryptoRng for RandomRng<'_, R> {}
