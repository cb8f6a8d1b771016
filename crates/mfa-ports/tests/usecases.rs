//! Use-case tests of the MFA service on the in-memory fakes, with a clock
//! that moves only when a test moves it. Codes are computed the way an
//! authenticator app would: from the base32 secret that setup returned.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Barrier};
use std::thread;

use mfa_core::{
    DisplayName, Email, Password, SessionClaims, TokenKey, Totp, TotpConfig, TotpSecret, UnixTime,
};
use mfa_ports::ports::{Clock, SessionStore};
use mfa_ports::testing::{self, FakePorts};
use mfa_ports::{
    AuditKind, AuthError, Authenticated, EnableFailure, EnableInput, IssuedSession, LoginError,
    LoginOutcome, LoginRequest, MfaStatus, OperatorError, ProofError, RegisterError,
    RequestContext, Service, Settings, SetupError, User, UserId,
};

type Svc = Service<FakePorts>;

/// The first second of a 30-second TOTP step.
const NOW: UnixTime = UnixTime(1_700_000_010);
const PASSWORD: &str = "correct horse battery staple";
const WRONG_PASSWORD: &str = "incorrect horse battery";
const ALICE: &str = "alice@example.com";
const STEP: u64 = 30;
const FIRST_LOCK: u64 = 30;
const SESSION_TTL: u64 = 12 * 60 * 60;
const SETUP_TTL: u64 = 600;

fn new_service() -> Svc {
    testing::service(1, NOW, Settings::default())
}

fn ctx() -> RequestContext {
    RequestContext {
        client: Some("127.0.0.1".into()),
    }
}

fn email(text: &str) -> Email {
    Email::parse(text).unwrap()
}

fn password(text: &str) -> Password {
    Password::parse(text).unwrap()
}

struct Account {
    email: Email,
    user: User,
}

fn register_user(svc: &Svc, address: &str) -> Account {
    let name = DisplayName::parse("Alice").unwrap();
    let user = svc
        .register(&email(address), &password(PASSWORD), &name, &ctx())
        .unwrap();
    Account {
        email: email(address),
        user,
    }
}

fn login_as(
    svc: &Svc,
    address: &Email,
    pass: &str,
    code: Option<&str>,
) -> Result<LoginOutcome, LoginError> {
    let pass = password(pass);
    let request = LoginRequest {
        email: address,
        password: &pass,
        mfa_code: code,
    };
    svc.login(&request, &ctx())
}

fn login(svc: &Svc, account: &Account, code: Option<&str>) -> Result<LoginOutcome, LoginError> {
    login_as(svc, &account.email, PASSWORD, code)
}

#[track_caller]
fn session_of(outcome: Result<LoginOutcome, LoginError>) -> IssuedSession {
    match outcome {
        Ok(LoginOutcome::LoggedIn(session)) => session,
        other => panic!("expected a session, got {other:?}"),
    }
}

/// Logs in an account without MFA and authenticates the token, as a client
/// about to call an authenticated endpoint would.
#[track_caller]
fn sign_in(svc: &Svc, account: &Account) -> Authenticated {
    let session = session_of(login(svc, account, None));
    svc.authenticate(session.token.expose()).unwrap()
}

fn totp(secret: &TotpSecret) -> Totp {
    Totp::new(secret, TotpConfig::default())
}

fn totp_now(svc: &Svc, secret: &TotpSecret) -> String {
    totp(secret).generate(svc.clock().now())
}

fn step_now(svc: &Svc) -> u64 {
    svc.clock().now().0 / STEP
}

/// Six digits that no step of the accepted window produces.
fn wrong_totp(svc: &Svc, secret: &TotpSecret) -> String {
    let step = step_now(svc);
    let valid: Vec<String> = (step - 1..=step + 1)
        .map(|s| totp(secret).code_at_step(s))
        .collect();
    (0..10)
        .map(|digit: u32| digit.to_string().repeat(6))
        .find(|code| !valid.contains(code))
        .unwrap()
}

/// A backup code as a careless person types it: lower case, no dashes.
fn typed_loosely(code: &str) -> String {
    code.replace('-', "").to_lowercase()
}

fn enable_input(code: &str) -> EnableInput<'_> {
    EnableInput {
        verification_code: code,
        secret: None,
        backup_codes: None,
    }
}

fn enable(svc: &Svc, caller: &Authenticated, code: &str) -> Result<(), EnableFailure> {
    svc.enable_mfa(caller, &enable_input(code), &ctx())
}

struct Setup {
    secret_text: String,
    secret: TotpSecret,
    backup_codes: Vec<String>,
}

fn start_setup(svc: &Svc, caller: &Authenticated) -> Setup {
    let outcome = svc.setup_mfa(caller, &ctx()).unwrap();
    Setup {
        secret: TotpSecret::parse_base32(&outcome.secret).unwrap(),
        secret_text: outcome.secret.to_string(),
        backup_codes: outcome.backup_codes.iter().map(|c| c.to_string()).collect(),
    }
}

