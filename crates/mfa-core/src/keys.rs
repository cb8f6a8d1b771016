//! The server key and the separate keys derived from it.
//!
//! One 32-byte secret is kept on disk; HKDF-SHA-256 with a distinct label per
//! purpose derives the token signing key, the sealing key for TOTP secrets
//! and the backup-code hashing key, so no key serves two purposes.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::backup::BackupCodeKey;
use crate::token::TokenKey;

/// Length of the server key in bytes.
pub const SERVER_KEY_LEN: usize = 32;

/// The root secret of one deployment.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ServerKey([u8; SERVER_KEY_LEN]);

impl core::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ServerKey(..)")
    }
}

/// A derived 32-byte key, for the sealing adapter.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SealingKey(pub [u8; 32]);

impl core::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SealingKey(..)")
    }
}

impl ServerKey {
    /// Wraps the key file's bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; SERVER_KEY_LEN]) -> Self {
        Self(bytes)
    }

    fn derive(&self, label: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        // 32 bytes is far below HKDF-SHA-256's limit of 8160, so expand
        // cannot fail; an all-zero key would only follow from a broken hkdf.
        let _ =
            Hkdf::<Sha256>::new(Some(b"mfa-service"), &self.0).expand(label.as_bytes(), &mut out);
        out
    }

    /// The key that signs bearer tokens.
    #[must_use]
    pub fn token_key(&self) -> TokenKey {
        TokenKey::from_bytes(self.derive("session token v1"))
    }

    /// The key that seals TOTP secrets at rest.
    #[must_use]
    pub fn sealing_key(&self) -> SealingKey {
        SealingKey(self.derive("totp secret sealing v1"))
    }

    /// The key of the backup-code hashes.
    #[must_use]
    pub fn backup_code_key(&self) -> BackupCodeKey {
        BackupCodeKey::from_bytes(self.derive("backup code hash v1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_differ_from_each_other_and_between_servers() {
        let a = ServerKey::from_bytes([1; 32]);
        let b = ServerKey::from_bytes([2; 32]);
        let labels = [
            "session token v1",
            "totp secret sealing v1",
            "backup code hash v1",
        ];
        let derived: Vec<[u8; 32]> = labels.iter().map(|l| a.derive(l)).collect();
        assert_ne!(derived[0], derived[1]);
        assert_ne!(derived[1], derived[2]);
        assert_ne!(derived[0], derived[2]);
        assert_ne!(a.derive(labels[0]), b.derive(labels[0]));
        assert_eq!(
            a.derive(labels[0]),
            ServerKey::from_bytes([1; 32]).derive(labels[0])
        );
        assert_eq!(
            format!("{a:?} {:?}", a.sealing_key()),
            "ServerKey(..) SealingKey(..)"
        );
    }
}
