//! The server key file: mode 0600, one key per line.
//!
//! A new file holds one key as 64 hexadecimal characters (32 bytes); that
//! key has id 1. After a rotation each line is `ID HEX`, with the word
//! `staged` after a key that every instance can read but none uses yet. The
//! current key is the highest id that is not staged; every other key stays
//! readable, so what it sealed, signed or hashed still opens.
//!
//! A missing file is created atomically (written under a temporary name,
//! then hard-linked into place), so two instances starting at once end up
//! with the same key; a rewrite goes through a temporary file renamed into
//! place. A file readable by group or others, or with a malformed key, is
//! refused. No key is ever printed.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use mfa_core::keys::SERVER_KEY_LEN;
use mfa_core::{Keyring, ServerKey};
use zeroize::Zeroizing;

/// Whether the key file was read or created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// Read from an existing file.
    Loaded,
    /// Generated now.
    Created,
}

/// One line of the key file.
struct Entry {
    id: u8,
    key: Zeroizing<[u8; SERVER_KEY_LEN]>,
    staged: bool,
}

/// Reads the keys at `path`, creating a file with one key if none exists.
pub fn load_or_create(path: &Path) -> anyhow::Result<(Keyring, KeyOrigin)> {
    if !path.exists() && create(path)? {
        return Ok((read(path)?, KeyOrigin::Created));
    }
    Ok((read(path)?, KeyOrigin::Loaded))
}

/// Reads an existing key file.
pub fn read(path: &Path) -> anyhow::Result<Keyring> {
    keyring(&read_entries(path)?)
        .with_context(|| format!("the key file {} is not usable", path.display()))
}

fn read_entries(path: &Path) -> anyhow::Result<Vec<Entry>> {
    check_permissions(path)?;
    let text = Zeroizing::new(
        fs::read_to_string(path)
            .with_context(|| format!("cannot read the key file {}", path.display()))?,
    );
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if let [single] = lines.as_slice()
        && !single.contains(' ')
    {
        return Ok(vec![Entry {
            id: 1,
            key: decode_key(single, path)?,
            staged: false,
        }]);
    }
    lines.iter().map(|line| parse_line(line, path)).collect()
}

fn parse_line(line: &str, path: &Path) -> anyhow::Result<Entry> {
    let mut words = line.split_whitespace();
    let (Some(id), Some(hex)) = (words.next(), words.next()) else {
        bail!(
            "the key file {} has a line that is not `ID HEX [staged]`",
            path.display()
        );
    };
    let id: u8 = id.parse().ok().filter(|id| *id > 0).with_context(|| {
        format!(
            "the key file {} has a key id that is not a number from 1 to 255",
            path.display()
        )
    })?;
    let staged = match words.next() {
        None => false,
        Some("staged") if words.next().is_none() => true,
        Some(_) => bail!(
            "the key file {} has a line that is not `ID HEX [staged]`",
            path.display()
        ),
    };
    Ok(Entry {
        id,
        key: decode_key(hex, path)?,
        staged,
    })
}

fn decode_key(hex: &str, path: &Path) -> anyhow::Result<Zeroizing<[u8; SERVER_KEY_LEN]>> {
    if hex.len() != SERVER_KEY_LEN * 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(
            "the key file {} must hold exactly {} hexadecimal characters ({} bytes); \
             it holds {} characters",
            path.display(),
            SERVER_KEY_LEN * 2,
            SERVER_KEY_LEN,
            hex.len()
        );
    }
    let mut bytes = Zeroizing::new([0u8; SERVER_KEY_LEN]);
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        bytes[i] = (nibble(pair[0]) << 4) | nibble(pair[1]);
    }
    Ok(bytes)
}

fn keyring(entries: &[Entry]) -> anyhow::Result<Keyring> {
    let (position, current) = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.staged)
        .max_by_key(|(_, e)| e.id)
        .context("it holds no key in use")?;
    let older = entries
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != position)
        .map(|(_, e)| (e.id, ServerKey::from_bytes(*e.key)))
        .collect();
    Ok(Keyring::new(
        (current.id, ServerKey::from_bytes(*current.key)),
        older,
    )?)
}

