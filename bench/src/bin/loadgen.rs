//! Drives a release `mfa-server` and the reference server on loopback, for
//! a bounded time per mix, and prints the figures of every performance
//! target together with the reference figures measured in the same run.
//!
//! `loadgen SERVER_BIN REFERENCE_BIN [SECONDS] [USERS]`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mfa_core::{Password, Totp, TotpConfig, TotpSecret, UnixTime};
use mfa_ports::adapters::{Argon2Hasher, Argon2Settings};
use mfa_ports::ports::PasswordHasher;
use serde_json::{Value, json};

const PASSWORD: &str = "load test password";

struct Proc {
    child: Child,
    base: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_healthy(base: &str, path: &str, started: Instant) -> Duration {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_millis(200))
        .build();
    loop {
        if agent.get(&format!("{base}{path}")).call().is_ok() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{base}{path} never answered"
        );
        thread::sleep(Duration::from_millis(1));
    }
}

fn start_server(bin: &Path, dir: &Path) -> (Proc, Duration) {
    let port = free_port();
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let started = Instant::now();
    let child = Command::new(bin)
        .env("DATABASE_URL", dir.join("mfa.db"))
        .env("MFA_KEY_FILE", dir.join("mfa.key"))
        .env("MFA_BIND", format!("127.0.0.1:{port}"))
        .env("MFA_RATE_LIMIT_PER_IP", "0")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start mfa-server");
    let base = format!("http://127.0.0.1:{port}");
    let startup = wait_healthy(&base, "/health", started);
    (Proc { child, base }, startup)
}

fn start_reference(bin: &Path, dir: &Path) -> Proc {
    let port = free_port();
    let child = Command::new(bin)
        .arg(dir.join("reference.db"))
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start reference_server");
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base, "/row", Instant::now());
    Proc { child, base }
}

fn post(agent: &ureq::Agent, url: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = agent.post(url);
    if let Some(token) = token {
        req = req.set("Authorization", &format!("Bearer {token}"));
    }
    let response = match req.send_json(body.clone()) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{url}: {e}"),
    };
    let status = response.status();
    (status, response.into_json().unwrap_or(Value::Null))
}

fn now() -> UnixTime {
    UnixTime(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

/// A seeded user with MFA on.
struct Seeded {
    email: String,
    token: String,
    totp: Totp,
    last_step: Mutex<u64>,
    codes: Mutex<Vec<String>>,
}

impl Seeded {
    /// A code newer than the last one accepted, within the window.
    fn next_code(&self) -> String {
        let mut last = self.last_step.lock().unwrap();
        let step = (self.totp.step_at(now())).max(*last + 1);
        *last = step;
        self.totp.code_at_step(step)
    }
}

fn seed(base: &str, users: usize) -> Vec<Seeded> {
    let next = AtomicUsize::new(0);
    let seeded = Mutex::new(Vec::with_capacity(users));
    thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let agent = ureq::agent();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= users {
                        break;
                    }
                    let email = format!("load{i}@example.com");
                    let account = json!({"email": email, "password": PASSWORD, "name": "Load"});
                    post(&agent, &format!("{base}/api/auth/register"), None, &account);
                    let (_, login) =
                        post(&agent, &format!("{base}/api/auth/login"), None, &account);
                    let token = login["token"].as_str().expect("token").to_owned();
                    let (_, setup) = post(
                        &agent,
                        &format!("{base}/api/auth/mfa/setup"),
                        Some(&token),
                        &json!({}),
                    );
                    let secret =
                        TotpSecret::parse_base32(setup["secret"].as_str().unwrap()).unwrap();
                    let totp = Totp::new(&secret, TotpConfig::default());
                    let step = totp.step_at(now());
                    let enable = json!({"verificationCode": totp.code_at_step(step)});
                    let (status, _) = post(
                        &agent,
                        &format!("{base}/api/auth/mfa/enable"),
                        Some(&token),
                        &enable,
                    );
                    assert_eq!(status, 200, "enable");
                    let codes = setup["backup-codes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c.as_str().unwrap().to_owned());
                    seeded.lock().unwrap().push(Seeded {
                        email,
                        token,
                        totp,
                        last_step: Mutex::new(step),
                        codes: Mutex::new(codes.collect()),
                    });
                }
            });
        }
    });
    seeded.into_inner().unwrap()
}

struct Figures {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Figures {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        self.latencies[index].as_secs_f64() * 1000.0
    }

    fn line(&self, name: &str) -> String {
        self.rates().line(name)
    }
}

/// Throughput and latency of one mix, from either client.
struct Rates {
    rps: f64,
    p50: f64,
    p99: f64,
    requests: usize,
    errors: usize,
}

impl Rates {
    fn line(&self, name: &str) -> String {
        format!(
            "{name:<34} {:>9.1} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ({} requests, {} errors)",
            self.rps, self.p50, self.p99, self.requests, self.errors
        )
    }
}

