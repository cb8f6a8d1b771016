//! One-time codes as typed: `OtpInput::parse` and `Totp::verify`.
//!
//! The parser must accept exactly the inputs that, once trimmed and
//! stripped of inner ASCII spaces, are the configured number of ASCII
//! digits. Verification must accept only a code equal to one of its
//! window's codes, answer with the newest step showing it, and refuse that
//! code once the step is recorded as used.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_core::{Digits, OtpInput, Totp, TotpConfig, TotpError, TotpSecret, UnixTime};

/// The key of RFC 4226 Appendix D, so that seeds can hold codes it shows.
const KEY: &[u8] = b"12345678901234567890";

/// An ordinary instant, and both ends of time, where the window is cut
/// short or its step arithmetic would overflow.
const TIMES: [u64; 3] = [1_700_000_000, 0, u64::MAX];

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    check_parse(input, Digits::Six);
    check_parse(input, Digits::Eight);

    let secret = TotpSecret::from_bytes(KEY).expect("the RFC key is 20 bytes");
    let totp = Totp::new(&secret, TotpConfig::default());
    for time in TIMES {
        check_verify(&totp, input, UnixTime(time));
    }
});

/// The digits a well-formed input stands for, found without the parser.
fn expected_digits(input: &str, digits: Digits) -> Option<String> {
    let compact: String = input.trim().chars().filter(|&c| c != ' ').collect();
    let well_formed =
        compact.len() == digits.count() && compact.bytes().all(|b| b.is_ascii_digit());
    well_formed.then_some(compact)
}

fn check_parse(input: &str, digits: Digits) {
    let parsed = OtpInput::parse(input, digits);

    match expected_digits(input, digits) {
        Some(compact) => {
            assert!(parsed.is_ok(), "refused {input:?}");
            assert_eq!(
                parsed,
                OtpInput::parse(&compact, digits),
                "{input:?} and {compact:?} parse to different codes"
            );
        }
        None => assert_eq!(
            parsed,
            Err(TotpError::Malformed(digits.count())),
            "accepted {input:?}"
        ),
    }
}

fn check_verify(totp: &Totp, input: &str, now: UnixTime) {
    let config = totp.config();
    let current = totp.step_at(now);
    let first = current.saturating_sub(u64::from(config.steps_back));
    let last = current.saturating_add(u64::from(config.steps_forward));
    let compact = expected_digits(input, config.digits);
    let newest_match = compact.as_deref().and_then(|code| {
        (first..=last)
            .rev()
            .find(|&step| totp.code_at_step(step) == code)
    });

    let result = totp.verify(input, now, None);

    match (result, newest_match) {
        (Ok(step), Some(expected)) => assert_eq!(step, expected, "{input:?} at {now:?}"),
        (Err(TotpError::Mismatch), None) if compact.is_some() => {}
        (Err(TotpError::Malformed(_)), None) if compact.is_none() => {}
        (got, expected) => {
            panic!("{input:?} at {now:?}: got {got:?}, expected step {expected:?}")
        }
    }
    if let Ok(step) = result {
        assert_eq!(
            totp.verify(input, now, Some(step)),
            Err(TotpError::Replayed),
            "{input:?} accepted twice at {now:?}"
        );
    }
}
