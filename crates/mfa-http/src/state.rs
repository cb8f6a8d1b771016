//! What every handler shares.

use std::net::IpAddr;
use std::sync::Arc;

use crate::api::MfaApi;
use crate::ratelimit::RateLimiter;

/// The service, the per-address limiter and the proxies to trust.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub api: Arc<dyn MfaApi>,
    /// Login and register requests per client address and minute.
    pub limiter: Arc<RateLimiter>,
    /// Peers whose `X-Forwarded-For` names the real client.
    pub trusted_proxies: Arc<[IpAddr]>,
}

impl core::fmt::Debug for AppState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AppState")
            .field("trusted_proxies", &self.trusted_proxies)
            .finish_non_exhaustive()
    }
}