struct Mfa {
    secret: TotpSecret,
    backup_codes: Vec<String>,
    /// The session that turned MFA on, and its bearer token.
    caller: Authenticated,
    token: String,
}

/// Turns MFA on for the account, then moves the clock to the next step, so
/// that the current step's code is unused.
fn enable_mfa_for(svc: &Svc, account: &Account) -> Mfa {
    let token = session_of(login(svc, account, None))
        .token
        .expose()
        .to_owned();
    let caller = svc.authenticate(&token).unwrap();
    let setup = start_setup(svc, &caller);
    enable(svc, &caller, &totp_now(svc, &setup.secret)).unwrap();
    svc.clock().advance(STEP);
    Mfa {
        secret: setup.secret,
        backup_codes: setup.backup_codes,
        caller,
        token,
    }
}

fn audit_kinds(svc: &Svc, account: &Account) -> Vec<AuditKind> {
    svc.audit_trail(Some(&account.email), None)
        .unwrap()
        .into_iter()
        .map(|event| event.kind)
        .collect()
}

fn count_of(kinds: &[AuditKind], kind: AuditKind) -> usize {
    kinds.iter().filter(|&&k| k == kind).count()
}

/// Sessions of `user` other than `keep` that are still live. The fake store
/// lists no sessions, so this counts them by revoking them: call it last.
fn revoke_live_sessions(svc: &Svc, user: UserId, keep: Authenticated) -> u64 {
    svc.store()
        .revoke_user_sessions(user, Some(keep.session_id))
        .unwrap()
}

/// Five refused codes at login: the count reaches the first lock-out.
fn fail_second_factor_five_times(svc: &Svc, account: &Account, mfa: &Mfa) {
    for _ in 0..5 {
        let wrong = wrong_totp(svc, &mfa.secret);
        assert_eq!(
            login(svc, account, Some(&wrong)).unwrap_err(),
            LoginError::InvalidMfaCode
        );
    }
}

fn locked(secs: u64) -> LoginError {
    LoginError::LockedOut {
        retry_after_secs: secs,
    }
}

// register

#[test]
fn register_creates_the_account_and_audits_it() {
    let svc = new_service();
    let name = DisplayName::parse("Alice").unwrap();

    let user = svc
        .register(&email(ALICE), &password(PASSWORD), &name, &ctx())
        .unwrap();

    assert_eq!(user.email, ALICE);
    assert_eq!(user.name, "Alice");
    let events = svc.audit_trail(Some(&email(ALICE)), None).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, AuditKind::Registered);
    assert_eq!(events[0].user_id, Some(user.id));
    assert_eq!(events[0].at, NOW);
    assert_eq!(events[0].client.as_deref(), Some("127.0.0.1"));
}

#[test]
fn register_refuses_an_email_taken_in_another_case() {
    let svc = new_service();
    register_user(&svc, ALICE);
    let name = DisplayName::parse("Other Alice").unwrap();

    let result = svc.register(
        &email("ALICE@Example.COM"),
        &password(PASSWORD),
        &name,
        &ctx(),
    );

    assert_eq!(result.unwrap_err(), RegisterError::EmailTaken);
}

// login

#[test]
fn unknown_email_and_wrong_password_get_the_same_refusal() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);

    let before = svc.hasher().verifications();
    let unknown = login_as(&svc, &email("bob@example.com"), PASSWORD, None);
    let after_unknown = svc.hasher().verifications();
    let wrong = login_as(&svc, &email(ALICE), WRONG_PASSWORD, None);
    let after_wrong = svc.hasher().verifications();

    assert_eq!(unknown.unwrap_err(), LoginError::InvalidCredentials);
    assert_eq!(wrong.unwrap_err(), LoginError::InvalidCredentials);
    assert!(audit_kinds(&svc, &alice).contains(&AuditKind::LoginFailed));
    // Same work, so the same time: each path pays one password verification
    // (a dummy one for the unknown email).
    assert_eq!(
        (after_unknown - before, after_wrong - after_unknown),
        (1, 1)
    );
}

#[test]
fn login_without_mfa_opens_a_session_that_authenticates() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);

    let session = session_of(login(&svc, &alice, None));

    assert_eq!(session.user, alice.user);
    assert_eq!(session.expires_at, NOW.plus_secs(SESSION_TTL));
    assert_eq!(session.backup_codes_remaining, None);
    let caller = svc.authenticate(session.token.expose()).unwrap();
    assert_eq!(caller.user_id, alice.user.id);
    assert_eq!(caller.session_id, session.session_id);
}

#[test]
fn login_compares_emails_case_insensitively() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);

    let session = session_of(login_as(&svc, &email("Alice@EXAMPLE.com"), PASSWORD, None));

    assert_eq!(session.user.id, alice.user.id);
}

#[test]
fn login_with_mfa_and_no_code_asks_for_one_and_opens_no_session() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    let logins_before = count_of(&audit_kinds(&svc, &alice), AuditKind::LoginSucceeded);

    let outcome = login(&svc, &alice, None);

    assert!(
        matches!(outcome, Ok(LoginOutcome::MfaRequired)),
        "{outcome:?}"
    );
    let logins_after = count_of(&audit_kinds(&svc, &alice), AuditKind::LoginSucceeded);
    assert_eq!(logins_after, logins_before);
    assert_eq!(revoke_live_sessions(&svc, alice.user.id, mfa.caller), 0);
}

