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

/// Why a verified binary was not installed (a local I/O failure: exit code 7). The binary at `DEST`
/// is then the old one, whole.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("cannot keep {} as {}: {err}", dest.display(), previous.display())]
    KeepPrevious {
        dest: PathBuf,
        previous: PathBuf,
        err: io::Error,
    },
    #[error("{} exists and is not a regular file", .0.display())]
    NotAFile(PathBuf),
    #[error("cannot inspect {}: {err}", dest.display())]
    Inspect { dest: PathBuf, err: io::Error },
    #[error(transparent)]
    Persist(FetchError),
}

/// Keeps the current `dest` (if any) as `dest.previous`, then moves the verified `staged` file over
/// `dest` (fsync, mode 0755, rename, fsync of the directory). `staged` must have been created in
/// `dest`'s directory, so that the rename is atomic.
pub fn install(staged: Downloaded, dest: &Path) -> Result<(), InstallError> {
    let previous = previous_of(dest);
    match std::fs::symlink_metadata(dest) {
        Ok(m) if m.is_file() => {
            keep_previous(dest, &previous).map_err(|err| InstallError::KeepPrevious {
                dest: dest.to_owned(),
                previous,
                err,
            })?
        }
        Ok(_) => return Err(InstallError::NotAFile(dest.to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(err) => {
            return Err(InstallError::Inspect {
                dest: dest.to_owned(),
                err,
            });
        }
    }
    staged.persist(dest, 0o755).map_err(InstallError::Persist)
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
