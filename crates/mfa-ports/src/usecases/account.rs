//! Register, log in, log out, and authenticate a bearer token.

use mfa_core::{
    BearerToken, DisplayName, Email, Password, SessionClaims, UnixTime, throttle::AttemptDecision,
};

use crate::model::{AuditKind, NewUser, SessionId, SessionRecord, User, UserId, UserRecord};
use crate::ports::{LoginThrottleStore, PasswordHasher, SessionStore, StoreError, UserStore};
use crate::service::{FactorFailure, InternalError, Ports, RequestContext, Service};

/// Why registration failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// The email is taken (compared case-insensitively).
    #[error("an account with this email already exists")]
    EmailTaken,
    /// Something broke.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

/// A session that was just opened.
#[derive(Debug, Clone)]
pub struct IssuedSession {
    /// The session row.
    pub session_id: SessionId,
    /// The bearer token naming it.
    pub token: BearerToken,
    /// When both expire.
    pub expires_at: UnixTime,
    /// Whose it is.
    pub user: User,
    /// Unused backup codes, when the login spent one.
    pub backup_codes_remaining: Option<usize>,
}

/// What a login with the right password leads to.
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    /// MFA is on and no code was sent: ask for one. No session exists yet.
    MfaRequired,
    /// Every factor passed.
    LoggedIn(IssuedSession),
}

/// Why a login failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Unknown email or wrong password; the two are indistinguishable.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The second factor was refused.
    #[error("invalid MFA code")]
    InvalidMfaCode,
    /// Too many failures; try again after this many seconds.
    #[error("too many failed attempts")]
    LockedOut {
        /// Seconds until the next attempt is allowed.
        retry_after_secs: u64,
    },
    /// Something broke.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

impl From<StoreError> for LoginError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

/// Why a bearer token was refused. One answer for every reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Missing, malformed, forged, expired or revoked.
    #[error("the token is not valid")]
    Unauthorized,
    /// Something broke.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

/// The caller a valid token identifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authenticated {
    /// The user.
    pub user_id: UserId,
    /// The session the token names.
    pub session_id: SessionId,
}

/// A login request: the password, then optionally the second factor.
pub struct LoginRequest<'a> {
    /// The email as typed.
    pub email: &'a Email,
    /// The password.
    pub password: &'a Password,
    /// A TOTP or backup code, when the client has one.
    pub mfa_code: Option<&'a str>,
}

impl core::fmt::Debug for LoginRequest<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("with_code", &self.mfa_code.is_some())
            .finish_non_exhaustive()
    }
}

impl<P: Ports> Service<P> {
    /// Creates an account with an Argon2id password hash.
    pub fn register(
        &self,
        email: &Email,
        password: &Password,
        name: &DisplayName,
        ctx: &RequestContext,
    ) -> Result<User, RegisterError> {
        let canonical_email = email.canonical();
        if self
            .store
            .user_by_email(&canonical_email)
            .map_err(InternalError::from)?
            .is_some()
        {
            return Err(RegisterError::EmailTaken);
        }

        let password_hash = self.hasher.hash(password).map_err(InternalError::from)?;
        let user = User {
            id: UserId(self.new_uuid()),
            email: email.as_str().to_owned(),
            name: name.as_str().to_owned(),
        };
        let new = NewUser {
            user: user.clone(),
            canonical_email,
            password_hash,
            created_at: self.now(),
        };
        match self.store.create_user(&new) {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Err(RegisterError::EmailTaken),
            Err(e) => return Err(InternalError::from(e).into()),
        }

        self.audit(AuditKind::Registered, Some(user.id), ctx, "")
            .map_err(InternalError::from)?;
        Ok(user)
    }

    /// Checks the password, then the second factor when MFA is on, and opens
    /// a session only when every factor passed.
    pub fn login(
        &self,
        request: &LoginRequest<'_>,
        ctx: &RequestContext,
    ) -> Result<LoginOutcome, LoginError> {
        let canonical_email = request.email.canonical();
        let record = self.check_password(&canonical_email, request.password, ctx)?;

        let Some(mfa) = self.active_mfa(&record)? else {
            return self
                .open_session(&record.user, None, ctx)
                .map(LoginOutcome::LoggedIn);
        };
        let Some(code) = request.mfa_code else {
            return Ok(LoginOutcome::MfaRequired);
        };

        let passed = self
            .pass_second_factor(&record, &mfa, code, ctx)
            .map_err(|failure| match failure {
                FactorFailure::LockedOut(retry_after_secs) => {
                    LoginError::LockedOut { retry_after_secs }
                }
                FactorFailure::Refused => LoginError::InvalidMfaCode,
                FactorFailure::Internal(e) => LoginError::Internal(e),
            })?;
        self.open_session(&record.user, passed.backup_codes_remaining, ctx)
            .map(LoginOutcome::LoggedIn)
    }