#[test]
fn login_with_the_current_totp_code_opens_a_session() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);

    let session = session_of(login(&svc, &alice, Some(&totp_now(&svc, &mfa.secret))));

    assert_eq!(session.backup_codes_remaining, None);
    assert!(svc.authenticate(session.token.expose()).is_ok());
}

#[test]
fn a_totp_code_once_accepted_is_refused_even_with_spaces() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    let code = totp_now(&svc, &mfa.secret);
    session_of(login(&svc, &alice, Some(&code)));

    let again = login(&svc, &alice, Some(&code));
    let spaced = login(
        &svc,
        &alice,
        Some(&format!(" {} {} ", &code[..3], &code[3..])),
    );

    assert_eq!(again.unwrap_err(), LoginError::InvalidMfaCode);
    assert_eq!(spaced.unwrap_err(), LoginError::InvalidMfaCode);
}

#[test]
fn a_code_of_a_step_older_than_the_accepted_one_is_refused() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    let step = step_now(&svc);
    let ahead = totp(&mfa.secret).code_at_step(step + 1);
    session_of(login(&svc, &alice, Some(&ahead)));

    let current = login(&svc, &alice, Some(&totp(&mfa.secret).code_at_step(step)));
    let behind = login(
        &svc,
        &alice,
        Some(&totp(&mfa.secret).code_at_step(step - 1)),
    );

    assert_eq!(current.unwrap_err(), LoginError::InvalidMfaCode);
    assert_eq!(behind.unwrap_err(), LoginError::InvalidMfaCode);
}

#[test]
fn a_backup_code_in_any_case_without_dashes_logs_in_once() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    let code = typed_loosely(&mfa.backup_codes[3]);

    let first = session_of(login(&svc, &alice, Some(&code)));
    let second = login(&svc, &alice, Some(&mfa.backup_codes[3]));

    assert_eq!(first.backup_codes_remaining, Some(9));
    assert!(svc.authenticate(first.token.expose()).is_ok());
    assert_eq!(second.unwrap_err(), LoginError::InvalidMfaCode);
    assert!(audit_kinds(&svc, &alice).contains(&AuditKind::BackupCodeUsed));
}

#[test]
fn wrong_or_malformed_codes_are_refused() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);

    let wrong_totp = login(&svc, &alice, Some(&wrong_totp(&svc, &mfa.secret)));
    let unknown_backup = login(&svc, &alice, Some("AAAA-BBBB-CCCC"));
    let malformed = login(&svc, &alice, Some("not a code"));

    assert_eq!(wrong_totp.unwrap_err(), LoginError::InvalidMfaCode);
    assert_eq!(unknown_backup.unwrap_err(), LoginError::InvalidMfaCode);
    assert_eq!(malformed.unwrap_err(), LoginError::InvalidMfaCode);
    let kinds = audit_kinds(&svc, &alice);
    assert_eq!(count_of(&kinds, AuditKind::SecondFactorFailed), 3);
}

#[test]
fn spending_the_seventh_backup_code_warns_that_few_are_left() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    for code in &mfa.backup_codes[..6] {
        session_of(login(&svc, &alice, Some(code)));
    }
    assert_eq!(
        count_of(&audit_kinds(&svc, &alice), AuditKind::BackupCodesLow),
        0
    );

    let seventh = session_of(login(&svc, &alice, Some(&mfa.backup_codes[6])));

    assert_eq!(seventh.backup_codes_remaining, Some(3));
    assert_eq!(
        count_of(&audit_kinds(&svc, &alice), AuditKind::BackupCodesLow),
        1
    );
}

#[test]
fn a_wrong_password_with_a_valid_code_spends_nothing() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    let code = totp_now(&svc, &mfa.secret);

    let refused = login_as(&svc, &alice.email, WRONG_PASSWORD, Some(&code));
    let then = login(&svc, &alice, Some(&code));

    assert_eq!(refused.unwrap_err(), LoginError::InvalidCredentials);
    session_of(then);
}

// the second-factor throttle

#[test]
fn five_refused_codes_lock_out_even_the_right_code() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    fail_second_factor_five_times(&svc, &alice, &mfa);

    let sixth = login(&svc, &alice, Some(&totp_now(&svc, &mfa.secret)));

    assert_eq!(sixth.unwrap_err(), locked(FIRST_LOCK));
    assert!(audit_kinds(&svc, &alice).contains(&AuditKind::LockedOut));
}

#[test]
fn attempts_during_a_lockout_neither_count_nor_extend_it() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    fail_second_factor_five_times(&svc, &alice, &mfa);
    let wrong = wrong_totp(&svc, &mfa.secret);

    let mut during = Vec::new();
    for _ in 0..3 {
        svc.clock().advance(5);
        during.push(login(&svc, &alice, Some(&wrong)).unwrap_err());
    }
    svc.clock().advance(FIRST_LOCK - 15);
    let after = login(&svc, &alice, Some(&totp_now(&svc, &mfa.secret)));

    assert_eq!(during, vec![locked(25), locked(20), locked(15)]);
    session_of(after);
}

