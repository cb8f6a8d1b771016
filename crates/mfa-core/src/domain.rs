//! Account fields that can only be built by parsing, so a value of these
//! types is always valid.

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Why a field was refused; the message names the field and the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// See [`Email::parse`].
    #[error("email must be an address like name@example.com, at most 254 bytes")]
    Email,
    /// See [`Password::parse`].
    #[error("password must be between 8 and 1024 characters")]
    Password,
    /// See [`DisplayName::parse`].
    #[error("name must be between 1 and 200 characters, without control characters")]
    Name,
}

/// An email address: trimmed, at most 254 bytes, one `@` with a non-empty
/// local part and a domain containing a dot, no spaces or control characters.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    text: String,
}

impl core::fmt::Debug for Email {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Addresses are personal data and stay out of logs.
        f.write_str("Email(..)")
    }
}

impl Email {
    /// Parses and trims `input`.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let text = input.trim();
        let (local, domain) = text.split_once('@').ok_or(FieldError::Email)?;
        let valid = text.len() <= 254
            && !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !text
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || is_invisible(c));
        if !valid {
            return Err(FieldError::Email);
        }
        Ok(Self {
            text: text.to_owned(),
        })
    }

    /// The address as given (trimmed).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The form used to compare addresses: lower case.
    #[must_use]
    pub fn canonical(&self) -> String {
        self.text.to_lowercase()
    }
}

/// A password of 8 to 1024 Unicode scalar values, wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Password(String);

impl core::fmt::Debug for Password {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Password(..)")
    }
}

impl Password {
    /// Checks the length; any characters are allowed.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let count = input.chars().count();
        if !(8..=1024).contains(&count) {
            return Err(FieldError::Password);
        }
        Ok(Self(input.to_owned()))
    }

    /// The bytes to hash.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A display name of 1 to 200 characters without control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Checks length and characters.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let count = input.chars().count();
        let bad_char = |c: char| c.is_control() || is_bidi_override(c);
        if !(1..=200).contains(&count) || input.chars().any(bad_char) || input.trim().is_empty() {
            return Err(FieldError::Name);
        }
        Ok(Self(input.to_owned()))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Bidirectional embeddings, overrides and isolates, which can make text
/// display in another order than it is stored.
fn is_bidi_override(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that render as nothing and would let two addresses that look
/// the same differ.
fn is_invisible(c: char) -> bool {
    is_bidi_override(c)
        || matches!(
            c,
            '\u{200B}'..='\u{200F}' | '\u{061C}' | '\u{FEFF}' | '\u{00AD}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails() {
        let ok = Email::parse("  Alice@Example.COM ").unwrap();
        assert_eq!(ok.as_str(), "Alice@Example.COM");
        assert_eq!(ok.canonical(), "alice@example.com");
        let long = format!("{}@example.com", "a".repeat(243));
        assert!(Email::parse(&long).is_err());
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(242))).is_ok());
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@example",
            "a@b@c.com",
            "al ice@example.com",
            "alice@example.com\0",
            "alice@.com",
            "alice@com.",
            "al\u{202e}ice@example.com",
        ] {
            assert_eq!(Email::parse(bad), Err(FieldError::Email), "{bad:?}");
        }
        assert_eq!(format!("{ok:?}"), "Email(..)");
    }

    #[test]
    fn passwords_count_characters_not_bytes() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"é".repeat(1024)).is_ok());
        assert!(Password::parse(&"é".repeat(1025)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("hunter22").unwrap()),
            "Password(..)"
        );
    }

    #[test]
    fn names() {
        assert!(DisplayName::parse("Zoë Example").is_ok());
        assert!(DisplayName::parse(&"n".repeat(200)).is_ok());
        for bad in ["", "   ", "a\nb", "a\u{7f}", "a\u{202e}b", &"n".repeat(201)] {
            assert_eq!(DisplayName::parse(bad), Err(FieldError::Name), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn canonical_emails_ignore_case_and_surrounding_space(
            local in "[a-zA-Z0-9._%+-]{1,20}",
            domain in "[a-zA-Z0-9-]{1,20}\\.[a-zA-Z]{2,6}",
        ) {
            let plain = Email::parse(&format!("{local}@{domain}")).unwrap();
            let shouted = format!("  {}@{} ", local.to_uppercase(), domain.to_uppercase());
            let shouted = Email::parse(&shouted).unwrap();
            prop_assert_eq!(plain.canonical(), shouted.canonical());
        }
    }
}