    /// The password step of a login. Unknown emails cost a dummy hash and
    /// count against the same per-email throttle as wrong passwords, so
    /// neither the answer nor its timing tells whether an account exists.
    fn check_password(
        &self,
        canonical_email: &str,
        password: &Password,
        ctx: &RequestContext,
    ) -> Result<UserRecord, LoginError> {
        let now = self.now();
        let failures = self.store.password_failures(canonical_email)?;
        if let AttemptDecision::LockedUntil(until) =
            self.settings.password_throttle.decide(failures, now)
        {
            return Err(LoginError::LockedOut {
                retry_after_secs: now.secs_until(until).max(1),
            });
        }

        let record = self.store.user_by_email(canonical_email)?;
        let matches = match &record {
            Some(r) => self.hasher.verify(password, &r.password_hash),
            None => {
                self.hasher.verify_dummy(password);
                false
            }
        };

        match record {
            Some(record) if matches => {
                if failures.consecutive > 0 {
                    self.store.reset_password_failures(canonical_email)?;
                }
                Ok(record)
            }
            record => {
                let user = record.map(|r| r.user.id);
                let after = self.store.record_password_failure(canonical_email, now)?;
                self.audit(
                    AuditKind::LoginFailed,
                    user,
                    ctx,
                    &format!("failures={}", after.consecutive),
                )?;
                if let Some(secs) = self
                    .settings
                    .password_throttle
                    .lockout_secs(after.consecutive)
                {
                    let detail = format!(
                        "factor=password failures={} seconds={secs}",
                        after.consecutive
                    );
                    self.audit(AuditKind::LockedOut, user, ctx, &detail)?;
                }
                Err(LoginError::InvalidCredentials)
            }
        }
    }

    fn open_session(
        &self,
        user: &User,
        backup_codes_remaining: Option<usize>,
        ctx: &RequestContext,
    ) -> Result<IssuedSession, LoginError> {
        let now = self.now();
        let session = SessionRecord {
            id: SessionId(self.new_uuid()),
            user_id: user.id,
            created_at: now,
            expires_at: now.plus_secs(self.settings.session_ttl_secs),
            revoked: false,
        };
        self.store.create_session(&session)?;
        self.audit(AuditKind::LoginSucceeded, Some(user.id), ctx, "")?;

        let claims = SessionClaims {
            session_id: *session.id.0.as_bytes(),
            expires_at: session.expires_at,
        };
        Ok(IssuedSession {
            session_id: session.id,
            token: self.keys.token.sign(&claims),
            expires_at: session.expires_at,
            user: user.clone(),
            backup_codes_remaining,
        })
    }

    /// The caller a bearer token names, if its signature and expiry hold and
    /// its session is neither revoked nor expired.
    pub fn authenticate(&self, token: &str) -> Result<Authenticated, AuthError> {
        let now = self.now();
        let claims = self
            .keys
            .token
            .verify(token, now)
            .map_err(|_| AuthError::Unauthorized)?;
        let session_id = SessionId(uuid::Uuid::from_bytes(claims.session_id));
        let session = self
            .store
            .session(session_id)?
            .ok_or(AuthError::Unauthorized)?;
        if session.revoked || now >= session.expires_at {
            return Err(AuthError::Unauthorized);
        }
        Ok(Authenticated {
            user_id: session.user_id,
            session_id,
        })
    }

    /// Ends the caller's session at once, on every instance.
    pub fn logout(
        &self,
        caller: &Authenticated,
        ctx: &RequestContext,
    ) -> Result<(), InternalError> {
        self.store.revoke_session(caller.session_id)?;
        self.audit(AuditKind::LoggedOut, Some(caller.user_id), ctx, "")?;
        Ok(())
    }
}
