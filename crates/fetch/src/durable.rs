//! Every durable, atomic file write of rget and every lock it takes on a file: the log, the witness,
//! the client's checkpoint memory, key files, release files, the proofs `rget submit` writes,
//! `rget sums -o`, and the temporary files of downloads.
//!
//! Writes follow one pattern: write a temporary file beside the target, fsync it, rename it over the
//! target, fsync the directory ([`write_atomic`], [`write_atomic_all`]; [`write_many`] for a batch,
//! with two file-system-wide barriers). A reader sees the old content or the new, never a mix, and
//! after a crash the file is one or the other. Temporary names carry a `.tmp-` marker so that a
//! process that holds the directory's lock can sweep what a killed one left behind
//! ([`sweep_temporaries`]).
//!
//! Locks are `flock(2)` locks, released when their file is closed (so also when a process dies):
//! a directory's lock file makes one process its only writer ([`lock_exclusive`], without waiting:
//! a log's sequencer, a witness; [`lock_within`], waiting until a deadline: the client's memory of
//! a log; [`lock_file_within`], the same for a lock file beside a file that is replaced by rename:
//! the publisher keys file). A download's temporary file is locked by its writer for its whole life instead
//! ([`lock_if_still_named`]), so that [`sweep_unlocked`] removes exactly the ones no live process is
//! writing, without any directory lock.

use crate::deadline::Deadline;
use std::collections::BTreeSet;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The marker in every temporary file name.
pub const TMP_MARK: &str = ".tmp-";

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// `.<name>.tmp-<pid>-<n>` beside `path`: unique across processes and threads, so `create_new` never
/// collides.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}{TMP_MARK}{}-{n}", std::process::id()))
}

/// Whether a file name is one of our temporaries.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(TMP_MARK)
}

/// The directory holding `path`; a bare relative name (whose parent is the empty path) is in the
/// current directory.
pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// fsync a directory, so that renames and new entries in it survive a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` and its missing parents with `mode`, fsyncing the parent of every directory it
/// creates so that the new entries are durable too.
pub fn create_dirs(dir: &Path, mode: u32) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut d = dir;
    while !d.as_os_str().is_empty() && !d.exists() {
        missing.push(d.to_path_buf());
        match d.parent() {
            Some(p) => d = p,
            None => break,
        }
    }
    for m in missing.iter().rev() {
        match DirBuilder::new().mode(mode).create(m) {
            Ok(()) => {}
            // Another process made it between our check and now: fine.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
        sync_dir(parent_of(m))?;
    }
    Ok(())
}

/// Writes `bytes` to a new temporary file beside `path` (not yet durable).
fn write_temp(path: &Path, bytes: &[u8], mode: u32) -> io::Result<(PathBuf, File)> {
    let tmp = temp_path(path);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    if let Err(e) = f.write_all(bytes) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok((tmp, f))
}

/// Writes one file atomically and durably: temporary file in the same directory, fsync, rename,
/// fsync of the directory. On error no temporary file is left.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    write_atomic_all(&[(path, bytes, mode)])
}

/// Writes several files that belong together (a key pair, a `SHA256SUMS` with its signature and
/// proof) as nearly all-or-nothing as POSIX allows: every temporary is written and fsynced before
/// the first rename, so a failure while writing (disk full, permissions) leaves every target as it
/// was and no temporary behind; the renames follow back to back, then each directory is fsynced.
pub fn write_atomic_all(files: &[(&Path, &[u8], u32)]) -> io::Result<()> {
    let mut staged = Staged::default();
    for (path, bytes, mode) in files {
        staged.add(path, bytes, *mode)?;
    }
    staged.commit()
}

/// Files staged in temporaries beside their targets, each written and fsynced, and renamed into
/// place only by [`Staged::commit`]: [`write_atomic_all`] in two steps, so that a command can make
/// every write it will make before a step it cannot take back (`rget release` logs the list only
/// once its signature, the list and a place for the proof are on disk beside their targets). A
/// file whose bytes come later is staged with what is known and [`Staged::rewrite`]n. Dropped
/// without a commit, it removes its temporaries and leaves every target as it was.
#[derive(Default)]
pub struct Staged {
    files: Vec<(PathBuf, PathBuf, u32)>,
    committed: bool,
}

