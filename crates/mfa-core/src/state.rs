//! A user's MFA state as a value, and the transitions between states.
//!
//! Every function here takes the current state and returns a new value or a
//! typed error; nothing is changed in place. Persisting a transition, and
//! making it atomic against concurrent requests, is the storage adapter's
//! job: this module only decides.

use rand_core::CryptoRng;

use crate::backup::{self, BackupCode, BackupCodeHash, BackupCodeKey, BackupCodeSet};
use crate::secret::TotpSecret;
use crate::time::UnixTime;
use crate::totp::{OtpInput, Totp, TotpConfig, TotpError};

/// MFA as it is active for a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnabledMfa {
    /// The shared TOTP key.
    pub secret: TotpSecret,
    /// The backup codes, as hashes.
    pub backup_codes: BackupCodeSet,
    /// When MFA was turned on.
    pub enabled_at: UnixTime,
    /// The newest TOTP step accepted for this secret; older and equal steps
    /// are refused.
    pub last_accepted_step: Option<u64>,
}

/// Whether a user has MFA.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum MfaState {
    /// No second factor.
    #[default]
    Disabled,
    /// TOTP and backup codes are active.
    Enabled(EnabledMfa),
}

/// A setup the user started but has not confirmed. It lives server-side so
/// that the client can never choose the secret or the codes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingSetup {
    /// The secret shown to the user.
    pub secret: TotpSecret,
    /// Hashes of the codes shown to the user.
    pub backup_codes: Vec<BackupCodeHash>,
    /// When it stops being usable.
    pub expires_at: UnixTime,
    /// Wrong verification codes so far.
    pub failed_attempts: u32,
}

/// A new pending setup and the plaintext codes to show once.
#[derive(Debug)]
pub struct NewSetup {
    /// What to store.
    pub pending: PendingSetup,
    /// What to show; never stored.
    pub codes: Vec<BackupCode>,
}

/// The tunable parts of the MFA rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MfaPolicy {
    /// TOTP parameters and window.
    pub totp: TotpConfig,
    /// How long a pending setup may be confirmed, in seconds.
    pub setup_ttl_secs: u64,
    /// Wrong verification codes after which a pending setup is discarded.
    pub max_enable_attempts: u32,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        Self {
            totp: TotpConfig::default(),
            setup_ttl_secs: 600,
            max_enable_attempts: 5,
        }
    }
}

/// Circumstances of a login that may call for a second factor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RiskSignals {
    /// The login comes from a device not seen before.
    pub new_device: bool,
    /// The account has not been used for a long time.
    pub dormant_account: bool,
    /// The login comes from an unusual place or network.
    pub unusual_location: bool,
}

impl RiskSignals {
    /// Whether any signal is raised.
    #[must_use]
    pub fn any(&self) -> bool {
        self.new_device || self.dormant_account || self.unusual_location
    }
}

/// Why a transition is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MfaError {
    /// MFA is on already.
    #[error("MFA is already enabled")]
    AlreadyEnabled,
    /// MFA is off.
    #[error("MFA is not enabled")]
    NotEnabled,
}

/// Why confirming a setup failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EnableError {
    /// MFA is on already.
    #[error("MFA is already enabled")]
    AlreadyEnabled,
    /// The pending setup has expired or was used up by wrong codes.
    #[error("the MFA setup has expired; start a new one")]
    SetupExpired,
    /// The client sent a secret other than the pending one.
    #[error("the secret does not match the pending setup")]
    SecretMismatch,
    /// The client sent backup codes other than the pending ones.
    #[error("the backup codes do not match the pending setup")]
    BackupCodesMismatch,
    /// The verification code is wrong.
    #[error("invalid verification code")]
    InvalidCode(TotpError),
}

/// Why a second factor was refused. Clients see one message for all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FactorError {
    /// Neither a TOTP code nor a backup code by its shape.
    #[error("the code is neither a TOTP code nor a backup code")]
    Malformed,
    /// A well-formed code that does not match.
    #[error("the code does not match")]
    Invalid,
    /// A TOTP code of a step already used.
    #[error("the code was already used")]
    Replayed,
}

/// What passed as a second factor. It can only be made by
/// [`verify_second_factor`]; the caller must then spend it atomically in
/// storage (accept the step, or consume the code) before relying on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifiedFactor {
    /// A TOTP code of this step.
    Totp {
        /// The matched time step.
        step: u64,
    },
    /// An unused backup code with this hash.
    BackupCode {
        /// Its keyed hash.
        hash: BackupCodeHash,
    },
}

/// Must this login pass a second factor? A user with MFA always must; for
/// one without, raised risk signals answer yes, meaning the caller should
/// ask for another factor or refuse, as its policy says.
#[must_use]
pub fn should_require_mfa(state: &MfaState, risk: &RiskSignals) -> bool {
    matches!(state, MfaState::Enabled(_)) || risk.any()
}

