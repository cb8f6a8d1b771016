//! The user's guide in `docs/` says what the built binary does: the
//! quickstart's transcript is what `docs/quickstart.sh` prints against a live
//! server, every ```sh block of the operations and troubleshooting pages runs,
//! the configuration tables match `--help` (every sub-command, flag,
//! variable and default), the error messages quoted for a bad key file are
//! the ones the server prints, and every link between the pages resolves.
//!
//! Set `MFA_UPDATE_DOCS=1` to write a changed quickstart transcript back into
//! `docs/quickstart.md` instead of failing.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::helpers::{MfaUser, TestApp, TestUser, run_cli, server_bin, spawn_app};

const TRANSCRIPT_START: &str = "<!-- transcript:start -->";
const TRANSCRIPT_END: &str = "<!-- transcript:end -->";
/// The address the pages show; commands are pointed at the test's server.
const SHOWN_URL: &str = "http://127.0.0.1:3000";
/// How long a documented command may run, and a documented server may take to start.
const COMMAND_LIMIT: Duration = Duration::from_secs(60);

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

fn read_doc(name: &str) -> String {
    let path = docs_dir().join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A fenced block of a Markdown page.
#[derive(Debug)]
struct Block {
    info: String,
    text: String,
    line: usize,
}

fn fenced_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (index, line) in markdown.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_owned(),
                    text: String::new(),
                    line: index + 1,
                });
            }
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some(block), None) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "a fenced block is never closed");
    blocks
}

/// The fenced block between the transcript markers, without its fences.
fn quickstart_transcript(markdown: &str) -> (usize, usize, String) {
    let start = markdown
        .find(TRANSCRIPT_START)
        .expect("quickstart.md has the start marker")
        + TRANSCRIPT_START.len();
    let end = markdown[start..]
        .find(TRANSCRIPT_END)
        .map(|i| start + i)
        .expect("quickstart.md has the end marker");
    let region = markdown[start..end].trim();
    let inner = region
        .strip_prefix("```console\n")
        .and_then(|r| r.strip_suffix("```"))
        .expect("the transcript is one ```console block between the markers");
    (start, end, inner.to_owned())
}

#[test]
fn the_quickstart_transcript_is_what_the_script_prints() {
    // Arrange
    let app = spawn_app();
    let markdown = read_doc("quickstart.md");
    let (start, end, documented) = quickstart_transcript(&markdown);

    // Act
    let output = Command::new("bash")
        .arg(docs_dir().join("quickstart.sh"))
        .current_dir(app.dir())
        .env("BASE_URL", &app.address)
        .env("MFA_SERVER", server_bin())
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");

    // Assert
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "quickstart.sh failed ({}); stderr:\n{}\nstdout:\n{printed}\nserver log:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        app.log()
    );
    if printed != documented && std::env::var_os("MFA_UPDATE_DOCS").is_some() {
        let updated = format!(
            "{}\n```console\n{printed}```\n{}",
            &markdown[..start],
            &markdown[end..]
        );
        fs::write(docs_dir().join("quickstart.md"), updated).expect("quickstart.md is writable");
        return;
    }
    assert_eq!(
        printed, documented,
        "docs/quickstart.md's transcript differs from what docs/quickstart.sh prints \
         (rerun with MFA_UPDATE_DOCS=1 to update it)"
    );
}

/// A database with alice@example.com, MFA on, and the values the pages'
/// commands refer to as shell variables.
struct Fixture {
    app: TestApp,
    bin_dir: tempfile::TempDir,
    mfa: MfaUser,
    token: String,
}

fn fixture() -> Fixture {
    let app = spawn_app();
    let alice = TestUser {
        email: "alice@example.com".to_owned(),
        password: "correct horse battery staple".to_owned(),
        name: "Alice".to_owned(),
    };
    let token = app.registered_and_logged_in(&alice);
    let mfa = app.enable_mfa_for(alice, token);
    let second = app.login(&mfa.user, Some(&mfa.backup_codes[0]));
    assert_eq!(second.status, 200, "{}", second.text);

    let bin_dir = tempfile::tempdir().expect("a temporary directory");
    std::os::unix::fs::symlink(server_bin(), bin_dir.path().join("mfa-server"))
        .expect("a link to the binary");
    Fixture {
        app,
        bin_dir,
        token: second.token(),
        mfa,
    }
}

impl Fixture {
    /// The shell variables a page names; `CODE` is a TOTP code not used
    /// before, drawn only for a page that needs one (two per 30 s at most).
    fn variables(&mut self, page: &str) -> Vec<(&'static str, String)> {
        let mut variables = vec![
            ("TOKEN", self.token.clone()),
            ("PASSWORD", self.mfa.user.password.clone()),
            ("SECRET", self.mfa.secret.clone()),
            ("BACKUP_CODE", self.mfa.backup_codes[1].clone()),
        ];
        if page.contains("$CODE") {
            variables.push(("CODE", self.mfa.authenticator.fresh_code()));
        }
        variables
    }

