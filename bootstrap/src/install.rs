//! Atomic installation of the verified binary as `DIR/rget`, keeping the previous one as
//! `DIR/rget.previous`. At every instant `DIR/rget` is either the old or the new complete binary.

use rget::fetch::Downloaded;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// `~/.local/bin`, or `/usr/local/bin` for root.
pub fn default_dir() -> Result<PathBuf, String> {
    if crate::sys::is_root() {
        return Ok(PathBuf::from("/usr/local/bin"));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => Ok(Path::new(&h).join(".local").join("bin")),
        None => Err("HOME is not set: give the install directory with --prefix DIR".into()),
    }
}

/// Keeps the current `DIR/rget` (if any) as `DIR/rget.previous`, then moves the verified download
/// over `DIR/rget` (fsync, mode 0755, rename, fsync DIR). The previous binary is hard-linked to a
/// temporary name and renamed over `rget.previous`, so that name too is always complete.
pub fn install(dl: Downloaded, dir: &Path) -> Result<(), String> {
    let dest = dir.join("rget");
    let previous = dir.join("rget.previous");
    match std::fs::symlink_metadata(&dest) {
        Ok(m) if m.is_file() => keep_previous(&dest, &previous, dir).map_err(|e| {
            format!(
                "cannot keep {} as {}: {e}",
                dest.display(),
                previous.display()
            )
        })?,
        Ok(_) => {
            return Err(format!(
                "{} exists and is not a regular file",
                dest.display()
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot inspect {}: {e}", dest.display())),
    }
    dl.persist(&dest, 0o755).map_err(|e| e.to_string())
}

fn keep_previous(dest: &Path, previous: &Path, dir: &Path) -> io::Result<()> {
    let tmp = dir.join(format!(".rget.previous-{}.part", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(dest, &tmp).is_err() {
        // A file system without hard links: a durable copy instead.
        std::fs::copy(dest, &tmp)?;
        File::open(&tmp)?.sync_all()?;
    }
    let r = std::fs::rename(&tmp, previous);
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r?;
    File::open(dir)?.sync_all()
}
