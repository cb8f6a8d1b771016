//! Starts the built `mfa-server` as a child process on a free port, with a
//! fresh SQLite file and key file in a temporary directory, and talks to it
//! over HTTP the way any client would. Also computes TOTP codes from the
//! secret the API returns, as an authenticator app does.

use std::fs::OpenOptions;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mfa_core::{Totp, TotpConfig, TotpSecret, UnixTime};
use serde_json::{Value, json};
use tempfile::TempDir;

/// How long a server gets to answer `GET /health` after it was started.
const STARTUP_LIMIT: Duration = Duration::from_secs(10);
/// How long a server gets to exit after SIGTERM.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(10);
/// Ports tried before giving up on starting a server.
const START_ATTEMPTS: usize = 5;

/// The built binary.
pub fn server_bin() -> &'static str {
    env!("CARGO_BIN_EXE_mfa-server")
}

/// The account most tests register.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub email: String,
    pub password: String,
    pub name: String,
}

impl Default for TestUser {
    fn default() -> Self {
        Self {
            email: "ada.lovelace@example.com".to_owned(),
            password: "Analytical-Engine-1843".to_owned(),
            name: "Ada Lovelace".to_owned(),
        }
    }
}

/// A user with MFA on, as [`TestApp::user_with_mfa`] leaves it.
#[derive(Debug)]
pub struct MfaUser {
    pub user: TestUser,
    /// The session opened before MFA was enabled; still valid.
    pub token: String,
    pub secret: String,
    pub backup_codes: Vec<String>,
    pub authenticator: Authenticator,
}

/// An answer of the server, whatever its status.
#[derive(Debug)]
pub struct ApiResponse {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub text: String,
    /// The body parsed as JSON, or `Value::Null` when it is not JSON.
    pub body: Value,
}

impl ApiResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `token` of a successful login.
    pub fn token(&self) -> String {
        self.body["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token in {} {}", self.status, self.text))
            .to_owned()
    }

    /// The `error` sentence of an error answer.
    pub fn error(&self) -> &str {
        self.body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error in {} {}", self.status, self.text))
    }
}

/// A running `mfa-server` and the temporary directory it keeps its state in.
#[derive(Debug)]
pub struct TestApp {
    pub address: String,
    /// Shared by every instance started on the same state; removed with the last.
    dir: Arc<TempDir>,
    /// The file this instance's stdout and stderr go to, inside `dir`.
    log_name: String,
    child: Option<Child>,
    agent: ureq::Agent,
    extra_env: Vec<(String, String)>,
}

/// Starts a server with a fresh database and key file, and no per-address limit.
pub fn spawn_app() -> TestApp {
    spawn_app_with(&[])
}

/// Like [`spawn_app`], with extra environment variables for the server.
pub fn spawn_app_with(extra_env: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let extra_env = extra_env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut app = TestApp {
        address: String::new(),
        dir: Arc::new(dir),
        log_name: "server.log".to_owned(),
        child: None,
        agent: new_agent(),
        extra_env,
    };
    app.start();
    app
}

fn new_agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .redirects(0)
        .build()
}

