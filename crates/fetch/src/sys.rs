//! Every `unsafe` block of rget outside the bootstrap: thin wrappers, each with a safe signature,
//! around system calls that `std` does not offer: sync_file_range(2) and syncfs(2), the signal mask
//! with sigwait(3) (how an interrupted download removes its temporary file), geteuid(2), and
//! renameat2(2) with `RENAME_EXCHANGE` (how a rollback swaps two binaries). The rest of rget denies
//! `unsafe_code`.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;

/// Starts writing `len` bytes of `file` from `offset` back to the disk, without waiting for it:
/// Linux `sync_file_range(SYNC_FILE_RANGE_WRITE)`. It promises nothing about durability (no
/// metadata, no disk cache flush, no wait): it only gets the work of a later `fsync` under way, and
/// that `fsync` is still required. A no-op on other systems.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn start_writeback(file: &File, offset: u64, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let range = |n: u64| i64::try_from(n).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput));
    let (offset, len) = (range(offset)?, range(len)?);
    // SAFETY: sync_file_range takes no pointers, only integers: a file descriptor that stays open
    // for the whole call (borrowed from `file`), a range and flags. It reads and writes no memory of
    // this process, so no argument can make it unsound; a bad one is an error code.
    let r = unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Not Linux: nothing to start (the caller's `fsync` does all the work).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn start_writeback(_file: &File, _offset: u64, _len: u64) -> io::Result<()> {
    Ok(())
}

/// Makes everything written to the file system holding `file` durable, data and metadata (renames
/// included): Linux `syncfs(2)`, one barrier for a batch of files instead of an fsync per file and
/// per directory. Elsewhere there is no such call, and this says so.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn sync_file_system(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: syncfs takes one integer, a file descriptor that stays open for the whole call
    // (borrowed from `file`), and touches no memory of this process; a bad descriptor is EBADF.
    let r = unsafe { libc::syncfs(file.as_raw_fd()) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Swaps the files at `a` and `b` in one step: Linux `renameat2(RENAME_EXCHANGE)`. At every instant
/// each name leads to one of the two files, whole, and a crash leaves them swapped or not. Both
/// must exist, in one file system. A file system (or a system) that cannot exchange gives an error
/// of kind `Unsupported`, so that the caller can do it another way.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn exchange(a: &std::path::Path, b: &std::path::Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &std::path::Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: renameat2 reads two NUL-terminated paths, both owned by `a` and `b` for the whole
    // call, and takes integers otherwise (AT_FDCWD, flags); it writes no memory of this process.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    Err(match e.raw_os_error() {
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP) => {
            io::Error::new(io::ErrorKind::Unsupported, e)
        }
        _ => e,
    })
}

/// Elsewhere: no exchange to offer.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn exchange(_a: &std::path::Path, _b: &std::path::Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "renameat2(RENAME_EXCHANGE) is Linux-only",
    ))
}

/// Not Linux: no file-system-wide barrier to offer.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn sync_file_system(_file: &File) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "syncfs(2) is Linux-only",
    ))
}

/// The signals that end a command from a terminal or a service manager: SIGINT (Ctrl-C), SIGTERM
/// (`kill`, a service stop) and SIGHUP (the terminal went away).
pub const EXIT_SIGNALS: [i32; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The conventional name of a signal among [`EXIT_SIGNALS`], for messages.
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// A set of signals that the calling thread (and every thread it starts afterwards) blocks, so that
/// they stay pending until one thread takes them with [`SignalSet::wait`]: the handling then runs as
/// ordinary code on that thread, not in a signal handler, and may lock, allocate and remove files.
#[derive(Clone, Copy)]
pub struct SignalSet {
    set: libc::sigset_t,
    empty: bool,
}

impl SignalSet {
    /// Blocks those of `signals` that are not ignored. A signal the parent set to "ignore" stays
    /// ignored (`nohup` ignores SIGHUP, a shell ignores SIGINT for a background job): blocking it
    /// would make Linux queue it for [`wait`](SignalSet::wait) after all.
    pub fn block_unless_ignored(signals: &[i32]) -> io::Result<SignalSet> {
        // SAFETY: `sigset_t` is plain data, and `sigemptyset` initialises all of it before any use.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid, writable sigset_t for the duration of the call.
        if unsafe { libc::sigemptyset(&mut set) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut empty = true;
        for &sig in signals {
            // SAFETY: `sigaction` is plain data (integers, a mask, a function address): all zeros is a
            // valid value, and it is only read after the call below fills it.
            let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: `old` is writable and outlives the call; a null new action makes sigaction
            // only read the current disposition of `sig` (an invalid `sig` is EINVAL).
            if unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) } != 0 {
                return Err(io::Error::last_os_error());
            }
            if old.sa_sigaction == libc::SIG_IGN {
                continue;
            }
            // SAFETY: `set` was initialised by sigemptyset; `sig` is checked by the call (EINVAL).
            if unsafe { libc::sigaddset(&mut set, sig) } != 0 {
                return Err(io::Error::last_os_error());
            }
            empty = false;
        }
        // SAFETY: `set` is an initialised sigset_t; a null old-set pointer is allowed. Only the
        // calling thread's mask changes.
        let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        Ok(SignalSet { set, empty })
    }

    /// Whether every signal asked for was ignored (then [`wait`](SignalSet::wait) would never
    /// return).
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// Waits until one of the blocked signals is pending and takes it; returns its number.
    pub fn wait(&self) -> io::Result<i32> {
        let mut sig: libc::c_int = 0;
        // SAFETY: `self.set` is an initialised sigset_t and `sig` a writable int, both alive for the
        // whole call.
        let r = unsafe { libc::sigwait(&self.set, &mut sig) };
        if r == 0 {
            Ok(sig)
        } else {
            Err(io::Error::from_raw_os_error(r))
        }
    }

    /// Unblocks the set in the calling thread: before `exec`, whose new program inherits the mask.
    pub fn unblock(&self) -> io::Result<()> {
        // SAFETY: as in `block_unless_ignored`.
        let r =
            unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &self.set, std::ptr::null_mut()) };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::from_raw_os_error(r))
        }
    }
}

/// The effective user ID of this process: whom the files it creates belong to, and so the one
/// user (besides root) that may own its private state (`geteuid(2)`).
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid takes no arguments, touches no memory of this process and cannot fail
    // (POSIX: "always successful").
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn writeback_of_written_and_unwritten_ranges() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&[7u8; 1 << 16]).unwrap();
        start_writeback(&f, 0, 1 << 16).unwrap();
        start_writeback(&f, 1 << 20, 1 << 20).unwrap(); // beyond the end: nothing to do
        assert!(start_writeback(&f, u64::MAX, 1).is_err());
        f.sync_all().unwrap();
    }

    #[test]
    fn the_file_system_syncs() {
        let f = tempfile::tempfile().unwrap();
        sync_file_system(&f).unwrap();
    }

    #[test]
    fn effective_uid_owns_what_this_process_creates() {
        use std::os::unix::fs::MetadataExt;
        let f = tempfile::NamedTempFile::new().unwrap();
        assert_eq!(f.as_file().metadata().unwrap().uid(), effective_uid());
    }
}
