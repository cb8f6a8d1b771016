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

    // The one place each purpose's label is written: every key of a ring
    // derives its subkeys through these.
    fn token_bytes(&self) -> [u8; 32] {
        self.derive("session token v1")
    }

    fn backup_code_bytes(&self) -> [u8; 32] {
        self.derive("backup code hash v1")
    }

    /// The key that signs bearer tokens.
    #[must_use]
    pub fn token_key(&self) -> TokenKey {
        TokenKey::from_bytes(self.token_bytes())
    }

    /// The key that seals TOTP secrets at rest.
    #[must_use]
    pub fn sealing_key(&self) -> SealingKey {
        SealingKey(self.derive("totp secret sealing v1"))
    }

    /// The key of the backup-code hashes.
    #[must_use]
    pub fn backup_code_key(&self) -> BackupCodeKey {
        BackupCodeKey::from_bytes(self.backup_code_bytes())
    }
}

/// Why a set of server keys was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    /// No key at all.
    #[error("the key file holds no key")]
    Empty,
    /// Two keys share an id.
    #[error("key id {0} appears twice in the key file")]
    DuplicateId(u8),
    /// Id 0 is reserved.
    #[error("key ids start at 1")]
    ZeroId,
}

/// The server keys of a deployment, each with an id: the current one seals
/// and signs; every one stays readable, so that what was sealed, signed or
/// hashed before a rotation still opens, verifies and matches.
#[derive(Clone)]
pub struct Keyring {
    current: (u8, ServerKey),
    older: Vec<(u8, ServerKey)>,
}

impl core::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let ids: Vec<u8> = self.older.iter().map(|(id, _)| *id).collect();
        f.debug_struct("Keyring")
            .field("current", &self.current.0)
            .field("older", &ids)
            .finish()
    }
}

impl Keyring {
    /// A ring of one key, with id 1.
    #[must_use]
    pub fn single(key: ServerKey) -> Self {
        Self {
            current: (1, key),
            older: Vec::new(),
        }
    }

    /// A ring whose current key is `current`; `older` keys stay readable.
    pub fn new(
        current: (u8, ServerKey),
        older: Vec<(u8, ServerKey)>,
    ) -> Result<Self, KeyringError> {
        let mut ids: Vec<u8> = older.iter().map(|(id, _)| *id).chain([current.0]).collect();
        if ids.contains(&0) {
            return Err(KeyringError::ZeroId);
        }
        ids.sort_unstable();
        if let Some(pair) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(KeyringError::DuplicateId(pair[0]));
        }
        Ok(Self { current, older })
    }

    /// The id of the key that seals and signs.
    #[must_use]
    pub fn current_id(&self) -> u8 {
        self.current.0
    }

    /// Every id, current first.
    #[must_use]
    pub fn ids(&self) -> Vec<u8> {
        core::iter::once(self.current.0)
            .chain(self.older.iter().map(|(id, _)| *id))
            .collect()
    }

    /// The token keys: the current signs, all verify.
    #[must_use]
    pub fn token_key(&self) -> TokenKey {
        let older = self.older.iter().map(|(id, k)| (*id, k.token_bytes()));
        TokenKey::ring((self.current.0, self.current.1.token_bytes()), older)
    }

    /// The sealing keys by id.
    #[must_use]
    pub fn sealing_keys(&self) -> Vec<(u8, SealingKey)> {
        core::iter::once(&self.current)
            .chain(&self.older)
            .map(|(id, k)| (*id, k.sealing_key()))
            .collect()
    }

    /// The backup-code keys: the current hashes, all match.
    #[must_use]
    pub fn backup_code_key(&self) -> BackupCodeKey {
        let older = self.older.iter().map(|(_, k)| k.backup_code_bytes());
        BackupCodeKey::ring(self.current.1.backup_code_bytes(), older)
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

    #[test]
    fn a_keyring_refuses_duplicate_and_zero_ids() {
        let key = |b| ServerKey::from_bytes([b; 32]);
        let duplicate = Keyring::new((1, key(1)), vec![(1, key(2))]).unwrap_err();
        assert_eq!(duplicate, KeyringError::DuplicateId(1));
        assert_eq!(
            Keyring::new((0, key(1)), vec![]).unwrap_err(),
            KeyringError::ZeroId
        );
        let ring = Keyring::new((2, key(2)), vec![(1, key(1))]).unwrap();
        assert_eq!((ring.current_id(), ring.ids()), (2, vec![2, 1]));
        assert_eq!(format!("{ring:?}"), "Keyring { current: 2, older: [1] }");
        let single = Keyring::single(key(1));
        let claims = crate::SessionClaims {
            session_id: [3; 16],
            expires_at: crate::UnixTime(9),
        };
        let old_token = single.token_key().sign(&claims);
        assert!(
            ring.token_key()
                .verify(old_token.expose(), crate::UnixTime(0))
                .is_ok()
        );
    }
}
