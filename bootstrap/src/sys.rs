//! Every `unsafe` block of the bootstrap, each a thin wrapper around one libc call with a safe
//! signature: memfd_create, the seals, fexecve, geteuid and the glibc NSS pin.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Pins host lookups to the `files` and `dns` services built into glibc. A statically linked glibc
/// process must `dlopen` any other NSS module named in `/etc/nsswitch.conf` (myhostname, resolve,
/// sss…), and one built for another glibc can crash it (measured: a segfault in libnss_myhostname).
/// Only meaningful, and only called, in the static (`crt-static`) build.
#[cfg(target_feature = "crt-static")]
pub fn pin_nss_hosts() {
    use std::ffi::c_int;
    unsafe extern "C" {
        // glibc ≥ 2.0, exported by libc.so.6 and present in libc.a: `int __nss_configure_lookup(const
        // char *dbname, const char *service_line)`.
        fn __nss_configure_lookup(dbname: *const c_char, service_line: *const c_char) -> c_int;
    }
    // SAFETY: both arguments are NUL-terminated static strings that outlive the call; glibc copies
    // what it keeps. It runs first thing in `main`, before any thread exists or any lookup is made,
    // so nothing reads the NSS configuration concurrently. Its result only says whether the pin took:
    // failure leaves glibc's default, so it is ignored.
    unsafe {
        __nss_configure_lookup(c"hosts".as_ptr(), c"files dns".as_ptr());
    }
}

/// No NSS pin in a dynamically linked build: the host's own glibc loads its own modules.
#[cfg(not(target_feature = "crt-static"))]
pub fn pin_nss_hosts() {}

/// Whether the effective user is root.
pub fn is_root() -> bool {
    // SAFETY: geteuid takes no arguments, touches no memory and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC)`; on EINVAL (a kernel before 6.3,
/// which knows no MFD_EXEC and makes every memfd executable) again without MFD_EXEC.
pub fn memfd_exec(name: &CStr) -> io::Result<File> {
    let base = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    for flags in [base | libc::MFD_EXEC, base] {
        // SAFETY: `name` is a valid NUL-terminated string for the duration of the call and the flags
        // are plain integers; the kernel reads the name and returns a new fd or -1.
        let fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
        if fd >= 0 {
            // SAFETY: `fd` was just returned by memfd_create, is open, and is owned by nobody else,
            // so the OwnedFd (and the File) is its only owner and closes it exactly once.
            return Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }));
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINVAL) {
            return Err(err);
        }
    }
    Err(io::Error::from_raw_os_error(libc::EINVAL))
}

/// Seals a memfd against every change: write, grow, shrink, and further seal changes.
pub fn seal_all(file: &File) -> io::Result<()> {
    let seals = libc::F_SEAL_WRITE | libc::F_SEAL_GROW | libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL;
    // SAFETY: the fd is open for as long as `file` is borrowed; F_ADD_SEALS takes an int argument and
    // touches no user memory.
    let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above; F_GET_SEALS takes no argument.
    let got = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GET_SEALS) };
    if got < 0 {
        return Err(io::Error::last_os_error());
    }
    if got & seals != seals {
        return Err(io::Error::other(format!(
            "the memfd has seals {got:#x}, not all of {seals:#x}"
        )));
    }
    Ok(())
}

/// Replaces the process image with the program in `file` (fexecve: glibc uses execveat with
/// AT_EMPTY_PATH, so /proc is not needed). Returns only on failure.
pub fn fexecve(file: &File, argv: &[CString], envp: &[CString]) -> io::Error {
    let argv_p: Vec<*const c_char> = argv
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let envp_p: Vec<*const c_char> = envp
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    // SAFETY: the fd is open (borrowed from `file`); `argv_p` and `envp_p` are NULL-terminated arrays
    // of pointers to NUL-terminated strings owned by `argv`/`envp`, all alive until the call returns
    // (on success it never returns and the kernel has copied them).
    unsafe { libc::fexecve(file.as_raw_fd(), argv_p.as_ptr(), envp_p.as_ptr()) };
    io::Error::last_os_error()
}