#[test]
fn each_failure_after_a_lockout_doubles_it_up_to_fifteen_minutes() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    fail_second_factor_five_times(&svc, &alice, &mfa);

    let mut lock = FIRST_LOCK;
    let mut seen = Vec::new();
    for _ in 0..6 {
        svc.clock().advance(lock);
        let wrong = wrong_totp(&svc, &mfa.secret);
        assert_eq!(
            login(&svc, &alice, Some(&wrong)).unwrap_err(),
            LoginError::InvalidMfaCode
        );
        lock = match login(&svc, &alice, Some(&totp_now(&svc, &mfa.secret))) {
            Err(LoginError::LockedOut { retry_after_secs }) => retry_after_secs,
            other => panic!("expected a lock-out, got {other:?}"),
        };
        seen.push(lock);
    }

    assert_eq!(seen, vec![60, 120, 240, 480, 900, 900]);
}

#[test]
fn a_correct_password_alone_does_not_reset_the_count() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    for _ in 0..4 {
        let wrong = wrong_totp(&svc, &mfa.secret);
        login(&svc, &alice, Some(&wrong)).unwrap_err();
    }
    assert!(matches!(
        login(&svc, &alice, None),
        Ok(LoginOutcome::MfaRequired)
    ));

    let fifth = login(&svc, &alice, Some(&wrong_totp(&svc, &mfa.secret)));
    let sixth = login(&svc, &alice, Some(&totp_now(&svc, &mfa.secret)));

    assert_eq!(fifth.unwrap_err(), LoginError::InvalidMfaCode);
    assert_eq!(sixth.unwrap_err(), locked(FIRST_LOCK));
}

#[test]
fn a_passed_second_factor_resets_the_count() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    fail_second_factor_five_times(&svc, &alice, &mfa);
    svc.clock().advance(FIRST_LOCK);
    session_of(login(&svc, &alice, Some(&totp_now(&svc, &mfa.secret))));

    let next_wrong = login(&svc, &alice, Some(&wrong_totp(&svc, &mfa.secret)));
    for _ in 0..4 {
        let wrong = wrong_totp(&svc, &mfa.secret);
        login(&svc, &alice, Some(&wrong)).unwrap_err();
    }
    let after_five_more = login(&svc, &alice, Some(&mfa.backup_codes[0]));

    assert_eq!(next_wrong.unwrap_err(), LoginError::InvalidMfaCode);
    // Back to the first lock-out, not a doubled one: the count started over.
    assert_eq!(after_five_more.unwrap_err(), locked(FIRST_LOCK));
}

// the password throttle

fn five_wrong_passwords(svc: &Svc, address: &Email) -> Vec<LoginError> {
    (0..5)
        .map(|_| login_as(svc, address, WRONG_PASSWORD, None).unwrap_err())
        .collect()
}

#[test]
fn five_wrong_passwords_lock_the_email_even_for_the_right_one() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);

    let refusals = five_wrong_passwords(&svc, &alice.email);
    let sixth = login(&svc, &alice, None);

    assert_eq!(refusals, vec![LoginError::InvalidCredentials; 5]);
    assert_eq!(sixth.unwrap_err(), locked(FIRST_LOCK));
}

#[test]
fn an_email_without_an_account_locks_the_same_way() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let nobody = email("nobody@example.com");

    let for_account = five_wrong_passwords(&svc, &alice.email);
    let for_nobody = five_wrong_passwords(&svc, &nobody);
    let account_sixth = login(&svc, &alice, None).unwrap_err();
    let nobody_sixth = login_as(&svc, &nobody, PASSWORD, None).unwrap_err();

    assert_eq!(for_nobody, for_account);
    assert_eq!(nobody_sixth, account_sixth);
    assert_eq!(nobody_sixth, locked(FIRST_LOCK));
}

#[test]
fn the_right_password_after_the_lock_logs_in_and_resets_the_count() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    five_wrong_passwords(&svc, &alice.email);
    svc.clock().advance(FIRST_LOCK);

    let after_lock = login(&svc, &alice, None);
    let one_more_wrong = login_as(&svc, &alice.email, WRONG_PASSWORD, None);
    let right_again = login(&svc, &alice, None);

    session_of(after_lock);
    assert_eq!(one_more_wrong.unwrap_err(), LoginError::InvalidCredentials);
    session_of(right_again);
}

// logout and authenticate

#[test]
fn logout_ends_that_session_at_once_and_no_other() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let session = session_of(login(&svc, &alice, None));
    let other = session_of(login(&svc, &alice, None));
    let caller = svc.authenticate(session.token.expose()).unwrap();

    svc.logout(&caller, &ctx()).unwrap();

    assert_eq!(
        svc.authenticate(session.token.expose()).unwrap_err(),
        AuthError::Unauthorized
    );
    assert!(svc.authenticate(other.token.expose()).is_ok());
    assert!(audit_kinds(&svc, &alice).contains(&AuditKind::LoggedOut));
}

