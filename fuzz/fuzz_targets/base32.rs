//! TOTP secrets in base32: `TotpSecret::parse_base32` and `to_base32`.
//!
//! Whatever text the decoder accepts must encode back to RFC 4648 base32
//! (upper case, no padding) that decodes to the same key, and its answer
//! must not change with ASCII case or whitespace. Any key of an accepted
//! length must survive encoding and decoding unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_core::secret::{MAX_SECRET_LEN, MIN_SECRET_LEN};
use mfa_core::{SecretError, TotpSecret};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check_text(text);
    }
    check_bytes(data);
});

fn is_base32_symbol(byte: u8) -> bool {
    byte.is_ascii_uppercase() || (b'2'..=b'7').contains(&byte)
}

fn check_text(text: &str) {
    let parsed = TotpSecret::parse_base32(text);

    let lower = text.to_ascii_lowercase();
    let upper = text.to_ascii_uppercase();
    let no_whitespace: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    for variant in [&lower, &upper, &no_whitespace] {
        assert_eq!(
            TotpSecret::parse_base32(variant),
            parsed,
            "{text:?} and {variant:?} decode differently"
        );
    }

    let Ok(secret) = parsed else {
        return;
    };
    let encoded = secret.to_base32();
    assert!(
        encoded.bytes().all(is_base32_symbol),
        "{encoded:?} is not upper-case unpadded base32"
    );
    assert_eq!(
        TotpSecret::parse_base32(&encoded),
        Ok(secret),
        "{text:?} does not survive a round trip"
    );
}

fn check_bytes(data: &[u8]) {
    let Ok(secret) = TotpSecret::from_bytes(data) else {
        assert!(!(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&data.len()));
        assert_eq!(TotpSecret::from_bytes(data), Err(SecretError::BadLength));
        return;
    };
    assert!((MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&data.len()));

    let encoded = secret.to_base32();
    assert_eq!(encoded.len(), (data.len() * 8).div_ceil(5));
    assert!(encoded.bytes().all(is_base32_symbol), "{encoded:?}");

    let decoded = TotpSecret::parse_base32(&encoded).expect("an encoded key decodes");
    assert_eq!(decoded.expose_bytes(), data);
}
