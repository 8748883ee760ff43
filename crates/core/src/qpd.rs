//! A log's add-checkpoint budget: `qpd`, the number of C2SP tlog-witness `add-checkpoint` requests a
//! log may send a witness per day (the `qpd` field of the witness network's log lists), and the one
//! token bucket both sides of the protocol apply to it, so that a log keeping within its bucket is
//! never refused by a witness enforcing its own.
//!
//! Both buckets refill at `qpd / 86400` requests per second; they differ only in how many unused
//! requests they hold:
//! - the witness holds [`witness_burst`]`(qpd)`: one minute of the budget, at least 3. Over any
//!   period of `t` seconds it accepts at most `burst + qpd·t/86400` requests of a log, and answers
//!   429 to the rest;
//! - the log holds [`LOG_BURST`] = 2 (a request and its resend after a 409 that told it the size
//!   the witness holds) and starts full. It sends at most `2 + qpd·t/86400` in any `t` seconds,
//!   at least one request fewer than the witness accepts, and that request of margin absorbs a
//!   network delay that varies by up to `86400/qpd` seconds (one second at 86,400 a day), or a
//!   log restarted with the witness's bucket nearly empty.
//!
//! Time is passed in (milliseconds on any monotonic clock) and counted in integers: the core has no
//! clock, and the arithmetic is exact, so tests can replay a schedule.

/// Seconds in a day: the period `qpd` counts requests in.
pub const DAY_SECONDS: u64 = 86_400;
const DAY_MS: u64 = DAY_SECONDS * 1000;
/// The exclusive upper bound of a `qpd` (log-list format: "in the range [1, 2^31)").
pub const MAX_QPD_EXCLUSIVE: u64 = 1 << 31;
/// The requests a log keeps in reserve: one, and the resend a 409 asks for.
pub const LOG_BURST: u64 = 2;
/// The least a witness lets a log have in reserve: the log's own reserve and one of margin.
pub const MIN_WITNESS_BURST: u64 = LOG_BURST + 1;

/// Parses a `qpd` as the log-list format writes it: ASCII digits only, no leading zero, in
/// `[1, 2^31)`.
pub fn parse(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) || s.starts_with('0')
    {
        return None;
    }
    let n: u64 = s.parse().ok()?;
    if n < MAX_QPD_EXCLUSIVE {
        u32::try_from(n).ok()
    } else {
        None
    }
}

/// What a witness holds in reserve for a log with budget `qpd`: a minute of it, at least
/// [`MIN_WITNESS_BURST`].
pub fn witness_burst(qpd: u32) -> u64 {
    (u64::from(qpd) / 1440).max(MIN_WITNESS_BURST)
}

/// A token bucket over a `qpd`: `capacity` requests in reserve, refilled at `qpd` a day. Tokens are
/// counted in units of 1/86,400,000 of a request, so that one millisecond adds exactly `qpd` units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    qpd: u32,
    /// Units held (one request = `DAY_MS` units).
    units: u64,
    /// Most units held.
    cap: u64,
    /// The time `units` was computed for, in milliseconds.
    at_ms: u64,
}

impl Budget {
    /// The bucket a witness keeps for a log with budget `qpd`, full at `now_ms`.
    pub fn for_witness(qpd: u32, now_ms: u64) -> Budget {
        Budget::new(qpd, witness_burst(qpd), now_ms)
    }

    /// The bucket a log keeps for a witness that grants it `qpd`, full at `now_ms`.
    pub fn for_log(qpd: u32, now_ms: u64) -> Budget {
        Budget::new(qpd, LOG_BURST, now_ms)
    }

    fn new(qpd: u32, burst: u64, now_ms: u64) -> Budget {
        let cap = burst.saturating_mul(DAY_MS);
        Budget {
            qpd,
            units: cap,
            cap,
            at_ms: now_ms,
        }
    }

    /// The budget, in requests per day.
    pub fn qpd(&self) -> u32 {
        self.qpd
    }

