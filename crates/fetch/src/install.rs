//! Atomic installation of a verified rget binary, shared by the bootstrap and `rget self upgrade |
//! rollback`: the binary at `DEST` is replaced by a verified temporary file in the same directory,
//! and the binary it replaces is kept as `DEST.previous`. At every instant `DEST` is either the old
//! or the new complete binary (a `kill -9` or a power cut at any point leaves one of them), and so is
//! `DEST.previous`.

use crate::FetchError;
use crate::download::Downloaded;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// `DEST.previous`: where the replaced binary is kept.
pub fn previous_of(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".previous");
    dest.with_file_name(name)
}

/// Why a verified binary was not installed at `dest` (a local I/O failure: exit code 7). The binary
/// at `dest` is then the old one, whole. The path is kept once, not in each cause: this code is in
/// the bootstrap, whose size is bounded.
#[derive(Debug)]
pub struct InstallError {
    pub dest: PathBuf,
    pub cause: InstallCause,
}

/// What went wrong installing at [`InstallError::dest`].
#[derive(Debug)]
pub enum InstallCause {
    /// The current binary could not be kept as `DEST.previous`.
    KeepPrevious(io::Error),
    /// `DEST` exists and is a directory, a link or a special file.
    NotAFile,
    /// `DEST` could not be inspected.
    Inspect(io::Error),
    /// The verified file could not be moved over `DEST`.
    Persist(FetchError),
}

impl std::fmt::Display for InstallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dest = self.dest.display();
        match &self.cause {
            InstallCause::KeepPrevious(e) => {
                let previous = previous_of(&self.dest);
                write!(f, "cannot keep {dest} as {}: {e}", previous.display())
            }
            InstallCause::NotAFile => write!(f, "{dest} exists and is not a regular file"),
            InstallCause::Inspect(e) => write!(f, "cannot inspect {dest}: {e}"),
            InstallCause::Persist(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for InstallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            InstallCause::KeepPrevious(e) | InstallCause::Inspect(e) => Some(e),
            InstallCause::NotAFile => None,
            InstallCause::Persist(e) => e.source(),
        }
    }
}

/// Keeps the current `dest` (if any) as `dest.previous`, then moves the verified `staged` file over
/// `dest` (fsync, mode 0755, rename, fsync of the directory). `staged` must have been created in
/// `dest`'s directory, so that the rename is atomic.
pub fn install(staged: Downloaded, dest: &Path) -> Result<(), InstallError> {
    let failed = |cause| InstallError {
        dest: dest.to_owned(),
        cause,
    };
    match std::fs::symlink_metadata(dest) {
        Ok(m) if m.is_file() => keep_previous(dest, &previous_of(dest))
            .map_err(|e| failed(InstallCause::KeepPrevious(e)))?,
        Ok(_) => return Err(failed(InstallCause::NotAFile)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(failed(InstallCause::Inspect(e))),
    }
    staged
        .persist(dest, 0o755)
        .map_err(|e| failed(InstallCause::Persist(e)))
}

/// The previous binary is hard-linked to a temporary name and renamed over `previous`, so that name
/// too is always complete; `dest` itself is not touched here.
fn keep_previous(dest: &Path, previous: &Path) -> io::Result<()> {
    let dir = crate::durable::parent_of(dest);
    let tmp = dir.join(format!(".rget.previous-{}.part", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    // A signal while the link exists removes it (it is a second name of the old binary, nothing
    // more, but nothing of an interrupted run may stay).
    let registered = crate::interrupt::Registered::new(&tmp);
    if std::fs::hard_link(dest, &tmp).is_err() {
        // A file system without hard links: a durable copy instead.
        std::fs::copy(dest, &tmp)?;
        File::open(&tmp)?.sync_all()?;
    }
    let r = registered.settle(|| std::fs::rename(&tmp, previous));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r?;
    crate::durable::sync_dir(dir)
}
