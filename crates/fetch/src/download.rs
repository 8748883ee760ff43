//! Streaming a body into a temporary file in the destination's directory, hashing it on the way:
//! one pass, constant memory. Nothing reaches the destination until [`Downloaded::persist`]; a
//! [`Downloaded`] that is dropped, or a download that fails, leaves no file behind, and neither
//! does a signal (the file is registered with [`crate::interrupt`]). Each temporary file holds an
//! exclusive `flock` for its whole life, so that after a `kill -9` the next run's
//! [`sweep_abandoned`] removes it at once (nobody holds its lock) and never removes a file that a
//! live download is writing (its lock is held).
//!
//! Two things keep a large download close to the speed of one that neither hashes nor syncs
//! (BENCHMARKS.md, `rget get`): the SHA-256 runs on a second thread, fed the very buffers that were
//! written, in order; and writeback of the file starts every `WRITE_BEHIND` bytes, so the fsync
//! before the rename finds little left to write.

use super::client::{Client, Failure, Method, Open, read_body_into};
use super::error::FetchError;
use super::url::Url;
use rget_core::digest::{Hash, HashingWriter, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Seek, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};

/// Temporary files are `.rget-<16 hex>.part` in the destination's directory: this is the prefix.
pub const TEMP_PREFIX: &str = ".rget-";
/// The suffix of a temporary file's name (see [`TEMP_PREFIX`]).
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
        // Under the interruption registry's lock: a signal sees it temporary or in place.
        t.registered
            .settle(|| std::fs::rename(&t.path, dest))
            .map_err(|e| {
                FetchError::local(dest, "cannot move the downloaded file into place", e)
            })?;
        self.temp.persisted = true;
        crate::durable::sync_dir(&self.temp.dir)
            .map_err(|e| FetchError::local(&self.temp.dir, "cannot sync the directory", e))
    }
}

/// A file created with `O_EXCL`, locked (`flock`, exclusive) while it is open, registered for
/// removal on a signal, and removed on drop unless persisted.
#[derive(Debug)]
struct TempFile {
    file: File,
    path: PathBuf,
    dir: PathBuf,
    persisted: bool,
    registered: crate::interrupt::Registered,
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
            let file = match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    last = Some(e);
                    continue;
                }
                Err(e) => return Err(FetchError::local(dir, "cannot create a temporary file", e)),
            };
            // Registered at once, so a signal from here on removes it.
            let registered = crate::interrupt::Registered::new(&path);
            // Between the creation and the lock, another run's sweep may take this unlocked file
            // for a dead run's and remove it: then the lock is refused (that sweep holds it) or the
            // name no longer leads to this file. Either way, try another name.
            if !crate::durable::lock_if_still_named(&file, &path) {
                continue;
            }
            return Ok(TempFile {
                file,
                path,
                dir: dir.to_owned(),
                persisted: false,
                registered,
            });
        }
        Err(FetchError::local(
            dir,
            "cannot create a temporary file",
            last.unwrap_or_else(|| std::io::Error::other("no name")),
        ))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Removes the `.rget-*.part` files in `dest`'s directory that no live process is writing: what a
/// `kill -9`, a crash or a power cut left (they skip the cleanup that dropping a [`Downloaded`] or a
/// signal does). A live download holds its file's lock for the file's whole life, so a file whose
/// lock can be taken has no writer. Only regular files are considered, opened without following
/// links or blocking. Returns how many were removed; errors are ignored (this is housekeeping, not
/// a check).
pub fn sweep_abandoned(dest: &Path) -> usize {
    crate::durable::sweep_unlocked(&dest_dir(dest), |name| {
        name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)
    })
}

