//! Durable, atomic file writes, shared by every part of rget that keeps state on disk (the log, the
//! witness, the client's checkpoint memory, the proofs `rget submit` writes).
//!
//! The pattern is always the same: write a temporary file beside the target, fsync it, rename it over
//! the target, fsync the directory. A reader sees the old content or the new, never a mix, and after a
//! crash the file is one or the other. Temporary names carry a `.tmp-` marker so that a process that
//! holds the relevant lock can sweep what a killed one left behind.

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
pub fn write_temp(path: &Path, bytes: &[u8], mode: u32) -> io::Result<(PathBuf, File)> {
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

/// Writes several files that belong together (a `SHA256SUMS` with its signature and proof, a key
/// pair) as nearly all-or-nothing as POSIX allows: every temporary is written and fsynced before
/// the first rename, so a failure while writing (disk full, permissions) leaves every target as it
/// was and no temporary behind; the renames follow back to back, then each directory is fsynced.
pub fn write_atomic_all(files: &[(&Path, &[u8], u32)]) -> io::Result<()> {
    let mut temps: Vec<PathBuf> = Vec::with_capacity(files.len());
    for (path, bytes, mode) in files {
        match durable_temp(path, bytes, *mode) {
            Ok(tmp) => temps.push(tmp),
            Err(e) => {
                remove_all(&temps);
                return Err(e);
            }
        }
    }
    for (i, ((path, _, _), tmp)) in files.iter().zip(&temps).enumerate() {
        if let Err(e) = fs::rename(tmp, path) {
            remove_all(temps.get(i..).unwrap_or_default());
            return Err(e);
        }
    }
    for (path, _, _) in files {
        sync_dir(parent_of(path))?;
    }
    Ok(())
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
}
