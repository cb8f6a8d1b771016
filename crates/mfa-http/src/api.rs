//! The use cases as one object-safe trait, so that the handlers are plain
//! functions over `dyn MfaApi` instead of being generic over the adapters.

use mfa_core::{DisplayName, Email, Password};
use mfa_ports::ports::HealthCheck;
use mfa_ports::{
    AuthError, Authenticated, EnableFailure, EnableInput, InternalError, LoginError, LoginOutcome,
    LoginRequest, MfaStatus, Ports, ProofError, RegisterError, RequestContext, Service, SetupError,
    SetupOutcome, User,
};
use zeroize::Zeroizing;

/// What the HTTP layer asks of the service. Every method may block.
pub trait MfaApi: Send + Sync + 'static {
    /// See [`Service::register`].
    fn register(
        &self,
        email: &Email,
        password: &Password,
        name: &DisplayName,
        ctx: &RequestContext,
    ) -> Result<User, RegisterError>;
    /// See [`Service::login`].
    fn login(
        &self,
        request: &LoginRequest<'_>,
        ctx: &RequestContext,
    ) -> Result<LoginOutcome, LoginError>;
    /// See [`Service::authenticate`].
    fn authenticate(&self, token: &str) -> Result<Authenticated, AuthError>;
    /// See [`Service::logout`].
    fn logout(&self, caller: &Authenticated, ctx: &RequestContext) -> Result<(), InternalError>;
    /// See [`Service::setup_mfa`].
    fn setup_mfa(
        &self,
        caller: &Authenticated,
        ctx: &RequestContext,
    ) -> Result<SetupOutcome, SetupError>;
    /// See [`Service::enable_mfa`].
    fn enable_mfa(
        &self,
        caller: &Authenticated,
        input: &EnableInput<'_>,
        ctx: &RequestContext,
    ) -> Result<(), EnableFailure>;
    /// See [`Service::disable_mfa`].
    fn disable_mfa(
        &self,
        caller: &Authenticated,
        code: &str,
        ctx: &RequestContext,
    ) -> Result<(), ProofError>;
    /// See [`Service::regenerate_backup_codes`].
    fn regenerate_backup_codes(
        &self,
        caller: &Authenticated,
        code: &str,
        ctx: &RequestContext,
    ) -> Result<Vec<Zeroizing<String>>, ProofError>;
    /// See [`Service::mfa_status`].
    fn mfa_status(&self, caller: &Authenticated) -> Result<MfaStatus, InternalError>;
    /// Whether storage answers.
    fn healthy(&self) -> bool;
}

impl<P: Ports> MfaApi for Service<P> {
    fn register(
        &self,
        email: &Email,
        password: &Password,
        name: &DisplayName,
        ctx: &RequestContext,
    ) -> Result<User, RegisterError> {
        Service::register(self, email, password, name, ctx)
    }

    fn login(
        &self,
        request: &LoginRequest<'_>,
        ctx: &RequestContext,
    ) -> Result<LoginOutcome, LoginError> {
        Service::login(self, request, ctx)
    }

    fn authenticate(&self, token: &str) -> Result<Authenticated, AuthError> {
        Service::authenticate(self, token)
    }

    fn logout(&self, caller: &Authenticated, ctx: &RequestContext) -> Result<(), InternalError> {
        Service::logout(self, caller, ctx)
    }

    fn setup_mfa(
        &self,
        caller: &Authenticated,
        ctx: &RequestContext,
    ) -> Result<SetupOutcome, SetupError> {
        Service::setup_mfa(self, caller, ctx)
    }

    fn enable_mfa(
        &self,
        caller: &Authenticated,
        input: &EnableInput<'_>,
        ctx: &RequestContext,
    ) -> Result<(), EnableFailure> {
        Service::enable_mfa(self, caller, input, ctx)
    }

    fn disable_mfa(
        &self,
        caller: &Authenticated,
        code: &str,
        ctx: &RequestContext,
    ) -> Result<(), ProofError> {
        Service::disable_mfa(self, caller, code, ctx)
    }

    fn regenerate_backup_codes(
        &self,
        caller: &Authenticated,
        code: &str,
        ctx: &RequestContext,
    ) -> Result<Vec<Zeroizing<String>>, ProofError> {
        Service::regenerate_backup_codes(self, caller, code, ctx)
    }

    fn mfa_status(&self, caller: &Authenticated) -> Result<MfaStatus, InternalError> {
        Service::mfa_status(self, caller)
    }

    fn healthy(&self) -> bool {
        self.store().ping().is_ok()
    }
}
