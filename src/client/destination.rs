//! Where `rget get` may write, decided before anything is downloaded, by the kind of file the
//! destination is.
//!
//! The attack this closes: a verified file is moved into place by renaming a temporary file over
//! the destination, and a rename replaces whatever the name held. Run as root with `-o /dev/null`,
//! that turned the system's `/dev/null` into a regular file; a FIFO, a socket, or a symbolic link
//! to any of them went the same way. The rules (README.md, "Downloading verified files"):
//!
//! - absent, or a regular file: replaced atomically (temporary file beside it, renamed over it);
//! - a character device or a FIFO: written through, and only once the whole download verified,
//!   from a private spool file that is not beside it (so nothing is created in `/dev`, and the
//!   reader of a FIFO never sees an unverified byte); the node itself stays what it is;
//! - a directory, a socket or a block device: refused, exit 2 (usage), before any download: the
//!   command names something that is not a place for a file, and only the user can fix that;
//! - a symbolic link: followed to its target, as `curl -o` does, and the same rules apply to the
//!   target (a link to a regular file replaces the target and keeps the link; a link to a device
//!   or FIFO, `/dev/stdout` say, is written through).

use super::error::Class;
use std::fs::File;
use std::path::{Path, PathBuf};

/// How many symbolic links are followed before giving up (Linux's own limit, `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// What writing to a destination means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Absent or a regular file, at this path (links followed): a temporary file beside it is
    /// renamed over it once everything verified.
    Replace(PathBuf),
    /// A character device or a FIFO, at this path (links followed): opened and written to only
    /// once everything verified.
    WriteThrough(PathBuf),
}

impl Destination {
    /// The path written to, symbolic links followed.
    pub fn path(&self) -> &Path {
        match self {
            Destination::Replace(p) | Destination::WriteThrough(p) => p,
        }
    }
}

/// Why a destination cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    /// Not a place for a file: the command line is wrong (exit 2), nothing was downloaded.
    #[error(
        "{}: {why}; rget writes only to a regular file (replaced once verified), a character device or a FIFO (see 'rget get --help')",
        path.display()
    )]
    Refused {
        /// The destination as given, or the link that loops.
        path: PathBuf,
        /// What it is instead (`is a directory`, `is a socket (where the link leads)`, ...).
        why: String,
    },
    /// The destination, or a link on the way to it, could not be inspected, followed or opened
    /// for writing (exit 7).
    #[error("{}: {what}: {err}", path.display())]
    Io {
        /// The path whose inspection, link reading or opening failed.
        path: PathBuf,
        /// The step that failed (`cannot inspect it`, `cannot open it for writing`, ...).
        what: &'static str,
        /// The system's error.
        err: std::io::Error,
    },
    /// A write-through destination, opened once everything verified, is no longer a character
    /// device or a FIFO (exit 7): nothing was written to it.
    #[error(
        "{}: is no longer a character device or FIFO (it changed during the download): nothing was written",
        path.display()
    )]
    Changed {
        /// The write-through path, symbolic links followed.
        path: PathBuf,
    },
}

impl DestinationError {
    /// The exit-code class: usage for a refused destination, local I/O otherwise.
    pub fn class(&self) -> Class {
        match self {
            DestinationError::Refused { .. } => Class::Usage,
            DestinationError::Io { .. } | DestinationError::Changed { .. } => Class::LocalIo,
        }
    }
}

fn refuse(path: &Path, why: impl std::fmt::Display) -> DestinationError {
    DestinationError::Refused {
        path: path.to_owned(),
        why: why.to_string(),
    }
}

fn io(path: &Path, what: &'static str, err: std::io::Error) -> DestinationError {
    DestinationError::Io {
        path: path.to_owned(),
        what,
        err,
    }
}

/// Decides by what `path` finally names, symbolic links followed. Refuses (exit 2) a directory, a
/// socket, a block device and a loop of links; a path that cannot be inspected is a local I/O error
/// (exit 7).
pub fn resolve(path: &Path) -> Result<Destination, DestinationError> {
    use std::os::unix::fs::FileTypeExt;
    let m = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Destination::Replace(path.to_owned()));
        }
        Err(e) => return Err(io(path, "cannot inspect it", e)),
    };
    let (m, via) = if m.file_type().is_symlink() {
        // The kernel follows the links (also /proc's, like /dev/stdout → /proc/self/fd/1 → a
        // pipe, which name no path): it says what is at the end.
        match std::fs::metadata(path) {
            Ok(target) => (target, " (where the link leads)"),
            // A dangling link: its target is a new file.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Destination::Replace(link_target(path)?));
            }
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(refuse(path, "is a loop of symbolic links"));
            }
            Err(e) => return Err(io(path, "cannot follow the link", e)),
        }
    } else {
        (m, "")
    };
    let t = m.file_type();
    if t.is_file() {
        // Replaced by a rename, which acts on a name, not through a link: the target's own name.
        let target = if via.is_empty() {
            path.to_owned()
        } else {
            link_target(path)?
        };
        Ok(Destination::Replace(target))
    } else if t.is_char_device() || t.is_fifo() {
        // Opened through the link, like any `>`: the kind is checked again on the open file.
        Ok(Destination::WriteThrough(path.to_owned()))
    } else if t.is_dir() {
        Err(refuse(path, format!("is a directory{via}")))
    } else if t.is_socket() {
        Err(refuse(path, format!("is a socket{via}")))
    } else if t.is_block_device() {
        Err(refuse(path, format!("is a block device{via}")))
    } else {
        Err(refuse(path, format!("is not a file{via}")))
    }
}