impl Figures {
    fn rates(&self) -> Rates {
        Rates {
            rps: self.rps(),
            p50: self.percentile(0.5),
            p99: self.percentile(0.99),
            requests: self.requests,
            errors: self.errors,
        }
    }
}

fn wrk_installed() -> bool {
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// One wrk run of 32 connections from one thread: a client far lighter than
/// this program's own, so more of the two cores go to the server measured.
fn wrk(url: &str, token: Option<&str>, duration: Duration) -> Rates {
    let mut command = Command::new("wrk");
    command.args([
        "-t1",
        "-c32",
        &format!("-d{}s", duration.as_secs()),
        "--latency",
    ]);
    if let Some(token) = token {
        command.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    let output = command.arg(url).output().expect("wrk runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(|rest| rest.split_whitespace().next().unwrap_or("").to_owned())
    };
    let millis = |value: Option<String>| {
        let value = value.unwrap_or_default();
        if let Some(us) = value.strip_suffix("us") {
            us.parse::<f64>().unwrap_or(f64::NAN) / 1000.0
        } else if let Some(ms) = value.strip_suffix("ms") {
            ms.parse().unwrap_or(f64::NAN)
        } else {
            value
                .trim_end_matches('s')
                .parse::<f64>()
                .unwrap_or(f64::NAN)
                * 1000.0
        }
    };
    let requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok());
    Rates {
        rps: field("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0),
        p50: millis(field("50%")),
        p99: millis(field("99%")),
        requests: requests.unwrap_or(0),
        errors: field("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    }
}

/// Runs `request` from `connections` threads for `duration`, or until a
/// request returns `None` (nothing left to send).
fn drive(
    connections: usize,
    duration: Duration,
    request: impl Fn(&ureq::Agent) -> Option<bool> + Sync,
) -> Figures {
    let latencies = Mutex::new(Vec::new());
    let errors = AtomicUsize::new(0);
    let started = Instant::now();
    thread::scope(|scope| {
        for _ in 0..connections {
            scope.spawn(|| {
                let agent = ureq::agent();
                let mut mine = Vec::new();
                while started.elapsed() < duration {
                    let sent = Instant::now();
                    match request(&agent) {
                        Some(ok) => {
                            mine.push(sent.elapsed());
                            if !ok {
                                errors.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        None => break,
                    }
                }
                latencies.lock().unwrap().extend(mine);
            });
        }
    });
    let elapsed = started.elapsed();
    let mut latencies = latencies.into_inner().unwrap();
    latencies.sort();
    Figures {
        requests: latencies.len(),
        errors: errors.into_inner(),
        elapsed,
        latencies,
    }
}

fn get_ok(agent: &ureq::Agent, url: &str, token: Option<&str>) -> bool {
    let mut req = agent.get(url);
    if let Some(token) = token {
        req = req.set("Authorization", &format!("Bearer {token}"));
    }
    req.call().is_ok_and(|r| r.status() == 200)
}

fn memory(server: &Proc, phase: &str) -> String {
    let mb = |field| server.status_kib(field) as f64 / 1024.0;
    format!(
        "server memory {phase}: RSS {:.1} MB, peak {:.1} MB, {} threads",
        mb("VmRSS:"),
        mb("VmHWM:"),
        server.status_kib("Threads:")
    )
}

fn argon2_verify_secs() -> f64 {
    let hasher = Argon2Hasher::new(Argon2Settings::default()).unwrap();
    let password = Password::parse(PASSWORD).unwrap();
    let phc = hasher.hash(&password).unwrap();
    for _ in 0..5 {
        assert!(hasher.verify(&password, &phc), "warm-up");
    }
    let mut times: Vec<f64> = (0..25)
        .map(|_| {
            let t = Instant::now();
            assert!(hasher.verify(&password, &phc));
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let server_bin = PathBuf::from(args.next().expect("SERVER_BIN"));
    let reference_bin = PathBuf::from(args.next().expect("REFERENCE_BIN"));
    let seconds: u64 = args.next().map_or(8, |s| s.parse().unwrap());
    let users: usize = args.next().map_or(500, |s| s.parse().unwrap());
    let duration = Duration::from_secs(seconds);
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let dir = tempfile::tempdir().unwrap();

    let verify = argon2_verify_secs();
    let ceiling = cores as f64 / verify;
    println!(
        "cores {cores}; one Argon2id verification {:.1} ms; ceiling {ceiling:.1} logins/s",
        verify * 1000.0
    );

    let (server, startup) = start_server(&server_bin, dir.path());
    thread::sleep(Duration::from_secs(1));
    let idle_kib = server.status_kib("VmRSS:");
    println!(
        "target 5: start to /health {:.0} ms (goal <= 300); idle RSS {:.1} MB (goal <= 30)",
        startup.as_secs_f64() * 1000.0,
        idle_kib as f64 / 1024.0
    );

    let seeded_at = Instant::now();
    let seeded = seed(&server.base, users);
    println!(
        "seeded {} users with MFA in {:.1} s",
        seeded.len(),
        seeded_at.elapsed().as_secs_f64()
    );
    println!("{}", memory(&server, "after seeding"));

    // Target 2: the reference and the status mix alternate, twice, with the
    // same client, so drift on a shared machine touches both alike.
    let reference = start_reference(&reference_bin, dir.path());
    let row_url = format!("{}/row", reference.base);
    let status_url = format!("{}/api/auth/mfa/status", server.base);
    let use_wrk = wrk_installed();
    println!(
        "target 2 client: {}",
        if use_wrk {
            "wrk, 1 thread, 32 connections"
        } else {
            "built-in, 32 threads"
        }
    );
    let token = seeded[0].token.clone();
    let (mut reference_rates, mut status_rates) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        let next = AtomicUsize::new(0);
        let (row, status) = if use_wrk {
            (
                wrk(&row_url, None, duration),
                wrk(&status_url, Some(&token), duration),
            )
        } else {
            let row = drive(32, duration, |agent| Some(get_ok(agent, &row_url, None))).rates();
            let status = drive(32, duration, |agent| {
                let user = &seeded[next.fetch_add(1, Ordering::Relaxed) % seeded.len()];
                Some(get_ok(agent, &status_url, Some(&user.token)))
            })
            .rates();
            (row, status)
        };
        println!("{}", row.line("reference: one SQLite row"));
        println!("{}", status.line("GET /api/auth/mfa/status"));
        reference_rates.push(row);
        status_rates.push(status);
    }
    drop(reference);
    println!("{}", memory(&server, "after the status mix"));
    let total = |rates: &[Rates]| rates.iter().map(|r| r.rps).sum::<f64>();
    let worst_p99 = status_rates.iter().map(|r| r.p99).fold(0.0, f64::max);
    println!(
        "target 2: status at {:.0}% of the reference over both rounds (goal >= 60%), \
         worst p99 {:.2} ms (goal < 10)",
        100.0 * total(&status_rates) / total(&reference_rates),
        worst_p99
    );

    let login_url = format!("{}/api/auth/login", server.base);
    let health_url = format!("{}/health", server.base);
    let next = AtomicUsize::new(0);
    let stop_probe = AtomicBool::new(false);
    let (totp_figures, health_figures) = thread::scope(|scope| {
        let probe = scope.spawn(|| {
            let agent = ureq::agent();
            let mut latencies = Vec::new();
            let started = Instant::now();
            while !stop_probe.load(Ordering::Relaxed) {
                let t = Instant::now();
                let ok = get_ok(&agent, &health_url, None);
                latencies.push(t.elapsed());
                assert!(ok, "health failed under load");
                thread::sleep(Duration::from_millis(20));
            }
            latencies.sort();
            Figures {
                requests: latencies.len(),
                errors: 0,
                elapsed: started.elapsed(),
                latencies,
            }
        });
        let logins = drive(64, duration, |agent| {
            let user = seeded.get(next.fetch_add(1, Ordering::Relaxed))?;
            let body =
                json!({"email": user.email, "password": PASSWORD, "mfa-code": user.next_code()});
            Some(post(agent, &login_url, None, &body).0 == 200)
        });
        stop_probe.store(true, Ordering::Relaxed);
        (logins, probe.join().unwrap())
    });
    let peak_kib = server.status_kib("VmHWM:");
    println!("{}", totp_figures.line("login, password + TOTP (64 conn.)"));
    println!("{}", health_figures.line("GET /health during logins"));
    println!(
        "target 3: logins at {:.0}% of the Argon2 ceiling (goal >= 90%); \
         peak RSS {:.1} MB (goal <= 256); /health p99 {:.2} ms (goal < 20)",
        100.0 * totp_figures.rps() / ceiling,
        peak_kib as f64 / 1024.0,
        health_figures.percentile(0.99)
    );

    let next = AtomicUsize::new(0);
    let backup_figures = drive(64, duration, |agent| {
        let user = &seeded[next.fetch_add(1, Ordering::Relaxed) % seeded.len()];
        let code = user.codes.lock().unwrap().pop()?;
        let body = json!({"email": user.email, "password": PASSWORD, "mfa-code": code});
        Some(post(agent, &login_url, None, &body).0 == 200)
    });
    println!("{}", backup_figures.line("login, password + backup code"));
    println!(
        "target 4: a backup-code login costs {:.2}x a TOTP login \
         (goal <= 1.5; by p50 latency {:.2}x)",
        totp_figures.rps() / backup_figures.rps(),
        backup_figures.percentile(0.5) / totp_figures.percentile(0.5)
    );
}
