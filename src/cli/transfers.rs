//! The downloads of one `rget get` run, one file or many, overlapped with the checks that decide
//! whether each may be handed over.
//!
//! Each file starts streaming into its temporary file (hashed on its own thread) as soon as its run
//! starts, at most `-P` at a time, while the main thread fetches every release directory's
//! `SHA256SUMS`, proof and signature (in parallel) and checks them, once per directory, whatever
//! number of its files the run names. A file is handed over (renamed into place, written through)
//! only when its directory's checks held, its name is listed, and its digest is the listed one; a
//! failed check drops its transfer, which removes the temporary file at once and stops the thread.
//! A transfer slot is freed as soon as its body is complete: a file whose directory is still being
//! checked waits, downloaded, while the slot fetches the next file.
//!
//! Release directories of one log are checked from the one whose proof is under the largest
//! checkpoint down, so the memory of that log is written once per run: the others' checkpoints are
//! older, and are only tied to it by a consistency proof.

use super::exit::{CliResult, Failure, io_reason};
use super::progress::Progress;
use super::trust_args::{client, local};
use crate::client::context::Context;
use crate::client::destination::{self, Destination};
use crate::client::verified::{self, ReleaseFiles, VerifiedRelease, VerifiedSums};
use rget_core::digest::Hash;
use rget_core::url::{CanonicalUrl, FileUrl};
use rget_core::verify::check_listed;
use rget_fetch::Downloaded;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// One file of the run, everything about it settled before anything is fetched.
pub struct Job {
    /// The file's URL, parsed once.
    pub url: FileUrl,
    /// The name it is listed under in its `SHA256SUMS`.
    pub name: String,
    /// The destination as named (`-o`, or the output directory and the URL's name).
    pub named: PathBuf,
    /// What that destination is.
    pub dest: Destination,
    /// Its release directory: an index into the run's `SHA256SUMS` URLs.
    pub release: usize,
}

/// A file that verified and was handed over.
pub struct Done {
    /// What its `SHA256SUMS` proved, for this file's name and listed digest.
    pub v: VerifiedSums,
    /// The SHA-256 of the bytes handed over (equal to the listed one).
    pub sha256: Hash,
    /// Their length in bytes.
    pub len: u64,
}

/// How the run goes: at most `parallel` transfers at a time, each at most `max_size` bytes, with a
/// progress bar (one file only) or none.
pub struct Plan<'a> {
    /// The files, in the order given.
    pub jobs: &'a [Job],
    /// The `SHA256SUMS` URLs of the run, each once.
    pub releases: &'a [CanonicalUrl],
    /// Transfers at a time (`-P`).
    pub parallel: usize,
    /// Largest file accepted, in bytes (`--max-size`).
    pub max_size: u64,
    /// Whether a progress bar may be drawn: one file only (`Progress` itself draws only on a
    /// terminal).
    pub progress: bool,
}

/// Runs every job; `report(i, outcome)` is called as job `i` ends (from the thread that ran it).
/// Returns the outcomes in the jobs' order. Every job ends: verified and handed over, or failed
/// with nothing of it left.
pub fn run(
    ctx: &Context,
    plan: &Plan<'_>,
    report: &(dyn Fn(usize, &CliResult<Done>) + Sync),
) -> Vec<CliResult<Done>> {
    let board = Board::new(plan.releases.len());
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<Option<CliResult<Done>>>> =
        Mutex::new((0..plan.jobs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        let workers = plan.parallel.clamp(1, plan.jobs.len().max(1));
        for _ in 0..workers {
            s.spawn(|| {
                let end = |i: usize, outcome: CliResult<Done>| {
                    report(i, &outcome);
                    lock(&outcomes)[i] = Some(outcome);
                };
                // A transfer slot is freed as soon as its body is complete: a file whose checks
                // are still running waits here, downloaded, while the slot fetches the next one.
                let mut parked = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = plan.jobs.get(i) else { break };
                    match transfer(ctx, plan, job, &board) {
                        Err(f) => end(i, Err(f)),
                        Ok(dl) => match board.get(job.release) {
                            Some(verdict) => end(i, complete(job, verdict, dl)),
                            None => parked.push((i, dl)),
                        },
                    }
                }
                for (i, dl) in parked {
                    let job = &plan.jobs[i];
                    end(i, complete(job, board.wait(job.release), dl));
                }
            });
        }
        verify_releases(ctx, plan, &board);
    });
    outcomes
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(local("a download ended without an outcome"))))
        .collect()
}