#[test]
fn authenticate_refuses_garbage_and_tampered_tokens() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let token = session_of(login(&svc, &alice, None))
        .token
        .expose()
        .to_owned();
    let flipped = if token.ends_with('A') { 'B' } else { 'A' };
    let tampered = format!("{}{flipped}", &token[..token.len() - 1]);

    for garbage in ["", "garbage", "a.b.c", &tampered, &token[1..]] {
        assert_eq!(
            svc.authenticate(garbage).unwrap_err(),
            AuthError::Unauthorized,
            "{garbage:?}"
        );
    }
}

#[test]
fn authenticate_refuses_a_token_signed_by_another_service() {
    let svc = new_service();
    register_user(&svc, ALICE);
    let other = testing::service(2, NOW, Settings::default());
    let there = register_user(&other, ALICE);
    let foreign = session_of(login(&other, &there, None));

    let result = svc.authenticate(foreign.token.expose());

    assert_eq!(result.unwrap_err(), AuthError::Unauthorized);
}

#[test]
fn authenticate_refuses_a_live_session_named_by_a_foreign_key() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let session = session_of(login(&svc, &alice, None));
    let claims = SessionClaims {
        session_id: *session.session_id.0.as_bytes(),
        expires_at: session.expires_at,
    };
    let forged = TokenKey::from_bytes([7; 32]).sign(&claims);

    let result = svc.authenticate(forged.expose());

    assert_eq!(result.unwrap_err(), AuthError::Unauthorized);
    assert!(svc.authenticate(session.token.expose()).is_ok());
}

#[test]
fn authenticate_refuses_a_token_past_its_twelve_hours() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let session = session_of(login(&svc, &alice, None));
    svc.clock().advance(SESSION_TTL - 1);
    assert!(svc.authenticate(session.token.expose()).is_ok());

    svc.clock().advance(1);

    assert_eq!(
        svc.authenticate(session.token.expose()).unwrap_err(),
        AuthError::Unauthorized
    );
}

// setup

#[test]
fn setup_returns_a_secret_an_otpauth_uri_and_ten_backup_codes() {
    let svc = new_service();
    let alice = register_user(&svc, "Alice.Smith+mfa@Example.com");
    let caller = sign_in(&svc, &alice);

    let outcome = svc.setup_mfa(&caller, &ctx()).unwrap();

    let secret = TotpSecret::parse_base32(&outcome.secret).unwrap();
    assert_eq!(secret.expose_bytes().len(), 20);
    assert!(!outcome.secret.contains('='));
    let uri = outcome.otpauth_uri.as_str();
    let label = "otpauth://totp/MFA%20Service:Alice.Smith%2Bmfa%40Example.com?";
    assert!(uri.starts_with(label), "{uri}");
    assert!(uri.contains(&format!("secret={}", outcome.secret.as_str())));
    assert!(uri.contains("issuer=MFA%20Service"));
    assert_eq!(outcome.issuer, "MFA Service");
    assert_eq!(outcome.account_name, "Alice.Smith+mfa@Example.com");
    assert_eq!(outcome.expires_at, NOW.plus_secs(SETUP_TTL));
    assert_backup_code_set(&outcome.backup_codes);
}

fn assert_backup_code_set(codes: &[impl AsRef<str>]) {
    let alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    assert_eq!(codes.len(), 10);
    for code in codes.iter().map(AsRef::as_ref) {
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!(groups.len(), 3, "{code}");
        assert!(groups.iter().all(|g| g.len() == 4), "{code}");
        assert!(
            groups.concat().chars().all(|c| alphabet.contains(c)),
            "{code}"
        );
    }
    let mut distinct: Vec<&str> = codes.iter().map(AsRef::as_ref).collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 10);
}

#[test]
fn a_second_setup_replaces_the_first() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let caller = sign_in(&svc, &alice);
    let first = start_setup(&svc, &caller);
    let second = start_setup(&svc, &caller);

    let first_code = enable(&svc, &caller, &totp_now(&svc, &first.secret));
    let second_code = enable(&svc, &caller, &totp_now(&svc, &second.secret));

    assert_ne!(first.secret_text, second.secret_text);
    assert_eq!(first_code.unwrap_err(), EnableFailure::InvalidCode);
    assert_eq!(second_code, Ok(()));
}

#[test]
fn setup_while_mfa_is_on_is_refused() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);

    let result = svc.setup_mfa(&mfa.caller, &ctx());

    assert_eq!(result.unwrap_err(), SetupError::AlreadyEnabled);
}

// enable

#[test]
fn enable_without_a_pending_setup_is_refused() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let caller = sign_in(&svc, &alice);

    let result = enable(&svc, &caller, "123456");

    assert_eq!(result.unwrap_err(), EnableFailure::NoPendingSetup);
}

#[test]
fn enable_after_the_setup_expired_is_refused() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let caller = sign_in(&svc, &alice);
    let setup = start_setup(&svc, &caller);
    svc.clock().advance(SETUP_TTL);

    let result = enable(&svc, &caller, &totp_now(&svc, &setup.secret));

    assert_eq!(result.unwrap_err(), EnableFailure::NoPendingSetup);
}