/// A command for the built binary with a clean environment pointing at
/// the database and key file in `dir`.
pub fn server_command(dir: &Path) -> Command {
    let mut command = Command::new(server_bin());
    command
        .env_clear()
        .current_dir(dir)
        .env("DATABASE_URL", dir.join("mfa.db"))
        .env("MFA_KEY_FILE", dir.join("mfa.key"))
        .env("MFA_RATE_LIMIT_PER_IP", "0")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

/// Runs the binary to completion (killed after 10 s) and returns its output.
pub fn run_cli(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = server_command(dir);
    command
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the server binary starts");
    let deadline = Instant::now() + STARTUP_LIMIT;
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("output");
            panic!(
                "`mfa-server {}` still ran after {STARTUP_LIMIT:?}; stderr: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("local address").port()
}

pub fn now() -> UnixTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    UnixTime(secs)
}

impl TestApp {
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn database_path(&self) -> PathBuf {
        self.dir().join("mfa.db")
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir().join("mfa.key")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir().join(&self.log_name)
    }

    /// A second server process on the same database and key file, as a
    /// second instance behind a load balancer would be.
    pub fn another_instance(&self) -> TestApp {
        let mut other = TestApp {
            address: String::new(),
            dir: Arc::clone(&self.dir),
            log_name: format!("server-{}.log", Arc::strong_count(&self.dir)),
            child: None,
            agent: new_agent(),
            extra_env: self.extra_env.clone(),
        };
        other.start();
        other
    }

    /// Everything the server wrote to stdout and stderr so far, over every start.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn start(&mut self) {
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let started_at = self.log().len();
            let mut child = self.spawn_child(port);
            match wait_until_healthy(&mut child, port, &self.log_path(), started_at) {
                Ok(()) => {
                    self.address = format!("http://127.0.0.1:{port}");
                    self.child = Some(child);
                    return;
                }
                Err(exit) => {
                    let log = self.log();
                    let this_start = log.get(started_at..).unwrap_or(&log);
                    if exit.is_some() && this_start.contains("cannot listen") {
                        continue;
                    }
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("the server did not become healthy (exit: {exit:?}); log:\n{log}");
                }
            }
        }
        panic!(
            "no free port found in {START_ATTEMPTS} attempts; log:\n{}",
            self.log()
        );
    }

    fn spawn_child(&self, port: u16) -> Child {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("the log file opens");
        let stderr = log.try_clone().expect("the log file handle clones");
        server_command(self.dir())
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .envs(self.extra_env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("the server binary starts")
    }

    /// Sends SIGTERM and waits for the server to exit; returns its status.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if !sent {
            let _ = child.kill();
        }
        let deadline = Instant::now() + SHUTDOWN_LIMIT;
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let status = child.wait().expect("wait");
                panic!("the server ignored SIGTERM for {SHUTDOWN_LIMIT:?} ({status})");
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server and starts a new one on the same database and key file.
    pub fn restart(&mut self) {
        let status = self.stop().expect("the server was running");
        assert!(
            status.success(),
            "SIGTERM should end the server cleanly, got {status}"
        );
        self.agent = new_agent();
        self.start();
    }

    /// The server process's id, to send it a signal from another thread.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server is running").id()
    }

    /// Reaps a server killed from outside and starts a new one on the same
    /// database and key file.
    pub fn reap_and_start(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.agent = new_agent();
        self.start();
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    fn request(&self, method: &str, path: &str, token: Option<&str>) -> ureq::Request {
        let request = self.agent.request(method, &self.url(path));
        match token {
            Some(token) => request.set("Authorization", &format!("Bearer {token}")),
            None => request,
        }
    }

    /// Any request without a body.
    pub fn send_empty(&self, method: &str, path: &str, token: Option<&str>) -> ApiResponse {
        into_response(self.request(method, path, token).call())
    }

    /// Any request with a raw body and, if given, a content type.
    pub fn send_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> ApiResponse {
        let mut request = self.request(method, path, token);
        if let Some(content_type) = content_type {
            request = request.set("Content-Type", content_type);
        }
        into_response(request.send_bytes(body))
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> ApiResponse {
        self.send_empty("GET", path, token)
    }

    /// A GET with this exact `Authorization` header.
    pub fn get_with_authorization(&self, path: &str, authorization: &str) -> ApiResponse {
        let request = self
            .request("GET", path, None)
            .set("Authorization", authorization);
        into_response(request.call())
    }

    pub fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> ApiResponse {
        into_response(self.request("POST", path, token).send_json(body))
    }

    /// Like [`Self::post_json`], but `None` when the server does not answer
    /// (as when it was killed mid-request).
    pub fn try_post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Option<ApiResponse> {
        match self.request("POST", path, token).send_json(body) {
            Err(ureq::Error::Transport(_)) => None,
            result => Some(into_response(result)),
        }
    }

    pub fn health(&self) -> ApiResponse {
        self.get("/health", None)
    }

    pub fn openapi(&self) -> ApiResponse {
        self.get("/api/openapi.json", None)
    }

    pub fn register(&self, user: &TestUser) -> ApiResponse {
        let body = json!({"email": user.email, "password": user.password, "name": user.name});
        self.post_json("/api/auth/register", None, &body)
    }

    pub fn login(&self, user: &TestUser, mfa_code: Option<&str>) -> ApiResponse {
        let mut body = json!({"email": user.email, "password": user.password});
        if let Some(code) = mfa_code {
            body["mfa-code"] = json!(code);
        }
        self.post_json("/api/auth/login", None, &body)
    }

    pub fn logout(&self, token: &str) -> ApiResponse {
        self.send_empty("POST", "/api/auth/logout", Some(token))
    }

    pub fn setup(&self, token: &str) -> ApiResponse {
        self.send_empty("POST", "/api/auth/mfa/setup", Some(token))
    }

    pub fn enable(&self, token: &str, body: &Value) -> ApiResponse {
        self.post_json("/api/auth/mfa/enable", Some(token), body)
    }

    pub fn disable(&self, token: &str, body: &Value) -> ApiResponse {
        self.post_json("/api/auth/mfa/disable", Some(token), body)
    }

    pub fn status(&self, token: &str) -> ApiResponse {
        self.get("/api/auth/mfa/status", Some(token))
    }

    pub fn regenerate_backup_codes(&self, token: &str, body: &Value) -> ApiResponse {
        self.post_json("/api/auth/mfa/backup-codes", Some(token), body)
    }

    /// Registers `user` and logs in; MFA stays off. Returns the token.
    pub fn registered_and_logged_in(&self, user: &TestUser) -> String {
        let registered = self.register(user);
        assert_eq!(registered.status, 201, "register: {}", registered.text);
        let login = self.login(user, None);
        assert_eq!(login.status, 200, "login: {}", login.text);
        login.token()
    }

    /// Registers the default user, logs in, sets MFA up and enables it with
    /// the current TOTP code.
    pub fn user_with_mfa(&self) -> MfaUser {
        let user = TestUser::default();
        let token = self.registered_and_logged_in(&user);
        self.enable_mfa_for(user, token)
    }

    /// Sets MFA up and enables it for a user logged in with `token`.
    pub fn enable_mfa_for(&self, user: TestUser, token: String) -> MfaUser {
        let setup = self.setup(&token);
        assert_eq!(setup.status, 200, "setup: {}", setup.text);
        let secret = setup.body["secret"].as_str().expect("a secret").to_owned();
        let backup_codes = strings(&setup.body["backup-codes"]);

        let mut authenticator = Authenticator::new(&secret);
        let code = authenticator.fresh_code();
        let enabled = self.enable(&token, &json!({"verificationCode": code}));
        assert_eq!(enabled.status, 200, "enable: {}", enabled.text);

        MfaUser {
            user,
            token,
            secret,
            backup_codes,
            authenticator,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls until this child has said it listens on `port` and `GET /health`
/// answers 200. Both, because another test's server may have taken the port
/// between [`free_port`] and the child's bind. `Err(Some(status))` when the
/// child exited, `Err(None)` when it ran but never became healthy.
fn wait_until_healthy(
    child: &mut Child,
    port: u16,
    log_path: &Path,
    log_offset: usize,
) -> Result<(), Option<ExitStatus>> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_millis(500))
        .build();
    let url = format!("http://127.0.0.1:{port}/health");
    let address = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + STARTUP_LIMIT;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Err(Some(status));
        }
        let log = read_if_exists(log_path);
        let listening = log
            .get(log_offset..)
            .is_some_and(|ours| contains_bytes(ours, address.as_bytes()));
        if listening && agent.get(&url).call().is_ok_and(|r| r.status() == 200) {
            return Ok(());
        }
        sleep(Duration::from_millis(25));
    }
    Err(None)
}

