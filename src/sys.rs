//! Every `unsafe` block of the library: thin wrappers, each with a safe signature, around system
//! calls that neither `std` nor a safe crate offers. The rest of the crate denies `unsafe_code`.
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
    fn effective_uid_owns_what_this_process_creates() {
        use std::os::unix::fs::MetadataExt;
        let f = tempfile::NamedTempFile::new().unwrap();
        assert_eq!(f.as_file().metadata().unwrap().uid(), effective_uid());
    }
}
