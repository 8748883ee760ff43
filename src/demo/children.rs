//! The demo's processes and its workspace, and their cleanup on every path out: normal end, error,
//! and SIGINT/SIGTERM/SIGHUP (Ctrl-C). Every process the demo starts is registered here for as long
//! as it may run, so a signal handler can stop them all and remove the workspace before exiting.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a server may take to announce its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The registry behind a [`Children`]: live processes by pid, and the workspace to remove.
#[derive(Default)]
struct Registry {
    live: HashMap<u32, Child>,
    /// Short-lived commands being waited for elsewhere: only their pid is known here.
    running: Vec<u32>,
    workspace: Option<PathBuf>,
    keep: bool,
}

/// The demo's processes. Cloning shares the registry.
#[derive(Clone, Default)]
pub struct Children {
    reg: Arc<Mutex<Registry>>,
}

/// A server the demo started: its pid and the address it announced.
#[derive(Debug, Clone)]
pub struct Started {
    /// The server's process ID.
    pub pid: u32,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

impl Children {
    /// An empty registry for the demo's `workspace`, which [`Children::cleanup`] removes unless
    /// `keep`.
    pub fn new(workspace: &Path, keep: bool) -> Children {
        let c = Children::default();
        {
            let mut r = c.lock();
            r.workspace = Some(workspace.to_owned());
            r.keep = keep;
        }
        c
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        // A panic elsewhere must not stop the cleanup.
        self.reg.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a serving `rget` command (`log serve`, `witness serve`) that prints
    /// `listening on http://ADDR` as its first stdout line; its stderr goes to `log_file`.
    pub fn start_server(
        &self,
        exe: &Path,
        args: &[OsString],
        log_file: &Path,
    ) -> Result<Started, String> {
        let err = std::fs::File::create(log_file)
            .map_err(|e| format!("cannot create {}: {e}", log_file.display()))?;
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let pid = child.id();
        let stdout = child.stdout.take();
        self.lock().live.insert(pid, child);
        let mut out = BufReader::new(stdout.ok_or("no stdout")?);
        // The first line on a thread, so a server that neither announces itself nor exits cannot
        // hang the demo; then keep draining, so a chatty server never blocks on a full pipe.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut first = String::new();
            let _ = out.read_line(&mut first);
            let _ = tx.send(first);
            let _ = std::io::copy(&mut out, &mut std::io::sink());
        });
        let first = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
        match first.trim_end().strip_prefix("listening on ") {
            Some(base) => Ok(Started {
                pid,
                base: base.trim_end_matches('/').to_owned(),
            }),
            None => {
                let log = std::fs::read_to_string(log_file).unwrap_or_default();
                Err(format!(
                    "{} did not start: {}",
                    args.first()
                        .map(|a| a.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    log.lines().last().unwrap_or("no message")
                ))
            }
        }
    }

    /// Runs a short command to its end (registered while it runs), with stdin closed.
    pub fn run(&self, cmd: &mut Command) -> Result<Output, String> {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
        let pid = child.id();
        self.lock().running.push(pid);
        let out = child.wait_with_output();
        self.lock().running.retain(|p| *p != pid);
        out.map_err(|e| format!("waiting for {:?}: {e}", cmd.get_program()))
    }

    /// The pids of every server started so far (for the account, and for tests that check none is
    /// left).
    pub fn server_pids(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.lock().live.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// Stops every process (SIGTERM, then SIGKILL after `grace`), reaps them, and removes the
    /// workspace unless asked to keep it. Safe to call more than once, from any thread.
    pub fn cleanup(&self, grace: Duration) {
        let mut r = self.lock();
        let mut live: Vec<(u32, Child)> = r.live.drain().collect();
        let running = std::mem::take(&mut r.running);
        for pid in running.iter().chain(live.iter().map(|(p, _)| p)) {
            signal(*pid, rustix::process::Signal::TERM);
        }
        let deadline = Instant::now() + grace;
        for (pid, child) in &mut live {
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        signal(*pid, rustix::process::Signal::KILL);
                        let _ = child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
        // Short commands are reaped by their waiting thread; make sure they are gone.
        for pid in running {
            signal(pid, rustix::process::Signal::KILL);
        }
        if let Some(ws) = r.workspace.take()
            && !r.keep
        {
            let _ = std::fs::remove_dir_all(&ws);
        }
    }

    /// On SIGINT (Ctrl-C), SIGTERM or SIGHUP: clean up, then exit with 128 + the signal number.
    /// Returns once the handlers are installed, so no signal between here and the end is missed.
    pub fn exit_on_signals(&self) -> Result<(), String> {
        let me = self.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use tokio::signal::unix::{SignalKind, signal};
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            let code = rt.block_on(async {
                let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::terminate()),
                    signal(SignalKind::hangup()),
                ) else {
                    let _ = ready_tx.send(Err("cannot install signal handlers".into()));
                    return None;
                };
                let _ = ready_tx.send(Ok(()));
                tokio::select! {
                    _ = int.recv() => Some(130),
                    _ = term.recv() => Some(143),
                    _ = hup.recv() => Some(129),
                }
            });
            if let Some(code) = code {
                eprintln!(
                    "rget demo: interrupted: stopping the demo's processes and removing its files"
                );
                me.cleanup(Duration::from_secs(3));
                std::process::exit(code);
            }
        });
        ready_rx
            .recv()
            .map_err(|_| "the signal thread ended".to_owned())?
    }
}

fn signal(pid: u32, sig: rustix::process::Signal) {
    if let Some(p) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(p, sig);
    }
}

/// Whether a process is still alive (not a zombie): for the account's "nothing left behind".
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Field 3, after the parenthesised command name, is the state; Z is a zombie.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}
