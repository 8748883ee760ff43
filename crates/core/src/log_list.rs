//! The witness network's log lists (transparency-dev/witness-network, `log-list-format.md`): the
//! logs a witness discovers and offers to cosign.
//!
//! ```text
//! # comment
//! logs/v0
//!
//! vkey <verifier key, Ed25519 (type 0x01)>
//! origin <checkpoint origin>            (optional; defaults to the key name)
//! qpd <add-checkpoint requests a day, 1 to 2^31-1>
//! contact <anything a person can use>
//! ...                                   (zero or more logs, each these lines in this order)
//! ```
//!
//! Blank lines and lines starting with `#` are ignored; every other line has its leading and trailing
//! white space removed. The header comes first, then each log's lines strictly in that order.
//!
//! Decisions where the format leaves room (all refuse rather than guess, and every error names its
//! line):
//! - an unknown keyword is an error (the format's header names its version; a list that means
//!   something this parser does not understand is not read halfway);
//! - keyword and value are separated by exactly one space (the reference validator splits on one
//!   space); `origin` and `contact` take the rest of the line, spaces included (Go's checksum
//!   database's origin is `go.sum database tree`), `vkey` and `qpd` exactly one value;
//! - the origin must be non-empty and hold no tab (what a checkpoint's first line can be), and the key
//!   a valid Ed25519 note key, as a witness checks them later anyway;
//! - two logs with one origin in one list are an error: which key would the witness trust?
//! - control characters other than tab (C0, DEL and C1) are refused anywhere, so nothing from a
//!   list can rewrite a terminal or a log line;
//! - the list is at most [`MAX_LIST_SIZE`] bytes, lines at most [`MAX_LINE_LEN`].

use crate::note::{ALG_ED25519, KeyError, VerifierKey, snippet};
use crate::qpd;
use std::collections::HashMap;
use std::fmt;
use thiserror::Error;

/// The header line of the only format version there is.
pub const HEADER: &str = "logs/v0";
/// Largest list accepted. The network's largest performance profile is 40,000 logs; at about 200
/// bytes a log that is 8 MB, and the limit leaves room for comments and long contact lines.
pub const MAX_LIST_SIZE: usize = 32 * 1024 * 1024;
/// Longest line accepted (a verifier key is under 200 bytes; contact lines are short).
pub const MAX_LINE_LEN: usize = 4 * 1024;

