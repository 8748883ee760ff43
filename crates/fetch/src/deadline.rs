//! [`Deadline`]: the time limit of a whole command (`--max-time`, curl's name), the one instant that
//! every wait of a run is measured against.
//!
//! A per-read timeout alone does not bound a run: a server that sends one byte every 0.4 s keeps
//! every read alive for ever, and retries multiply whatever each attempt takes. So the client caps
//! each request's connect, reads and body at the time left, never starts an attempt or a backoff
//! pause that cannot finish in time, and the checkpoint memory waits for its lock no longer than
//! that either. When the time is up the run fails with one error naming this limit.

use std::time::{Duration, Instant};

/// The end of the time a command may take, and the limit it was made from (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
    limit: Duration,
}

impl Deadline {
    /// `limit` from now. A limit too far away to represent is treated as about a century.
    pub fn after(limit: Duration) -> Deadline {
        let now = Instant::now();
        let at = now
            .checked_add(limit)
            .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
            .unwrap_or(now);
        Deadline { at, limit }
    }

    /// The time left (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Whether the time is up.
    pub fn expired(&self) -> bool {
        self.remaining().is_zero()
    }

    /// The limit this deadline was made from.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// `the time limit of 3 s for the whole command (--max-time)`, for messages.
    pub fn describe(&self) -> String {
        let l = self.limit;
        let secs = if l.subsec_millis() == 0 {
            format!("{}", l.as_secs())
        } else {
            format!("{:.1}", l.as_secs_f64())
        };
        format!("the time limit of {secs} s for the whole command (--max-time)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_and_names_its_limit() {
        let d = Deadline::after(Duration::from_secs(3));
        assert!(!d.expired());
        assert!(d.remaining() <= Duration::from_secs(3));
        assert!(d.remaining() > Duration::from_secs(2));
        assert_eq!(
            d.describe(),
            "the time limit of 3 s for the whole command (--max-time)"
        );
        let gone = Deadline::after(Duration::ZERO);
        assert!(gone.expired());
        assert_eq!(gone.remaining(), Duration::ZERO);
        assert!(
            Deadline::after(Duration::from_millis(1500))
                .describe()
                .contains("1.5 s")
        );
        // A limit beyond what an Instant holds is far away, not an overflow.
        assert!(!Deadline::after(Duration::MAX).expired());
    }
}