/// The directory a destination lives in (`.` for a bare file name).
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
        let temp = TempFile::create_in(&dest_dir(dest))?;
        let (sha256, len, final_url) =
            self.stream_with_retries(&start, &temp.file, &temp.path, limit, progress, None)?;
        Ok(Downloaded {
            temp,
            sha256,
            len,
            final_url,
        })
    }

    /// [`Client::download`] on a thread of its own, so that the caller can check everything else
    /// (the `SHA256SUMS`, its proof and signature) while the body streams. The temporary file is
    /// created here, before this returns, and belongs to the returned [`Transfer`]: dropping the
    /// transfer (a check failed) removes the file at once, whatever the thread is doing, and tells
    /// the thread to stop at its next chunk. Nothing is handed over until [`Transfer::finish`].
    pub fn start_download(
        &self,
        url: &str,
        dest: &Path,
        limit: u64,
        mut progress: Box<dyn FnMut(u64, Option<u64>) + Send>,
    ) -> Result<Transfer, FetchError> {
        let start = Url::parse(url)?;
        let temp = TempFile::create_in(&dest_dir(dest))?;
        // The thread writes through its own descriptor of the same open file (and so under the
        // same lock); the path stays with the caller, who alone removes or renames it.
        let file = temp
            .file
            .try_clone()
            .map_err(|e| FetchError::local(&temp.path, "cannot open the temporary file", e))?;
        let path = temp.path.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let (done_tx, done) = mpsc::sync_channel(1);
        let client = self.clone();
        let flag = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("rget-download".into())
            .spawn(move || {
                let r = client.stream_with_retries(
                    &start,
                    &file,
                    &path,
                    limit,
                    &mut *progress,
                    Some(&flag),
                );
                // The caller may have given up on it (a check failed): then nobody listens.
                let _ = done_tx.send(r);
            })
            .map_err(|e| FetchError::local(&temp.path, "cannot start a download thread", e))?;
        Ok(Transfer {
            _stop: StopOnDrop(stop),
            temp,
            done,
        })
    }

    /// The attempts of one download into `file` (emptied before each), with the retries a GET
    /// allows; `stop`, once set, ends it at the next chunk without a retry.
    fn stream_with_retries(
        &self,
        start: &Url,
        file: &File,
        path: &Path,
        limit: u64,
        progress: &mut dyn FnMut(u64, Option<u64>),
        stop: Option<&AtomicBool>,
    ) -> Result<(Hash, u64, String), FetchError> {
        self.with_retries(start, Method::Get, || {
            empty(file)
                .map_err(|e| FetchError::local(path, "cannot truncate the temporary file", e))?;
            let mut open: Open = self.open(start, Method::Get)?;
            if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                return Err(Failure::final_(stopped(path)));
            }
            let total = open.declared;
            progress(0, total);
            let (digest, len) = stream_to_file(&mut open, limit, file, path, &mut |n| {
                progress(n, total);
                match stop {
                    Some(s) if s.load(Ordering::Relaxed) => Err(stopped(path)),
                    _ => Ok(()),
                }
            })?;
            Ok::<_, Failure>((digest, len, open.final_url.as_string()))
        })
    }
}

/// Empties a file for another attempt.
fn empty(mut file: &File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.rewind().map(|_| ())
}

/// The error a stopped download ends with; the caller who stopped it has the real reason.
fn stopped(path: &Path) -> FetchError {
    FetchError::local(
        path,
        "download stopped",
        std::io::Error::other("another check failed"),
    )
}

/// A download running on its own thread ([`Client::start_download`]). It owns the temporary file:
/// dropping it removes the file at once and stops the thread at its next chunk (a thread stuck in
/// a read writes, at most, into a file that no longer has a name, and ends with the read's timeout
/// or `--max-time`, or with the process).
#[derive(Debug)]
pub struct Transfer {
    // Dropped first (fields drop in order): the thread is told to stop before the file goes.
    _stop: StopOnDrop,
    temp: TempFile,
    done: mpsc::Receiver<Result<(Hash, u64, String), FetchError>>,
}

impl Transfer {
    /// Path of the temporary file (for messages).
    pub fn temp_path(&self) -> &Path {
        &self.temp.path
    }