/// A line of a log list that is not what the format allows, with its 1-based number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LogListError {
    /// The list is over [`MAX_LIST_SIZE`] bytes; refused before parsing.
    #[error("log list is {len} bytes, over the limit of {MAX_LIST_SIZE} bytes")]
    TooLarge {
        /// The list's size in bytes.
        len: usize,
    },
    /// The list's bytes are not valid UTF-8.
    #[error("log list is not UTF-8 (line {line})")]
    NotUtf8 {
        /// The 1-based line that holds the first invalid byte.
        line: usize,
    },
    /// A line, without its `\n`, is over [`MAX_LINE_LEN`] bytes.
    #[error("log list line {line}: line is {len} bytes, over the limit of {MAX_LINE_LEN} bytes")]
    LineTooLong {
        /// The 1-based line number in the list.
        line: usize,
        /// The line's length in bytes, without its `\n`.
        len: usize,
    },
    /// A line, once trimmed of white space at both ends, holds a control character other than tab
    /// (C0, DEL or C1), comments included.
    #[error("log list line {line}: control character U+{char:04X}")]
    ControlChar {
        /// The 1-based line number in the list.
        line: usize,
        /// The first such character's code point.
        char: u32,
    },
    /// The list has no line other than blank lines and comments, so no `logs/v0` header.
    #[error("log list has no {HEADER:?} header line")]
    NoHeader,
    /// The first line that is neither blank nor a comment is not exactly `logs/v0`.
    #[error("log list line {line}: {found:?} where the header {HEADER:?} must come first")]
    BadHeader {
        /// The 1-based line number in the list.
        line: usize,
        /// The line, trimmed and shortened for the message.
        found: String,
    },
    /// A line after the header starts with a keyword other than `vkey`, `origin`, `qpd` and
    /// `contact` (the keyword is what comes before the first space).
    #[error("log list line {line}: unknown keyword {keyword:?}")]
    UnknownKeyword {
        /// The 1-based line number in the list.
        line: usize,
        /// The keyword as the line gives it, shortened for the message.
        keyword: String,
    },
    /// A known keyword comes where a log's lines do not allow it: not `vkey` first, `origin` or
    /// `qpd` repeated, `origin` after `qpd`, `contact` before `qpd`, or `vkey` before the previous
    /// log's `contact`.
    #[error("log list line {line}: {keyword} line, but {expected} expected")]
    OutOfOrder {
        /// The 1-based line number in the list.
        line: usize,
        /// The keyword found.
        keyword: &'static str,
        /// What the parser expected at that point, as a phrase for the message.
        expected: &'static str,
    },
    /// A keyword's value is missing or empty, `vkey` or `qpd` has more than one value (a space
    /// or tab in it), or `origin` holds a tab (no checkpoint origin line can).
    #[error("log list line {line}: {keyword} needs {want}")]
    Value {
        /// The 1-based line number in the list.
        line: usize,
        /// The line's keyword.
        keyword: &'static str,
        /// What the value must be, as a phrase for the message.
        want: &'static str,
    },
    /// A `vkey` value is not a valid verifier key.
    #[error("log list line {line}: vkey: {source}")]
    Key {
        /// The 1-based line number in the list.
        line: usize,
        /// Why the key does not parse.
        source: KeyError,
    },
    /// A `vkey` parses, but its type is not Ed25519 (0x01), the only type a log signs
    /// checkpoints with.
    #[error("log list line {line}: vkey has type 0x{alg:02x}; a log's key must be Ed25519 (0x01)")]
    KeyType {
        /// The 1-based line number in the list.
        line: usize,
        /// The key's type byte.
        alg: u8,
    },
    /// A `qpd` value is not ASCII digits without leading zero from 1 to 2^31 − 1.
    #[error("log list line {line}: qpd {value:?} is not a number from 1 to 2147483647")]
    Qpd {
        /// The 1-based line number in the list.
        line: usize,
        /// The value as the line gives it, shortened for the message.
        value: String,
    },
    /// Two logs of the list have the same origin (from their `origin` line or their key name).
    #[error("log list line {line}: origin {origin:?} is already listed on line {first}")]
    DuplicateOrigin {
        /// The 1-based line of the second log's `vkey`.
        line: usize,
        /// The shared origin, shortened for the message.
        origin: String,
        /// The 1-based line of the first log's `vkey`.
        first: usize,
    },
    /// The list ends after a log's `vkey` but before its `qpd` or `contact` line.
    #[error("log list ends inside the log that starts on line {line} (it has no {missing} line)")]
    Incomplete {
        /// The 1-based line of that log's `vkey`.
        line: usize,
        /// The first line it lacks: `qpd` or `contact`.
        missing: &'static str,
    },
}

/// One log of a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The key its checkpoints are signed with.
    pub vkey: VerifierKey,
    /// The origin line of its checkpoints: the `origin` line, or else the key name.
    pub origin: String,
    /// Add-checkpoint requests it may send a day.
    pub qpd: u32,
    /// How to reach its operator.
    pub contact: String,
    /// The line of its `vkey`, for messages.
    pub line: usize,
}

impl Entry {
    /// The entry's lines as a list writes them: `origin` only when it differs from the key name,
    /// as the format recommends. Parsing them gives this entry back.
    pub fn to_lines(&self) -> String {
        let mut s = format!("vkey {}\n", self.vkey);
        if self.origin != self.vkey.name {
            s.push_str(&format!("origin {}\n", self.origin));
        }
        s.push_str(&format!("qpd {}\ncontact {}\n", self.qpd, self.contact));
        s
    }
}

/// A parsed log list: its logs, in the order listed.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LogList {
    /// The logs, in list order, no two with one origin.
    pub logs: Vec<Entry>,
}

impl fmt::Display for LogList {
    /// The list in its one canonical spelling: the header, then each entry after a blank line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{HEADER}")?;
        for e in &self.logs {
            write!(f, "\n{}", e.to_lines())?;
        }
        Ok(())
    }
}

/// What the parser expects next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Vkey,
    OriginOrQpd,
    Contact,
}

/// A log whose lines are being read.
struct Partial {
    vkey: VerifierKey,
    origin: Option<String>,
    qpd: Option<u32>,
    line: usize,
}

/// `keyword <value>`: the value if it is `fit`, or an error naming what was wanted.
fn checked_value<'a>(
    value: Option<&'a str>,
    line: usize,
    keyword: &'static str,
    want: &'static str,
    fit: fn(&str) -> bool,
) -> Result<&'a str, LogListError> {
    match value {
        Some(v) if fit(v) => Ok(v),
        _ => Err(LogListError::Value {
            line,
            keyword,
            want,
        }),
    }
}

