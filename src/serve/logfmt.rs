//! Structured logs for the servers (the log, its sequencer, the witness): one logfmt line per event
//! on stderr (`ts=… level=… msg="…" key=value…`), which journald, Loki and plain `grep` all read.
//!
//! Many events are one per request (a refused submission, a cosignature), so a flood of requests
//! would be a flood of lines: megabytes of stderr a second, filling the disk journald writes to and
//! drowning the lines that matter. So each kind of event (its message) may write [`BURST`] lines at
//! once and [`PER_SECOND`] a second after that; the rest are counted, and once a second one line
//! per kind says how many were left out (`msg="events left out" event="…" count=N`).

use std::collections::HashMap;
use std::fmt::{Display, Write as _};
use std::io::{self, Write as _};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Lines one kind of event may write at once.
pub const BURST: u32 = 50;
/// Lines one kind of event may write a second, after its burst.
pub const PER_SECOND: u32 = 10;

/// Log levels of [`event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// What the server did: started, stopped, cosigned.
    Info,
    /// A request refused, or a condition the server carries on through (a quorum not met, a
    /// configuration overridden).
    Warn,
    /// A failure of the server's own: a file it cannot read or write, a socket it cannot accept on.
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Writes one logfmt line to stderr: `ts=… level=… msg="…" key=value…`. Values are quoted when they
/// need it, and line breaks are escaped, so one event is always one line whatever it quotes. Within
/// the limits of each kind of event (see the module documentation); beyond them it is counted.
pub fn event(level: Level, msg: &str, fields: &[(&str, &dyn Display)]) {
    if !limiter().admit(msg, Instant::now()) {
        start_reporting();
        return;
    }
    write_event(level, msg, fields);
}

fn write_event(level: Level, msg: &str, fields: &[(&str, &dyn Display)]) {
    let mut line = format!("ts={} level={} msg=", timestamp(), level.as_str());
    push_value(&mut line, msg);
    for (k, v) in fields {
        line.push(' ');
        line.push_str(k);
        line.push('=');
        push_value(&mut line, &v.to_string());
    }
    line.push('\n');
    // Nowhere to report a failed write to stderr; the event is lost, the server goes on.
    let _ = io::stderr().lock().write_all(line.as_bytes());
}

/// Token buckets by message, and what each left out since it was last reported.
#[derive(Default)]
struct Limiter {
    kinds: Mutex<HashMap<String, Kind>>,
}

struct Kind {
    tokens: f64,
    at: Instant,
    left_out: u64,
}

impl Limiter {
    /// Whether an event of kind `msg` may be written at `now`; if not, it is counted.
    fn admit(&self, msg: &str, now: Instant) -> bool {
        let mut kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        let k = kinds.entry(msg.to_owned()).or_insert(Kind {
            tokens: f64::from(BURST),
            at: now,
            left_out: 0,
        });
        let elapsed = now.saturating_duration_since(k.at).as_secs_f64();
        k.tokens = (k.tokens + elapsed * f64::from(PER_SECOND)).min(f64::from(BURST));
        k.at = now;
        if k.tokens >= 1.0 {
            k.tokens -= 1.0;
            true
        } else {
            k.left_out += 1;
            false
        }
    }

    /// The kinds that left events out since the last call, with how many; their counts restart.
    fn take_left_out(&self) -> Vec<(String, u64)> {
        let mut kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<(String, u64)> = kinds
            .iter_mut()
            .filter(|(_, k)| k.left_out > 0)
            .map(|(m, k)| (m.clone(), std::mem::take(&mut k.left_out)))
            .collect();
        out.sort();
        out
    }
}

fn limiter() -> &'static Limiter {
    static LIMITER: OnceLock<Limiter> = OnceLock::new();
    LIMITER.get_or_init(Limiter::default)
}

/// Starts (once) the thread that says, once a second, how many events of each kind were left out.
fn start_reporting() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        // Without the thread, the counts are lost, not the server: nothing to report it to.
        let _ = std::thread::Builder::new()
            .name("rget-log-summary".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(Duration::from_secs(1));
                    for (msg, count) in limiter().take_left_out() {
                        write_event(
                            Level::Warn,
                            "events left out",
                            &[
                                ("event", &msg),
                                ("count", &count),
                                ("limit", &format!("{BURST} at once, {PER_SECOND}/s")),
                            ],
                        );
                    }
                }
            });
    });
}

fn push_value(out: &mut String, v: &str) {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '=' && c != '\\');
    if plain {
        out.push_str(v);
        return;
    }
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The current UTC time as RFC 3339 with milliseconds, without a date crate.
fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let t = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        t / 3600,
        t / 60 % 60,
        t % 60,
        now.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logfmt_values() {
        let mut s = String::new();
        push_value(&mut s, "plain");
        push_value(&mut s, " ");
        push_value(&mut s, "a \"b\"\nc");
        push_value(&mut s, "");
        assert_eq!(s, "plain\" \"\"a \\\"b\\\"\\nc\"\"\"");
    }

    #[test]
    fn each_kind_of_event_gets_a_burst_then_a_rate_and_the_rest_is_counted() {
        let l = Limiter::default();
        let t = Instant::now();
        let admitted = (0..1000).filter(|_| l.admit("refused", t)).count();
        assert_eq!(admitted, BURST as usize);
        // Another kind is not affected.
        assert!(l.admit("cosigned", t));
        assert_eq!(
            l.take_left_out(),
            vec![("refused".to_owned(), 1000 - u64::from(BURST))]
        );
        assert_eq!(l.take_left_out(), vec![]);
        // A second later, PER_SECOND more.
        let later = t + Duration::from_secs(1);
        let admitted = (0..1000).filter(|_| l.admit("refused", later)).count();
        assert_eq!(admitted, PER_SECOND as usize);
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
