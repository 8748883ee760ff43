//! Sigsum's ASCII key-value format (sigsum-go `pkg/ascii`), read strictly: the lines of a proof file
//! and of every answer of a Sigsum log's API are `key=value` lines, values separated by single
//! spaces, hex in lowercase and of exact length, decimals without sign or leading zero.
//!
//! One reader for both, so that a proof and the log answers it is built from follow the same rules:
//! printable ASCII and newline only (no CR, tab, NUL or Unicode look-alike), every line ends in a
//! newline, and nothing is skipped or guessed around.

use super::lower_hex;
use crate::digest::Hash;
use crate::note::snippet;
use crate::tlog_proof::parse_decimal;
use thiserror::Error;

/// Why a line does not read. Line numbers are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LineError {
    /// A byte other than printable ASCII or newline (CR, tab, NUL, UTF-8 look-alikes).
    #[error("line {line}: byte 0x{byte:02x} is not printable ASCII")]
    BadByte {
        /// The line holding it.
        line: usize,
        /// The byte.
        byte: u8,
    },
    /// The last line has no newline: the text was probably cut short.
    #[error("the last line does not end in a newline (truncated?)")]
    NoFinalNewline,
    /// A line is not the `key=` line (or blank line, or end) required at this place.
    #[error("line {line}: expected {want}, found {found}")]
    Expected {
        /// The line at fault.
        line: usize,
        /// What the format requires there.
        want: &'static str,
        /// The start of what is there, escaped.
        found: String,
    },
    /// The text ends before a required line.
    #[error("ends where {want} should be (truncated?)")]
    EndOfFile {
        /// The line the format requires next.
        want: &'static str,
    },
    /// A value is not of its exact form: lowercase hex of the exact length, a canonical decimal,
    /// or single-space-separated fields.
    #[error("line {line}: {field} is not {what}")]
    Value {
        /// The line at fault.
        line: usize,
        /// Which value.
        field: &'static str,
        /// The form it must have.
        what: &'static str,
    },
}

/// The text of `bytes` without its final newline: printable ASCII and newlines only, and the last
/// line ended. An empty input is the empty text (an empty answer has no lines).
pub fn body(bytes: &[u8]) -> Result<&str, LineError> {
    if let Some(i) = bytes
        .iter()
        .position(|&b| b != b'\n' && !(0x20..0x7f).contains(&b))
    {
        let line = 1 + bytes[..i].iter().filter(|&&b| b == b'\n').count();
        return Err(LineError::BadByte {
            line,
            byte: bytes[i],
        });
    }
    if bytes.is_empty() {
        return Ok("");
    }
    // Only ASCII is left, so this cannot fail.
    let text = std::str::from_utf8(bytes).map_err(|_| LineError::NoFinalNewline)?;
    text.strip_suffix('\n').ok_or(LineError::NoFinalNewline)
}

/// The lines of a [`body`], numbered from 1.
pub struct Lines<'a> {
    lines: std::iter::Enumerate<std::str::Split<'a, char>>,
    done: bool,
}

impl<'a> Lines<'a> {
    /// The lines of `body` (no lines at all if it is empty).
    pub fn new(body: &'a str) -> Lines<'a> {
        Lines {
            lines: body.split('\n').enumerate(),
            done: body.is_empty(),
        }
    }

    /// The next line and its number, or `None` at the end.
    pub fn next_line(&mut self) -> Option<(usize, &'a str)> {
        if self.done {
            return None;
        }
        self.lines.next().map(|(i, l)| (i + 1, l))
    }

    /// The value of the next line, which must be `key=<value>`.
    pub fn value(
        &mut self,
        key: &'static str,
        want: &'static str,
    ) -> Result<(usize, &'a str), LineError> {
        let next = self.next_line();
        match next.and_then(|(n, l)| value_of(l, key).map(|v| (n, v))) {
            Some(found) => Ok(found),
            None => Err(unexpected(next, want)),
        }
    }

    /// The next line, which must be blank.
    pub fn blank(&mut self) -> Result<(), LineError> {
        match self.next_line() {
            Some((_, "")) => Ok(()),
            other => Err(unexpected(other, "a blank line")),
        }
    }
}

/// The value of `line` if it is `key=<value>`.
pub fn value_of<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.strip_prefix(key).and_then(|r| r.strip_prefix('='))
}

/// The error for finding `line` (or the end) where `want` should be.
pub fn unexpected(line: Option<(usize, &str)>, want: &'static str) -> LineError {
    match line {
        Some((n, l)) => LineError::Expected {
            line: n,
            want,
            found: if l.is_empty() {
                "a blank line".to_owned()
            } else {
                format!("{:?}", snippet(l))
            },
        },
        None => LineError::EndOfFile { want },
    }
}

/// Splits a value into exactly `N` fields separated by single spaces.
pub fn fields<const N: usize>(v: &str) -> Option<[&str; N]> {
    let mut out = [""; N];
    let mut it = v.split(' ');
    for o in &mut out {
        *o = it.next()?;
    }
    it.next().is_none().then_some(out)
}

/// A value of exactly `N` fields, or the error naming the line and field.
pub fn fields_at<'a, const N: usize>(
    v: &'a str,
    line: usize,
    field: &'static str,
    what: &'static str,
) -> Result<[&'a str; N], LineError> {
    fields::<N>(v).ok_or(LineError::Value { line, field, what })
}

/// 64 lowercase hex digits.
pub fn hash(v: &str, line: usize, field: &'static str) -> Result<Hash, LineError> {
    lower_hex::<32>(v).map(Hash).ok_or(LineError::Value {
        line,
        field,
        what: "64 lowercase hex digits",
    })
}

/// A 32-byte key as 64 lowercase hex digits.
pub fn key(v: &str, line: usize, field: &'static str) -> Result<[u8; 32], LineError> {
    hash(v, line, field).map(|h| h.0)
}

/// 128 lowercase hex digits.
pub fn signature(v: &str, line: usize, field: &'static str) -> Result<[u8; 64], LineError> {
    lower_hex::<64>(v).ok_or(LineError::Value {
        line,
        field,
        what: "128 lowercase hex digits",
    })
}

/// A decimal without sign or leading zero, at most 2^63 − 1 (what Sigsum's Go tools accept).
pub fn decimal(v: &str, line: usize, field: &'static str) -> Result<u64, LineError> {
    parse_decimal(v).ok_or(LineError::Value {
        line,
        field,
        what: "a decimal number without sign or leading zero, at most 2^63-1",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_and_lines() {
        assert_eq!(body(b""), Ok(""));
        assert_eq!(body(b"a=1\n"), Ok("a=1"));
        assert_eq!(body(b"a=1"), Err(LineError::NoFinalNewline));
        assert_eq!(
            body(b"a=1\nb=\r\n"),
            Err(LineError::BadByte {
                line: 2,
                byte: b'\r'
            })
        );
        let mut l = Lines::new("a=1\n\nb=2 3");
        assert_eq!(l.value("a", "a").unwrap(), (1, "1"));
        l.blank().unwrap();
        let (n, v) = l.value("b", "b").unwrap();
        assert_eq!(fields_at::<2>(v, n, "b", "two").unwrap(), ["2", "3"]);
        assert!(fields_at::<3>(v, n, "b", "three").is_err());
        assert_eq!(l.next_line(), None);
        assert!(matches!(
            l.value("c", "c"),
            Err(LineError::EndOfFile { .. })
        ));
        assert_eq!(Lines::new("").next_line(), None);
        assert_eq!(fields::<2>("a  b"), None);
    }
}