/// `keyword <one value>`: one word.
fn one_word(v: &str) -> bool {
    !v.is_empty() && !v.contains([' ', '\t'])
}

/// `keyword <rest of the line>`: anything but blank.
fn not_blank(v: &str) -> bool {
    !v.trim().is_empty()
}

/// Parses a log list.
pub fn parse(bytes: &[u8]) -> Result<LogList, LogListError> {
    if bytes.len() > MAX_LIST_SIZE {
        return Err(LogListError::TooLarge { len: bytes.len() });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| LogListError::NotUtf8 {
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
    })?;
    let mut list = LogList::default();
    let mut origins: HashMap<String, usize> = HashMap::new();
    let mut header = false;
    let mut expect = Expect::Vkey;
    let mut partial: Option<Partial> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let n = i + 1;
        if raw.len() > MAX_LINE_LEN {
            return Err(LogListError::LineTooLong {
                line: n,
                len: raw.len(),
            });
        }
        // White space at either end goes first (a CRLF list's CR with it), then any control
        // character left is refused.
        let line = raw.trim();
        if let Some(c) = line.chars().find(|&c| c.is_control() && c != '\t') {
            return Err(LogListError::ControlChar {
                line: n,
                char: u32::from(c),
            });
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !header {
            if line != HEADER {
                return Err(LogListError::BadHeader {
                    line: n,
                    found: snippet(line),
                });
            }
            header = true;
            continue;
        }
        let (keyword, value) = match line.split_once(' ') {
            Some((k, v)) => (k, Some(v)),
            None => (line, None),
        };
        let value_of = |keyword: &'static str, want: &'static str, fit: fn(&str) -> bool| {
            checked_value(value, n, keyword, want, fit)
        };
        match keyword {
            "vkey" => {
                if expect != Expect::Vkey {
                    return Err(out_of_order(n, "vkey", expect));
                }
                let v = value_of("vkey", "one verifier key", one_word)?;
                let vkey = VerifierKey::parse(v)
                    .map_err(|source| LogListError::Key { line: n, source })?;
                if vkey.alg != ALG_ED25519 {
                    return Err(LogListError::KeyType {
                        line: n,
                        alg: vkey.alg,
                    });
                }
                partial = Some(Partial {
                    vkey,
                    origin: None,
                    qpd: None,
                    line: n,
                });
                expect = Expect::OriginOrQpd;
            }
            "origin" => {
                let Some(p) = partial.as_mut().filter(|p| {
                    expect == Expect::OriginOrQpd && p.origin.is_none() && p.qpd.is_none()
                }) else {
                    return Err(out_of_order(n, "origin", expect));
                };
                let v = value_of("origin", "the log's checkpoint origin line", not_blank)?;
                // Tab is the one control character a list line may hold; a checkpoint holds none
                // (found by the `log_list` fuzz target: such a log could never be witnessed).
                if v.contains('\t') {
                    return Err(LogListError::Value {
                        line: n,
                        keyword: "origin",
                        want: "a checkpoint origin line, which has no tab",
                    });
                }
                p.origin = Some(v.to_owned());
            }
            "qpd" => {
                let Some(p) = partial
                    .as_mut()
                    .filter(|p| expect == Expect::OriginOrQpd && p.qpd.is_none())
                else {
                    return Err(out_of_order(n, "qpd", expect));
                };
                let v = value_of("qpd", "one number", one_word)?;
                p.qpd = Some(qpd::parse(v).ok_or_else(|| LogListError::Qpd {
                    line: n,
                    value: snippet(v),
                })?);
                expect = Expect::Contact;
            }
            "contact" => {
                if expect != Expect::Contact {
                    return Err(out_of_order(n, "contact", expect));
                }
                let v = value_of("contact", "a way to reach the log's operator", not_blank)?;
                let Some(Partial {
                    vkey,
                    origin,
                    qpd: Some(qpd),
                    line,
                }) = partial.take()
                else {
                    return Err(out_of_order(n, "contact", expect));
                };
                let origin = origin.unwrap_or_else(|| vkey.name.clone());
                if let Some(&first) = origins.get(&origin) {
                    return Err(LogListError::DuplicateOrigin {
                        line,
                        origin: snippet(&origin),
                        first,
                    });
                }
                origins.insert(origin.clone(), line);
                list.logs.push(Entry {
                    vkey,
                    origin,
                    qpd,
                    contact: v.to_owned(),
                    line,
                });
                expect = Expect::Vkey;
            }
            other => {
                return Err(LogListError::UnknownKeyword {
                    line: n,
                    keyword: snippet(other),
                });
            }
        }
    }
    if !header {
        return Err(LogListError::NoHeader);
    }
    if let Some(p) = partial {
        return Err(LogListError::Incomplete {
            line: p.line,
            missing: if p.qpd.is_none() { "qpd" } else { "contact" },
        });
    }
    Ok(list)
}

