//! The use cases on the SQLite adapter: what a request costs once HTTP is
//! taken away. Real Argon2id, real sealing, a temporary SQLite file; the
//! clock is fixed and moved one TOTP step per login so no code is replayed.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use mfa_core::{DisplayName, Email, Password, ServerKey, Totp, TotpConfig, TotpSecret, UnixTime};
use mfa_diesel::Database;
use mfa_ports::adapters::{Argon2Hasher, Argon2Settings, OsRandom, XChaChaSealer};
use mfa_ports::ports::Clock;
use mfa_ports::testing::FixedClock;
use mfa_ports::{
    EnableInput, Keys, LoginOutcome, LoginRequest, Ports, RequestContext, Service, Settings,
};

struct SqlitePorts;

impl Ports for SqlitePorts {
    type Store = Database;
    type Clock = FixedClock;
    type Random = OsRandom;
    type Hasher = Argon2Hasher;
    type Sealer = XChaChaSealer;
}

fn usecases(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect(dir.path().join("bench.db").to_str().unwrap(), 4).unwrap();
    db.run_migrations().unwrap();
    let key = ServerKey::from_bytes([9; 32]);
    let hasher = Argon2Hasher::new(Argon2Settings::default()).unwrap();
    let service: Service<SqlitePorts> = Service::new(
        db,
        FixedClock::at(UnixTime(1_700_000_010)),
        OsRandom,
        hasher,
        XChaChaSealer::new(&key.sealing_key()),
        Settings::default(),
        Keys::derive(&key),
    );
    let ctx = RequestContext::default();
    let email = Email::parse("bench@example.com").unwrap();
    let password = Password::parse("bench password").unwrap();
    service
        .register(
            &email,
            &password,
            &DisplayName::parse("Bench").unwrap(),
            &ctx,
        )
        .unwrap();
    let login = LoginRequest {
        email: &email,
        password: &password,
        mfa_code: None,
    };
    let LoginOutcome::LoggedIn(session) = service.login(&login, &ctx).unwrap() else {
        panic!("no MFA yet")
    };
    let caller = service.authenticate(session.token.expose()).unwrap();
    let setup = service.setup_mfa(&caller, &ctx).unwrap();
    let totp = Totp::new(
        &TotpSecret::parse_base32(&setup.secret).unwrap(),
        TotpConfig::default(),
    );
    let now = service.clock().now();
    let input = EnableInput {
        verification_code: &totp.generate(now),
        secret: None,
        backup_codes: None,
    };
    service.enable_mfa(&caller, &input, &ctx).unwrap();

    let mut group = c.benchmark_group("usecases_sqlite");
    group.bench_function("authenticate_bearer_token", |b| {
        b.iter(|| service.authenticate(session.token.expose()).unwrap())
    });
    group.bench_function("mfa_status", |b| {
        b.iter(|| service.mfa_status(&caller).unwrap())
    });
    group.sample_size(20);
    group.bench_function("login_password_and_totp", |b| {
        b.iter(|| {
            service.clock().advance(30);
            let code = totp.generate(service.clock().now());
            let request = LoginRequest {
                email: &email,
                password: &password,
                mfa_code: Some(&code),
            };
            assert!(matches!(
                service.login(&request, &ctx).unwrap(),
                LoginOutcome::LoggedIn(_)
            ));
        })
    });
    group.finish();
}

criterion_group!(benches, usecases);
criterion_main!(benches);
