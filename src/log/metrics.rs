//! Prometheus-format counters for `GET /metrics`. Plain atomics: the sequencer and the HTTP handlers
//! update them without locks, and rendering reads a consistent-enough snapshot.

use super::witnessing::{WitnessStats, render_stats};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Why a submission was refused. Each is a label value of `rget_log_rejected_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    /// `url` missing, not https, too long or not canonicalisable.
    BadUrl,
    /// The body is not a well-formed `SHA256SUMS`.
    BadSums,
    /// Body or record larger than the limits.
    TooLarge,
    /// The sequencer queue is full (503 with Retry-After).
    QueueFull,
    /// The log cannot commit (storage error, shutting down).
    Unavailable,
    /// Anything else malformed about the request.
    BadRequest,
    /// No checkpoint covering the record was published in time (the witnesses' quorum, their
    /// budgets): 503 with the reason; the record stays in the log.
    NotPublished,
    /// A Sigsum leaf whose signature does not verify, or a missing or bad `Sigsum-Token`.
    Forbidden,
    /// The client went over its rate limit (429 with Retry-After).
    RateLimited,
}

impl Reject {
    /// Every reason, in the order `/metrics` lists them.
    pub const ALL: [Reject; 9] = [
        Reject::BadUrl,
        Reject::BadSums,
        Reject::TooLarge,
        Reject::QueueFull,
        Reject::Unavailable,
        Reject::BadRequest,
        Reject::NotPublished,
        Reject::Forbidden,
        Reject::RateLimited,
    ];
    /// The value of the `reason` label.
    pub fn label(self) -> &'static str {
        match self {
            Reject::BadUrl => "bad_url",
            Reject::BadSums => "bad_sums",
            Reject::TooLarge => "too_large",
            Reject::QueueFull => "queue_full",
            Reject::Unavailable => "unavailable",
            Reject::BadRequest => "bad_request",
            Reject::NotPublished => "not_published",
            Reject::Forbidden => "forbidden",
            Reject::RateLimited => "rate_limited",
        }
    }
}

/// Upper bounds (seconds) of the batch latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The log's counters and gauges, rendered by [`Metrics::render`] for `GET /metrics`.
#[derive(Default)]
pub struct Metrics {
    /// Records sequenced into the log (`rget_log_entries_total`).
    pub entries: AtomicU64,
    /// Size of the published tree (`rget_log_tree_size`).
    pub tree_size: AtomicU64,
    /// Batches made durable and published (`rget_log_batches_total`).
    pub batches: AtomicU64,
    /// Submissions of records already in the log, answered with the existing index
    /// (`rget_log_duplicate_submissions_total`).
    pub duplicates: AtomicU64,
    /// Submissions waiting for the sequencer (`rget_log_queue_depth`).
    pub queue_depth: AtomicU64,
    /// Batches that could not be made durable (`rget_log_commit_failures_total`).
    pub commit_failures: AtomicU64,
    /// 1 while the durable tree is ahead of the published checkpoint because the witnesses asked
    /// did not meet the quorum.
    pub quorum_missing: AtomicU64,
    /// 1 while the durable tree is ahead of the published checkpoint because too few witnesses have
    /// budget left to meet the quorum (the next checkpoint will cover everything sequenced meanwhile).
    pub budget_wait: AtomicU64,
    /// Each witness's record (the sequencer replaces it after every round of witnessing).
    pub witnesses: Mutex<Vec<WitnessStats>>,
    /// Witness requests that did not yield a valid cosignature.
    pub witness_failures: AtomicU64,
    rejected: [AtomicU64; Reject::ALL.len()],
    batch_buckets: [AtomicU64; 12],
    batch_count: AtomicU64,
    batch_micros: AtomicU64,
}

impl Metrics {
    /// Counts one submission refused for `r`.
    pub fn reject(&self, r: Reject) {
        self.rejected[r as usize].fetch_add(1, Relaxed);
    }
    /// How many submissions were refused for `r`.
    pub fn rejected(&self, r: Reject) -> u64 {
        self.rejected[r as usize].load(Relaxed)
    }
    /// Replaces the witnesses' records.
    pub fn set_witnesses(&self, stats: Vec<WitnessStats>) {
        *self
            .witnesses
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = stats;
    }

    /// Records one committed batch and how long it took from its first submission to publication.
    pub fn batch(&self, latency: Duration) {
        let s = latency.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.batch_buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.batch_count.fetch_add(1, Relaxed);
        self.batch_micros
            .fetch_add(latency.as_micros().min(u64::MAX as u128) as u64, Relaxed);
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let mut counter = |name: &str, help: &str, kind: &str, v: u64| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        counter(
            "rget_log_entries_total",
            "Records sequenced into the log.",
            "counter",
            self.entries.load(Relaxed),
        );
        counter(
            "rget_log_tree_size",
            "Size of the published tree.",
            "gauge",
            self.tree_size.load(Relaxed),
        );
        counter(
            "rget_log_batches_total",
            "Batches made durable and published.",
            "counter",
            self.batches.load(Relaxed),
        );
        counter(
            "rget_log_duplicate_submissions_total",
            "Submissions of records already in the log (answered with the existing index).",
            "counter",
            self.duplicates.load(Relaxed),
        );
        counter(
            "rget_log_queue_depth",
            "Submissions waiting for the sequencer.",
            "gauge",
            self.queue_depth.load(Relaxed),
        );
        counter(
            "rget_log_commit_failures_total",
            "Batches that could not be made durable.",
            "counter",
            self.commit_failures.load(Relaxed),
        );
        counter(
            "rget_log_quorum_missing",
            "1 while new entries wait for the witnesses' quorum (the last cosigned checkpoint stays published).",
            "gauge",
            self.quorum_missing.load(Relaxed),
        );
        counter(
            "rget_log_budget_wait",
            "1 while new entries wait for witnesses' budgets to meet the quorum (they will share one checkpoint).",
            "gauge",
            self.budget_wait.load(Relaxed),
        );
        counter(
            "rget_log_witness_failures_total",
            "Witness requests that did not yield a valid cosignature.",
            "counter",
            self.witness_failures.load(Relaxed),
        );
        let _ = writeln!(
            o,
            "# HELP rget_log_rejected_total Submissions refused, by reason."
        );
        let _ = writeln!(o, "# TYPE rget_log_rejected_total counter");
        for r in Reject::ALL {
            let _ = writeln!(
                o,
                "rget_log_rejected_total{{reason=\"{}\"}} {}",
                r.label(),
                self.rejected(r)
            );
        }
        let _ = writeln!(
            o,
            "# HELP rget_log_batch_seconds Time from a batch's first submission to its published checkpoint."
        );
        let _ = writeln!(o, "# TYPE rget_log_batch_seconds histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                o,
                "rget_log_batch_seconds_bucket{{le=\"{b}\"}} {}",
                self.batch_buckets[i].load(Relaxed)
            );
        }
        let count = self.batch_count.load(Relaxed);
        let _ = writeln!(o, "rget_log_batch_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            o,
            "rget_log_batch_seconds_sum {}",
            self.batch_micros.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(o, "rget_log_batch_seconds_count {count}");
        render_stats(
            &self
                .witnesses
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            &mut o,
        );
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.entries.fetch_add(3, Relaxed);
        m.reject(Reject::QueueFull);
        m.reject(Reject::QueueFull);
        m.batch(Duration::from_millis(7));
        let t = m.render();
        assert!(t.contains("rget_log_entries_total 3\n"));
        assert!(t.contains("rget_log_rejected_total{reason=\"queue_full\"} 2\n"));
        assert!(t.contains("rget_log_rejected_total{reason=\"bad_url\"} 0\n"));
        assert!(t.contains("rget_log_batch_seconds_bucket{le=\"0.005\"} 0\n"));
        assert!(t.contains("rget_log_batch_seconds_bucket{le=\"0.01\"} 1\n"));
        assert!(t.contains("rget_log_batch_seconds_count 1\n"));
    }
}