/// MFA may be set up only while it is off.
pub fn can_enable(state: &MfaState) -> Result<(), MfaError> {
    match state {
        MfaState::Disabled => Ok(()),
        MfaState::Enabled(_) => Err(MfaError::AlreadyEnabled),
    }
}

/// MFA may be turned off only while it is on.
pub fn can_disable(state: &MfaState) -> Result<&EnabledMfa, MfaError> {
    match state {
        MfaState::Enabled(mfa) => Ok(mfa),
        MfaState::Disabled => Err(MfaError::NotEnabled),
    }
}

/// Starts a setup: a fresh secret and ten fresh codes, held as pending.
pub fn begin_setup(
    state: &MfaState,
    rng: &mut impl CryptoRng,
    key: &BackupCodeKey,
    now: UnixTime,
    policy: &MfaPolicy,
) -> Result<NewSetup, MfaError> {
    can_enable(state)?;
    let secret = TotpSecret::generate(rng);
    let codes = backup::generate_set(rng);
    let pending = PendingSetup {
        secret,
        backup_codes: codes.iter().map(|c| key.hash(c)).collect(),
        expires_at: now.plus_secs(policy.setup_ttl_secs),
        failed_attempts: 0,
    };
    Ok(NewSetup { pending, codes })
}

/// What the client sent to confirm a setup.
#[derive(Clone, Copy)]
pub struct EnableRequest<'a> {
    /// The code from the authenticator.
    pub code: &'a str,
    /// The secret, if the client echoed it back.
    pub secret: Option<&'a TotpSecret>,
    /// The backup codes' hashes, if the client echoed them back.
    pub backup_codes: Option<&'a [BackupCodeHash]>,
}

impl core::fmt::Debug for EnableRequest<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("EnableRequest(..)")
    }
}

/// Confirms a pending setup: the new enabled state, whose last accepted step
/// is the confirming code's, so that code cannot be used again to log in.
pub fn prepare_enablement(
    state: &MfaState,
    pending: &PendingSetup,
    request: &EnableRequest<'_>,
    now: UnixTime,
    policy: &MfaPolicy,
) -> Result<EnabledMfa, EnableError> {
    if can_enable(state).is_err() {
        return Err(EnableError::AlreadyEnabled);
    }
    if now >= pending.expires_at || pending.failed_attempts >= policy.max_enable_attempts {
        return Err(EnableError::SetupExpired);
    }
    if request.secret.is_some_and(|s| s != &pending.secret) {
        return Err(EnableError::SecretMismatch);
    }
    if request
        .backup_codes
        .is_some_and(|sent| !same_code_set(sent, &pending.backup_codes))
    {
        return Err(EnableError::BackupCodesMismatch);
    }
    let step = Totp::new(&pending.secret, policy.totp)
        .verify(request.code, now, None)
        .map_err(EnableError::InvalidCode)?;
    Ok(EnabledMfa {
        secret: pending.secret.clone(),
        backup_codes: BackupCodeSet::fresh(pending.backup_codes.iter().copied()),
        enabled_at: now,
        last_accepted_step: Some(step),
    })
}

/// Equal as multisets: order is free, but a duplicate cannot stand in for a
/// missing code.
fn same_code_set(sent: &[BackupCodeHash], pending: &[BackupCodeHash]) -> bool {
    let sorted = |codes: &[BackupCodeHash]| {
        let mut codes = codes.to_vec();
        codes.sort_unstable_by_key(|c| *c.as_bytes());
        codes
    };
    sent.len() == pending.len() && sorted(sent) == sorted(pending)
}

/// Whether a pending setup should be discarded after `failed_attempts`.
#[must_use]
pub fn setup_exhausted(failed_attempts: u32, policy: &MfaPolicy) -> bool {
    failed_attempts >= policy.max_enable_attempts
}

/// Checks a second factor: a TOTP code (newer than the last accepted step)
/// or an unused backup code.
pub fn verify_second_factor(
    mfa: &EnabledMfa,
    input: &str,
    now: UnixTime,
    policy: &MfaPolicy,
    key: &BackupCodeKey,
) -> Result<VerifiedFactor, FactorError> {
    if let Ok(code) = OtpInput::parse(input, policy.totp.digits) {
        let totp = Totp::new(&mfa.secret, policy.totp);
        return match totp.verify_parsed(code, now, mfa.last_accepted_step) {
            Ok(step) => Ok(VerifiedFactor::Totp { step }),
            Err(TotpError::Replayed) => Err(FactorError::Replayed),
            Err(_) => Err(FactorError::Invalid),
        };
    }
    let hash = is_valid_backup_code(mfa, input, key)?;
    Ok(VerifiedFactor::BackupCode { hash })
}

