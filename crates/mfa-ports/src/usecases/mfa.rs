//! Set up, enable, disable, status, backup-code regeneration and the
//! operator's reset.

use mfa_core::state::{self, EnableRequest};
use mfa_core::{
    BackupCode, BackupCodeHash, EnableError, MfaState, PendingSetup, TotpSecret, UnixTime, backup,
    otpauth_uri,
};
use zeroize::Zeroizing;

use crate::model::{
    AuditEvent, AuditKind, PendingSetupRecord, SealedSecret, SecretSlot, SetupId, StoredMfa,
    UserId, UserRecord,
};
use crate::ports::{AuditLog, SecretSealer, StoreError, UserStore};
use crate::service::{FactorFailure, InternalError, Ports, RequestContext, Service};
use crate::usecases::account::Authenticated;

/// What the user needs to add the account to an authenticator app. Shown
/// once; only the sealed secret and the codes' hashes are kept.
pub struct SetupOutcome {
    /// The secret in base32, for typing in by hand.
    pub secret: Zeroizing<String>,
    /// The `otpauth://` URI to encode as a QR code.
    pub otpauth_uri: Zeroizing<String>,
    /// The backup codes, `XXXX-XXXX-XXXX`.
    pub backup_codes: Vec<Zeroizing<String>>,
    /// The issuer shown in the app.
    pub issuer: String,
    /// The account name shown in the app (the email).
    pub account_name: String,
    /// When the pending setup expires.
    pub expires_at: UnixTime,
}

impl core::fmt::Debug for SetupOutcome {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The secret, the URI holding it and the codes never reach a log.
        f.debug_struct("SetupOutcome")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for EnableInput<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("EnableInput(..)")
    }
}

/// Why a setup could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// MFA is on already.
    #[error("MFA is already enabled")]
    AlreadyEnabled,
    /// Something broke.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

/// What the client sent to confirm a setup.
#[derive(Clone, Copy)]
pub struct EnableInput<'a> {
    /// The code from the authenticator.
    pub verification_code: &'a str,
    /// The secret, when echoed back.
    pub secret: Option<&'a str>,
    /// The backup codes, when echoed back.
    pub backup_codes: Option<&'a [String]>,
}

/// Why enabling failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnableFailure {
    /// MFA is on already.
    #[error("MFA is already enabled")]
    AlreadyEnabled,
    /// No setup is pending, or it expired or was used up.
    #[error("no MFA setup is pending; start one with /api/auth/mfa/setup")]
    NoPendingSetup,
    /// The secret sent is not the pending one.
    #[error("secret does not match the pending MFA setup")]
    SecretMismatch,
    /// The codes sent are not the pending ones.
    #[error("backupCodes do not match the pending MFA setup")]
    BackupCodesMismatch,
    /// The verification code is wrong.
    #[error("Invalid verification code")]
    InvalidCode,
    /// Something broke.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

impl From<StoreError> for EnableFailure {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

/// Why a change that needs a second factor (disable, new codes) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// MFA is off.
    #[error("MFA is not enabled")]
    NotEnabled,
    /// Too many failures; try again after this many seconds.
    #[error("too many failed attempts")]
    LockedOut {
        /// Seconds until the next attempt is allowed.
        retry_after_secs: u64,
    },
    /// The code was refused (and counted).
    #[error("Invalid MFA code")]
    InvalidCode,
    /// Something broke.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

impl From<FactorFailure> for ProofError {
    fn from(failure: FactorFailure) -> Self {
        match failure {
            FactorFailure::LockedOut(retry_after_secs) => Self::LockedOut { retry_after_secs },
            FactorFailure::Refused => Self::InvalidCode,
            FactorFailure::Internal(e) => Self::Internal(e),
        }
    }
}

impl From<StoreError> for ProofError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

/// MFA as the status endpoint shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfaStatus {
    /// Whether MFA is on.
    pub enabled: bool,
    /// Since when.
    pub enabled_at: Option<UnixTime>,
    /// Unused backup codes.
    pub backup_codes_remaining: usize,
}

/// What a re-sealing pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResealReport {
    /// Secrets moved to the current key.
    pub resealed: usize,
    /// Whether every secret was visited; false when the pass was cut short.
    pub finished: bool,
}

