//! Backup codes as typed: `BackupCode::parse` and `expose_formatted`.
//!
//! The parser must accept exactly twelve symbols of the alphabet without
//! 0, O, 1, I and L, in any ASCII case, with dashes, spaces and tabs
//! anywhere; the display form must be `XXXX-XXXX-XXXX` and parse back to
//! the same code. Changing case or separators must never change the answer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_core::BackupCode;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = BackupCode::parse(input);
    let expected = expected_symbols(input);
    assert_eq!(parsed.is_ok(), expected.is_some(), "{input:?}");

    if let (Ok(code), Some(symbols)) = (&parsed, expected) {
        let shown = code.expose_formatted();
        assert_display_shape(&shown);
        assert_eq!(
            shown.replace('-', ""),
            symbols,
            "{input:?} shown as {shown:?}"
        );
        assert_eq!(BackupCode::parse(&shown).as_ref(), Ok(code), "{shown:?}");
    }

    for variant in variants(input) {
        assert_eq!(
            BackupCode::parse(&variant),
            parsed,
            "{input:?} and {variant:?} parse differently"
        );
    }
});

/// A symbol of the alphabet, in the canonical upper case.
fn is_symbol(byte: u8) -> bool {
    (byte.is_ascii_uppercase() || (b'2'..=b'9').contains(&byte))
        && !matches!(byte, b'O' | b'I' | b'L')
}

fn is_separator(c: char) -> bool {
    matches!(c, '-' | ' ' | '\t')
}

/// The canonical symbols of a well-formed input, found without the parser.
fn expected_symbols(input: &str) -> Option<String> {
    let symbols: String = input
        .chars()
        .filter(|&c| !is_separator(c))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (symbols.len() == 12 && symbols.bytes().all(is_symbol)).then_some(symbols)
}

fn assert_display_shape(shown: &str) {
    let bytes = shown.as_bytes();
    assert_eq!(bytes.len(), 14, "{shown:?}");
    for (i, &byte) in bytes.iter().enumerate() {
        if i == 4 || i == 9 {
            assert_eq!(byte, b'-', "{shown:?}");
        } else {
            assert!(is_symbol(byte), "{shown:?}");
        }
    }
}

/// The input re-typed: other case, separators dropped, swapped or added.
fn variants(input: &str) -> Vec<String> {
    let swapped: String = input
        .chars()
        .map(|c| match c {
            '-' => ' ',
            ' ' | '\t' => '-',
            other => other,
        })
        .collect();
    let spread: String = input.chars().flat_map(|c| [c, '-']).collect();
    vec![
        input.to_ascii_lowercase(),
        input.to_ascii_uppercase(),
        input.chars().filter(|&c| !is_separator(c)).collect(),
        swapped,
        spread,
        format!(" \t-{input}- "),
    ]
}
