//! Using `mfa-core` from another Rust service, without the HTTP server.
//!
//! Walks one user through the whole life of MFA: setup, enabling, a login
//! with a TOTP code, a refused replay, a login with a backup code, the
//! lock-out after failures, and turning MFA off. The core decides; this
//! program plays the part of the service around it: it reads the clock,
//! draws randomness from the operating system and keeps the state (here in
//! local variables; a real service stores it, atomically).
//!
//! Run it with `cargo run -p mfa-core --example link_directly`.

use std::time::{SystemTime, UNIX_EPOCH};

use mfa_core::state::{self, EnableRequest};
use mfa_core::{
    AttemptDecision, BackupCode, FactorError, Failures, MfaPolicy, MfaState, ServerKey,
    ThrottlePolicy, Totp, UnixTime, VerifiedFactor, otpauth_uri,
};

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    // The service's side: one long-lived key, the OS's randomness, the clock.
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let mut key_bytes = [0u8; 32];
    rand_core::Rng::fill_bytes(&mut rng, &mut key_bytes);
    let server_key = ServerKey::from_bytes(key_bytes);
    let code_key = server_key.backup_code_key();
    let policy = MfaPolicy::default();
    let now = clock()?;

    // Setup: a secret and ten backup codes, held as pending until confirmed.
    let user_state = MfaState::Disabled;
    let setup = state::begin_setup(&user_state, &mut rng, &code_key, now, &policy)?;
    let uri = otpauth_uri(
        "Example",
        "alice@example.com",
        &setup.pending.secret,
        &policy.totp,
    )?;
    println!(
        "setup: show the user {} characters of otpauth URI",
        uri.len()
    );
    println!("       and {} backup codes, once", setup.codes.len());

    // The authenticator app, simulated: it holds the secret and the time.
    let app = Totp::new(&setup.pending.secret, policy.totp);

    // Enable with the app's current code; the code's step is used up.
    let code = app.generate(now);
    let request = EnableRequest {
        code: &code,
        secret: None,
        backup_codes: None,
    };
    let mfa = state::prepare_enablement(&user_state, &setup.pending, &request, now, &policy)?;
    println!("enabled: last accepted step {:?}", mfa.last_accepted_step);

    // A login 30 seconds later with the app's new code.
    let later = now.plus_secs(30);
    let code = app.generate(later);
    let VerifiedFactor::Totp { step } =
        state::verify_second_factor(&mfa, &code, later, &policy, &code_key)?
    else {
        return Err("a six-digit code is a TOTP code".into());
    };
    // The service must record the step before it trusts the login.
    let mfa = state::accept_step(&mfa, step);
    println!("login with a TOTP code: accepted, step {step}");

    // The same code again is a replay.
    let replay = state::verify_second_factor(&mfa, &code, later, &policy, &code_key);
    assert_eq!(replay, Err(FactorError::Replayed));
    println!("the same code again: {}", describe(replay));

    // A backup code, typed loosely, works once.
    let typed = setup.codes[0]
        .expose_formatted()
        .to_lowercase()
        .replace('-', " ");
    let VerifiedFactor::BackupCode { hash } =
        state::verify_second_factor(&mfa, &typed, later, &policy, &code_key)?
    else {
        return Err("twelve symbols are a backup code".into());
    };
    let mfa = state::mark_backup_code_used(&mfa, &hash)?;
    println!(
        "login with a backup code: accepted, {} left",
        mfa.backup_codes.remaining()
    );
    let again = state::verify_second_factor(&mfa, &typed, later, &policy, &code_key);
    println!("the same backup code again: {}", describe(again));

    // The lock-out: the caller counts failures, the policy decides.
    let throttle = ThrottlePolicy::default();
    let failures = Failures {
        consecutive: 5,
        last_at: Some(later),
    };
    match throttle.decide(failures, later) {
        AttemptDecision::LockedUntil(until) => {
            println!("after 5 failures: locked for {} s", later.secs_until(until));
        }
        AttemptDecision::Allowed => return Err("five failures should lock".into()),
    }
    for count in [6, 7, 10, 50] {
        println!(
            "after {count} failures: {} s",
            throttle.lockout_secs(count).unwrap_or(0)
        );
    }

    // Disabling takes a second factor that passed; a parsed backup code
    // would do as well as this TOTP code of the next step.
    let next = later.plus_secs(30);
    let proof = state::verify_second_factor(&mfa, &app.generate(next), next, &policy, &code_key)?;
    let user_state = state::prepare_disablement(&MfaState::Enabled(mfa), &proof)?;
    println!("disabled: {}", user_state == MfaState::Disabled);

    // Input that is neither kind of code.
    assert!(BackupCode::parse("not a code").is_err());
    Ok(())
}

/// The wall clock as the core wants it: a value, read once, at the edge.
fn clock() -> Result<UnixTime, Error> {
    Ok(UnixTime(
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
    ))
}

fn describe(outcome: Result<VerifiedFactor, FactorError>) -> String {
    match outcome {
        Ok(_) => "accepted".to_owned(),
        Err(e) => format!("refused ({e})"),
    }
}
