//! Bearer tokens: `TokenKey::verify`.
//!
//! A token is accepted only if it is, byte for byte, what `sign` makes of
//! the claims it carries: no other spelling of the same claims, no edited
//! or truncated token, and nothing signed under another key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_core::{SessionClaims, TokenError, TokenKey, UnixTime};

const NOW: UnixTime = UnixTime(0);

fuzz_target!(|data: &[u8]| {
    let key = TokenKey::from_bytes([7; 32]);
    if let Ok(text) = std::str::from_utf8(data) {
        check_only_signed_tokens_pass(&key, text);
    }
    check_edited_token(&key, data);
});

fn check_only_signed_tokens_pass(key: &TokenKey, text: &str) {
    if let Ok(claims) = key.verify(text, NOW) {
        assert_eq!(
            key.sign(&claims).expose(),
            text,
            "accepted a token that sign did not produce"
        );
        assert!(claims.expires_at > NOW);
    }
}

/// Signs claims taken from the first 24 bytes, checks the token, then
/// overwrites bytes of it as the rest of the input says and checks the
/// result. Each edit is a pair: a position counted from the end, so that the
/// tag's last symbol (where base64 leaves spare bits) is position 0 whatever
/// the token's length, and the new byte.
fn check_edited_token(key: &TokenKey, data: &[u8]) {
    let Some((head, edits)) = data.split_first_chunk::<24>() else {
        return;
    };
    let (id, expiry) = head.split_at(16);
    let claims = SessionClaims {
        session_id: id.try_into().expect("16 bytes"),
        expires_at: UnixTime(u64::from_be_bytes(expiry.try_into().expect("8 bytes"))),
    };
    let token = key.sign(&claims);

    let expected = if claims.expires_at > NOW {
        Ok(claims)
    } else {
        Err(TokenError::Expired)
    };
    assert_eq!(key.verify(token.expose(), NOW), expected);
    let other_key = TokenKey::from_bytes([8; 32]);
    assert_eq!(
        other_key.verify(token.expose(), NOW),
        Err(TokenError::BadSignature)
    );

    let mut edited = token.expose().as_bytes().to_vec();
    for edit in edits.chunks_exact(2) {
        let from_end = usize::from(edit[0]) % edited.len();
        let at = edited.len() - 1 - from_end;
        edited[at] = edit[1];
    }
    if let Ok(text) = std::str::from_utf8(&edited) {
        check_only_signed_tokens_pass(key, text);
    }
}