    /// `bash -c` in the server's directory, with `mfa-server` on the PATH,
    /// the default `mfa.db` and `mfa.key` beside it, and a clean environment.
    fn bash(&self, script: &str, variables: &[(&'static str, String)]) -> Command {
        let path = format!(
            "{}:{}",
            self.bin_dir.path().display(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".to_owned())
        );
        let mut command = Command::new("bash");
        command
            .args(["-c", script])
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.app.dir())
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .envs(variables.iter().map(|(k, v)| (k, v)))
            .current_dir(self.app.dir())
            .stdin(Stdio::null());
        command
    }
}

/// Whether a block starts a server, which runs until it is stopped.
fn starts_a_server(text: &str) -> bool {
    text.lines()
        .any(|l| l.contains("mfa-server serve") && !l.contains("--help"))
}

/// Points every `127.0.0.1:NNNN` and `0.0.0.0:NNNN` at `port` instead.
fn with_port(text: &str, port: u16) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = ["127.0.0.1:", "0.0.0.0:"]
        .iter()
        .filter_map(|host| rest.find(host).map(|i| i + host.len()))
        .min()
    {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        out.push_str(&port.to_string());
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `exec`s the block's one command, so that SIGTERM reaches the server.
fn exec_form(text: &str) -> String {
    let command = text.trim();
    let first = command.split_whitespace().next().unwrap_or_default();
    if first.contains('=') {
        format!("exec env {command}")
    } else {
        format!("exec {command}")
    }
}

fn run_to_completion(mut command: Command) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash starts");
    let deadline = Instant::now() + COMMAND_LIMIT;
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn run_server_block(
    fixture: &Fixture,
    block: &Block,
    page: &str,
    variables: &[(&'static str, String)],
) {
    let port = free_port();
    let text = with_port(&block.text, port);
    let log = fixture
        .app
        .dir()
        .join(format!("docs-{page}-{}.log", block.line));
    let out = fs::File::create(&log).expect("a log file");
    let err = out.try_clone().expect("a second handle");
    let mut child = fixture
        .bash(&exec_form(&text), variables)
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("bash starts");

    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_millis(500))
        .build();
    let health = format!("http://127.0.0.1:{port}/health");
    let deadline = Instant::now() + COMMAND_LIMIT;
    let healthy = loop {
        if agent.get(&health).call().is_ok_and(|r| r.status() == 200) {
            break true;
        }
        if child.try_wait().expect("try_wait").is_some() || Instant::now() > deadline {
            break false;
        }
        sleep(Duration::from_millis(25));
    };
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait");
    let log = fs::read_to_string(&log).unwrap_or_default();
    assert!(
        healthy && status.success(),
        "{page}:{}: the server did not start and stop cleanly ({status}):\n{text}\n{log}",
        block.line
    );
}

fn run_command_block(
    fixture: &Fixture,
    block: &Block,
    page: &str,
    variables: &[(&'static str, String)],
) {
    let text = block.text.replace(SHOWN_URL, &fixture.app.address);
    let output = run_to_completion(fixture.bash(&format!("set -e\n{text}"), variables));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{page}:{}: the commands failed ({}):\n{text}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        block.line,
        output.status
    );
    for refusal in ["\"success?\":false", "\"success\":false"] {
        assert!(
            !stdout.contains(refusal),
            "{page}:{}: the API refused a documented request:\n{text}\n{stdout}",
            block.line
        );
    }
}

#[test]
fn every_sh_block_of_the_operator_pages_runs() {
    // Arrange
    let mut ran = 0;

    for page in ["operations.md", "troubleshooting.md"] {
        // Each page starts from alice with MFA on: both end with a reset.
        let mut fixture = fixture();
        let markdown = read_doc(page);
        let variables = fixture.variables(&markdown);
        for block in fenced_blocks(&markdown)
            .into_iter()
            .filter(|b| b.info == "sh")
        {
            // Act + assert
            if starts_a_server(&block.text) {
                run_server_block(&fixture, &block, page, &variables);
            } else {
                run_command_block(&fixture, &block, page, &variables);
            }
            ran += 1;
        }
    }

    assert!(ran >= 10, "only {ran} ```sh blocks were found");
}

/// A flag as `--help` lists it.
#[derive(Debug)]
struct HelpFlag {
    flag: String,
    env: Option<String>,
    default: Option<String>,
}

fn help_of(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let output = run_cli(dir.path(), args, &[]);
    assert!(output.status.success(), "mfa-server {args:?} failed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn help_flags(help: &str) -> Vec<HelpFlag> {
    let mut flags: Vec<HelpFlag> = Vec::new();
    for line in help.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("--") {
            let name = rest.split_whitespace().next().unwrap_or_default();
            flags.push(HelpFlag {
                flag: format!("--{name}"),
                env: None,
                default: None,
            });
        } else if let Some(last) = flags.last_mut() {
            if let Some(env) = line.strip_prefix("[env: ") {
                let name = env.split(['=', ']']).next().unwrap_or_default();
                last.env = Some(name.to_owned());
            } else if let Some(default) = line.strip_prefix("[default: ") {
                last.default = Some(default.trim_end_matches(']').trim_matches('"').to_owned());
            }
        }
    }
    flags.retain(|f| f.flag != "--help" && f.flag != "--version");
    flags
}

/// The sub-commands a help text lists, but `help`.
fn sub_commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// The help of the binary and of every sub-command, nested ones included,
/// each with the words that name it (`["user", "reset-mfa"]`).
fn every_help() -> Vec<(Vec<String>, String)> {
    let mut helps = Vec::new();
    let mut pending = vec![Vec::new()];
    while let Some(words) = pending.pop() {
        let mut args: Vec<&str> = words.iter().map(String::as_str).collect();
        args.push("--help");
        let help = help_of(&args);
        for command in sub_commands(&help) {
            let mut nested = words.clone();
            nested.push(command);
            pending.push(nested);
        }
        helps.push((words, help));
    }
    helps
}

#[test]
fn the_configuration_tables_match_the_help() {
    // Arrange
    let operations = read_doc("operations.md");
    let rows: Vec<&str> = operations.lines().filter(|l| l.starts_with('|')).collect();
    let helps = every_help();
    for (words, _) in helps.iter().filter(|(w, _)| !w.is_empty()) {
        let command = format!("mfa-server {}", words.join(" "));
        assert!(
            operations.contains(&command),
            "operations.md does not describe `{command}`"
        );
    }
    let flags: Vec<HelpFlag> = helps.iter().flat_map(|(_, h)| help_flags(h)).collect();
    assert!(flags.len() > 15, "the help was read: {flags:?}");

    // Act + assert: every flag of the help is in a table row, with its
    // variable and default.
    for flag in &flags {
        let name = format!("`{}`", flag.flag);
        let row = rows
            .iter()
            .find(|r| r.split('|').any(|cell| cell.trim() == name))
            .unwrap_or_else(|| panic!("no table row in operations.md names {name}"));
        if let Some(env) = &flag.env {
            assert!(
                row.contains(&format!("`{env}`")),
                "{name}: `{env}` missing in {row}"
            );
        }
        if let Some(default) = &flag.default {
            assert!(
                row.contains(&format!("`{default}`")),
                "{name}: default `{default}` missing in {row}"
            );
        }
    }

    // and every flag a table names exists.
    for row in &rows {
        for part in row.split('`').skip(1).step_by(2) {
            if part.starts_with("--") {
                assert!(
                    flags.iter().any(|f| f.flag == part),
                    "operations.md names {part}, which mfa-server does not have"
                );
            }
        }
    }
}

#[test]
fn the_key_file_messages_quoted_in_troubleshooting_are_the_servers() {
    // Arrange
    let page = read_doc("troubleshooting.md");
    let quoted: Vec<String> = page
        .lines()
        .filter(|l| l.starts_with("error: the key file"))
        .map(str::to_owned)
        .collect();
    let cases = [
        ("ab".repeat(32), 0o644),
        ("ab".repeat(32)[1..].to_owned(), 0o600),
    ];

    // Act
    let printed: Vec<String> = cases
        .iter()
        .map(|(key, mode)| {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let path = dir.path().join("mfa.key");
            fs::write(&path, format!("{key}\n")).expect("a key file");
            fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).expect("chmod");
            let output = run_cli(
                dir.path(),
                &["serve", "--bind", "127.0.0.1:0", "--key-file", "mfa.key"],
                &[],
            );
            assert!(!output.status.success(), "a bad key file was accepted");
            String::from_utf8_lossy(&output.stderr).trim().to_owned()
        })
        .collect();

    // Assert
    assert_eq!(quoted, printed, "troubleshooting.md quotes other messages");
}

/// The anchor GitHub gives a heading.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(markdown: &str) -> Vec<String> {
    let mut in_block = false;
    let mut found = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
        } else if !in_block && line.starts_with('#') {
            found.push(anchor(line.trim_start_matches('#')));
        }
    }
    found
}

#[test]
fn every_link_between_the_pages_resolves() {
    let dir = docs_dir();
    let pages: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("docs/ is readable")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    assert!(pages.len() >= 6, "the pages were found: {pages:?}");

    for page in &pages {
        let text = fs::read_to_string(page).expect("a page");
        for (at, _) in text.match_indices("](") {
            let target: String = text[at + 2..].chars().take_while(|c| *c != ')').collect();
            if target.starts_with("http") {
                continue;
            }
            let (file, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let linked = if file.is_empty() {
                page.clone()
            } else {
                dir.join(file)
            };
            let name = page.display();
            assert!(linked.exists(), "{name}: the link ({target}) names no file");
            if !fragment.is_empty() {
                let linked_text = fs::read_to_string(&linked).expect("the linked page");
                assert!(
                    anchors(&linked_text).iter().any(|a| a == fragment),
                    "{name}: the link ({target}) names no heading"
                );
            }
        }
    }
}
