//! Request bodies: `mfa_http::extract::parse_json` for every body type.
//!
//! Every refusal must be a 400 with one of the API's sentences, naming at
//! most the fields of the request types: it must never carry more than 8
//! bytes in a row of the input, apart from those field names, so that a body
//! holding a password or a code is never echoed. Only JSON objects are
//! request bodies, as the sentence for anything else says.
#![no_main]

use actix_web::ResponseError;
use actix_web::http::StatusCode;
use libfuzzer_sys::fuzz_target;
use mfa_http::dto::{CodeBody, EnableBody, LoginBody, RegisterBody};
use mfa_http::extract::parse_json;
use serde::de::DeserializeOwned;

/// Every JSON name of every request body field, aliases included. The
/// longest come first, so that a name is never cut at a shorter prefix.
const FIELD_NAMES: [&str; 9] = [
    "verification-code",
    "verificationCode",
    "backup-codes",
    "backupCodes",
    "password",
    "mfa-code",
    "secret",
    "email",
    "name",
];

/// The longest run of input bytes an error may repeat.
const MAX_ECHO: usize = 8;

const FIXED_MESSAGES: [&str; 2] = [
    "The request body is not valid JSON",
    "The request body must be a JSON object",
];

const FIELD_FAULTS: [&str; 3] = [
    "must be a string",
    "must be an array of strings",
    "has an invalid value",
];

fuzz_target!(|data: &[u8]| {
    check::<LoginBody>(data);
    check::<EnableBody>(data);
    check::<RegisterBody>(data);
    check::<CodeBody>(data);
});

fn check<T: DeserializeOwned>(data: &[u8]) {
    let error = match parse_json::<T>(data) {
        Ok(_) => {
            assert!(
                is_object(data),
                "{} accepted a body that is not a JSON object",
                std::any::type_name::<T>()
            );
            return;
        }
        Err(error) => error,
    };

    let body = std::any::type_name::<T>();
    assert_eq!(
        error.status_code(),
        StatusCode::BAD_REQUEST,
        "{body}: {error}"
    );
    let message = error.message();
    let Some(named) = interpolated_part(message) else {
        panic!("{body}: not one of the API's sentences: {message:?}");
    };
    if let Some(echo) = echoed_run(named, data) {
        panic!("{body}: {message:?} repeats {echo:?} from the input");
    }
}

/// Whether the body's first token opens an object (JSON whitespace aside).
fn is_object(data: &[u8]) -> bool {
    data.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|&b| b == b'{')
}

/// The part of a message the parser filled in: empty for a fixed sentence,
/// the field or path for the others, `None` for an unknown sentence.
fn interpolated_part(message: &str) -> Option<&str> {
    if FIXED_MESSAGES.contains(&message) {
        return Some("");
    }
    if let Some(field) = message.strip_prefix("Missing field: ") {
        return Some(field);
    }
    let (path, fault) = message.strip_prefix("Field '")?.rsplit_once("' ")?;
    FIELD_FAULTS.contains(&fault).then_some(path)
}

/// A run of more than [`MAX_ECHO`] bytes of `named` that also occurs in the
/// input and is not made only of field names, `[index]` parts and dots.
fn echoed_run<'a>(named: &'a str, data: &[u8]) -> Option<&'a str> {
    let structural = structural_mask(named);
    let bytes = named.as_bytes();
    (0..bytes.len().saturating_sub(MAX_ECHO)).find_map(|start| {
        let end = start + MAX_ECHO + 1;
        let window = &bytes[start..end];
        let all_structural = structural[start..end].iter().all(|&s| s);
        let echoed = !all_structural && data.windows(window.len()).any(|w| w == window);
        echoed.then(|| named.get(start..end).unwrap_or(named))
    })
}

/// For each byte of a path, whether it belongs to a field name, an
/// `[index]` part or a dot between them.
fn structural_mask(path: &str) -> Vec<bool> {
    let bytes = path.as_bytes();
    let mut mask = vec![false; bytes.len()];
    let mut at = 0;
    while at < bytes.len() {
        let rest = &path[at..];
        let len = FIELD_NAMES
            .iter()
            .find(|name| rest.starts_with(*name))
            .map(|name| name.len())
            .or_else(|| index_len(rest))
            .or_else(|| rest.starts_with('.').then_some(1));
        match len {
            Some(len) => {
                mask[at..at + len].fill(true);
                at += len;
            }
            None => at += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    mask
}

/// The length of a leading `[digits]`, if `text` starts with one.
fn index_len(text: &str) -> Option<usize> {
    let digits = text.strip_prefix('[')?;
    let count = digits.bytes().take_while(u8::is_ascii_digit).count();
    (count > 0 && digits[count..].starts_with(']')).then_some(count + 2)
}