    /// Brings the bucket to `now_ms` (a time before the last one counts as the last one: a clock
    /// that steps back never adds requests).
    fn refill(&mut self, now_ms: u64) {
        if now_ms > self.at_ms {
            let added = (now_ms - self.at_ms).saturating_mul(u64::from(self.qpd));
            self.units = self.units.saturating_add(added).min(self.cap);
            self.at_ms = now_ms;
        }
    }

    /// Whole requests available at `now_ms`.
    pub fn available(&mut self, now_ms: u64) -> u64 {
        self.refill(now_ms);
        self.units / DAY_MS
    }

    /// Milliseconds from `now_ms` until one request is available (0 if one is).
    pub fn wait_ms(&mut self, now_ms: u64) -> u64 {
        self.refill(now_ms);
        let missing = DAY_MS.saturating_sub(self.units);
        // Round up: at the returned time the request is there.
        missing.div_ceil(u64::from(self.qpd.max(1)))
    }

    /// Spends one request at `now_ms`, or says how many milliseconds until one is available.
    pub fn take(&mut self, now_ms: u64) -> Result<(), u64> {
        self.refill(now_ms);
        if self.units >= DAY_MS {
            self.units -= DAY_MS;
            Ok(())
        } else {
            Err(self.wait_ms(now_ms))
        }
    }

    /// Empties the bucket at `now_ms`: the other side said 429, so its bucket is empty whatever
    /// this one counted (after a restart of either side, say).
    pub fn drain(&mut self, now_ms: u64) {
        self.refill(now_ms);
        self.units = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qpd_grammar() {
        assert_eq!(parse("1"), Some(1));
        assert_eq!(parse("86400"), Some(86_400));
        assert_eq!(parse("2147483647"), Some(i32::MAX as u32));
        for bad in [
            "",
            "0",
            "01",
            "2147483648",
            "99999999999",
            "-1",
            "+1",
            " 1",
            "1 ",
            "1e3",
            "١",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bursts() {
        assert_eq!(witness_burst(1), 3);
        assert_eq!(witness_burst(86_400), 60);
        assert_eq!(witness_burst(i32::MAX as u32), 1_491_308);
    }

    #[test]
    fn refills_at_qpd_a_day_up_to_the_cap() {
        // 8640 a day: one every 10 s.
        let mut b = Budget::for_log(8640, 1_000);
        assert_eq!(b.available(1_000), 2);
        assert_eq!(b.take(1_000), Ok(()));
        assert_eq!(b.take(1_000), Ok(()));
        assert_eq!(b.take(1_000), Err(10_000));
        assert_eq!(b.wait_ms(6_000), 5_000);
        assert_eq!(b.take(10_999), Err(1));
        assert_eq!(b.take(11_000), Ok(()));
        // Idle for a day: still only the cap.
        assert_eq!(b.available(11_000 + DAY_MS), 2);
        // A clock stepping back adds nothing.
        b.drain(11_000 + DAY_MS);
        assert_eq!(b.available(0), 0);
        assert_eq!(b.wait_ms(11_000 + DAY_MS), 10_000);
    }

    /// The promise of the module: a log that spends whenever its bucket lets it is never refused by
    /// a witness bucket of the same qpd, even when each request arrives up to `86400/qpd` seconds
    /// later than sent, by a different delay each time.
    #[test]
    fn a_log_within_its_bucket_is_never_refused_by_the_witness() {
        for qpd in [1u32, 24, 1440, 8640, 86_400, 864_000] {
            let mut log = Budget::for_log(qpd, 0);
            let mut witness = Budget::for_witness(qpd, 0);
            let jitter = DAY_MS / u64::from(qpd);
            let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(qpd);
            let mut t = 0u64;
            let mut last_arrival = 0u64;
            let mut sent = 0;
            while sent < 2000 {
                match log.take(t) {
                    Ok(()) => {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        // Arrivals keep their order (one connection), each delayed by 0..=jitter.
                        let arrival = (t + seed % (jitter + 1)).max(last_arrival);
                        last_arrival = arrival;
                        assert_eq!(
                            witness.take(arrival),
                            Ok(()),
                            "qpd {qpd}: request {sent} refused"
                        );
                        sent += 1;
                    }
                    Err(wait) => t += wait,
                }
            }
        }
    }
}