    /// Waits for the whole body: the download, hashed, ready to be checked and persisted.
    pub fn finish(self) -> Result<Downloaded, FetchError> {
        match self.wait(None) {
            Ok(r) => r,
            // Without a time limit the wait only ends with an answer.
            Err(t) => t.finish(),
        }
    }

    /// [`Transfer::finish`], waiting at most `limit` (`None`: as long as it takes): the transfer
    /// itself back if the body is not complete by then, so the caller can check something else
    /// (has a check failed?) and wait again, or drop it.
    pub fn wait(
        self,
        limit: Option<std::time::Duration>,
    ) -> Result<Result<Downloaded, FetchError>, Transfer> {
        let answer = match limit {
            None => self
                .done
                .recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected),
            Some(l) => self.done.recv_timeout(l),
        };
        let r = match answer {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => return Err(self),
            // The thread ended without an answer: only a panic does that.
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(FetchError::local(
                &self.temp.path,
                "the download thread stopped",
                std::io::Error::other("it panicked"),
            )),
        };
        Ok(r.map(|(sha256, len, final_url)| Downloaded {
            temp: self.temp,
            sha256,
            len,
            final_url,
        }))
    }
}

/// Tells a download thread to stop when the [`Transfer`] goes.
#[derive(Debug)]
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Writeback of a download starts after every this many bytes written.
const WRITE_BEHIND: u64 = 16 << 20;

/// The largest single write to the file. The kernel sizes page-cache folios by the write, and on the
/// benchmark VM (BENCHMARKS.md) 256 KiB writes cost from 0.25 s to 2 s of system time per GiB
/// depending on the state of its memory, 64 KiB writes a steady 0.27–0.32 s, and 16 KiB writes
/// (one TLS record each) 0.4 s.
const WRITE_PIECE: usize = 64 << 10;

/// Buffers (of `STREAM_BUFFER` bytes) on their way to the hashing thread or back, besides the one
/// being filled.
const HASH_BUFFERS: usize = 3;

/// Writes the body of `open` to `file` (at most `limit` bytes) and hashes it. Returns the digest and
/// the length. `written(n)` is called after every chunk with the bytes written so far; an error
/// from it ends the download with that error.
///
/// The hashing runs on a second thread (or on this one, if no thread can be started): each buffer is
/// written whole to the file first, then moved to the hasher through a FIFO channel, and the hasher
/// hands it back when done, so the digest covers exactly the bytes written, in their order, and no
/// byte is copied twice.
fn stream_to_file(
    open: &mut Open,
    limit: u64,
    file: &File,
    path: &Path,
    written: &mut dyn FnMut(u64) -> Result<(), FetchError>,
) -> Result<(Hash, u64), Failure> {
    let write_error = |e| FetchError::local(path, "cannot write the temporary file", e);
    let mut out = WriteBehind::new(file);
    std::thread::scope(|s| {
        let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(HASH_BUFFERS);
        let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
        let hasher = std::thread::Builder::new()
            .name("rget-sha256".into())
            .spawn_scoped(s, move || {
                let mut h = Sha256::new();
                for (buf, n) in full_rx {
                    h.update(&buf[..n]);
                    // The reader may be gone (it failed): then the buffer is simply dropped.
                    let _ = free_tx.send(buf);
                }
                h.finalize()
            });
        let Ok(hasher) = hasher else {
            // No second thread: hash here, as the bytes are written.
            let mut w = HashingWriter::new(&mut out);
            let len = read_body_into(open, limit, |buf, n| {
                w.write_all(&buf[..n]).map_err(write_error)?;
                written(w.written())
            })?;
            return Ok((w.finish().0, len));
        };
        // Only a panic stops the hasher early, and `join` below passes that panic on.
        let hasher_gone = || FetchError::local(path, "hashing", std::io::Error::other("panicked"));
        let mut unmade = HASH_BUFFERS;
        // The sink owns the sending end: when `read_body_into` returns, in success or failure, the
        // sink is dropped, the channel closes, and the hasher finishes.
        let len = read_body_into(open, limit, move |buf, n| {
            out.write_all(&buf[..n]).map_err(write_error)?;
            let next = match free_rx.try_recv() {
                Ok(b) => b,
                Err(_) if unmade > 0 => {
                    unmade -= 1;
                    vec![0u8; buf.len()]
                }
                Err(_) => free_rx.recv().map_err(|_| hasher_gone())?,
            };
            let full = std::mem::replace(buf, next);
            full_tx.send((full, n)).map_err(|_| hasher_gone())?;
            written(out.written)
        });
        let digest = hasher
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        len.map(|len| (digest, len))
    })
}