/// Why an operator command failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorError {
    /// No account has this email.
    #[error("no account has this email")]
    UnknownUser,
    /// Something broke.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

impl From<StoreError> for OperatorError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl<P: Ports> Service<P> {
    fn caller_record(&self, caller: &Authenticated) -> Result<UserRecord, InternalError> {
        self.store
            .user_by_id(caller.user_id)?
            .ok_or_else(|| StoreError::Corrupt("a live session names no user".to_owned()).into())
    }

    /// Starts (or restarts) a setup: a fresh secret and codes, held server-side.
    pub fn setup_mfa(
        &self,
        caller: &Authenticated,
        ctx: &RequestContext,
    ) -> Result<SetupOutcome, SetupError> {
        let record = self.caller_record(caller)?;
        let now = self.now();
        let current = self
            .active_mfa(&record)?
            .map_or(MfaState::Disabled, MfaState::Enabled);
        let new = state::begin_setup(
            &current,
            &mut self.rng(),
            &self.keys.backup_codes,
            now,
            &self.settings.policy,
        )
        .map_err(|_| SetupError::AlreadyEnabled)?;

        let uri = otpauth_uri(
            &self.settings.issuer,
            &record.user.email,
            &new.pending.secret,
            &self.settings.policy.totp,
        )
        .map_err(|_| InternalError::Issuer)?;
        let pending = PendingSetupRecord {
            id: SetupId(self.new_uuid()),
            sealed_secret: self
                .sealer
                .seal(record.user.id, &new.pending.secret)
                .map_err(InternalError::from)?,
            backup_codes: new.pending.backup_codes.clone(),
            created_at: now,
            expires_at: new.pending.expires_at,
            failed_attempts: 0,
        };
        self.store
            .put_pending_setup(record.user.id, &pending)
            .map_err(InternalError::from)?;
        self.audit(AuditKind::MfaSetupStarted, Some(record.user.id), ctx, "")
            .map_err(InternalError::from)?;

        Ok(SetupOutcome {
            secret: new.pending.secret.to_base32(),
            otpauth_uri: uri,
            backup_codes: new.codes.iter().map(BackupCode::expose_formatted).collect(),
            issuer: self.settings.issuer.clone(),
            account_name: record.user.email,
            expires_at: new.pending.expires_at,
        })
    }

    /// Confirms the pending setup with a code from the authenticator.
    pub fn enable_mfa(
        &self,
        caller: &Authenticated,
        input: &EnableInput<'_>,
        ctx: &RequestContext,
    ) -> Result<(), EnableFailure> {
        let record = self.caller_record(caller)?;
        if matches!(record.mfa, StoredMfa::Enabled { .. }) {
            return Err(EnableFailure::AlreadyEnabled);
        }
        let user = record.user.id;
        let stored = self
            .store
            .pending_setup(user)?
            .ok_or(EnableFailure::NoPendingSetup)?;
        let pending = PendingSetup {
            secret: self
                .sealer
                .unseal(user, &stored.sealed_secret)
                .map_err(InternalError::from)?,
            backup_codes: stored.backup_codes.clone(),
            expires_at: stored.expires_at,
            failed_attempts: stored.failed_attempts,
        };

        let sent_secret = input
            .secret
            .map(TotpSecret::parse_base32)
            .transpose()
            .map_err(|_| EnableFailure::SecretMismatch)?;
        let sent_codes = input
            .backup_codes
            .map(|codes| self.hash_sent_codes(codes, &stored.backup_codes))
            .transpose()?;
        let request = EnableRequest {
            code: input.verification_code,
            secret: sent_secret.as_ref(),
            backup_codes: sent_codes.as_deref(),
        };
        let now = self.now();
        let enabled = match state::prepare_enablement(
            &MfaState::Disabled,
            &pending,
            &request,
            now,
            &self.settings.policy,
        ) {
            Ok(enabled) => enabled,
            Err(EnableError::InvalidCode(_)) => {
                return Err(self.refuse_verification_code(user, &stored, ctx)?);
            }
            Err(EnableError::SetupExpired) => {
                self.store.discard_pending_setup(user, stored.id)?;
                return Err(EnableFailure::NoPendingSetup);
            }
            Err(EnableError::AlreadyEnabled) => return Err(EnableFailure::AlreadyEnabled),
            Err(EnableError::SecretMismatch) => return Err(EnableFailure::SecretMismatch),
            Err(EnableError::BackupCodesMismatch) => {
                return Err(EnableFailure::BackupCodesMismatch);
            }
        };

        let step = enabled.last_accepted_step.unwrap_or_default();
        if !self
            .store
            .enable_mfa(user, &stored, enabled.enabled_at, step)?
        {
            // Another request enabled MFA or replaced the setup meanwhile.
            return Err(match self.caller_record(caller)?.mfa {
                StoredMfa::Enabled { .. } => EnableFailure::AlreadyEnabled,
                StoredMfa::Disabled => EnableFailure::NoPendingSetup,
            });
        }
        self.audit(AuditKind::MfaEnabled, Some(user), ctx, "")
            .map_err(InternalError::from)?;
        Ok(())
    }

