//! The server key file: 64 hexadecimal characters (32 bytes), mode 0600.
//!
//! A missing file is created atomically (written under a temporary name,
//! then hard-linked into place), so two instances starting at once end up
//! with the same key. A file readable by group or others, or of the wrong
//! size, is refused. The key itself is never printed.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use mfa_core::ServerKey;
use mfa_core::keys::SERVER_KEY_LEN;

/// Whether the key was read or created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// Read from an existing file.
    Loaded,
    /// Generated now.
    Created,
}

/// Reads the key at `path`, creating it first if it does not exist.
pub fn load_or_create(path: &Path) -> anyhow::Result<(ServerKey, KeyOrigin)> {
    if !path.exists() && create(path)? {
        return Ok((read(path)?, KeyOrigin::Created));
    }
    Ok((read(path)?, KeyOrigin::Loaded))
}

/// Reads an existing key file.
pub fn read(path: &Path) -> anyhow::Result<ServerKey> {
    check_permissions(path)?;
    let text = zeroize::Zeroizing::new(
        fs::read_to_string(path)
            .with_context(|| format!("cannot read the key file {}", path.display()))?,
    );
    let hex = text.trim_end_matches(['\n', '\r']);
    if hex.len() != SERVER_KEY_LEN * 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(
            "the key file {} must hold exactly {} hexadecimal characters ({} bytes); it holds {} characters",
            path.display(),
            SERVER_KEY_LEN * 2,
            SERVER_KEY_LEN,
            hex.len()
        );
    }
    let mut bytes = zeroize::Zeroizing::new([0u8; SERVER_KEY_LEN]);
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        bytes[i] = (nibble(pair[0]) << 4) | nibble(pair[1]);
    }
    Ok(ServerKey::from_bytes(*bytes))
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
            "the key file {} has mode {mode:03o}; it must be readable by its owner only (chmod 600 {})",
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

/// Writes a fresh key; false if another process created the file first.
fn create(path: &Path) -> anyhow::Result<bool> {
    let mut bytes = zeroize::Zeroizing::new([0u8; SERVER_KEY_LEN]);
    getrandom::fill(bytes.as_mut_slice())
        .map_err(|e| anyhow::anyhow!("the OS random generator failed: {e}"))?;
    let hex: zeroize::Zeroizing<String> =
        zeroize::Zeroizing::new(bytes.iter().map(|b| format!("{b:02x}")).collect());

    let mut suffix = [0u8; 6];
    getrandom::fill(&mut suffix)
        .map_err(|e| anyhow::anyhow!("the OS random generator failed: {e}"))?;
    let tag: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    let temp = path.with_extension(format!("tmp-{tag}"));

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
    file.write_all(format!("{}\n", hex.as_str()).as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write the key file {}", path.display()))?;

    let linked = fs::hard_link(&temp, path);
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot create the key file {}", path.display())),
    }
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
}
