//! The records that cross the storage ports.

use mfa_core::{BackupCodeHash, Failures, StoredBackupCode, UnixTime};
use uuid::Uuid;

/// A user's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub Uuid);

/// A session's id; the bearer token names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub Uuid);

/// A pending setup's id, so that confirming an old setup cannot consume a
/// newer one that replaced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SetupId(pub Uuid);

/// The public face of an account.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The address as registered.
    pub email: String,
    /// The display name.
    pub name: String,
}

impl core::fmt::Debug for User {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Email and name are personal data; ids are enough in logs.
        f.debug_struct("User")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A TOTP secret encrypted under the server's sealing key.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret(pub Vec<u8>);

impl core::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SealedSecret({} bytes)", self.0.len())
    }
}

/// Where a sealed secret is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecretSlot {
    /// The secret of MFA that is on.
    Active,
    /// The secret of a setup waiting for its verification code.
    Pending,
}

/// MFA as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredMfa {
    /// Off: no secret, no codes.
    Disabled,
    /// On.
    Enabled {
        /// The sealed TOTP secret.
        sealed_secret: SealedSecret,
        /// When it was turned on.
        enabled_at: UnixTime,
        /// The newest accepted TOTP step.
        last_accepted_step: Option<u64>,
        /// The backup codes' hashes and whether each was used.
        backup_codes: Vec<StoredBackupCode>,
    },
}

/// Everything the use cases read about one user.
#[derive(Clone)]
pub struct UserRecord {
    /// The account.
    pub user: User,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// MFA columns.
    pub mfa: StoredMfa,
    /// Consecutive refused second factors.
    pub second_factor_failures: Failures,
}

/// A user to insert.
#[derive(Clone)]
pub struct NewUser {
    /// The account.
    pub user: User,
    /// The lower-case address that must be unique.
    pub canonical_email: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Creation time.
    pub created_at: UnixTime,
}

impl core::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The password hash stays out of logs; `User` hides the email.
        f.debug_struct("UserRecord")
            .field("user", &self.user)
            .field("mfa", &self.mfa)
            .field("second_factor_failures", &self.second_factor_failures)
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NewUser")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// A pending MFA setup as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingSetupRecord {
    /// Its id.
    pub id: SetupId,
    /// The sealed secret shown to the user.
    pub sealed_secret: SealedSecret,
    /// Hashes of the codes shown to the user.
    pub backup_codes: Vec<BackupCodeHash>,
    /// When it was made.
    pub created_at: UnixTime,
    /// When it stops being usable.
    pub expires_at: UnixTime,
    /// Wrong verification codes so far.
    pub failed_attempts: u32,
}

/// A login session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// Its id.
    pub id: SessionId,
    /// Whose it is.
    pub user_id: UserId,
    /// When it began.
    pub created_at: UnixTime,
    /// When it ends.
    pub expires_at: UnixTime,
    /// Whether it was ended early (logout, MFA change, operator reset).
    pub revoked: bool,
}

/// The kinds of security event kept in the audit table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditKind {
    /// An account was created.
    Registered,
    /// A login passed every factor.
    LoginSucceeded,
    /// A password was wrong.
    LoginFailed,
    /// A second factor was refused (at login, disable or regeneration), or
    /// a verification code at enable.
    SecondFactorFailed,
    /// Too many failures: attempts are refused for a while.
    LockedOut,
    /// A setup was started.
    MfaSetupStarted,
    /// MFA was turned on.
    MfaEnabled,
    /// MFA was turned off by the user.
    MfaDisabled,
    /// A backup code was spent.
    BackupCodeUsed,
    /// Three or fewer backup codes are left.
    BackupCodesLow,
    /// A new set of backup codes replaced the old one.
    BackupCodesRegenerated,
    /// An operator turned MFA off and ended every session.
    OperatorReset,
    /// A session was ended by its owner.
    LoggedOut,
}

impl AuditKind {
    /// The stable name stored in the audit table and logs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "register",
            Self::LoginSucceeded => "login.success",
            Self::LoginFailed => "login.failure",
            Self::SecondFactorFailed => "mfa.code_refused",
            Self::LockedOut => "lockout",
            Self::MfaSetupStarted => "mfa.setup",
            Self::MfaEnabled => "mfa.enable",
            Self::MfaDisabled => "mfa.disable",
            Self::BackupCodeUsed => "mfa.backup_code_used",
            Self::BackupCodesLow => "mfa.backup_codes_low",
            Self::BackupCodesRegenerated => "mfa.backup_codes_regenerated",
            Self::OperatorReset => "mfa.operator_reset",
            Self::LoggedOut => "logout",
        }
    }

    /// Every kind, for parsing stored names back.
    pub const ALL: [AuditKind; 13] = [
        Self::Registered,
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::SecondFactorFailed,
        Self::LockedOut,
        Self::MfaSetupStarted,
        Self::MfaEnabled,
        Self::MfaDisabled,
        Self::BackupCodeUsed,
        Self::BackupCodesLow,
        Self::BackupCodesRegenerated,
        Self::OperatorReset,
        Self::LoggedOut,
    ];

    /// The kind with this stored name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// One security event. `detail` never holds a secret, code, token or email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// What happened.
    pub kind: AuditKind,
    /// To whom, when known.
    pub user_id: Option<UserId>,
    /// When.
    pub at: UnixTime,
    /// The client's address, when known.
    pub client: Option<String>,
    /// Extra facts, such as a count or a reason.
    pub detail: String,
}