    /// Hashes echoed codes under the key the pending ones were hashed with,
    /// which is an older key when a rotation came between setup and enable.
    fn hash_sent_codes(
        &self,
        codes: &[String],
        pending: &[BackupCodeHash],
    ) -> Result<Vec<BackupCodeHash>, EnableFailure> {
        let per_code: Vec<Vec<BackupCodeHash>> = codes
            .iter()
            .map(|c| {
                BackupCode::parse(c).map(|code| self.keys.backup_codes.candidate_hashes(&code))
            })
            .collect::<Result<_, _>>()
            .map_err(|_| EnableFailure::BackupCodesMismatch)?;
        let under_key = |k: usize| -> Vec<BackupCodeHash> {
            per_code.iter().filter_map(|c| c.get(k).copied()).collect()
        };
        let keys = per_code.first().map_or(1, Vec::len);
        let matching = (0..keys).find(|&k| under_key(k).iter().any(|h| pending.contains(h)));
        Ok(under_key(matching.unwrap_or(0)))
    }

    /// Counts a wrong verification code; the fifth discards the setup.
    fn refuse_verification_code(
        &self,
        user: UserId,
        stored: &PendingSetupRecord,
        ctx: &RequestContext,
    ) -> Result<EnableFailure, InternalError> {
        let count = self.store.record_setup_failure(user, stored.id)?;
        let detail = format!("step=enable failures={}", count.unwrap_or_default());
        self.audit(AuditKind::SecondFactorFailed, Some(user), ctx, &detail)?;
        if count.is_some_and(|n| state::setup_exhausted(n, &self.settings.policy)) {
            self.store.discard_pending_setup(user, stored.id)?;
        }
        Ok(EnableFailure::InvalidCode)
    }

    /// Turns MFA off after a second factor, keeping only the caller's session.
    pub fn disable_mfa(
        &self,
        caller: &Authenticated,
        code: &str,
        ctx: &RequestContext,
    ) -> Result<(), ProofError> {
        self.prove_second_factor(caller, code, ctx)?;
        if !self
            .store
            .disable_mfa(caller.user_id, Some(caller.session_id))?
        {
            return Err(ProofError::NotEnabled);
        }
        self.audit(AuditKind::MfaDisabled, Some(caller.user_id), ctx, "")
            .map_err(InternalError::from)?;
        Ok(())
    }

    /// Replaces every backup code with a new set after a second factor.
    pub fn regenerate_backup_codes(
        &self,
        caller: &Authenticated,
        code: &str,
        ctx: &RequestContext,
    ) -> Result<Vec<Zeroizing<String>>, ProofError> {
        self.prove_second_factor(caller, code, ctx)?;
        let codes = backup::generate_set(&mut self.rng());
        let hashes: Vec<_> = codes
            .iter()
            .map(|c| self.keys.backup_codes.hash(c))
            .collect();
        if !self
            .store
            .replace_backup_codes(caller.user_id, &hashes, self.now())?
        {
            return Err(ProofError::NotEnabled);
        }
        self.audit(
            AuditKind::BackupCodesRegenerated,
            Some(caller.user_id),
            ctx,
            "",
        )
        .map_err(InternalError::from)?;
        Ok(codes.iter().map(BackupCode::expose_formatted).collect())
    }