#[test]
fn enable_refuses_a_secret_other_than_the_pending_one() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let caller = sign_in(&svc, &alice);
    let setup = start_setup(&svc, &caller);
    let code = totp_now(&svc, &setup.secret);

    let mut results = Vec::new();
    for sent in ["JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "not base32 at all!"] {
        let input = EnableInput {
            secret: Some(sent),
            ..enable_input(&code)
        };
        results.push(svc.enable_mfa(&caller, &input, &ctx()));
    }

    let mismatch = Err(EnableFailure::SecretMismatch);
    assert_eq!(results, vec![mismatch.clone(), mismatch]);
    // The setup is still pending and the code unspent.
    assert_eq!(enable(&svc, &caller, &code), Ok(()));
}

#[test]
fn enable_refuses_backup_codes_other_than_the_pending_ones() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let caller = sign_in(&svc, &alice);
    let setup = start_setup(&svc, &caller);
    let code = totp_now(&svc, &setup.secret);
    let mut one_changed = setup.backup_codes.clone();
    one_changed[0] = "AAAA-BBBB-CCCC".to_owned();
    let nine = setup.backup_codes[..9].to_vec();
    let not_codes = vec!["nonsense".to_owned(); 10];

    let mut results = Vec::new();
    for sent in [&one_changed, &nine, &not_codes] {
        let input = EnableInput {
            backup_codes: Some(sent),
            ..enable_input(&code)
        };
        results.push(svc.enable_mfa(&caller, &input, &ctx()));
    }

    assert_eq!(results, vec![Err(EnableFailure::BackupCodesMismatch); 3]);
}

#[test]
fn enable_accepts_the_echoed_secret_and_codes() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let caller = sign_in(&svc, &alice);
    let setup = start_setup(&svc, &caller);
    let code = totp_now(&svc, &setup.secret);
    let input = EnableInput {
        verification_code: &code,
        secret: Some(&setup.secret_text),
        backup_codes: Some(&setup.backup_codes),
    };

    let result = svc.enable_mfa(&caller, &input, &ctx());

    assert_eq!(result, Ok(()));
    assert!(svc.mfa_status(&caller).unwrap().enabled);
    assert!(audit_kinds(&svc, &alice).contains(&AuditKind::MfaEnabled));
}

#[test]
fn enable_refuses_a_wrong_code() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let caller = sign_in(&svc, &alice);
    let setup = start_setup(&svc, &caller);

    let wrong = enable(&svc, &caller, &wrong_totp(&svc, &setup.secret));
    let malformed = enable(&svc, &caller, "12345a");

    assert_eq!(wrong.unwrap_err(), EnableFailure::InvalidCode);
    assert_eq!(malformed.unwrap_err(), EnableFailure::InvalidCode);
    assert!(!svc.mfa_status(&caller).unwrap().enabled);
}

#[test]
fn five_wrong_verification_codes_discard_the_setup() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let caller = sign_in(&svc, &alice);
    let setup = start_setup(&svc, &caller);
    let wrong = wrong_totp(&svc, &setup.secret);
    let refusals: Vec<_> = (0..5).map(|_| enable(&svc, &caller, &wrong)).collect();

    let sixth = enable(&svc, &caller, &totp_now(&svc, &setup.secret));

    assert_eq!(refusals, vec![Err(EnableFailure::InvalidCode); 5]);
    assert_eq!(sixth.unwrap_err(), EnableFailure::NoPendingSetup);
}

#[test]
fn the_enabling_code_cannot_log_in() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let caller = sign_in(&svc, &alice);
    let setup = start_setup(&svc, &caller);
    let code = totp_now(&svc, &setup.secret);
    enable(&svc, &caller, &code).unwrap();

    let result = login(&svc, &alice, Some(&code));

    assert_eq!(result.unwrap_err(), LoginError::InvalidMfaCode);
}

#[test]
fn enable_when_mfa_is_on_is_refused() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);

    let result = enable(&svc, &mfa.caller, &totp_now(&svc, &mfa.secret));

    assert_eq!(result.unwrap_err(), EnableFailure::AlreadyEnabled);
}

// disable

#[test]
fn disable_when_mfa_is_off_is_refused() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let caller = sign_in(&svc, &alice);

    let result = svc.disable_mfa(&caller, "123456", &ctx());

    assert_eq!(result.unwrap_err(), ProofError::NotEnabled);
}

