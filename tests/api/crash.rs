//! Crash safety: the server is killed with SIGKILL in the middle of a load
//! of enables, disables and logins. After a restart every user is either
//! fully enabled or fully disabled, no spent backup code is revived, no
//! unspent one is lost, and SQLite's integrity check passes.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl, sqlite::SqliteConnection};
use serde_json::json;

use crate::helpers::{Authenticator, MfaUser, TestApp, TestUser, spawn_app, strings};

#[derive(QueryableByName)]
struct Check {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Backup codes a user logged in with (answered 200) and codes never sent.
struct Spender {
    mfa: MfaUser,
    spent: Mutex<Vec<String>>,
    sent: Mutex<Vec<String>>,
}

/// Turns MFA off with a backup code and on again with a new secret, over and
/// over, remembering the newest set of codes shown.
struct Cycler {
    mfa: Mutex<MfaUser>,
}

fn cycle(app: &TestApp, cycler: &Cycler, running: &AtomicBool) {
    while running.load(Ordering::Relaxed) {
        let mut mfa = cycler.mfa.lock().expect("one thread per cycler");
        let Some(code) = mfa.backup_codes.pop() else {
            return;
        };
        let disable = json!({"mfa-code": code});
        let answer =
            |path, body: &serde_json::Value| app.try_post_json(path, Some(&mfa.token), body);
        let Some(200) = answer("/api/auth/mfa/disable", &disable).map(|r| r.status) else {
            return;
        };
        let Some(setup) = answer("/api/auth/mfa/setup", &json!({})).filter(|r| r.status == 200)
        else {
            return;
        };
        let secret = setup.body["secret"].as_str().unwrap_or_default().to_owned();
        let mut authenticator = Authenticator::new(&secret);
        let enable = json!({"verificationCode": authenticator.fresh_code()});
        let Some(200) = answer("/api/auth/mfa/enable", &enable).map(|r| r.status) else {
            return;
        };
        mfa.backup_codes = strings(&setup.body["backup-codes"]);
        mfa.secret = secret;
        mfa.authenticator = authenticator;
    }
}

fn spend(app: &TestApp, spender: &Spender, running: &AtomicBool) {
    for code in spender.mfa.backup_codes[..8].iter() {
        if !running.load(Ordering::Relaxed) {
            return;
        }
        spender.sent.lock().expect("lock").push(code.clone());
        let user = &spender.mfa.user;
        let body = json!({"email": user.email, "password": user.password, "mfa-code": code});
        let Some(login) = app.try_post_json("/api/auth/login", None, &body) else {
            return;
        };
        if login.status == 200 {
            spender.spent.lock().expect("lock").push(code.clone());
        }
    }
}

fn mfa_user(app: &TestApp, n: usize) -> MfaUser {
    let user = TestUser {
        email: format!("user{n}@example.com"),
        ..TestUser::default()
    };
    let token = app.registered_and_logged_in(&user);
    app.enable_mfa_for(user, token)
}

fn integrity(app: &TestApp) -> (String, i64) {
    let url = app.database_path();
    let mut conn = SqliteConnection::establish(url.to_str().expect("a UTF-8 path"))
        .expect("the database opens");
    let check: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .expect("integrity_check");
    let half_enabled: Vec<Count> = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM users u WHERE (u.mfa_enabled = 1) \
         != ((SELECT COUNT(*) FROM backup_codes b WHERE b.user_id = u.id) = 10)",
    )
    .load(&mut conn)
    .expect("a count");
    (
        check
            .into_iter()
            .map(|c| c.integrity_check)
            .collect::<Vec<_>>()
            .join(","),
        half_enabled[0].n,
    )
}

#[test]
fn a_sigkill_under_load_leaves_every_user_whole() {
    // Arrange: users who spend backup codes, and users who cycle MFA.
    let mut app = spawn_app();
    let spenders: Vec<Spender> = (0..4)
        .map(|n| Spender {
            mfa: mfa_user(&app, n),
            spent: Mutex::new(vec![]),
            sent: Mutex::new(vec![]),
        })
        .collect();
    let cyclers: Vec<Cycler> = (4..8)
        .map(|n| Cycler {
            mfa: Mutex::new(mfa_user(&app, n)),
        })
        .collect();
    let running = AtomicBool::new(true);
    let pid = app.pid();

    // Act: load from eight threads, then SIGKILL in the middle of it.
    thread::scope(|scope| {
        for spender in &spenders {
            let (app, running) = (&app, &running);
            scope.spawn(move || spend(app, spender, running));
        }
        for cycler in &cyclers {
            let (app, running) = (&app, &running);
            scope.spawn(move || cycle(app, cycler, running));
        }
        let started = Instant::now();
        thread::sleep(Duration::from_millis(700));
        let killed = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        assert!(killed.is_ok_and(|s| s.success()), "SIGKILL was sent");
        running.store(false, Ordering::Relaxed);
        assert!(started.elapsed() < Duration::from_secs(30));
    });
    let (check, half_enabled) = integrity(&app);
    app.reap_and_start();

    // Assert: the kill came in the middle of the load, the file is sound,
    // and no user is half-enabled.
    let spent: usize = spenders
        .iter()
        .map(|s| s.spent.lock().expect("lock").len())
        .sum();
    assert!(spent >= 1, "the load had started before the kill");
    assert_eq!(check, "ok");
    assert_eq!(
        half_enabled, 0,
        "a user is enabled without exactly ten codes, or disabled with some"
    );

    // The unspent code goes first: retrying the spent ones counts as
    // failures and soon locks the account, which answers 429.
    for spender in &spenders {
        let sent = spender.sent.lock().expect("lock");
        let unsent = spender
            .mfa
            .backup_codes
            .iter()
            .find(|c| !sent.contains(c))
            .expect("two codes were never sent");
        let login = app.login(&spender.mfa.user, Some(unsent));
        assert_eq!(
            login.status, 200,
            "an unspent backup code was lost: {}",
            login.text
        );
        for code in spender.spent.lock().expect("lock").iter() {
            let again = app.login(&spender.mfa.user, Some(code));
            assert!(
                again.status == 401 || again.status == 429,
                "a spent backup code was revived: {}",
                again.text
            );
        }
    }

    for cycler in &cyclers {
        let mfa = cycler.mfa.lock().expect("lock");
        let status = app.status(&mfa.token);
        assert_eq!(status.status, 200, "{}", status.text);
        let password_only = app.login(&mfa.user, None);
        if status.body["enabled"] == json!(true) {
            assert_eq!(
                password_only.body["requires-mfa?"],
                json!(true),
                "{}",
                password_only.text
            );
            assert!(
                status.body["backup-codes-remaining"]
                    .as_u64()
                    .is_some_and(|n| n >= 1),
                "{}",
                status.text
            );
        } else {
            assert_eq!(
                password_only.body["success"],
                json!(true),
                "{}",
                password_only.text
            );
            assert_eq!(status.body["backup-codes-remaining"], json!(0));
        }
    }
}