/// The path at the end of a chain of symbolic links starting at `link` (which need not exist
/// there), relative targets taken from each link's directory.
fn link_target(link: &Path) -> Result<PathBuf, DestinationError> {
    let mut p = link.to_owned();
    for _ in 0..=MAX_LINKS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target =
                    std::fs::read_link(&p).map_err(|e| io(&p, "cannot read the link", e))?;
                p = rget_fetch::durable::parent_of(&p).join(target);
            }
            _ => return Ok(p),
        }
    }
    Err(refuse(link, "is a loop of symbolic links"))
}

/// Opens a [`Destination::WriteThrough`] path for writing, once everything verified: without
/// creating or truncating anything, and only if what was opened is still a character device or a
/// FIFO (a regular file put there meanwhile would be written in place, not replaced atomically:
/// refused before a byte is written). Opening a FIFO waits for its reader, as a shell's `>` does.
pub fn open_write_through(path: &Path) -> Result<File, DestinationError> {
    use std::os::unix::fs::FileTypeExt;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| io(path, "cannot open it for writing", e))?;
    let t = f
        .metadata()
        .map_err(|e| io(path, "cannot inspect it", e))?
        .file_type();
    if !(t.is_char_device() || t.is_fifo()) {
        return Err(DestinationError::Changed {
            path: path.to_owned(),
        });
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn fifo(p: &Path) {
        let st = std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap();
        assert!(st.success());
    }

    #[test]
    fn regular_files_and_new_names_are_replaced_links_followed() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let file = d.join("file");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(resolve(&file).unwrap(), Destination::Replace(file.clone()));
        let new = d.join("new");
        assert_eq!(resolve(&new).unwrap(), Destination::Replace(new.clone()));
        // A relative link, a link to a link, and a dangling link: their final target.
        symlink("file", d.join("l1")).unwrap();
        symlink(d.join("l1"), d.join("l2")).unwrap();
        symlink("sub/absent", d.join("dangling")).unwrap();
        assert_eq!(resolve(&d.join("l1")).unwrap().path(), file);
        assert_eq!(resolve(&d.join("l2")).unwrap().path(), file);
        assert_eq!(
            resolve(&d.join("dangling")).unwrap(),
            Destination::Replace(d.join("sub/absent"))
        );
    }

    #[test]
    fn devices_and_fifos_are_written_through_others_refused() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let f = d.join("fifo");
        fifo(&f);
        assert_eq!(resolve(&f).unwrap(), Destination::WriteThrough(f.clone()));
        symlink(&f, d.join("to-fifo")).unwrap();
        assert_eq!(
            resolve(&d.join("to-fifo")).unwrap(),
            Destination::WriteThrough(d.join("to-fifo"))
        );

        let e = resolve(d).unwrap_err();
        assert_eq!(e.class(), Class::Usage);
        assert!(
            e.to_string().contains("is a directory"),
            "{}",
            e.to_string()
        );
        symlink(d, d.join("to-dir")).unwrap();
        let e = resolve(&d.join("to-dir")).unwrap_err();
        assert!(
            e.to_string().contains("is a directory (where the link"),
            "{}",
            e.to_string()
        );
        let sock = d.join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let e = resolve(&sock).unwrap_err();
        assert_eq!(e.class(), Class::Usage);
        assert!(e.to_string().contains("is a socket"), "{}", e.to_string());
        symlink("loop-b", d.join("loop-a")).unwrap();
        symlink("loop-a", d.join("loop-b")).unwrap();
        let e = resolve(&d.join("loop-a")).unwrap_err();
        assert_eq!(e.class(), Class::Usage);
        assert!(
            e.to_string().contains("loop of symbolic links"),
            "{}",
            e.to_string()
        );
    }

    #[test]
    fn write_through_refuses_what_is_no_longer_a_device_or_fifo() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join("file");
        std::fs::write(&file, b"old").unwrap();
        let e = open_write_through(&file).unwrap_err();
        assert_eq!(e.class(), Class::LocalIo);
        assert_eq!(std::fs::read(&file).unwrap(), b"old");
        // Nor through a link to a regular file.
        let link = t.path().join("link");
        symlink(&file, &link).unwrap();
        assert_eq!(
            open_write_through(&link).unwrap_err().class(),
            Class::LocalIo
        );
        assert_eq!(std::fs::read(&file).unwrap(), b"old");
        let f = t.path().join("fifo");
        fifo(&f);
        // The FIFO itself opens once a reader is there, and what is written reaches the reader.
        let reader = {
            let f = f.clone();
            std::thread::spawn(move || std::fs::read(f).unwrap())
        };
        let mut w = open_write_through(&f).unwrap();
        std::io::Write::write_all(&mut w, b"through").unwrap();
        drop(w);
        assert_eq!(reader.join().unwrap(), b"through");
    }
}