impl Staged {
    /// Stages `bytes` for `path`. A target that exists must be a regular file (links are not
    /// followed): a directory or a special file there could not be replaced by the rename, and
    /// finding that out only at [`Staged::commit`] would be too late.
    pub fn add(&mut self, path: &Path, bytes: &[u8], mode: u32) -> io::Result<usize> {
        match fs::symlink_metadata(path) {
            Ok(m) if !m.is_file() => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} is {}, not a regular file it could replace",
                        path.display(),
                        file_kind(m.file_type())
                    ),
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let tmp = durable_temp(path, bytes, mode)?;
        self.files.push((path.to_path_buf(), tmp, mode));
        Ok(self.files.len() - 1)
    }

    /// Replaces the bytes staged as file `index` (durably, still under its temporary name).
    pub fn rewrite(&mut self, index: usize, bytes: &[u8]) -> io::Result<()> {
        let (path, tmp, mode) = self
            .files
            .get_mut(index)
            .ok_or_else(|| io::Error::other("no such staged file"))?;
        let new = durable_temp(path, bytes, *mode)?;
        let old = std::mem::replace(tmp, new);
        let _ = fs::remove_file(old);
        Ok(())
    }

    /// Renames every staged file into place, in the order they were added, then fsyncs their
    /// directories. A failed rename removes the temporaries not yet renamed.
    pub fn commit(mut self) -> io::Result<()> {
        self.committed = true;
        for (i, (path, tmp, _)) in self.files.iter().enumerate() {
            if let Err(e) = fs::rename(tmp, path) {
                let rest: Vec<PathBuf> = self
                    .files
                    .iter()
                    .skip(i)
                    .map(|(_, t, _)| t.clone())
                    .collect();
                remove_all(&rest);
                return Err(e);
            }
        }
        for (path, _, _) in &self.files {
            sync_dir(parent_of(path))?;
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let temps: Vec<PathBuf> = self.files.iter().map(|(_, t, _)| t.clone()).collect();
            remove_all(&temps);
        }
    }
}

/// A file type in words, for the messages that refuse a file which is not a regular one (a
/// destination, a kept binary, a `SHA256SUMS` to read): all character and block devices are "a
/// device".
pub fn file_kind(t: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "a special file"
    }
}

/// A fsynced temporary beside `path` holding `bytes`; none is left on error.
fn durable_temp(path: &Path, bytes: &[u8], mode: u32) -> io::Result<PathBuf> {
    create_dirs(parent_of(path), 0o755)?;
    let (tmp, f) = write_temp(path, bytes, mode)?;
    if let Err(e) = f.sync_data() {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(tmp)
}

/// Best-effort cleanup of temporaries after a failure; the failure itself is what gets reported.
fn remove_all(temps: &[PathBuf]) {
    for t in temps {
        let _ = fs::remove_file(t);
    }
}

/// Writes several files so that, when this returns, all of them are durable under their final names,
/// with two file-system-wide barriers instead of one fsync per file and per directory: every file is
/// written to a temporary name, `syncfs` makes their data durable, all are renamed, and a second
/// `syncfs` makes the renames durable. A name never points at bytes that are not on disk, and a crash
/// leaves either the old files or the new ones (plus temporaries, swept on the next open).
///
/// `syncfs` flushes the whole file system the files live on; that is the right trade for a log that
/// owns its volume and writes a handful of small files per batch (see BENCHMARKS.md).
pub fn write_many(files: &[(PathBuf, Vec<u8>)], mode: u32) -> io::Result<()> {
    let mut dirs = BTreeSet::new();
    let mut temps = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        let parent = parent_of(path);
        if dirs.insert(parent.to_path_buf()) {
            create_dirs(parent, 0o755)?;
        }
        match write_temp(path, bytes, mode) {
            Ok((t, _)) => temps.push((t, path)),
            Err(e) => {
                for (t, _) in temps {
                    let _ = fs::remove_file(t);
                }
                return Err(e);
            }
        }
    }
    let Some((first, _)) = temps.first() else {
        return Ok(());
    };
    let anchor = File::open(parent_of(first))?;
    crate::sys::sync_file_system(&anchor)?;
    for (tmp, path) in &temps {
        fs::rename(tmp, path)?;
    }
    crate::sys::sync_file_system(&anchor)
}

