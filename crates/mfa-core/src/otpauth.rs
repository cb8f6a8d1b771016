//! `otpauth://` URIs in the Key Uri Format that authenticator apps scan.

use crate::secret::TotpSecret;
use crate::totp::TotpConfig;
use zeroize::Zeroizing;

/// Why a URI could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// The format splits the label at the first colon, so the issuer may not
    /// hold one.
    #[error("the issuer must not be empty or contain a colon")]
    BadIssuer,
    /// An empty account name gives apps nothing to show.
    #[error("the account name must not be empty")]
    EmptyAccount,
}

/// Builds `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…&algorithm=…&digits=…&period=…`.
///
/// Both label parts and the issuer parameter are percent-encoded (a space
/// becomes `%20`, never `+`). The result holds the secret, so it is returned
/// in memory that is wiped on drop.
pub fn otpauth_uri(
    issuer: &str,
    account: &str,
    secret: &TotpSecret,
    config: &TotpConfig,
) -> Result<Zeroizing<String>, UriError> {
    if issuer.is_empty() || issuer.contains(':') {
        return Err(UriError::BadIssuer);
    }
    if account.is_empty() {
        return Err(UriError::EmptyAccount);
    }
    let issuer = percent_encode(issuer);
    Ok(Zeroizing::new(format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}\
         &issuer={issuer}&algorithm={alg}&digits={digits}&period={period}",
        account = percent_encode(account),
        secret = secret.to_base32().as_str(),
        alg = config.algorithm.uri_name(),
        digits = config.digits.count(),
        period = config.period,
    )))
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
#[must_use]
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::totp::{Algorithm, Digits};

    fn secret() -> TotpSecret {
        TotpSecret::parse_base32("JBSWY3DPEHPK3PXP")
            .unwrap_or_else(|_| TotpSecret::from_bytes(b"12345678901234567890").unwrap())
    }

    #[test]
    fn follows_the_key_uri_format() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890").unwrap();
        let uri = otpauth_uri(
            "Example Co",
            "alice@example.com",
            &secret,
            &TotpConfig::default(),
        )
        .unwrap();
        assert_eq!(
            uri.as_str(),
            "otpauth://totp/Example%20Co:alice%40example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Example%20Co&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn parameters_follow_the_configuration() {
        let config = TotpConfig {
            algorithm: Algorithm::Sha256,
            digits: Digits::Eight,
            period: 60,
            ..TotpConfig::default()
        };
        let uri = otpauth_uri("Acme", "bob", &secret(), &config).unwrap();
        assert!(
            uri.ends_with("&issuer=Acme&algorithm=SHA256&digits=8&period=60"),
            "{}",
            uri.as_str()
        );
    }

    #[test]
    fn encodes_reserved_and_non_ascii_characters() {
        assert_eq!(percent_encode("a b&c=d?e/f:g"), "a%20b%26c%3Dd%3Fe%2Ff%3Ag");
        assert_eq!(percent_encode("Zoë"), "Zo%C3%AB");
        assert_eq!(percent_encode("A-z_0.9~"), "A-z_0.9~");
    }

    #[test]
    fn refuses_a_colon_in_the_issuer_and_empty_parts() {
        let s = secret();
        let c = TotpConfig::default();
        assert_eq!(
            otpauth_uri("A:B", "x", &s, &c).unwrap_err(),
            UriError::BadIssuer
        );
        assert_eq!(
            otpauth_uri("", "x", &s, &c).unwrap_err(),
            UriError::BadIssuer
        );
        assert_eq!(
            otpauth_uri("A", "", &s, &c).unwrap_err(),
            UriError::EmptyAccount
        );
    }
}