    fn prove_second_factor(
        &self,
        caller: &Authenticated,
        code: &str,
        ctx: &RequestContext,
    ) -> Result<(), ProofError> {
        let record = self.caller_record(caller)?;
        let mfa = self.active_mfa(&record)?.ok_or(ProofError::NotEnabled)?;
        self.pass_second_factor(&record, &mfa, code, ctx)?;
        Ok(())
    }

    /// Whether MFA is on, since when, and how many backup codes are left.
    pub fn mfa_status(&self, caller: &Authenticated) -> Result<MfaStatus, InternalError> {
        let record = self.caller_record(caller)?;
        Ok(match record.mfa {
            StoredMfa::Disabled => MfaStatus {
                enabled: false,
                enabled_at: None,
                backup_codes_remaining: 0,
            },
            StoredMfa::Enabled {
                enabled_at,
                backup_codes,
                ..
            } => MfaStatus {
                enabled: true,
                enabled_at: Some(enabled_at),
                backup_codes_remaining: backup_codes.iter().filter(|c| !c.used).count(),
            },
        })
    }

    /// The operator's recovery path: MFA off and every session ended.
    pub fn operator_reset_mfa(
        &self,
        email: &mfa_core::Email,
        ctx: &RequestContext,
    ) -> Result<UserId, OperatorError> {
        let record = self
            .store
            .user_by_email(&email.canonical())?
            .ok_or(OperatorError::UnknownUser)?;
        let user = record.user.id;
        self.store.disable_mfa(user, None)?;
        self.audit(AuditKind::OperatorReset, Some(user), ctx, "")
            .map_err(InternalError::from)?;
        Ok(user)
    }

    /// Re-seals every secret (active and pending) that is not under the
    /// current key, `batch_size` at a time, stopping after `max_batches`
    /// pages if given. Each secret is replaced by its own conditional write,
    /// so an interrupted pass loses nothing and the next pass resumes: it
    /// skips what is already under the current key.
    pub fn reseal_secrets(
        &self,
        batch_size: usize,
        max_batches: Option<usize>,
    ) -> Result<ResealReport, OperatorError> {
        let current = self.sealer.current_key_id();
        let batch_size = batch_size.max(1);
        let mut report = ResealReport {
            resealed: 0,
            finished: true,
        };
        let mut pages = 0;
        for slot in [SecretSlot::Active, SecretSlot::Pending] {
            let mut after = None;
            loop {
                if max_batches.is_some_and(|max| pages >= max) {
                    report.finished = false;
                    return Ok(report);
                }
                let page = self.store.sealed_secrets_after(slot, after, batch_size)?;
                pages += 1;
                for (user, sealed) in &page {
                    if self.sealer.key_id(sealed) != Some(current)
                        && self.reseal_one(*user, slot, sealed)?
                    {
                        report.resealed += 1;
                    }
                }
                match page.last() {
                    Some((last, _)) if page.len() == batch_size => after = Some(*last),
                    _ => break,
                }
            }
        }
        Ok(report)
    }

    fn reseal_one(
        &self,
        user: UserId,
        slot: SecretSlot,
        sealed: &SealedSecret,
    ) -> Result<bool, OperatorError> {
        let secret = self
            .sealer
            .unseal(user, sealed)
            .map_err(InternalError::from)?;
        let fresh = self
            .sealer
            .seal(user, &secret)
            .map_err(InternalError::from)?;
        // A false answer means the secret changed meanwhile (MFA turned off
        // or set up again); whatever replaced it was sealed afresh.
        Ok(self
            .store
            .replace_sealed_secret(user, slot, sealed, &fresh)?)
    }

    /// Security events of one user (by email) or of everyone, oldest first.
    pub fn audit_trail(
        &self,
        email: Option<&mfa_core::Email>,
        since: Option<UnixTime>,
    ) -> Result<Vec<AuditEvent>, OperatorError> {
        let user = match email {
            Some(email) => Some(
                self.store
                    .user_by_email(&email.canonical())?
                    .ok_or(OperatorError::UnknownUser)?
                    .user
                    .id,
            ),
            None => None,
        };
        Ok(self.store.audit_events(user, since)?)
    }
}
