//! Reading a file that holds a secret: a signing key (the log's `log.key`, the witness's
//! `witness.key`, a minisign secret key) or a password file.
//!
//! Such a file must belong to the user running rget (or root) and be writable by no one else, as
//! ssh requires of private keys: whoever can write the key file decides what this host signs with
//! (a log signing with a key the attacker made, a release signed with a key its users do not
//! trust), and whoever can write the password file decides which password unlocks the key. The
//! check is made on the open file, so a file swapped in between is not the one checked. A key is a
//! regular file (a FIFO there would hang the command, and is refused at once); a password may come
//! through a pipe (`--password-file <(pass show rget)`), which only its creator can write.
//!
//! The same rule, for the checkpoint memory, is in `client::state::private`; both ask
//! [`others_can_write`].

use rget_core::escape::io_reason;
use std::fs::{Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The largest note signer key file read (`PRIVATE+KEY+<name>+<hash>+<key>`: about 100 bytes).
pub const MAX_NOTE_KEY_FILE: u64 = 4096;

/// What keeps a file from being one only this user controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Another user (not root) owns it.
    OtherOwner {
        /// The owner's user ID.
        uid: u32,
    },
    /// Its group or anyone may write it (`mode` & 0o022).
    Writable {
        /// The file's permission bits (`st_mode & 0o7777`).
        mode: u32,
    },
}

/// Whether users other than `me` (and root, whom nothing stops anyway) can change the file `m`
/// describes.
pub fn others_can_write(m: &Metadata, me: u32) -> Option<Exposure> {
    if m.uid() != me && m.uid() != 0 {
        return Some(Exposure::OtherOwner { uid: m.uid() });
    }
    let mode = m.mode() & 0o7777;
    (mode & 0o022 != 0).then_some(Exposure::Writable { mode })
}

/// Why a secret could not be read. One line each, naming the file and, where there is one, the fix.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The file could not be inspected, opened or read, or ([`read_text`]) is not UTF-8.
    #[error("{}: {}", path.display(), io_reason(source))]
    Io {
        /// The secret's file.
        path: PathBuf,
        /// The system's error (`InvalidData` for text that is not UTF-8).
        source: io::Error,
    },
    /// The file is not a kind a secret may be (a directory; a FIFO or other special file for a
    /// key), or a user other than this one (or root) can change it.
    #[error("{}: {problem}: {fix}", path.display())]
    NotPrivate {
        /// The secret's file.
        path: PathBuf,
        /// What is wrong: its kind, its owner, or its mode.
        problem: String,
        /// What to do about it (`chmod go-w ...`, `chown ...`).
        fix: String,
    },
    /// The file holds more than `limit` bytes.
    #[error("{}: larger than {limit} bytes, not a {what}", path.display())]
    TooLarge {
        /// The secret's file.
        path: PathBuf,
        /// The most bytes read.
        limit: u64,
        /// What the file should hold (`secret key`, `password file`).
        what: &'static str,
    },
}