fn out_of_order(line: usize, keyword: &'static str, expect: Expect) -> LogListError {
    LogListError::OutOfOrder {
        line,
        keyword,
        expected: match expect {
            Expect::Vkey => "a vkey line (a log starts with its key)",
            Expect::OriginOrQpd => "an origin or qpd line",
            Expect::Contact => "a contact line",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ed25519::Seed;
    use crate::note::{ALG_COSIGNATURE_V1, SignerKey};

    fn key(name: &str, seed: u8) -> VerifierKey {
        SignerKey::from_seed(name, Seed([seed; 32]))
            .unwrap()
            .verifier_key()
    }

    #[test]
    fn parses_the_example_of_the_format() {
        let a = key("tlog.foo.org", 1);
        let b = key("bar.org/tlog", 2);
        let text = format!(
            "#\n# List:      10qps-100klogs\n#\nlogs/v0\n\n  # 1st list item\n\
             vkey {a}\nqpd 86400\ncontact https://tlog.foo.org/contact\n\n\
             vkey {b}  \n\torigin something-not-equal-to-vkey-keyname\nqpd 24\n\
             contact sysadmin (at) bar.org\n"
        );
        let list = parse(text.as_bytes()).unwrap();
        assert_eq!(list.logs.len(), 2);
        assert_eq!(list.logs[0].origin, "tlog.foo.org");
        assert_eq!(list.logs[0].qpd, 86_400);
        assert_eq!(list.logs[0].line, 7);
        assert_eq!(list.logs[1].vkey, b);
        assert_eq!(list.logs[1].origin, "something-not-equal-to-vkey-keyname");
        assert_eq!(list.logs[1].contact, "sysadmin (at) bar.org");
        // Written back and read again: the same logs (line numbers aside).
        let again = parse(list.to_string().as_bytes()).unwrap();
        let strip = |l: &LogList| {
            l.logs
                .iter()
                .map(|e| (e.vkey.clone(), e.origin.clone(), e.qpd, e.contact.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&again), strip(&list));
        assert_eq!(again.to_string(), list.to_string());
        // An empty list is a list.
        assert_eq!(parse(b"logs/v0\n").unwrap().logs.len(), 0);
        assert_eq!(parse(b"# x\nlogs/v0").unwrap().logs.len(), 0);
    }

    #[test]
    fn an_origin_with_spaces_as_gos_checksum_database_has() {
        let k = key("sum.golang.org", 3);
        let text = format!(
            "logs/v0\nvkey {k}\norigin go.sum database tree\nqpd 1440\ncontact golang-dev\n"
        );
        let list = parse(text.as_bytes()).unwrap();
        assert_eq!(list.logs[0].origin, "go.sum database tree");
        assert!(list.to_string().contains("origin go.sum database tree\n"));
    }

    #[test]
    fn every_malformed_variant_is_refused_naming_its_line() {
        let k = key("log.example", 4);
        let w = VerifierKey::new("w.example", ALG_COSIGNATURE_V1, [5; 32]).unwrap();
        let ok = format!("logs/v0\nvkey {k}\nqpd 10\ncontact c\n");
        assert!(parse(ok.as_bytes()).is_ok());
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "no \"logs/v0\" header"),
            ("# only a comment\n".into(), "no \"logs/v0\" header"),
            ("logs/v1\n".into(), "line 1: \"logs/v1\""),
            (format!("vkey {k}\nlogs/v0\n"), "line 1:"),
            ("logs/v0\nlogs/v0\n".into(), "line 2: unknown keyword"),
            (
                format!("logs/v0\nvkey {k}\n"),
                "starts on line 2 (it has no qpd",
            ),
            (
                format!("logs/v0\nvkey {k}\nqpd 1\n"),
                "starts on line 2 (it has no contact",
            ),
            (
                format!("logs/v0\nvkey {k}\nqpd 1\nvkey {k}\n"),
                "line 4: vkey line, but a contact",
            ),
            ("logs/v0\nqpd 1\n".into(), "line 2: qpd line"),
            ("logs/v0\norigin x\n".into(), "line 2: origin line"),
            ("logs/v0\ncontact x\n".into(), "line 2: contact line"),
            (
                format!("logs/v0\nvkey {k}\ncontact c\n"),
                "line 3: contact line",
            ),
            (
                format!("logs/v0\nvkey {k}\nqpd 1\norigin o\ncontact c\n"),
                "line 4: origin line",
            ),
            (
                format!("logs/v0\nvkey {k}\norigin o\norigin p\nqpd 1\ncontact c\n"),
                "line 4: origin",
            ),
            (
                format!("logs/v0\nvkey {k}\nqpd 1\nqpd 2\ncontact c\n"),
                "line 4: qpd",
            ),
            (
                format!("logs/v0\nvkey {k} {k}\nqpd 1\ncontact c\n"),
                "line 2: vkey needs",
            ),
            (
                format!("logs/v0\nvkey  {k}\nqpd 1\ncontact c\n"),
                "line 2: vkey needs",
            ),
            (
                "logs/v0\nvkey\nqpd 1\ncontact c\n".into(),
                "line 2: vkey needs",
            ),
            (
                "logs/v0\nvkey log.example+00000000+AAAA\n".into(),
                "line 2: vkey:",
            ),
            (
                format!("logs/v0\nvkey {w}\nqpd 1\ncontact c\n"),
                "line 2: vkey has type 0x04",
            ),
            (
                format!("logs/v0\nvkey {k}\norigin\nqpd 1\ncontact c\n"),
                "line 3: origin needs",
            ),
            (
                format!("logs/v0\nvkey {k}\norigin a\tb\nqpd 1\ncontact c\n"),
                "line 3: origin needs a checkpoint origin line, which has no tab",
            ),
            (
                format!("logs/v0\nvkey {k}\nqpd\ncontact c\n"),
                "line 3: qpd needs",
            ),
            (
                format!("logs/v0\nvkey {k}\nqpd 0\ncontact c\n"),
                "line 3: qpd \"0\"",
            ),
            (
                format!("logs/v0\nvkey {k}\nqpd 024\ncontact c\n"),
                "line 3: qpd",
            ),
            (
                format!("logs/v0\nvkey {k}\nqpd 2147483648\ncontact c\n"),
                "line 3: qpd",
            ),
            (
                format!("logs/v0\nvkey {k}\nqpd -1\ncontact c\n"),
                "line 3: qpd",
            ),
            (
                format!("logs/v0\nvkey {k}\nqpd 1 2\ncontact c\n"),
                "line 3: qpd needs",
            ),
            (
                format!("logs/v0\nvkey {k}\nqpd 1\ncontact\n"),
                "line 4: contact needs",
            ),
            (
                format!("logs/v0\nvkey {k}\nqpd 1\ncontact c\nurl x\n"),
                "line 5: unknown keyword \"url\"",
            ),
            (
                format!("logs/v0\nvkey\t{k}\nqpd 1\ncontact c\n"),
                "line 2: unknown keyword",
            ),
            (
                format!("logs/v0\nvkey {k}\nqpd 1\ncontact a\x1b[31m\n"),
                "line 4: control character U+001B",
            ),
            (
                format!("logs/v0\nvkey {k}\nqpd 1\ncontact a\u{9b}31m\n"),
                "line 4: control character U+009B",
            ),
            (
                format!("logs/v0\nvkey {k}\nqpd 1\ncontact c\n\nvkey {k}\nqpd 2\ncontact d\n"),
                "line 6: origin \"log.example\" is already listed on line 2",
            ),
            (
                format!("logs/v0\nvkey {}\nqpd 1\ncontact c\n", "x".repeat(5000)),
                "line 2: line is",
            ),
        ];
        for (text, want) in cases {
            let e = parse(text.as_bytes()).expect_err(&text);
            let msg = e.to_string();
            assert!(msg.contains(want), "{text:?}: {msg}");
        }
        // The same origin twice (here: once by default, once given) names both lines.
        let k2 = key("other.example", 6);
        let dup = format!(
            "logs/v0\nvkey {k}\nqpd 1\ncontact c\nvkey {k2}\norigin log.example\nqpd 1\ncontact c\n"
        );
        assert_eq!(
            parse(dup.as_bytes()).unwrap_err(),
            LogListError::DuplicateOrigin {
                line: 5,
                origin: "log.example".into(),
                first: 2
            }
        );
        assert_eq!(
            parse(b"logs/v0\n\xff\n").unwrap_err(),
            LogListError::NotUtf8 { line: 2 }
        );
        assert!(matches!(
            parse(&vec![b'#'; MAX_LIST_SIZE + 1]),
            Err(LogListError::TooLarge { .. })
        ));
    }
}
