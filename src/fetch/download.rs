//! Streaming a body into a temporary file in the destination's directory, hashing it on the way:
//! one pass, constant memory. Nothing reaches the destination until [`Downloaded::persist`]; a
//! [`Downloaded`] that is dropped, or a download that fails, leaves no file behind.

use super::client::{Client, Failure, Method, Open, read_body};
use super::error::FetchError;
use super::url::Url;
use crate::core::digest::{Hash, HashingWriter};
use std::fs::{File, OpenOptions};
use std::io::{Seek, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Temporary files are `.rget-<16 hex>.part` in the destination's directory.
pub const TEMP_PREFIX: &str = ".rget-";
pub const TEMP_SUFFIX: &str = ".part";

/// A verified-later download: the body in a temporary file, its digest and length.
#[derive(Debug)]
pub struct Downloaded {
    temp: TempFile,
    /// SHA-256 of the body.
    pub sha256: Hash,
    /// Length of the body in bytes.
    pub len: u64,
    /// The URL that answered, after redirects.
    pub final_url: String,
}

impl Downloaded {
    /// Path of the temporary file (for messages; it disappears on drop).
    pub fn temp_path(&self) -> &Path {
        &self.temp.path
    }

    /// A reader of the downloaded bytes from the start (for `rget cat`), on the same open file, so
    /// it reads exactly the bytes that were hashed even if the path is replaced meanwhile.
    pub fn reader(&self) -> std::io::Result<File> {
        let mut f = self.temp.file.try_clone()?;
        f.rewind()?;
        Ok(f)
    }

    /// Moves the file into place: fsync the file, set `mode`, rename it over `dest` (which must be
    /// in the directory given to [`Client::download`]), fsync the directory.
    pub fn persist(mut self, dest: &Path, mode: u32) -> Result<(), FetchError> {
        let t = &self.temp;
        let io = |reason, e| FetchError::local(&t.path, reason, e);
        t.file
            .sync_all()
            .map_err(|e| io("cannot sync the downloaded file", e))?;
        t.file
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| io("cannot set the mode of the downloaded file", e))?;
        std::fs::rename(&t.path, dest).map_err(|e| {
            FetchError::local(dest, "cannot move the downloaded file into place", e)
        })?;
        self.temp.persisted = true;
        File::open(&self.temp.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| FetchError::local(&self.temp.dir, "cannot sync the directory", e))
    }
}

/// A file created with `O_EXCL` and removed on drop unless persisted.
#[derive(Debug)]
struct TempFile {
    file: File,
    path: PathBuf,
    dir: PathBuf,
    persisted: bool,
}

impl TempFile {
    fn create_in(dir: &Path) -> Result<TempFile, FetchError> {
        let mut last = None;
        for _ in 0..16 {
            let mut r = [0u8; 8];
            getrandom::fill(&mut r).map_err(|e| {
                FetchError::local(
                    dir,
                    "no randomness for a temporary name",
                    std::io::Error::other(e.to_string()),
                )
            })?;
            let path = dir.join(format!("{TEMP_PREFIX}{}{TEMP_SUFFIX}", hex::encode(r)));
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(file) => {
                    return Ok(TempFile {
                        file,
                        path,
                        dir: dir.to_owned(),
                        persisted: false,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(FetchError::local(dir, "cannot create a temporary file", e)),
            }
        }
        Err(FetchError::local(
            dir,
            "cannot create a temporary file",
            last.unwrap_or_else(|| std::io::Error::other("no name")),
        ))
    }

    /// Empties the file for another attempt.
    fn reset(&mut self) -> std::io::Result<()> {
        self.file.set_len(0)?;
        self.file.rewind().map(|_| ())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The directory a destination lives in (`.` for a bare file name).
/// Temporary downloads older than this are leftovers of a killed process (a live download writes to its
/// file continuously, and a read that stalls for longer has long timed out).
pub const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Removes `.rget-*.part` files in `dest`'s directory that were last written more than `STALE_AFTER`
/// ago: a `kill -9` or power loss skips the cleanup that dropping a [`Downloaded`] does. Returns how
/// many were removed; errors are ignored (this is housekeeping, not a check).
pub fn sweep_stale(dest: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dest_dir(dest)) else {
        return 0;
    };
    let mut removed = 0;
    for e in rd.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
            continue;
        }
        let old = e
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if old && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

fn dest_dir(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

impl Downloaded {
    /// Copies `src` (at most `limit` bytes) into a temporary file beside `dest`, hashing on the way,
    /// as a download would: what is verified and later persisted is this private copy, never a path
    /// someone else can still write to (`rget self rollback` re-verifies `rget.previous` this way).
    pub fn stage_copy(
        src: &mut dyn std::io::Read,
        dest: &Path,
        limit: u64,
    ) -> Result<Downloaded, FetchError> {
        let temp = TempFile::create_in(&dest_dir(dest))?;
        let mut w = HashingWriter::new(&temp.file);
        let copied = std::io::copy(
            &mut std::io::Read::take(src, limit.saturating_add(1)),
            &mut w,
        )
        .map_err(|e| FetchError::local(dest, "cannot copy the file", e))?;
        if copied > limit {
            return Err(FetchError::local(
                dest,
                "cannot copy the file",
                std::io::Error::other(format!("it is larger than {limit} bytes")),
            ));
        }
        let (sha256, _) = w.finish();
        Ok(Downloaded {
            temp,
            sha256,
            len: copied,
            final_url: String::new(),
        })
    }
}

impl Client {
    /// GETs `url` into a temporary file beside `dest`, hashing while streaming, at most `limit`
    /// bytes. `progress(received, total)` is called after every chunk (`total` is the declared
    /// length, if any). A failure in transit restarts the download from the beginning (as many
    /// times as `attempts` allows); on any error no temporary file remains and `dest` is untouched.
    pub fn download(
        &self,
        url: &str,
        dest: &Path,
        limit: u64,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Downloaded, FetchError> {
        let start = Url::parse(url)?;
        let mut temp = TempFile::create_in(&dest_dir(dest))?;
        let (sha256, len, final_url) = self.with_retries(Method::Get, || {
            temp.reset().map_err(|e| {
                FetchError::local(&temp.path, "cannot truncate the temporary file", e)
            })?;
            let mut open: Open = self.open(&start, Method::Get)?;
            let total = open.declared;
            progress(0, total);
            let path = temp.path.clone();
            let mut w = HashingWriter::new(&temp.file);
            let len = read_body(&mut open, limit, |chunk| {
                w.write_all(chunk)
                    .map_err(|e| FetchError::local(&path, "cannot write the temporary file", e))?;
                progress(w.written(), total);
                Ok(())
            })?;
            let (digest, _) = w.finish();
            Ok::<_, Failure>((digest, len, open.final_url.as_string()))
        })?;
        Ok(Downloaded {
            temp,
            sha256,
            len,
            final_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_old_leftovers_are_swept() {
        let t = tempfile::tempdir().unwrap();
        let old = t.path().join(".rget-old.part");
        let fresh = t.path().join(".rget-fresh.part");
        let other = t.path().join("other.part");
        for p in [&old, &fresh, &other] {
            std::fs::write(p, b"x").unwrap();
        }
        let long_ago =
            std::time::SystemTime::now() - STALE_AFTER - std::time::Duration::from_secs(60);
        for p in [&old, &other] {
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }
        assert_eq!(sweep_stale(&t.path().join("dest")), 1);
        assert!(!old.exists() && fresh.exists() && other.exists());
    }
}