/// Fetches the files of every release directory (a wave of at most `parallel` directories at a
/// time, each directory's three files at once), then checks each directory, in the order that
/// writes each log's memory once, and posts each verdict as soon as it is known.
fn verify_releases(ctx: &Context, plan: &Plan<'_>, board: &Board) {
    let _rest = PostTheRest(board);
    let mut fetched: Vec<(usize, ReleaseFiles)> = Vec::with_capacity(plan.releases.len());
    let indices: Vec<usize> = (0..plan.releases.len()).collect();
    for wave in indices.chunks(plan.parallel.max(1)) {
        std::thread::scope(|s| {
            let handles: Vec<_> = wave
                .iter()
                .map(|&i| {
                    let sums_url = &plan.releases[i];
                    (i, s.spawn(move || ReleaseFiles::fetch(ctx, sums_url)))
                })
                .collect();
            for (i, h) in handles {
                match h.join() {
                    Ok(files) => fetched.push((i, files)),
                    Err(_) => board.post(i, Err(local("a fetch thread stopped unexpectedly"))),
                }
            }
        });
    }
    // Directories whose proof comes from the log's lookup (latest checkpoint) first, then proofs by
    // log and tree size, largest first; a proof whose checkpoint does not even carry its log's
    // signature sorts with the lookups (it fails its full check wherever it comes).
    let mut keyed: Vec<_> = fetched
        .into_iter()
        .map(|(i, f)| (f.proof_checkpoint(ctx), i, f))
        .collect();
    keyed.sort_by(|(a, i, _), (b, j, _)| {
        let key = |k: &Option<(String, u64)>| {
            k.as_ref()
                .map(|(origin, size)| (origin.clone(), std::cmp::Reverse(*size)))
        };
        key(a).cmp(&key(b)).then(i.cmp(j))
    });
    for (_, i, files) in keyed {
        let verdict = verified::verify_release(ctx, plan.releases[i].clone(), files)
            .map(Arc::new)
            .map_err(client);
        board.post(i, verdict);
    }
}

/// How often a transfer in progress looks whether its directory's checks failed meanwhile.
const CHECK_EVERY: Duration = Duration::from_millis(20);

/// One file's transfer, to its end: the body downloaded (or the transfer's own failure, which its
/// directory's verdict may still take precedence over), or a failed check of its directory or name,
/// which stops the transfer at once (dropping it removes its temporary file).
fn transfer(
    ctx: &Context,
    plan: &Plan<'_>,
    job: &Job,
    board: &Board,
) -> CliResult<CliResult<Downloaded>> {
    // Beside the destination, or for a device or FIFO a private spool in $TMPDIR.
    let beside = match &job.dest {
        Destination::Replace(p) => p.clone(),
        Destination::WriteThrough(_) => super::get::spool(),
    };
    // What a killed rget left there (kill -9 skips every cleanup) goes at once; a live run's file
    // is locked and stays.
    rget_fetch::sweep_abandoned(&beside);
    let bar = plan.progress.then(Progress::start);
    let progress: Box<dyn FnMut(u64, Option<u64>) + Send> = match bar.clone() {
        Some(mut b) => Box::new(move |got, total| b.update(got, total)),
        None => Box::new(|_, _| {}),
    };
    let started = ctx
        .fetch
        .start_download(job.url.as_str(), &beside, plan.max_size, progress);
    let result = match started {
        Ok(mut t) => loop {
            // A failed check, or a name its SHA256SUMS does not list, ends it now.
            if let Some(v) = board.get(job.release) {
                let r = v?;
                if r.sums.get(&job.name).is_none() {
                    r.file(job.name.clone()).map_err(client)?;
                }
            }
            match t.wait(Some(CHECK_EVERY)) {
                Ok(r) => break r,
                Err(still) => t = still,
            }
        },
        Err(e) => Err(e),
    };
    if let Some(b) = &bar {
        b.finish();
    }
    Ok(result.map_err(|e| client(e.into())))
}