impl SecretError {
    /// Whether the file is simply not there (a caller may have a better message for that).
    pub fn is_not_found(&self) -> bool {
        matches!(self, SecretError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

/// What is read: decides which kinds of file are accepted and what the messages call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// A signing key: a regular file.
    Key,
    /// A password: a regular file or a pipe.
    Password,
}

impl Secret {
    fn what(self) -> &'static str {
        match self {
            Secret::Key => "secret key",
            Secret::Password => "password file",
        }
    }
}

/// Reads the secret at `path` (links followed, as ssh does), at most `limit` bytes, after checking
/// on the open file that only this user (or root) can change it.
pub fn read(path: &Path, kind: Secret, limit: u64) -> Result<Vec<u8>, SecretError> {
    let bytes = read_prefix(path, kind, limit.saturating_add(1))?;
    if bytes.len() as u64 > limit {
        return Err(SecretError::TooLarge {
            path: path.to_path_buf(),
            limit,
            what: kind.what(),
        });
    }
    Ok(bytes)
}

/// The first `limit` bytes of the secret at `path` (all of it if shorter), checked as [`read`]
/// checks it: for a password file, whose first line is all that counts.
pub fn read_prefix(path: &Path, kind: Secret, limit: u64) -> Result<Vec<u8>, SecretError> {
    let io = |source| SecretError::Io {
        path: path.to_path_buf(),
        source,
    };
    // First by its path, so that a password FIFO others can write is refused before the open
    // waits for a writer; then again on the open file, which is what is read.
    check(path, &std::fs::metadata(path).map_err(io)?, kind)?;
    let mut options = OpenOptions::new();
    options.read(true);
    if kind == Secret::Key {
        // A FIFO where a key belongs: refused below, not waited on.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(io)?;
    let m = file.metadata().map_err(io)?;
    check(path, &m, kind)?;
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes).map_err(io)?;
    Ok(bytes)
}

fn check(path: &Path, m: &Metadata, kind: Secret) -> Result<(), SecretError> {
    let not_private = |problem: String, fix: String| SecretError::NotPrivate {
        path: path.to_path_buf(),
        problem,
        fix,
    };
    let t = m.file_type();
    let accepted = t.is_file() || (kind == Secret::Password && t.is_fifo());
    if !accepted {
        let is = if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a FIFO"
        } else {
            "not a regular file"
        };
        return Err(not_private(
            format!("is {is}, not a {}", kind.what()),
            "give the file that holds it".to_owned(),
        ));
    }
    let me = rget_fetch::sys::effective_uid();
    match others_can_write(m, me) {
        None => Ok(()),
        Some(Exposure::OtherOwner { uid }) => Err(not_private(
            format!(
                "this {} belongs to uid {uid}, not to the user running rget (uid {me}), who could \
                 replace it",
                kind.what()
            ),
            format!("chown {me} {}", path.display()),
        )),
        Some(Exposure::Writable { mode }) => Err(not_private(
            format!(
                "this {} is writable by other users (mode {mode:04o}), who could replace it",
                kind.what()
            ),
            format!("make it private: chmod go-w {}", path.display()),
        )),
    }
}

/// [`read`] as text: a key or password file is UTF-8.
pub fn read_text(path: &Path, kind: Secret, limit: u64) -> Result<String, SecretError> {
    let bytes = read(path, kind, limit)?;
    String::from_utf8(bytes).map_err(|_| SecretError::Io {
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn keys_others_can_write_are_refused_with_the_fix() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("log.key");
        std::fs::write(&p, b"PRIVATE+KEY+x\n").unwrap();
        for ok in [0o600, 0o400, 0o644] {
            chmod(&p, ok);
            assert_eq!(read(&p, Secret::Key, 100).unwrap(), b"PRIVATE+KEY+x\n");
        }
        for bad in [0o666, 0o620, 0o602, 0o660] {
            chmod(&p, bad);
            let e = read(&p, Secret::Key, 100).unwrap_err().to_string();
            assert!(
                e.contains(&format!("mode {bad:04o}"))
                    && e.contains(&format!("chmod go-w {}", p.display())),
                "{e}"
            );
            assert!(!e.contains('\n'));
        }
        chmod(&p, 0o600);
        assert!(matches!(
            read(&p, Secret::Key, 5),
            Err(SecretError::TooLarge { .. })
        ));
        assert!(
            read(&t.path().join("absent"), Secret::Key, 5)
                .unwrap_err()
                .is_not_found()
        );
        let e = read(t.path(), Secret::Key, 5).unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
    }

    #[test]
    fn a_fifo_is_refused_as_a_key_at_once_and_read_as_a_password() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&p)
                .status()
                .unwrap()
                .success()
        );
        chmod(&p, 0o600);
        let start = std::time::Instant::now();
        let e = read(&p, Secret::Key, 100).unwrap_err().to_string();
        assert!(e.contains("is a FIFO, not a secret key"), "{e}");
        assert!(start.elapsed().as_secs() < 5);
        let writer = {
            let p = p.clone();
            std::thread::spawn(move || std::fs::write(p, b"hunter2\n").unwrap())
        };
        assert_eq!(read(&p, Secret::Password, 100).unwrap(), b"hunter2\n");
        writer.join().unwrap();
        chmod(&p, 0o622);
        let e = read(&p, Secret::Password, 100).unwrap_err().to_string();
        assert!(
            e.contains("password file is writable by other users"),
            "{e}"
        );
    }
}