/// Removes temporary files a killed process left in `dir` (and below it, if `recursive`). Call it
/// only while holding the lock that every writer of `dir` takes, so no live writer's file goes.
pub fn sweep_temporaries(dir: &Path, recursive: bool) -> io::Result<usize> {
    let mut removed = 0;
    let Ok(rd) = fs::read_dir(dir) else {
        return Ok(0);
    };
    for e in rd {
        let e = e?;
        let ft = e.file_type()?;
        if ft.is_dir() {
            if recursive {
                removed += sweep_temporaries(&e.path(), true)?;
            }
        } else if is_temporary(&e.file_name().to_string_lossy()) {
            fs::remove_file(e.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Takes the exclusive lock of the lock file `path` (created with mode 0600 if missing) without
/// waiting: the lock that makes this process the only writer of a directory (two sequencers on one
/// log could sign two different trees of the same size; two witness processes could cosign two
/// histories). Held until the returned file is dropped; another holder is a `WouldBlock` error that
/// says so.
pub fn lock_exclusive(path: &Path) -> io::Result<File> {
    let f = open_lock_file(path)?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(fs::TryLockError::WouldBlock) => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            format!("{} is locked by another rget process", path.display()),
        )),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Opens the lock file `path` for locking, creating it with mode 0600 if missing. Opened without
/// following a symbolic link and without blocking (a FIFO planted there would otherwise hang the
/// open for ever), and refused unless it is a regular file: locks are only taken on files rget
/// made for the purpose.
pub fn open_lock_file(path: &Path) -> io::Result<File> {
    // Callers name the path; the error says what is wrong with it.
    let not_regular = |t: fs::FileType| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file ({})", file_kind(t)),
        )
    };
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            // A link (ELOOP), a FIFO without a reader (ENXIO): say what is there, not the errno.
            match fs::symlink_metadata(path) {
                Ok(m) if !m.is_file() => not_regular(m.file_type()),
                _ => e,
            }
        })?;
    let t = f.metadata()?.file_type();
    if !t.is_file() {
        return Err(not_regular(t));
    }
    Ok(f)
}

/// Why [`lock_within`] holds no lock.
#[derive(Debug)]
pub enum LockWait {
    /// Another process held the lock until the deadline.
    TimedOut,
    /// The lock could not be taken at all.
    Failed(io::Error),
}

/// Takes the exclusive lock of the open lock file `file`, waiting while other processes hold it,
/// but not past `deadline` (`None`: as long as it takes). Released when `file` is dropped.
pub fn lock_within(file: &File, deadline: Option<&Deadline>) -> Result<(), LockWait> {
    let Some(deadline) = deadline else {
        return file.lock().map_err(LockWait::Failed);
    };
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(e)) => return Err(LockWait::Failed(e)),
        }
        let left = deadline.remaining();
        if left.is_zero() {
            return Err(LockWait::TimedOut);
        }
        std::thread::sleep(left.min(std::time::Duration::from_millis(50)));
    }
}

/// Takes the exclusive lock of the lock file `path` ([`open_lock_file`]), waiting while other
/// processes hold it, but not past `deadline` ([`lock_within`]). `waiting` is called once, before a
/// wait, so that the caller can say why it waits. Held until the returned file is dropped.
pub fn lock_file_within(
    path: &Path,
    deadline: &Deadline,
    waiting: impl FnOnce(),
) -> Result<File, LockWait> {
    let f = open_lock_file(path).map_err(LockWait::Failed)?;
    match f.try_lock() {
        Ok(()) => return Ok(f),
        Err(fs::TryLockError::WouldBlock) => waiting(),
        Err(fs::TryLockError::Error(e)) => return Err(LockWait::Failed(e)),
    }
    lock_within(&f, Some(deadline))?;
    Ok(f)
}

/// Takes the exclusive lock of a temporary file its creator just made, without waiting, and checks
/// that `path` still names it. False if another process holds the lock or the path now leads
/// elsewhere (or nowhere): a sweep took the unlocked new file for a dead run's, and the creator
/// should try another name. A file system without `flock` gives no lock to anyone: the writer goes
/// on unlocked, and sweeps there remove nothing (they cannot take the lock either).
pub fn lock_if_still_named(file: &File, path: &Path) -> bool {
    match file.try_lock() {
        Ok(()) | Err(fs::TryLockError::Error(_)) => same_file(file, path),
        Err(fs::TryLockError::WouldBlock) => false,
    }
}

