//! Atomic installation of a verified rget binary, shared by the bootstrap and `rget self upgrade |
//! rollback`: the binary at `DEST` is replaced by a verified temporary file in the same directory,
//! and the binary it replaces is kept as `DEST.previous`. At every instant `DEST` is either the old
//! or the new complete binary (a `kill -9` or a power cut at any point leaves one of them), and so is
//! `DEST.previous`.
//!
//! One process at a time: every change to `DEST` and `DEST.previous` is made under [`lock`], an
//! exclusive `flock` on the directory holding them, so two upgrades or rollbacks cannot interleave
//! their renames (the last writer would win, and each would report what it installed, not what is
//! installed). Under that lock, [`clean_up`] takes care of what a killed run left, and a rollback
//! swaps the two binaries in one step ([`swap_back`]), so that neither is ever only in a hidden
//! temporary file.

use crate::FetchError;
use crate::deadline::Deadline;
use crate::download::Downloaded;
use crate::durable::{self, LockWait};
use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Held while one process changes `DEST` and `DEST.previous`: an exclusive `flock` on the directory
/// holding them (flock(2) locks a directory's descriptor as it does a file's), so no lock file is
/// left beside the binary. Released when dropped, or when the process dies.
pub struct InstallLock {
    _dir: File,
}

/// Takes the install lock of `dest`'s directory, waiting while another rget holds it, but not past
/// `deadline` (`None`: as long as it takes). `waiting` is called once, with the directory, before a
/// wait: a run that sits silently behind another one looks hung, so the caller says why it waits.
pub fn lock(
    dest: &Path,
    deadline: Option<&Deadline>,
    waiting: impl FnOnce(&Path),
) -> Result<InstallLock, String> {
    let dir = durable::parent_of(dest);
    let f =
        File::open(dir).map_err(|e| format!("cannot open {} to lock it: {e}", dir.display()))?;
    match f.try_lock() {
        Ok(()) => return Ok(InstallLock { _dir: f }),
        Err(std::fs::TryLockError::WouldBlock) => waiting(dir),
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(format!("cannot lock {}: {e}", dir.display()));
        }
    }
    match durable::lock_within(&f, deadline) {
        Ok(()) => Ok(InstallLock { _dir: f }),
        Err(LockWait::TimedOut) => Err(format!(
            "another rget is upgrading or rolling back the rget in {} (it holds the lock on the directory), and {} ran out while waiting for it",
            dir.display(),
            deadline.map_or_else(|| "the time limit".to_owned(), Deadline::describe)
        )),
        Err(LockWait::Failed(e)) => Err(format!("cannot lock {}: {e}", dir.display())),
    }
}

/// The temporary second name of the binary being kept (`.<name>.previous-<pid>.part`), and whether
/// a file name is one of them (of any process).
fn keep_name(dest: &Path, pid: Option<u32>) -> String {
    let name = dest.file_name().unwrap_or_default().to_string_lossy();
    match pid {
        Some(pid) => format!(".{name}.previous-{pid}.part"),
        None => format!(".{name}.previous-"),
    }
}

/// What [`clean_up`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CleanedUp {
    /// Leftover second names of binaries that are installed anyway, removed.
    pub removed: Vec<PathBuf>,
    /// A binary that a killed run left only under a temporary name, put back as `DEST.previous`.
    pub restored: Option<PathBuf>,
}

/// Takes care of what a killed install or rollback left beside `dest` (its download temporaries are
/// `sweep_abandoned`'s): the second names (`.rget.previous-PID.part`) it links the binary it keeps
/// under. One that is `DEST` or `DEST.previous` under another name, or holds the same bytes, goes. One
/// that holds a third binary while `DEST.previous` is missing or the same as `DEST` is the binary a
/// rollback was moving into `DEST.previous` when it was killed (where the file system cannot swap
/// two names in one step): it is put back there. Only under the install lock, which every writer of
/// these names holds, so no live run's file is touched.
pub fn clean_up(dest: &Path, _lock: &InstallLock) -> CleanedUp {
    let mut done = CleanedUp::default();
    let dir = durable::parent_of(dest);
    let prefix = keep_name(dest, None);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return done;
    };
    let previous = previous_of(dest);
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !(name.starts_with(&prefix) && name.ends_with(".part")) {
            continue;
        }
        let path = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_file()
            && done.restored.is_none()
            && is_lost_binary(&path, dest, &previous)
            && std::fs::rename(&path, &previous).is_ok()
        {
            let _ = durable::sync_dir(dir);
            done.restored = Some(previous.clone());
            continue;
        }
        if std::fs::remove_file(&path).is_ok() {
            done.removed.push(path);
        }
    }
    done
}