fn nibble(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::metadata(path)
        .with_context(|| format!("cannot read the key file {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "the key file {} has mode {mode:03o}; \
             it must be readable by its owner only (chmod 600 {})",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

fn random_key() -> anyhow::Result<Zeroizing<[u8; SERVER_KEY_LEN]>> {
    let mut bytes = Zeroizing::new([0u8; SERVER_KEY_LEN]);
    getrandom::fill(bytes.as_mut_slice())
        .map_err(|e| anyhow::anyhow!("the OS random generator failed: {e}"))?;
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes `text` to a new private file beside `path`, and answers its path.
fn private_temp(path: &Path, text: &str) -> anyhow::Result<PathBuf> {
    let mut suffix = [0u8; 6];
    getrandom::fill(&mut suffix)
        .map_err(|e| anyhow::anyhow!("the OS random generator failed: {e}"))?;
    let temp = path.with_extension(format!("tmp-{}", hex(&suffix).as_str()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temp).with_context(|| {
        format!(
            "cannot create the key file {} (is the directory writable?)",
            path.display()
        )
    })?;
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(e).with_context(|| format!("cannot write the key file {}", path.display()));
    }
    Ok(temp)
}

/// Writes a fresh key; false if another process created the file first.
fn create(path: &Path) -> anyhow::Result<bool> {
    let key = random_key()?;
    let temp = private_temp(path, &format!("{}\n", hex(key.as_slice()).as_str()))?;
    let linked = fs::hard_link(&temp, path);
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot create the key file {}", path.display())),
    }
}

/// Replaces the file with `entries`, atomically.
fn write_entries(path: &Path, entries: &[Entry]) -> anyhow::Result<()> {
    let mut text = Zeroizing::new(String::new());
    for entry in entries {
        let flag = if entry.staged { " staged" } else { "" };
        text.push_str(&format!(
            "{} {}{flag}\n",
            entry.id,
            hex(entry.key.as_slice()).as_str()
        ));
    }
    let temp = private_temp(path, &text)?;
    fs::rename(&temp, path)
        .with_context(|| format!("cannot replace the key file {}", path.display()))
}

fn next_id(entries: &[Entry]) -> anyhow::Result<u8> {
    let highest = entries.iter().map(|e| e.id).max().unwrap_or(0);
    highest
        .checked_add(1)
        .context("the key file already holds key 255; no more ids are left")
}

/// Adds a key that every instance reads once restarted, but none uses yet.
pub fn stage(path: &Path) -> anyhow::Result<u8> {
    let mut entries = read_entries(path)?;
    if let Some(staged) = entries.iter().find(|e| e.staged) {
        bail!(
            "key {} is staged already; run `mfa-server keys rotate` to put it in use",
            staged.id
        );
    }
    let id = next_id(&entries)?;
    entries.push(Entry {
        id,
        key: random_key()?,
        staged: true,
    });
    write_entries(path, &entries)?;
    Ok(id)
}

/// Puts the staged key in use, or a new one when none is staged. Answers
/// the id now current and whether it had been staged.
pub fn promote(path: &Path) -> anyhow::Result<(u8, bool)> {
    let mut entries = read_entries(path)?;
    let (id, was_staged) = match entries.iter_mut().find(|e| e.staged) {
        Some(staged) => {
            staged.staged = false;
            (staged.id, true)
        }
        None => {
            let id = next_id(&entries)?;
            entries.push(Entry {
                id,
                key: random_key()?,
                staged: false,
            });
            (id, false)
        }
    };
    write_entries(path, &entries)?;
    Ok((id, was_staged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_a_private_key_once_and_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mfa.key");
        let (first, origin) = load_or_create(&path).unwrap();
        assert_eq!(origin, KeyOrigin::Created);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read_to_string(&path).unwrap().trim().len(), 64);
        let (second, origin) = load_or_create(&path).unwrap();
        assert_eq!(origin, KeyOrigin::Loaded);
        assert_eq!(
            format!("{:?}", first.token_key()),
            format!("{:?}", second.token_key())
        );
        let claims = mfa_core::SessionClaims {
            session_id: [1; 16],
            expires_at: mfa_core::UnixTime(10),
        };
        let token = first.token_key().sign(&claims);
        assert!(
            second
                .token_key()
                .verify(token.expose(), mfa_core::UnixTime(0))
                .is_ok()
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }

    #[test]
    fn refuses_loose_permissions_and_wrong_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mfa.key");
        fs::write(&path, "ab".repeat(32)).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let error = read(&path).unwrap_err().to_string();
        assert!(
            error.contains("mode 644") && error.contains("chmod 600"),
            "{error}"
        );

        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(read(&path).is_ok());
        fs::write(&path, "ab".repeat(31)).unwrap();
        let error = read(&path).unwrap_err().to_string();
        assert!(
            error.contains("exactly 64 hexadecimal characters"),
            "{error}"
        );
        assert!(!error.contains("abab"), "the key is never shown: {error}");
        fs::write(&path, "zz".repeat(32)).unwrap();
        assert!(read(&path).is_err());
    }

    #[test]
    fn staging_then_promoting_keeps_every_key_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mfa.key");
        let (first, _) = load_or_create(&path).unwrap();
        let claims = mfa_core::SessionClaims {
            session_id: [1; 16],
            expires_at: mfa_core::UnixTime(10),
        };
        let old_token = first.token_key().sign(&claims);

        assert_eq!(stage(&path).unwrap(), 2);
        let staged = read(&path).unwrap();
        assert_eq!(
            (staged.current_id(), staged.ids()),
            (1, vec![1, 2]),
            "a staged key is read, not used"
        );
        assert!(
            fs::read_to_string(&path)
                .unwrap()
                .lines()
                .any(|l| l.starts_with("2 ") && l.ends_with(" staged"))
        );
        assert!(
            stage(&path)
                .unwrap_err()
                .to_string()
                .contains("staged already")
        );

        assert_eq!(promote(&path).unwrap(), (2, true));
        assert_eq!(
            promote(&path).unwrap(),
            (3, false),
            "with nothing staged, a new key is made"
        );
        let ring = read(&path).unwrap();
        assert_eq!(ring.current_id(), 3);
        assert!(
            ring.token_key()
                .verify(old_token.expose(), mfa_core::UnixTime(0))
                .is_ok()
        );
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }

    #[test]
    fn malformed_key_lines_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mfa.key");
        let key = "ab".repeat(32);
        for text in [
            format!("0 {key}"),
            format!("1 {key} later"),
            format!("x {key}"),
            format!("1 {key}\n1 {key}"),
            format!("1 {key} staged"),
        ] {
            fs::write(&path, &text).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            let error = format!("{:#}", read(&path).unwrap_err());
            assert!(!error.contains(&key), "the key is never shown: {error}");
        }
    }
}