/// Whether `path` (not followed if a symbolic link) is the open `file`.
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Removes the files of `dir` whose names `is_candidate` accepts and that no live process is
/// writing: each writer holds its file's lock for the file's whole life ([`lock_if_still_named`]),
/// so a file whose lock can be taken has no writer (a `kill -9`, a crash or a power cut skipped its
/// cleanup). Only regular files are considered, opened without following links or blocking.
/// Returns how many were removed; errors are ignored (this is housekeeping, not a check).
pub fn sweep_unlocked(dir: &Path, is_candidate: impl Fn(&str) -> bool) -> usize {
    let Ok(rd) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in rd.flatten() {
        if !is_candidate(&e.file_name().to_string_lossy()) {
            continue;
        }
        let path = e.path();
        let Ok(f) = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
        else {
            continue;
        };
        let regular = f.metadata().is_ok_and(|m| m.is_file());
        // While this lock is held, no new writer can be using the file: a writer that created it
        // after our listing fails to take the lock and moves to another name. Check again that the
        // name is this file, then remove it; the lock goes with `f`.
        if regular && f.try_lock().is_ok() && same_file(&f, &path) && fs::remove_file(&path).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn atomic_writes_modes_and_sweeping() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("a/b/file");
        write_atomic(&p, b"one", 0o600).unwrap();
        write_atomic(&p, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            sweep_temporaries(t.path(), true).unwrap(),
            0,
            "no temporary left"
        );
        fs::write(t.path().join("a/.x.tmp-1-2"), b"junk").unwrap();
        fs::write(t.path().join(".y.tmp-1-3"), b"junk").unwrap();
        assert_eq!(sweep_temporaries(t.path(), false).unwrap(), 1);
        assert_eq!(sweep_temporaries(t.path(), true).unwrap(), 1);
        create_dirs(&t.path().join("private/x"), 0o700).unwrap();
        assert_eq!(
            fs::metadata(t.path().join("private"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        assert_eq!(parent_of(Path::new("lt")), Path::new("."));
        let (a, b) = (t.path().join("g/a"), t.path().join("g/b"));
        write_atomic_all(&[(&a, b"A", 0o644), (&b, b"B", 0o600)]).unwrap();
        assert_eq!(
            (fs::read(&a).unwrap(), fs::read(&b).unwrap()),
            (b"A".to_vec(), b"B".to_vec())
        );
        // The second target cannot be written (its parent is a file): the first stays as it was.
        let bad = t.path().join("g/a/x");
        assert!(write_atomic_all(&[(&b, b"new", 0o600), (&bad, b"x", 0o644)]).is_err());
        assert_eq!(fs::read(&b).unwrap(), b"B");
        assert_eq!(
            sweep_temporaries(t.path(), true).unwrap(),
            0,
            "no temporary left"
        );
        assert_eq!(parent_of(Path::new("a/b")), Path::new("a"));
    }

    #[test]
    fn staged_files_are_checked_before_and_renamed_only_on_commit() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        fs::write(&a, b"old").unwrap();
        let mut s = Staged::default();
        s.add(&a, b"new a", 0o644).unwrap();
        let later = s.add(&b, b"", 0o644).unwrap();
        assert_eq!(
            fs::read(&a).unwrap(),
            b"old",
            "nothing renamed before commit"
        );
        assert!(!b.exists());
        s.rewrite(later, b"known later").unwrap();
        s.commit().unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"new a");
        assert_eq!(fs::read(&b).unwrap(), b"known later");
        // A directory where a file goes is refused at once; dropping leaves nothing behind.
        fs::create_dir(t.path().join("d")).unwrap();
        let mut s = Staged::default();
        s.add(&a, b"x", 0o644).unwrap();
        let e = s.add(&t.path().join("d"), b"x", 0o644).unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        drop(s);
        assert_eq!(fs::read(&a).unwrap(), b"new a");
        assert_eq!(sweep_temporaries(t.path(), true).unwrap(), 0);
    }

    #[test]
    fn write_many_is_complete_and_leaves_no_temporaries() {
        let t = tempfile::tempdir().unwrap();
        let files: Vec<(PathBuf, Vec<u8>)> = (0..5)
            .map(|i| (t.path().join(format!("a/b{i}/f{i}")), vec![i as u8; 100]))
            .collect();
        write_many(&files, 0o644).unwrap();
        for (p, b) in &files {
            assert_eq!(&fs::read(p).unwrap(), b);
        }
        write_many(&[], 0o644).unwrap();
        assert_eq!(sweep_temporaries(t.path(), true).unwrap(), 0);
        // A target that cannot be written (its parent is a file): nothing renamed, nothing left.
        let bad = vec![
            (t.path().join("a/b1/f1"), b"new".to_vec()),
            (t.path().join("a/b0/f0/x"), b"x".to_vec()),
        ];
        assert!(write_many(&bad, 0o644).is_err());
        assert_eq!(fs::read(&files[1].0).unwrap(), files[1].1);
        assert_eq!(sweep_temporaries(t.path(), true).unwrap(), 0);
    }

    #[test]
    fn a_directory_lock_is_exclusive_and_says_who_holds_it() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("lock");
        let held = lock_exclusive(&path).unwrap();
        let e = lock_exclusive(&path).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        assert!(
            e.to_string().contains("is locked by another rget process"),
            "{e}"
        );
        // A waiter with a deadline gives up at the deadline, not before and not much after.
        let other = File::open(&path).unwrap();
        let start = std::time::Instant::now();
        let d = Deadline::after(std::time::Duration::from_millis(200));
        assert!(matches!(
            lock_within(&other, Some(&d)),
            Err(LockWait::TimedOut)
        ));
        let waited = start.elapsed();
        assert!(
            waited >= std::time::Duration::from_millis(200) && waited.as_secs() < 5,
            "{waited:?}"
        );
        drop(held);
        lock_within(&other, Some(&d)).unwrap_or_else(|e| panic!("free lock refused: {e:?}"));
        assert!(lock_exclusive(&path).is_err(), "the waiter holds it now");
        drop(other);
        lock_within(&lock_exclusive(&path).unwrap(), None).unwrap();
    }

    #[test]
    fn a_lock_file_is_a_regular_file_and_its_waiter_says_it_waits() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("keys.lock");
        let d = Deadline::after(std::time::Duration::from_millis(200));
        let mut waited = false;
        let held = lock_file_within(&path, &d, || waited = true).unwrap();
        assert!(!waited, "a free lock is taken without waiting");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Held (by another open file description, as by another process): the waiter is told,
        // then gives up at the deadline.
        let mut told = false;
        let e = lock_file_within(&path, &d, || told = true).unwrap_err();
        assert!(told && matches!(e, LockWait::TimedOut), "{e:?}");
        drop(held);
        let d = Deadline::after(std::time::Duration::from_secs(5));
        drop(lock_file_within(&path, &d, || panic!("free")).unwrap());
        // What is not a regular file is named, and never opened through (a link) or waited on (a
        // FIFO would hang a blocking open).
        let link = t.path().join("link.lock");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let dir = t.path().join("dir.lock");
        fs::create_dir(&dir).unwrap();
        for (p, kind) in [(&link, "a symbolic link"), (&dir, "a directory")] {
            let e = open_lock_file(p).unwrap_err();
            assert_eq!(e.to_string(), format!("not a regular file ({kind})"));
            let e = lock_file_within(p, &d, || panic!("no wait")).unwrap_err();
            assert!(matches!(e, LockWait::Failed(_)), "{e:?}");
        }
        assert!(lock_exclusive(&link).is_err());
    }

    #[test]
    fn sweeps_take_only_unlocked_candidates() {
        let t = tempfile::tempdir().unwrap();
        let live = t.path().join(".x.part");
        let dead = t.path().join(".y.part");
        let other = t.path().join("keep.part");
        let f = File::create(&live).unwrap();
        assert!(lock_if_still_named(&f, &live));
        fs::write(&dead, b"left by kill -9").unwrap();
        fs::write(&other, b"not a candidate").unwrap();
        std::os::unix::fs::symlink(&other, t.path().join(".link.part")).unwrap();
        let removed = sweep_unlocked(t.path(), |n| n.starts_with('.') && n.ends_with(".part"));
        assert_eq!(removed, 1);
        assert!(live.exists() && !dead.exists() && other.exists());
        assert!(
            t.path().join(".link.part").symlink_metadata().is_ok(),
            "links are not followed"
        );
        // A file another name now leads to is not the one created: the writer must try again.
        fs::rename(&live, &dead).unwrap();
        assert!(!lock_if_still_named(&f, &live));
        drop(f);
        assert_eq!(sweep_unlocked(t.path(), |n| n == ".y.part"), 1);
    }
}