/// Whether the leftover `path` holds a binary found nowhere else: neither `dest` nor `previous`
/// holds its bytes, and `previous` is missing or the same as `dest` (so putting it there loses
/// nothing).
fn is_lost_binary(path: &Path, dest: &Path, previous: &Path) -> bool {
    let same = |a: &Path, b: &Path| -> bool {
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) if (x.dev(), x.ino()) == (y.dev(), y.ino()) => true,
            (Ok(x), Ok(y)) if x.len() == y.len() => {
                matches!((std::fs::read(a), std::fs::read(b)), (Ok(p), Ok(q)) if p == q)
            }
            _ => false,
        }
    };
    if same(path, dest) || same(path, previous) {
        return false;
    }
    match std::fs::symlink_metadata(previous) {
        Err(e) => e.kind() == io::ErrorKind::NotFound,
        Ok(m) => m.is_file() && same(previous, dest),
    }
}

/// Refuses a `DEST.previous` that is not a regular file (a FIFO, which would hang whoever opens it,
/// a directory, a device, a link): rget only ever puts a regular file there. Ok(false) if there is
/// none.
pub fn check_previous(dest: &Path) -> Result<bool, String> {
    let previous = previous_of(dest);
    match std::fs::symlink_metadata(&previous) {
        Ok(m) if m.is_file() => Ok(true),
        Ok(m) => Err(format!(
            "{} is {}, not a regular file: rget keeps the previous binary there; remove it (rm {}{}) and run again",
            previous.display(),
            durable::file_kind(m.file_type()),
            if m.is_dir() { "-r " } else { "" },
            previous.display()
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(format!("cannot inspect {}: {e}", previous.display())),
    }
}

/// Rolls back: the verified private copy `staged` of `DEST.previous` replaces it (the same bytes,
/// now exactly the ones verified), then `DEST` and `DEST.previous` are exchanged in one step, so
/// the binary being replaced is kept as `DEST.previous` and at no instant is either binary only
/// under a temporary name. Where the file system cannot exchange two names, [`install`] does it in
/// renames, and a kill between them leaves the kept binary under a second name that the next run's
/// [`clean_up`] puts back.
pub fn swap_back(staged: Downloaded, dest: &Path, _lock: &InstallLock) -> Result<(), String> {
    let previous = previous_of(dest);
    match std::fs::symlink_metadata(dest) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(format!(
                "{} exists and is not a regular file",
                dest.display()
            ));
        }
        Err(e) => return Err(format!("cannot inspect {}: {e}", dest.display())),
    }
    // The private copy is what was verified; in place of the file it was copied from, the bytes
    // at `DEST.previous` are now exactly those.
    staged.persist(&previous, 0o755).map_err(|e| {
        format!(
            "cannot put the verified copy back as {}: {e}",
            previous.display()
        )
    })?;
    match crate::sys::exchange(dest, &previous) {
        Ok(()) => durable::sync_dir(durable::parent_of(dest))
            .map_err(|e| format!("cannot sync {}: {e}", durable::parent_of(dest).display())),
        Err(e) if e.kind() == io::ErrorKind::Unsupported => rotate(dest, &previous),
        Err(e) => Err(format!(
            "cannot swap {} and {}: {e}",
            dest.display(),
            previous.display()
        )),
    }
}

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
    /// The install destination `DEST`, as given.
    pub dest: PathBuf,
    /// The step that failed.
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
    /// `DEST.previous` is not a regular file, or could not be inspected ([`check_previous`]'s
    /// message, which names the file and the fix).
    Previous(String),
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
            InstallCause::Previous(message) => f.write_str(message),
            InstallCause::Persist(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for InstallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            InstallCause::KeepPrevious(e) | InstallCause::Inspect(e) => Some(e),
            InstallCause::NotAFile | InstallCause::Previous(_) => None,
            InstallCause::Persist(e) => e.source(),
        }
    }
}