/// A downloaded file (or its failed transfer) with its directory's verdict: the verdict's failure
/// comes first, then an unlisted name, then the transfer's failure, then a digest other than the
/// listed one; otherwise it is handed over.
fn complete(job: &Job, verdict: Verdict, dl: CliResult<Downloaded>) -> CliResult<Done> {
    let v = verdict?.file(job.name.clone()).map_err(client)?;
    let dl = dl?;
    check_listed(&v.release.sums, &v.name, &dl.sha256).map_err(Failure::verification)?;
    let (sha256, len) = (dl.sha256, dl.len);
    hand_over(dl, job)?;
    Ok(Done { v, sha256, len })
}

/// Moves a verified download to its destination: renamed into place, or written through to a
/// device or FIFO from the very file that was hashed.
fn hand_over(dl: Downloaded, job: &Job) -> CliResult {
    // The destination may have changed kind during a long download: decide again.
    if destination::resolve(&job.named).map_err(|e| client(e.into()))? != job.dest {
        return Err(local(format!(
            "{}: changed while it was being downloaded (it is no longer the same kind of file): nothing was written",
            job.named.display()
        )));
    }
    match &job.dest {
        Destination::Replace(p) => dl.persist(p, 0o644).map_err(|e| client(e.into())),
        Destination::WriteThrough(p) => {
            let mut out = destination::open_write_through(p).map_err(|e| client(e.into()))?;
            // The same open file that was hashed: nothing can swap the bytes in between.
            let mut r = dl
                .reader()
                .map_err(|e| local(format!("{}: {}", dl.temp_path().display(), io_reason(&e))))?;
            std::io::copy(&mut r, &mut out)
                .map(|_| ())
                .map_err(|e| local(format!("writing {}: {}", p.display(), io_reason(&e))))
        }
    }
}

/// The verdicts on the run's release directories, posted by the checking thread and awaited by
/// the transfers. [`verify_releases`] posts one for every directory, and [`PostTheRest`] fills in
/// any it could not, so no transfer waits forever.
struct Board {
    verdicts: Mutex<Vec<Option<Verdict>>>,
    posted: Condvar,
}

type Verdict = CliResult<Arc<VerifiedRelease>>;

impl Board {
    fn new(n: usize) -> Board {
        Board {
            verdicts: Mutex::new((0..n).map(|_| None).collect()),
            posted: Condvar::new(),
        }
    }

    fn post(&self, i: usize, v: Verdict) {
        if let Some(slot) = lock(&self.verdicts).get_mut(i) {
            *slot = Some(v);
        }
        self.posted.notify_all();
    }

    /// The verdict on directory `i`, if it is known yet.
    fn get(&self, i: usize) -> Option<Verdict> {
        lock(&self.verdicts).get(i).cloned().flatten()
    }

    fn wait(&self, i: usize) -> Verdict {
        let mut g = lock(&self.verdicts);
        loop {
            match g.get(i) {
                Some(Some(v)) => return v.clone(),
                Some(None) => {}
                None => return Err(local("no such release directory")),
            }
            g = self.posted.wait(g).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Posts a failure for every directory still without a verdict when the checking ends, however it
/// ends (a panic included): a transfer never waits for a verdict that cannot come.
struct PostTheRest<'a>(&'a Board);

impl Drop for PostTheRest<'_> {
    fn drop(&mut self) {
        for v in lock(&self.0.verdicts).iter_mut().filter(|v| v.is_none()) {
            *v = Some(Err(local("its SHA256SUMS could not be checked")));
        }
        self.0.posted.notify_all();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
