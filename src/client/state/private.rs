//! The checkpoint memory is only as trustworthy as the files it is kept in: a state directory or
//! file that another user can write lets that user plant the checkpoint this host compares every
//! log against (hiding a fork, or staging a false one), and a FIFO where a lock file belongs hangs
//! every run. So, as ssh's `StrictModes` does for `~/.ssh`, every directory rget uses in the state
//! directory and every file it opens there must belong to the user running rget (or root) and be
//! writable by no one else; and files are opened without following a link and without blocking,
//! then checked to be regular files. Each refusal is one line that says how to fix it.

use super::StateError;
use crate::secret::Exposure;
use std::fs::{File, FileType, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Refuses `dir` unless it is a directory owned by this user (or root) that neither its group nor
/// others can write.
pub(super) fn check_dir(dir: &Path) -> Result<(), StateError> {
    let m = std::fs::metadata(dir).map_err(|err| StateError::Io {
        path: dir.display().to_string(),
        op: "inspect the state directory",
        err,
    })?;
    if !m.is_dir() {
        return Err(not_private(
            dir,
            format!("is {}, not a directory", kind(&m.file_type())),
            "remove it, or pass --state DIR for another directory".to_owned(),
        ));
    }
    check_owner_and_mode(dir, &m, "the state directory")
}

/// Opens the state file `path`, creating it (mode 0600) if it does not exist: for lock files.
pub(super) fn create_or_open(path: &Path) -> Result<File, StateError> {
    let mut o = OpenOptions::new();
    o.read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600);
    open_checked(path, &o)?.ok_or_else(|| StateError::Io {
        path: path.display().to_string(),
        op: "open",
        err: io::ErrorKind::NotFound.into(),
    })
}

/// Opens the state file `path` for reading; `None` if it does not exist.
pub(super) fn open_existing(path: &Path) -> Result<Option<File>, StateError> {
    let mut o = OpenOptions::new();
    o.read(true);
    open_checked(path, &o)
}

/// Opens with `O_NONBLOCK` (opening a FIFO would otherwise wait for a writer, for ever) and
/// `O_NOFOLLOW` (rget writes its state by rename and never makes a link there), then refuses
/// anything but a regular file that only its owner (this user or root) can write. `O_NONBLOCK`
/// changes nothing for regular files.
fn open_checked(path: &Path, options: &OpenOptions) -> Result<Option<File>, StateError> {
    let mut o = options.clone();
    o.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
    let f = match o.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            // A link (ELOOP), a socket (ENXIO): say what is there rather than the errno.
            if let Ok(m) = std::fs::symlink_metadata(path)
                && !m.is_file()
            {
                return Err(not_regular(path, &m.file_type()));
            }
            return Err(StateError::Io {
                path: path.display().to_string(),
                op: "open",
                err,
            });
        }
    };
    let m = f.metadata().map_err(|err| StateError::Io {
        path: path.display().to_string(),
        op: "inspect",
        err,
    })?;
    if !m.is_file() {
        return Err(not_regular(path, &m.file_type()));
    }
    check_owner_and_mode(path, &m, "this state file")?;
    Ok(Some(f))
}

/// The owner must be this user or root (whom nothing stops anyway), and no group or other write
/// bit may be set.
fn check_owner_and_mode(path: &Path, m: &Metadata, what: &str) -> Result<(), StateError> {
    let me = rget_fetch::sys::effective_uid();
    match crate::secret::others_can_write(m, me) {
        None => Ok(()),
        Some(Exposure::OtherOwner { uid }) => Err(not_private(
            path,
            format!(
                "{what} belongs to uid {uid}, not to the user running rget (uid {me}), who could not \
                 trust what that user writes there"
            ),
            format!(
                "chown it to uid {me} (chown -R {me} {}), or pass --state DIR for a directory of your own",
                path.display()
            ),
        )),
        Some(Exposure::Writable { mode }) => Err(not_private(
            path,
            format!(
                "{what} is writable by other users (mode {mode:04o}), so anyone could plant the checkpoints \
                 this host trusts"
            ),
            format!("make it private: chmod go-w {}", path.display()),
        )),
    }
}

fn not_regular(path: &Path, t: &FileType) -> StateError {
    not_private(
        path,
        format!("is {}, not a regular file rget wrote", kind(t)),
        format!(
            "remove it (rm {}); rget recreates what it needs",
            path.display()
        ),
    )
}

fn not_private(path: &Path, problem: String, fix: String) -> StateError {
    StateError::NotPrivate {
        path: path.display().to_string(),
        problem,
        fix,
    }
}

/// A file type in words: the state's messages name the kind of device, and say "a regular file";
/// the other kinds read as in every message that refuses a file.
fn kind(t: &FileType) -> &'static str {
    match t {
        t if t.is_char_device() => "a character device",
        t if t.is_block_device() => "a block device",
        t if t.is_file() => "a regular file",
        t => rget_fetch::durable::file_kind(*t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, Instant};

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn private_directories_pass_and_writable_ones_say_how_to_fix_them() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("state");
        std::fs::create_dir(&d).unwrap();
        chmod(&d, 0o700);
        check_dir(&d).unwrap();
        chmod(&d, 0o755);
        check_dir(&d).unwrap();
        for mode in [0o777, 0o770, 0o702, 0o1777] {
            chmod(&d, mode);
            let e = check_dir(&d).unwrap_err().to_string();
            assert!(e.contains("writable by other users"), "{mode:o}: {e}");
            assert!(e.contains(&format!("chmod go-w {}", d.display())), "{e}");
            assert!(!e.contains('\n'));
        }
        let f = t.path().join("file");
        std::fs::write(&f, b"x").unwrap();
        assert!(
            check_dir(&f)
                .unwrap_err()
                .to_string()
                .contains("not a directory")
        );
    }

    #[test]
    fn files_must_be_regular_and_private() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("checkpoint");
        assert!(open_existing(&p).unwrap().is_none());
        std::fs::write(&p, b"x").unwrap();
        chmod(&p, 0o600);
        assert!(open_existing(&p).unwrap().is_some());
        chmod(&p, 0o666);
        let e = open_existing(&p).unwrap_err().to_string();
        assert!(e.contains("mode 0666") && e.contains("chmod go-w"), "{e}");
        chmod(&p, 0o620);
        assert!(create_or_open(&p).is_err());

        let link = t.path().join("link");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        let e = open_existing(&link).unwrap_err().to_string();
        assert!(e.contains("a symbolic link"), "{e}");
    }

    #[test]
    fn a_fifo_is_refused_at_once_not_waited_on() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("lock");
        let ok = std::process::Command::new("mkfifo")
            .arg(&p)
            .status()
            .unwrap();
        assert!(ok.success());
        let start = Instant::now();
        for r in [create_or_open(&p).map(Some), open_existing(&p)] {
            let e = r.unwrap_err().to_string();
            assert!(e.contains("is a FIFO") && e.contains("rm "), "{e}");
        }
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn another_users_directory_is_refused_and_roots_is_not() {
        // Root owns "/": nothing stops root anyway, so that is accepted for every user.
        check_dir(Path::new("/")).unwrap();
        if rget_fetch::sys::effective_uid() == 0 {
            // Only root can give a directory away; then even root refuses it.
            let t = tempfile::tempdir().unwrap();
            let d = t.path().join("theirs");
            std::fs::create_dir(&d).unwrap();
            std::os::unix::fs::chown(&d, Some(4321), None).unwrap();
            let e = check_dir(&d).unwrap_err().to_string();
            assert!(
                e.contains("belongs to uid 4321") && e.contains("chown"),
                "{e}"
            );
        }
    }
}