/// Writes to a file, at most `WRITE_PIECE` bytes at a time, starting its writeback every
/// [`WRITE_BEHIND`] bytes (Linux
/// `sync_file_range(SYNC_FILE_RANGE_WRITE)`: asynchronous, no waiting). Without it the kernel holds
/// a whole download in dirty pages (background writeback starts only at 10% of memory dirty) and
/// the fsync before the rename writes all of it while rget waits; with it the disk works during the
/// download. Durability still rests on that fsync alone.
struct WriteBehind<'a> {
    file: &'a File,
    written: u64,
    started: u64,
}

impl<'a> WriteBehind<'a> {
    fn new(file: &'a File) -> Self {
        WriteBehind {
            file,
            written: 0,
            started: 0,
        }
    }
}

impl Write for WriteBehind<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut file = self.file;
        let n = file.write(&buf[..buf.len().min(WRITE_PIECE)])?;
        self.written += n as u64;
        if self.written - self.started >= WRITE_BEHIND {
            // Best effort, so an error is ignored: it only starts I/O and consumes no writeback
            // error (no wait flag), so any failure to write these pages is still reported by the
            // fsync in `persist`.
            let _ =
                crate::sys::start_writeback(self.file, self.started, self.written - self.started);
            self.started = self.written;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_abandoned_temporaries_are_swept() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("dest");
        // A dead run's leftover: nobody holds its lock.
        let dead = t.path().join(".rget-0000000000000000.part");
        std::fs::write(&dead, b"x").unwrap();
        // A live download's file, locked for its whole life.
        let live = TempFile::create_in(t.path()).unwrap();
        // Not ours, or not a regular file: never touched.
        let other = t.path().join("other.part");
        std::fs::write(&other, b"x").unwrap();
        let dir = t.path().join(".rget-dir.part");
        std::fs::create_dir(&dir).unwrap();
        let target = t.path().join("target");
        std::fs::write(&target, b"kept").unwrap();
        let link = t.path().join(".rget-link.part");
        std::os::unix::fs::symlink(&target, &link).unwrap();

        assert_eq!(sweep_abandoned(&dest), 1);
        assert!(!dead.exists());
        assert!(live.path.exists() && other.exists() && dir.exists());
        assert!(std::fs::symlink_metadata(&link).is_ok());
        assert_eq!(std::fs::read(&target).unwrap(), b"kept");
        // Once its writer is gone (dropped without persisting, it removes itself anyway), nothing
        // else is left to sweep.
        let path = live.path.clone();
        drop(live);
        assert!(!path.exists());
        assert_eq!(sweep_abandoned(&dest), 0);
    }

    #[test]
    fn a_temporary_file_is_locked_for_its_whole_life() {
        let t = tempfile::tempdir().unwrap();
        let live = TempFile::create_in(t.path()).unwrap();
        let other = File::open(&live.path).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        // A reader of the download (rget cat) shares the open file, and so the lock.
        let d = Downloaded {
            temp: live,
            sha256: rget_core::digest::sha256(b""),
            len: 0,
            final_url: String::new(),
        };
        let r = d.reader().unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        let dest = t.path().join("dest");
        d.persist(&dest, 0o644).unwrap();
        // Persisted: the lock lives on with the reader's descriptor only.
        drop(r);
        other.try_lock().unwrap();
        assert!(dest.exists());
    }
}
