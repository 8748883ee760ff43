//! What an interrupted download leaves behind: nothing.
//!
//! Every temporary file a download writes (`fetch::Client::download`, `Downloaded::stage_copy`, the
//! hard link `install` makes of the replaced binary) is registered here for as long as it exists
//! under its temporary name. A command that writes such files (`rget get`, `cat`, `self upgrade |
//! rollback`, the bootstrap) calls [`remove_temporaries_on_signals`] first thing: SIGINT, SIGTERM and
//! SIGHUP are then blocked in every thread and taken by one thread that removes every registered
//! file and exits with the shell's status for that signal (128 + its number: 130, 143, 129).
//! Because the handling runs on an ordinary thread (sigwait), not in a signal handler, it can take
//! the registry's lock, and [`Registered::settle`] makes the move of a file into place and its
//! removal from the registry one step under that lock: a signal finds the file either still
//! temporary (and removes it) or already in place (and leaves it).
//!
//! `kill -9` cannot be caught; what it leaves is removed by the next run's sweep
//! (`fetch::sweep_abandoned`), which tells a dead writer's file from a live one by its lock.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// The temporary files that exist right now, by registration number.
static LIVE: Mutex<Vec<(u64, PathBuf)>> = Mutex::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(1);
/// The signals being waited for, once [`remove_temporaries_on_signals`] ran.
static WATCHED: OnceLock<crate::sys::SignalSet> = OnceLock::new();

fn live() -> MutexGuard<'static, Vec<(u64, PathBuf)>> {
    // A panic elsewhere must not stop the cleanup.
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A temporary file's registration: the file is removed if the process is interrupted while this
/// lives. Dropping it only forgets the path (the owner removes or keeps the file itself).
#[derive(Debug)]
pub struct Registered {
    id: u64,
}

impl Registered {
    /// Registers `path` (which should already exist, or be about to).
    pub fn new(path: &Path) -> Registered {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        live().push((id, path.to_owned()));
        Registered { id }
    }

    /// Runs `f`, which moves the file away from its temporary name (a rename into place), and
    /// forgets the path if it succeeded, under the registry's lock: an interruption sees the file
    /// before the move (and removes it) or after it (and leaves it where it now belongs), never
    /// the destination with the temporary path already reused or removed halfway.
    pub fn settle<T>(&self, f: impl FnOnce() -> std::io::Result<T>) -> std::io::Result<T> {
        let mut live = live();
        let r = f();
        if r.is_ok() {
            live.retain(|(id, _)| *id != self.id);
        }
        r
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        live().retain(|(id, _)| *id != self.id);
    }
}

/// Makes SIGINT, SIGTERM and SIGHUP remove every registered temporary file and exit with status
/// 128 + the signal's number, saying so in one line on standard error (`{program}: interrupted
/// ...`). A signal the parent process ignores (SIGHUP under `nohup`) stays ignored.
///
/// Call it before the process starts any thread: the signals are blocked in the calling thread and
/// in the threads it starts later, so that only the waiting thread takes them. A second call does
/// nothing.
pub fn remove_temporaries_on_signals(program: &'static str) -> std::io::Result<()> {
    if WATCHED.get().is_some() {
        return Ok(());
    }
    let set = crate::sys::SignalSet::block_unless_ignored(&crate::sys::EXIT_SIGNALS)?;
    let _ = WATCHED.set(set);
    if set.is_empty() {
        return Ok(());
    }
    std::thread::Builder::new()
        .name("rget-signals".into())
        .spawn(move || {
            let Ok(sig) = set.wait() else { return };
            // Hold the lock to the end: nothing can be moved into place, or registered, meanwhile.
            let live = live();
            let removed = live
                .iter()
                .filter(|(_, p)| std::fs::remove_file(p).is_ok())
                .count();
            let what = if removed == 0 {
                "nothing was left behind".to_owned()
            } else {
                format!(
                    "removed the partial download ({removed} temporary file{})",
                    if removed == 1 { "" } else { "s" }
                )
            };
            let _ = writeln!(
                std::io::stderr(),
                "{program}: interrupted by {}: {what}",
                crate::sys::signal_name(sig)
            );
            std::process::exit(128 + sig);
        })?;
    Ok(())
}

/// Unblocks the signals in the calling thread, so that a program it `exec`s next starts with the
/// usual mask (the mask survives `exec`). A signal that arrives afterwards ends this process the
/// default way, or is still taken by the waiting thread.
pub fn unblock_before_exec() {
    if let Some(set) = WATCHED.get() {
        let _ = set.unblock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registered(p: &Path) -> bool {
        live().iter().any(|(_, q)| q == p)
    }

    #[test]
    fn registration_lives_until_settled_or_dropped() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        let ra = Registered::new(&a);
        let rb = Registered::new(&b);
        assert!(registered(&a) && registered(&b));
        // A failed move keeps the registration: the file is still temporary.
        assert!(
            ra.settle(|| std::fs::rename(&a, t.path().join("x")))
                .is_err()
        );
        assert!(registered(&a));
        std::fs::write(&a, b"x").unwrap();
        ra.settle(|| std::fs::rename(&a, t.path().join("x")))
            .unwrap();
        assert!(!registered(&a) && registered(&b));
        drop(rb);
        assert!(!registered(&b));
        drop(ra);
    }
}