#[test]
fn disable_counts_wrong_codes_in_the_login_throttle() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    for _ in 0..3 {
        let wrong = wrong_totp(&svc, &mfa.secret);
        login(&svc, &alice, Some(&wrong)).unwrap_err();
    }
    let wrong = wrong_totp(&svc, &mfa.secret);
    let refusals: Vec<_> = (0..2)
        .map(|_| svc.disable_mfa(&mfa.caller, &wrong, &ctx()))
        .collect();

    let disable = svc.disable_mfa(&mfa.caller, &totp_now(&svc, &mfa.secret), &ctx());
    let login_after = login(&svc, &alice, Some(&totp_now(&svc, &mfa.secret)));

    assert_eq!(refusals, vec![Err(ProofError::InvalidCode); 2]);
    let lock = ProofError::LockedOut {
        retry_after_secs: FIRST_LOCK,
    };
    assert_eq!(disable.unwrap_err(), lock);
    assert_eq!(login_after.unwrap_err(), locked(FIRST_LOCK));
    assert!(svc.mfa_status(&mfa.caller).unwrap().enabled);
}

#[test]
fn disable_with_a_totp_code_keeps_only_the_calling_session() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    let other = session_of(login(&svc, &alice, Some(&mfa.backup_codes[0])));

    let result = svc.disable_mfa(&mfa.caller, &totp_now(&svc, &mfa.secret), &ctx());

    assert_eq!(result, Ok(()));
    assert_eq!(svc.authenticate(&mfa.token), Ok(mfa.caller));
    assert_eq!(
        svc.authenticate(other.token.expose()).unwrap_err(),
        AuthError::Unauthorized
    );
    assert!(audit_kinds(&svc, &alice).contains(&AuditKind::MfaDisabled));
}

#[test]
fn disable_with_an_unused_backup_code_turns_mfa_off() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);

    let result = svc.disable_mfa(&mfa.caller, &typed_loosely(&mfa.backup_codes[9]), &ctx());

    assert_eq!(result, Ok(()));
    assert_eq!(svc.authenticate(&mfa.token), Ok(mfa.caller));
    session_of(login(&svc, &alice, None));
}

#[test]
fn disable_refuses_a_spent_backup_code() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    session_of(login(&svc, &alice, Some(&mfa.backup_codes[2])));

    let result = svc.disable_mfa(&mfa.caller, &mfa.backup_codes[2], &ctx());

    assert_eq!(result.unwrap_err(), ProofError::InvalidCode);
    assert!(svc.mfa_status(&mfa.caller).unwrap().enabled);
}

#[test]
fn after_disable_a_new_setup_starts_without_a_replay_mark() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    let step = step_now(&svc);
    svc.disable_mfa(&mfa.caller, &totp_now(&svc, &mfa.secret), &ctx())
        .unwrap();
    let status_after_disable = svc.mfa_status(&mfa.caller).unwrap();
    let setup = start_setup(&svc, &mfa.caller);

    let result = enable(&svc, &mfa.caller, &totp(&setup.secret).code_at_step(step));

    let off = MfaStatus {
        enabled: false,
        enabled_at: None,
        backup_codes_remaining: 0,
    };
    assert_eq!(status_after_disable, off);
    assert_eq!(result, Ok(()));
}

// status

#[test]
fn status_when_mfa_is_off() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let caller = sign_in(&svc, &alice);

    let status = svc.mfa_status(&caller).unwrap();

    let off = MfaStatus {
        enabled: false,
        enabled_at: None,
        backup_codes_remaining: 0,
    };
    assert_eq!(status, off);
}

#[test]
fn status_when_mfa_is_on_counts_unused_backup_codes() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    let on = MfaStatus {
        enabled: true,
        enabled_at: Some(NOW),
        backup_codes_remaining: 10,
    };
    assert_eq!(svc.mfa_status(&mfa.caller).unwrap(), on);

    session_of(login(&svc, &alice, Some(&mfa.backup_codes[5])));

    let status = svc.mfa_status(&mfa.caller).unwrap();
    assert_eq!(status.backup_codes_remaining, 9);
    assert_eq!(status.enabled_at, Some(NOW));
}

// regenerate backup codes

#[test]
fn regenerating_backup_codes_needs_a_valid_code() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);

    let wrong = wrong_totp(&svc, &mfa.secret);
    let result = svc.regenerate_backup_codes(&mfa.caller, &wrong, &ctx());

    assert_eq!(result.unwrap_err(), ProofError::InvalidCode);
    session_of(login(&svc, &alice, Some(&mfa.backup_codes[0])));
}

#[test]
fn regenerating_backup_codes_when_mfa_is_off_is_refused() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let caller = sign_in(&svc, &alice);

    let result = svc.regenerate_backup_codes(&caller, "123456", &ctx());

    assert_eq!(result.unwrap_err(), ProofError::NotEnabled);
}

#[test]
fn regenerated_backup_codes_replace_every_earlier_one() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    session_of(login(&svc, &alice, Some(&mfa.backup_codes[0])));

    let new_codes = svc
        .regenerate_backup_codes(&mfa.caller, &totp_now(&svc, &mfa.secret), &ctx())
        .unwrap();

    assert_backup_code_set(&new_codes);
    assert!(new_codes.iter().all(|c| !mfa.backup_codes.contains(c)));
    assert_eq!(
        svc.mfa_status(&mfa.caller).unwrap().backup_codes_remaining,
        10
    );
    let old = login(&svc, &alice, Some(&mfa.backup_codes[1]));
    assert_eq!(old.unwrap_err(), LoginError::InvalidMfaCode);
    let new = session_of(login(&svc, &alice, Some(&new_codes[1])));
    assert_eq!(new.backup_codes_remaining, Some(9));
    assert!(audit_kinds(&svc, &alice).contains(&AuditKind::BackupCodesRegenerated));
}