/// The hash of `input` if it is an unused backup code of this user.
pub fn is_valid_backup_code(
    mfa: &EnabledMfa,
    input: &str,
    key: &BackupCodeKey,
) -> Result<BackupCodeHash, FactorError> {
    let code = BackupCode::parse(input).map_err(|_| FactorError::Malformed)?;
    let candidates = key.candidate_hashes(&code);
    let unused = candidates
        .iter()
        .find(|hash| mfa.backup_codes.contains_unused(hash));
    unused.copied().ok_or(FactorError::Invalid)
}

/// The state after a backup code is spent.
pub fn mark_backup_code_used(
    mfa: &EnabledMfa,
    hash: &BackupCodeHash,
) -> Result<EnabledMfa, FactorError> {
    let backup_codes = mfa
        .backup_codes
        .mark_used(hash)
        .map_err(|_| FactorError::Invalid)?;
    Ok(EnabledMfa {
        backup_codes,
        ..mfa.clone()
    })
}

/// The state after a TOTP step is accepted.
#[must_use]
pub fn accept_step(mfa: &EnabledMfa, step: u64) -> EnabledMfa {
    EnabledMfa {
        last_accepted_step: Some(step),
        ..mfa.clone()
    }
}

/// Turning MFA off needs MFA on and a second factor that passed.
pub fn prepare_disablement(
    state: &MfaState,
    _proof: &VerifiedFactor,
) -> Result<MfaState, MfaError> {
    can_disable(state)?;
    Ok(MfaState::Disabled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SeqRng;
    use proptest::prelude::*;

    const NOW: UnixTime = UnixTime(1_700_000_000);

    fn key() -> BackupCodeKey {
        BackupCodeKey::from_bytes([3; 32])
    }

    fn setup(seed: u64) -> NewSetup {
        begin_setup(
            &MfaState::Disabled,
            &mut SeqRng::new(seed),
            &key(),
            NOW,
            &MfaPolicy::default(),
        )
        .unwrap()
    }

    fn code(secret: &TotpSecret, at: UnixTime) -> String {
        Totp::new(secret, TotpConfig::default()).generate(at)
    }

    fn request(code: &str) -> EnableRequest<'_> {
        EnableRequest {
            code,
            secret: None,
            backup_codes: None,
        }
    }

    fn enabled(seed: u64) -> (EnabledMfa, Vec<BackupCode>) {
        let new = setup(seed);
        let c = code(&new.pending.secret, NOW);
        let mfa = prepare_enablement(
            &MfaState::Disabled,
            &new.pending,
            &request(&c),
            NOW,
            &MfaPolicy::default(),
        )
        .unwrap();
        (mfa, new.codes)
    }

    #[test]
    fn mfa_users_always_need_a_second_factor_and_risk_can_demand_one() {
        let (mfa, _) = enabled(1);
        let on = MfaState::Enabled(mfa);
        assert!(should_require_mfa(&on, &RiskSignals::default()));
        assert!(!should_require_mfa(
            &MfaState::Disabled,
            &RiskSignals::default()
        ));
        let risky = RiskSignals {
            dormant_account: true,
            ..RiskSignals::default()
        };
        assert!(should_require_mfa(&MfaState::Disabled, &risky));
    }

    #[test]
    fn setup_is_refused_when_mfa_is_on() {
        let (mfa, _) = enabled(1);
        let on = MfaState::Enabled(mfa);
        let result = begin_setup(&on, &mut SeqRng::new(2), &key(), NOW, &MfaPolicy::default());
        assert_eq!(result.unwrap_err(), MfaError::AlreadyEnabled);
        assert_eq!(
            can_disable(&MfaState::Disabled).unwrap_err(),
            MfaError::NotEnabled
        );
    }

    #[test]
    fn setup_holds_hashes_and_expires_after_ten_minutes() {
        let new = setup(4);
        assert_eq!(new.codes.len(), 10);
        assert_eq!(
            new.pending.backup_codes,
            new.codes.iter().map(|c| key().hash(c)).collect::<Vec<_>>()
        );
        assert_eq!(new.pending.expires_at, UnixTime(NOW.0 + 600));
    }

    #[test]
    fn enabling_uses_up_the_confirming_step() {
        let new = setup(5);
        let c = code(&new.pending.secret, NOW);
        let mfa = prepare_enablement(
            &MfaState::Disabled,
            &new.pending,
            &request(&c),
            NOW,
            &MfaPolicy::default(),
        )
        .unwrap();
        assert_eq!(mfa.backup_codes.remaining(), 10);
        assert_eq!(mfa.enabled_at, NOW);
        let again = verify_second_factor(&mfa, &c, NOW, &MfaPolicy::default(), &key());
        assert_eq!(again, Err(FactorError::Replayed));
    }

    #[test]
    fn enabling_refuses_expired_foreign_or_wrong_input() {
        let new = setup(6);
        let p = MfaPolicy::default();
        let late = UnixTime(NOW.0 + 600);
        let c = code(&new.pending.secret, late);
        assert_eq!(
            prepare_enablement(&MfaState::Disabled, &new.pending, &request(&c), late, &p),
            Err(EnableError::SetupExpired)
        );

        let c = code(&new.pending.secret, NOW);
        let other = setup(7);
        let foreign_secret = EnableRequest {
            secret: Some(&other.pending.secret),
            ..request(&c)
        };
        assert_eq!(
            prepare_enablement(&MfaState::Disabled, &new.pending, &foreign_secret, NOW, &p),
            Err(EnableError::SecretMismatch)
        );
        let foreign_codes = EnableRequest {
            backup_codes: Some(&other.pending.backup_codes),
            ..request(&c)
        };
        assert_eq!(
            prepare_enablement(&MfaState::Disabled, &new.pending, &foreign_codes, NOW, &p),
            Err(EnableError::BackupCodesMismatch)
        );
        let mut reordered = new.pending.backup_codes.clone();
        reordered.reverse();
        let echoed = EnableRequest {
            secret: Some(&new.pending.secret),
            backup_codes: Some(&reordered),
            ..request(&c)
        };
        assert!(prepare_enablement(&MfaState::Disabled, &new.pending, &echoed, NOW, &p).is_ok());

        let wrong = if c == "000000" { "000001" } else { "000000" };
        assert_eq!(
            prepare_enablement(&MfaState::Disabled, &new.pending, &request(wrong), NOW, &p),
            Err(EnableError::InvalidCode(TotpError::Mismatch))
        );
        let worn = PendingSetup {
            failed_attempts: 5,
            ..new.pending.clone()
        };
        assert_eq!(
            prepare_enablement(&MfaState::Disabled, &worn, &request(&c), NOW, &p),
            Err(EnableError::SetupExpired)
        );
        assert!(setup_exhausted(5, &p) && !setup_exhausted(4, &p));
    }

    #[test]
    fn second_factor_accepts_totp_and_backup_codes() {
        let (mfa, codes) = enabled(8);
        let p = MfaPolicy::default();
        let later = NOW.plus_secs(30);
        let totp = code(&mfa.secret, later);
        let step = Totp::new(&mfa.secret, p.totp).step_at(later);
        assert_eq!(
            verify_second_factor(&mfa, &totp, later, &p, &key()),
            Ok(VerifiedFactor::Totp { step })
        );

        let typed = codes[3].expose_formatted().to_lowercase();
        let hash = key().hash(&codes[3]);
        assert_eq!(
            verify_second_factor(&mfa, &typed, later, &p, &key()),
            Ok(VerifiedFactor::BackupCode { hash })
        );
        let spent = mark_backup_code_used(&mfa, &hash).unwrap();
        assert_eq!(spent.backup_codes.remaining(), 9);
        assert_eq!(
            verify_second_factor(&spent, &typed, later, &p, &key()),
            Err(FactorError::Invalid)
        );
        assert_eq!(
            verify_second_factor(&mfa, "ABCD-EFGH-JKMN", later, &p, &key()),
            Err(FactorError::Invalid)
        );
        assert_eq!(
            verify_second_factor(&mfa, "12345", later, &p, &key()),
            Err(FactorError::Malformed)
        );
        assert_eq!(
            verify_second_factor(&mfa, "", later, &p, &key()),
            Err(FactorError::Malformed)
        );
    }

    #[test]
    fn disabling_needs_mfa_on_and_a_proof() {
        let (mfa, _) = enabled(9);
        let proof = VerifiedFactor::Totp { step: 1 };
        assert_eq!(
            prepare_disablement(&MfaState::Enabled(mfa), &proof),
            Ok(MfaState::Disabled)
        );
        assert_eq!(
            prepare_disablement(&MfaState::Disabled, &proof),
            Err(MfaError::NotEnabled)
        );
    }

    proptest! {
        #[test]
        fn a_generated_code_verifies_once_and_then_never_again(
            seed in any::<u64>(),
            offset in 0u64..100_000,
            later in 0u64..90,
        ) {
            let (mfa, _) = enabled(seed);
            let p = MfaPolicy::default();
            let now = NOW.plus_secs(60 + offset * 30);
            let c = code(&mfa.secret, now);
            let verified = verify_second_factor(&mfa, &c, now, &p, &key()).unwrap();
            let VerifiedFactor::Totp { step } = verified else {
                panic!("a six-digit code is a TOTP code");
            };
            let after = accept_step(&mfa, step);
            let retry = now.plus_secs(later);
            prop_assert!(verify_second_factor(&after, &c, retry, &p, &key()).is_err());
        }
    }
}