/// Keeps the current `dest` (if any) as `dest.previous`, then moves the verified `staged` file over
/// `dest` (fsync, mode 0755, rename, fsync of the directory). `staged` must have been created in
/// `dest`'s directory, so that the rename is atomic. Call it under [`lock`].
pub fn install(staged: Downloaded, dest: &Path) -> Result<(), InstallError> {
    let failed = |cause| InstallError {
        dest: dest.to_owned(),
        cause,
    };
    check_previous(dest).map_err(|e| failed(InstallCause::Previous(e)))?;
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

/// [`swap_back`] without an exchange: `DEST` gets a second name, `DEST.previous` is renamed over
/// `DEST`, and the second name becomes `DEST.previous`. Killed between the last two steps, the kept
/// binary is only under its second name until the next run's [`clean_up`] puts it back.
fn rotate(dest: &Path, previous: &Path) -> Result<(), String> {
    let dir = durable::parent_of(dest);
    let keep = dir.join(keep_name(dest, Some(std::process::id())));
    let _ = std::fs::remove_file(&keep);
    // Not registered for removal on a signal, unlike `keep_previous`'s: for a moment it is the only
    // name of the kept binary.
    let r = std::fs::hard_link(dest, &keep)
        .and_then(|()| std::fs::rename(previous, dest))
        .and_then(|()| std::fs::rename(&keep, previous))
        .and_then(|()| durable::sync_dir(dir));
    r.map_err(|e| {
        format!(
            "cannot swap {} and {}: {e}",
            dest.display(),
            previous.display()
        )
    })
}

/// The previous binary is hard-linked to a temporary name and renamed over `previous`, so that name
/// too is always complete; `dest` itself is not touched here.
fn keep_previous(dest: &Path, previous: &Path) -> io::Result<()> {
    let dir = crate::durable::parent_of(dest);
    let tmp = dir.join(keep_name(dest, Some(std::process::id())));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn staged(dir: &Path, bytes: &[u8]) -> Downloaded {
        Downloaded::stage_copy(&mut &bytes[..], &dir.join("rget"), 1 << 20).unwrap()
    }

    fn hidden(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_rollback_swaps_the_two_binaries_and_keeps_both() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("rget");
        fs::write(&dest, b"new").unwrap();
        fs::write(previous_of(&dest), b"old").unwrap();
        let lock = lock(&dest, None, |_| {}).unwrap();
        swap_back(staged(t.path(), b"old"), &dest, &lock).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"old");
        assert_eq!(fs::read(previous_of(&dest)).unwrap(), b"new");
        assert_eq!(hidden(t.path()), Vec::<String>::new());
        // The fallback in renames gives the same.
        rotate(&dest, &previous_of(&dest)).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"new");
        assert_eq!(fs::read(previous_of(&dest)).unwrap(), b"old");
        assert_eq!(hidden(t.path()), Vec::<String>::new());
    }

    #[test]
    fn leftovers_go_and_a_binary_left_only_under_a_second_name_comes_back() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("rget");
        let keep = |pid: u32| t.path().join(keep_name(&dest, Some(pid)));
        fs::write(&dest, b"current").unwrap();
        fs::write(previous_of(&dest), b"older").unwrap();
        // A killed install's second name of the installed binary: removed.
        fs::hard_link(&dest, keep(7)).unwrap();
        let lock = lock(&dest, None, |_| {}).unwrap();
        let done = clean_up(&dest, &lock);
        assert_eq!(done.removed, vec![keep(7)]);
        assert_eq!(done.restored, None);
        // A rollback killed in its renames: rget.previous gone (or the same as rget), the other
        // binary only under the second name. It is put back.
        fs::remove_file(previous_of(&dest)).unwrap();
        fs::write(keep(8), b"newer").unwrap();
        let done = clean_up(&dest, &lock);
        assert_eq!(done.restored, Some(previous_of(&dest)));
        assert_eq!(fs::read(previous_of(&dest)).unwrap(), b"newer");
        fs::write(previous_of(&dest), b"current").unwrap();
        fs::write(keep(9), b"newest").unwrap();
        assert!(clean_up(&dest, &lock).restored.is_some());
        assert_eq!(fs::read(previous_of(&dest)).unwrap(), b"newest");
        // A third binary while both names hold others: it was never theirs to keep; removed.
        fs::write(keep(10), b"stray").unwrap();
        let done = clean_up(&dest, &lock);
        assert_eq!((done.removed.len(), done.restored), (1, None));
        assert_eq!(hidden(t.path()), Vec::<String>::new());
        assert_eq!(fs::read(&dest).unwrap(), b"current");
    }

    #[test]
    fn special_files_at_previous_are_refused_by_name_and_the_lock_is_exclusive() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("rget");
        fs::write(&dest, b"current").unwrap();
        assert_eq!(check_previous(&dest), Ok(false));
        fs::create_dir(previous_of(&dest)).unwrap();
        let e = check_previous(&dest).unwrap_err();
        assert!(
            e.contains("rget.previous is a directory") && e.contains("rm -r"),
            "{e}"
        );
        let e = install(staged(t.path(), b"next"), &dest).unwrap_err();
        assert!(
            e.to_string().contains("rget.previous is a directory"),
            "{e}"
        );
        assert_eq!(fs::read(&dest).unwrap(), b"current");
        fs::remove_dir(previous_of(&dest)).unwrap();
        std::os::unix::fs::symlink("rget", previous_of(&dest)).unwrap();
        assert!(
            check_previous(&dest)
                .unwrap_err()
                .contains("a symbolic link")
        );
        fs::remove_file(previous_of(&dest)).unwrap();

        let held = lock(&dest, None, |_| panic!("a free lock was waited for")).unwrap();
        let d = Deadline::after(std::time::Duration::from_millis(100));
        let mut told = None;
        let e = lock(&dest, Some(&d), |dir| told = Some(dir.to_path_buf()))
            .err()
            .unwrap();
        assert!(
            e.contains("another rget is upgrading or rolling back") && e.contains("--max-time"),
            "{e}"
        );
        assert_eq!(told.as_deref(), dest.parent(), "the wait was not announced");
        drop(held);
        lock(&dest, Some(&d), |_| panic!("a free lock was waited for")).unwrap();
    }
}