// the operator's reset

#[test]
fn operator_reset_of_an_unknown_email_is_refused() {
    let svc = new_service();
    register_user(&svc, ALICE);

    let result = svc.operator_reset_mfa(&email("nobody@example.com"), &ctx());

    assert_eq!(result.unwrap_err(), OperatorError::UnknownUser);
}

#[test]
fn operator_reset_turns_mfa_off_and_ends_every_session() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    let other = session_of(login(&svc, &alice, Some(&totp_now(&svc, &mfa.secret))));

    let reset = svc.operator_reset_mfa(&email("ALICE@example.com"), &ctx());

    assert_eq!(reset, Ok(alice.user.id));
    for token in [mfa.token.as_str(), other.token.expose()] {
        assert_eq!(
            svc.authenticate(token).unwrap_err(),
            AuthError::Unauthorized
        );
    }
    let fresh = sign_in(&svc, &alice);
    assert!(!svc.mfa_status(&fresh).unwrap().enabled);
    let events = svc.audit_trail(Some(&alice.email), None).unwrap();
    let reset_event = events
        .iter()
        .find(|e| e.kind == AuditKind::OperatorReset)
        .unwrap();
    assert_eq!(reset_event.user_id, Some(alice.user.id));
}

// the audit trail

#[test]
fn audit_trail_lists_one_users_events_since_a_time() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let bob = register_user(&svc, "bob@example.com");
    svc.clock().advance(100);
    let later = svc.clock().now();
    session_of(login(&svc, &alice, None));
    login_as(&svc, &bob.email, WRONG_PASSWORD, None).unwrap_err();

    let all = svc.audit_trail(Some(&alice.email), None).unwrap();
    let since = svc.audit_trail(Some(&alice.email), Some(later)).unwrap();
    let unknown = svc.audit_trail(Some(&email("nobody@example.com")), None);

    let kinds =
        |events: &[mfa_ports::AuditEvent]| events.iter().map(|e| e.kind).collect::<Vec<_>>();
    assert_eq!(
        kinds(&all),
        vec![AuditKind::Registered, AuditKind::LoginSucceeded]
    );
    assert_eq!(kinds(&since), vec![AuditKind::LoginSucceeded]);
    assert!(all.iter().all(|e| e.user_id == Some(alice.user.id)));
    assert!(since.iter().all(|e| e.at >= later));
    assert_eq!(unknown.unwrap_err(), OperatorError::UnknownUser);
}

// concurrency

#[test]
fn sixteen_concurrent_logins_with_one_backup_code_open_one_session() {
    let svc = Arc::new(new_service());
    let alice = register_user(&svc, ALICE);
    let mfa = enable_mfa_for(&svc, &alice);
    let code = Arc::new(mfa.backup_codes[0].clone());
    let start = Arc::new(Barrier::new(16));

    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (svc, code, start) = (Arc::clone(&svc), Arc::clone(&code), Arc::clone(&start));
            let address = alice.email.clone();
            thread::spawn(move || {
                start.wait();
                login_as(&svc, &address, PASSWORD, Some(&code))
            })
        })
        .collect();
    let outcomes: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();

    let sessions = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(LoginOutcome::LoggedIn(_))))
        .count();
    assert_eq!(sessions, 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| matches!(
        o,
        Ok(LoginOutcome::LoggedIn(_))
            | Err(LoginError::InvalidMfaCode | LoginError::LockedOut { .. })
    )));
    assert_eq!(
        svc.mfa_status(&mfa.caller).unwrap().backup_codes_remaining,
        9
    );
}

#[test]
fn debug_output_never_shows_a_secret_code_or_password() {
    let svc = new_service();
    let alice = register_user(&svc, ALICE);
    let session = session_of(login(&svc, &alice, None));
    let caller = svc.authenticate(session.token.expose()).unwrap();
    let setup = svc.setup_mfa(&caller, &ctx()).unwrap();
    let record = mfa_ports::ports::UserStore::user_by_id(svc.store(), alice.user.id)
        .unwrap()
        .unwrap();
    let codes: Vec<String> = setup
        .backup_codes
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    let input = EnableInput {
        verification_code: "123456",
        secret: Some(&setup.secret),
        backup_codes: Some(&codes),
    };
    let password = Password::parse(PASSWORD).unwrap();
    let request = LoginRequest {
        email: &alice.email,
        password: &password,
        mfa_code: Some("654321"),
    };

    let shown = format!("{setup:?} {record:?} {input:?} {request:?} {session:?}");

    for secret in [
        setup.secret.as_str(),
        setup.otpauth_uri.as_str(),
        &codes[0],
        PASSWORD,
        "123456",
        "654321",
    ] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(!shown.contains(&record.password_hash) && !shown.contains(session.token.expose()));
    assert!(!shown.contains(ALICE), "no email either: {shown}");
}
