//! Bearer tokens: a session id and an expiry, signed with HMAC-SHA-256.
//!
//! Form: `mfa1.<base64url(key id ‖ session id ‖ expiry)>.<base64url(tag)>`.
//! The token carries no user data; it only names a session row, which the
//! caller must still look up, so revoking the row revokes the token on every
//! instance. The key id lets tokens signed before a key rotation verify
//! until they expire.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::time::UnixTime;

const PREFIX: &str = "mfa1";
const PAYLOAD_LEN: usize = 25;
const PAYLOAD_TEXT_LEN: usize = 34;

/// The keys that sign and verify tokens, derived from the server keys: the
/// current one signs; every one verifies the tokens that name its id.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct TokenKey {
    current: u8,
    keys: Vec<(u8, [u8; 32])>,
}

impl core::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

/// What a valid token says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionClaims {
    /// The session row it names.
    pub session_id: [u8; 16],
    /// When it stops being valid.
    pub expires_at: UnixTime,
}

/// Why a token was refused. All map to the same answer for the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not of the token's shape.
    #[error("the token is malformed")]
    Malformed,
    /// The signature does not match.
    #[error("the token's signature is not valid")]
    BadSignature,
    /// The token is past its expiry.
    #[error("the token has expired")]
    Expired,
}

/// A signed token, wiped from memory on drop; `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct BearerToken(String);

impl BearerToken {
    /// The text to hand to the client, once.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl core::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("BearerToken(..)")
    }
}

impl TokenKey {
    /// One key, with id 1.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            current: 1,
            keys: vec![(1, bytes)],
        }
    }

    /// A ring: `current` signs; every key verifies its own tokens.
    #[must_use]
    pub fn ring(current: (u8, [u8; 32]), older: impl IntoIterator<Item = (u8, [u8; 32])>) -> Self {
        let mut keys = vec![current];
        keys.extend(older.into_iter().filter(|(id, _)| *id != current.0));
        Self {
            current: current.0,
            keys,
        }
    }

    fn key(&self, id: u8) -> Option<&[u8; 32]> {
        self.keys.iter().find(|(k, _)| *k == id).map(|(_, key)| key)
    }

    fn tag(key: &[u8; 32], signed_part: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
        mac.update(signed_part.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Signs the claims.
    #[must_use]
    pub fn sign(&self, claims: &SessionClaims) -> BearerToken {
        let mut payload = [0u8; PAYLOAD_LEN];
        payload[0] = self.current;
        payload[1..17].copy_from_slice(&claims.session_id);
        payload[17..].copy_from_slice(&claims.expires_at.0.to_be_bytes());
        let signed_part = format!("{PREFIX}.{}", URL_SAFE_NO_PAD.encode(payload));
        let key = self.key(self.current).unwrap_or(&[0; 32]);
        let tag = URL_SAFE_NO_PAD.encode(Self::tag(key, &signed_part));
        BearerToken(format!("{signed_part}.{tag}"))
    }

    /// Checks the signature, then the expiry against `now`.
    pub fn verify(&self, token: &str, now: UnixTime) -> Result<SessionClaims, TokenError> {
        let (signed_part, tag_text) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (prefix, payload_text) = signed_part.split_once('.').ok_or(TokenError::Malformed)?;
        if prefix != PREFIX || tag_text.len() != 43 || payload_text.len() != PAYLOAD_TEXT_LEN {
            return Err(TokenError::Malformed);
        }
        let tag = URL_SAFE_NO_PAD
            .decode(tag_text)
            .map_err(|_| TokenError::Malformed)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload_text)
            .map_err(|_| TokenError::Malformed)?;
        let (&key_id, rest) = payload.split_first().ok_or(TokenError::Malformed)?;
        let key = self.key(key_id).ok_or(TokenError::BadSignature)?;
        if !bool::from(Self::tag(key, signed_part).ct_eq(tag.as_slice())) {
            return Err(TokenError::BadSignature);
        }
        let (id, expiry) = rest.split_at_checked(16).ok_or(TokenError::Malformed)?;
        let session_id: [u8; 16] = id.try_into().map_err(|_| TokenError::Malformed)?;
        let expires_at = UnixTime(u64::from_be_bytes(
            expiry.try_into().map_err(|_| TokenError::Malformed)?,
        ));
        if now >= expires_at {
            return Err(TokenError::Expired);
        }
        Ok(SessionClaims {
            session_id,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> SessionClaims {
        SessionClaims {
            session_id: [9; 16],
            expires_at: UnixTime(2_000),
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let key = TokenKey::from_bytes([1; 32]);
        let token = key.sign(&claims());
        assert!(token.expose().starts_with("mfa1."));
        assert_eq!(key.verify(token.expose(), UnixTime(1_999)), Ok(claims()));
        assert_eq!(
            key.verify(token.expose(), UnixTime(2_000)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn another_key_or_a_changed_byte_is_refused() {
        let key = TokenKey::from_bytes([1; 32]);
        let token = key.sign(&claims());
        let other = TokenKey::from_bytes([2; 32]);
        assert_eq!(
            other.verify(token.expose(), UnixTime(0)),
            Err(TokenError::BadSignature)
        );

        let text = token.expose();
        for i in 5..text.len() {
            let mut bytes = text.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let forged = String::from_utf8(bytes).unwrap();
            assert!(
                key.verify(&forged, UnixTime(0)).is_err(),
                "byte {i} changed"
            );
        }
    }

    #[test]
    fn tokens_of_an_older_key_verify_after_a_rotation() {
        let old = TokenKey::ring((1, [1; 32]), []);
        let rotated = TokenKey::ring((2, [2; 32]), [(1, [1; 32])]);
        let before = old.sign(&claims());
        let after = rotated.sign(&claims());
        assert_eq!(rotated.verify(before.expose(), UnixTime(0)), Ok(claims()));
        assert_eq!(rotated.verify(after.expose(), UnixTime(0)), Ok(claims()));
        assert_eq!(
            old.verify(after.expose(), UnixTime(0)),
            Err(TokenError::BadSignature)
        );
        let retired = TokenKey::ring((2, [2; 32]), []);
        assert_eq!(
            retired.verify(before.expose(), UnixTime(0)),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn a_key_id_cannot_be_swapped_without_breaking_the_tag() {
        let ring = TokenKey::ring((2, [2; 32]), [(1, [1; 32])]);
        let token = ring.sign(&claims());
        let (_, payload, tag) = {
            let mut parts = token.expose().split('.');
            (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            )
        };
        let mut bytes = URL_SAFE_NO_PAD.decode(payload).unwrap();
        bytes[0] = 1;
        let swapped = format!("mfa1.{}.{tag}", URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(
            ring.verify(&swapped, UnixTime(0)),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        let key = TokenKey::from_bytes([1; 32]);
        for text in ["", "mfa1", "mfa1..", "a.b.c", "mfa2.AAAA.BBBB", "mfa1.é.é"] {
            assert_eq!(
                key.verify(text, UnixTime(0)),
                Err(TokenError::Malformed),
                "{text}"
            );
        }
        assert_eq!(format!("{:?}", key.sign(&claims())), "BearerToken(..)");
    }
}