fn into_response(result: Result<ureq::Response, ureq::Error>) -> ApiResponse {
    let response = match result {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(ureq::Error::Transport(e)) => panic!("transport error: {e}"),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .filter_map(|name| {
            let value = response.header(&name)?.to_owned();
            Some((name.to_ascii_lowercase(), value))
        })
        .collect();
    let text = response.into_string().expect("a UTF-8 body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    ApiResponse {
        status,
        headers,
        text,
        body,
    }
}

/// A JSON array of strings as a `Vec`.
pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

/// Whether `code` has the shape `XXXX-XXXX-XXXX` over the alphabet without
/// look-alikes (no 0, O, 1, I, L).
pub fn is_backup_code(code: &str) -> bool {
    let groups: Vec<&str> = code.split('-').collect();
    groups.len() == 3
        && groups.iter().all(|g| {
            g.len() == 4
                && g.bytes().all(|b| {
                    (b.is_ascii_uppercase() || (b'2'..=b'9').contains(&b)) && !b"OIL".contains(&b)
                })
        })
}

/// Whether `text` is an RFC 3339 date-time.
pub fn parse_rfc3339(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{text:?} is not RFC 3339: {e}"))
}

/// An authenticator app holding one secret. It remembers the newest step it
/// handed out, so that each code it gives is one the server has not yet
/// accepted: the current step's, or the next one's (the server accepts one
/// step ahead) when the current one was used. Two codes per 30 s at most.
#[derive(Debug)]
pub struct Authenticator {
    totp: Totp,
    last_step: Option<u64>,
}

impl Authenticator {
    pub fn new(secret: &str) -> Self {
        let secret = TotpSecret::parse_base32(secret).expect("a base32 secret");
        Self {
            totp: Totp::new(&secret, TotpConfig::default()),
            last_step: None,
        }
    }

    pub fn current_step(&self) -> u64 {
        self.totp.step_at(now())
    }

    pub fn code_at_step(&self, step: u64) -> String {
        self.totp.code_at_step(step)
    }

    /// The step of the last code [`Self::fresh_code`] returned.
    pub fn last_step(&self) -> u64 {
        self.last_step.expect("a code was handed out")
    }

    /// A code of a step newer than every code handed out before.
    pub fn fresh_code(&mut self) -> String {
        let current = self.current_step();
        let step = match self.last_step {
            Some(last) if last >= current => last + 1,
            _ => current,
        };
        assert!(
            step <= current + 1,
            "a test asked for more fresh TOTP codes than one 30 s step allows"
        );
        self.last_step = Some(step);
        self.code_at_step(step)
    }

    /// Six digits that match no step the server could accept now.
    pub fn wrong_code(&self) -> String {
        let current = self.current_step();
        let near: Vec<String> = (current - 2..=current + 2)
            .map(|s| self.code_at_step(s))
            .collect();
        (0..1_000_000u32)
            .map(|n| format!("{:06}", (n * 7919 + 123_457) % 1_000_000))
            .find(|c| !near.contains(c))
            .expect("some six digits are wrong")
    }
}

/// Whether `needle` occurs in `haystack`.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Reads a file, or nothing when it does not exist.
pub fn read_if_exists(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}
