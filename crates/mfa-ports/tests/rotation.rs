//! A server key rotation: every secret is re-sealed under the new key in
//! resumable batches, and tokens, TOTP secrets and backup codes issued under
//! the old key keep working.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mfa_core::{
    DisplayName, Email, Keyring, Password, ServerKey, Totp, TotpConfig, TotpSecret, UnixTime,
};
use mfa_ports::ports::UserStore;
use mfa_ports::testing::{FakePorts, InMemoryStore, service_on};
use mfa_ports::{
    EnableInput, LoginOutcome, LoginRequest, RequestContext, SecretSlot, Service, Settings,
};

const NOW: UnixTime = UnixTime(1_700_000_010);

fn ctx() -> RequestContext {
    RequestContext {
        client: Some("127.0.0.1".into()),
    }
}

fn old_ring() -> Keyring {
    Keyring::single(ServerKey::from_bytes([1; 32]))
}

fn new_ring() -> Keyring {
    Keyring::new(
        (2, ServerKey::from_bytes([2; 32])),
        vec![(1, ServerKey::from_bytes([1; 32]))],
    )
    .unwrap()
}

struct Account {
    email: Email,
    password: Password,
    token: String,
    totp: Totp,
    codes: Vec<String>,
}

/// Registers, logs in and sets MFA up; enables it when `enable` is true.
fn account(svc: &Service<FakePorts>, n: usize, enable: bool) -> Account {
    let email = Email::parse(&format!("user{n}@example.com")).unwrap();
    let password = Password::parse("correct horse battery").unwrap();
    svc.register(
        &email,
        &password,
        &DisplayName::parse("User").unwrap(),
        &ctx(),
    )
    .unwrap();
    let request = LoginRequest {
        email: &email,
        password: &password,
        mfa_code: None,
    };
    let LoginOutcome::LoggedIn(session) = svc.login(&request, &ctx()).unwrap() else {
        panic!("no MFA yet")
    };
    let token = session.token.expose().to_owned();
    let caller = svc.authenticate(&token).unwrap();
    let setup = svc.setup_mfa(&caller, &ctx()).unwrap();
    let totp = Totp::new(
        &TotpSecret::parse_base32(&setup.secret).unwrap(),
        TotpConfig::default(),
    );
    if enable {
        let input = EnableInput {
            verification_code: &totp.generate(NOW),
            secret: None,
            backup_codes: None,
        };
        svc.enable_mfa(&caller, &input, &ctx()).unwrap();
    }
    let codes = setup
        .backup_codes
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    Account {
        email,
        password,
        token,
        totp,
        codes,
    }
}

fn key_ids(svc: &Service<FakePorts>, slot: SecretSlot) -> Vec<u8> {
    svc.store()
        .sealed_secrets_after(slot, None, 100)
        .unwrap()
        .iter()
        .map(|(_, s)| s.0[1])
        .collect()
}

#[test]
fn a_rotation_reseals_everything_in_resumable_batches_and_breaks_nothing() {
    // Arrange: three users with MFA on and one with a setup pending, all
    // sealed under key 1; then the same storage under a ring whose key 2 is
    // current.
    let before = service_on(
        InMemoryStore::new(),
        1,
        NOW,
        Settings::default(),
        &old_ring(),
    );
    let enabled: Vec<Account> = (0..3).map(|n| account(&before, n, true)).collect();
    let pending = account(&before, 3, false);
    assert_eq!(key_ids(&before, SecretSlot::Active), vec![1, 1, 1]);
    let after = service_on(
        before.into_store(),
        2,
        NOW,
        Settings::default(),
        &new_ring(),
    );

    // Act: a pass cut short after one page of one, then a full pass.
    let interrupted = after.reseal_secrets(1, Some(1)).unwrap();
    let resumed = after.reseal_secrets(2, None).unwrap();
    let again = after.reseal_secrets(2, None).unwrap();

    // Assert: each secret was re-sealed once, and all are under key 2.
    assert_eq!((interrupted.resealed, interrupted.finished), (1, false));
    assert_eq!((resumed.resealed, resumed.finished), (3, true));
    assert_eq!((again.resealed, again.finished), (0, true));
    assert_eq!(key_ids(&after, SecretSlot::Active), vec![2, 2, 2]);
    assert_eq!(key_ids(&after, SecretSlot::Pending), vec![2]);

    // Tokens signed before the rotation still authenticate.
    for account in &enabled {
        assert!(after.authenticate(&account.token).is_ok());
    }
    // The secrets still verify codes, and old backup codes still log in.
    let next = |a: &Account| a.totp.code_at_step(a.totp.step_at(NOW) + 1);
    let totp_login = LoginRequest {
        email: &enabled[0].email,
        password: &enabled[0].password,
        mfa_code: Some(&next(&enabled[0])),
    };
    assert!(matches!(
        after.login(&totp_login, &ctx()).unwrap(),
        LoginOutcome::LoggedIn(_)
    ));
    let backup_login = LoginRequest {
        email: &enabled[1].email,
        password: &enabled[1].password,
        mfa_code: Some(&enabled[1].codes[0]),
    };
    let LoginOutcome::LoggedIn(session) = after.login(&backup_login, &ctx()).unwrap() else {
        panic!("logged in")
    };
    assert_eq!(session.backup_codes_remaining, Some(9));
    // The pending setup can still be confirmed, echoing codes hashed under key 1.
    let caller = after.authenticate(&pending.token).unwrap();
    let input = EnableInput {
        verification_code: &pending.totp.generate(NOW),
        secret: None,
        backup_codes: Some(&pending.codes),
    };
    after.enable_mfa(&caller, &input, &ctx()).unwrap();
    // New tokens are signed with key 2: a service that only knows key 1 refuses them.
    let fresh = LoginRequest {
        email: &enabled[2].email,
        password: &enabled[2].password,
        mfa_code: Some(&next(&enabled[2])),
    };
    let LoginOutcome::LoggedIn(new_session) = after.login(&fresh, &ctx()).unwrap() else {
        panic!("logged in")
    };
    let old_only = service_on(after.into_store(), 3, NOW, Settings::default(), &old_ring());
    assert!(old_only.authenticate(new_session.token.expose()).is_err());
}
