//! `--json` output: every report is a small struct deriving `Serialize` beside the command that
//! prints it, written here by `serde_json` as one compact object on one line (fields in declaration
//! order: the order the README and the tests show).
//!
//! Strings are escaped as JSON requires (quotes, backslashes, C0 controls: `serde_json` does that),
//! and also DEL and the C1 controls (U+0080 to U+009F), which JSON allows raw but a terminal acts
//! on (U+009B is a one-byte CSI): names, URLs and trusted comments come from publishers, and
//! `rget get --json` may well be read on a terminal.

use super::exit::{CliResult, Failure};
use rget_core::policy::VerifiedCheckpoint;
use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, Serializer};
use std::io::{self, Write};

/// `value` as one line of JSON, with the newline.
pub fn line<T: Serialize>(value: &T) -> CliResult<String> {
    let mut out = Vec::new();
    value
        .serialize(&mut Serializer::with_formatter(&mut out, TerminalSafe))
        .map_err(|e| Failure::local_io(format!("cannot write the JSON report: {e}")))?;
    out.push(b'\n');
    // serde_json writes UTF-8 only.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Writes `value` as one line of JSON on standard output.
pub fn print<T: Serialize>(value: &T) -> CliResult {
    super::stdout::print(&line(value)?)
}

/// A witness cosignature that verified: the policy's name for the witness, and the cosignature's
/// timestamp.
#[derive(Serialize)]
pub struct Cosigner<'a> {
    /// The witness's name in the trust policy.
    pub name: &'a str,
    /// The timestamp the witness signed (seconds since the Unix epoch).
    pub timestamp: u64,
}

/// The cosignatures of `vc` that verified.
pub fn cosigners(vc: &VerifiedCheckpoint) -> Vec<Cosigner<'_>> {
    vc.cosigners
        .iter()
        .map(|(name, timestamp)| Cosigner {
            name,
            timestamp: *timestamp,
        })
        .collect()
}

/// Where a verified record is logged (`"log"` in the reports of `get`, `release` and `self`):
/// `C` is a [`Cosigner`], or for `rget self` the witness's name alone.
#[derive(Serialize)]
pub struct Logged<'a, C> {
    /// The log's origin line, from the verified checkpoint.
    pub origin: &'a str,
    /// The record's index in the log.
    pub index: u64,
    /// The tree size of the checkpoint the record was proven under.
    pub checkpoint_size: u64,
    /// Base64, as in the checkpoint.
    pub checkpoint_root: String,
    /// `rget get`: where the inclusion proof came from (`tlog-proof` or `lookup`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<&'static str>,
    /// The witnesses whose cosignatures on that checkpoint verified.
    pub cosigners: Vec<C>,
    /// What this host's checkpoint memory made of it.
    pub seen: String,
}

impl<'a, C> Logged<'a, C> {
    /// Record `index` under `vc`, with `cosigners` and what the memory `seen`.
    pub fn new(
        vc: &'a VerifiedCheckpoint,
        index: u64,
        cosigners: Vec<C>,
        seen: &dyn std::fmt::Display,
    ) -> Self {
        Logged {
            origin: &vc.checkpoint.origin,
            index,
            checkpoint_size: vc.checkpoint.size,
            checkpoint_root: vc.checkpoint.root.to_base64(),
            proof: None,
            cosigners,
            seen: seen.to_string(),
        }
    }
}

/// `serde_json`'s compact output, with DEL and the C1 controls escaped too.
struct TerminalSafe;

impl Formatter for TerminalSafe {
    /// A run of characters `serde_json` writes unescaped: everything but `"`, `\` and C0.
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut plain = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_control() {
                writer.write_all(&fragment.as_bytes()[plain..i])?;
                write!(writer, "\\u{:04x}", u32::from(c))?;
                plain = i + c.len_utf8();
            }
        }
        CompactFormatter.write_string_fragment(writer, &fragment[plain..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_what_json_requires_and_what_a_terminal_acts_on() {
        assert_eq!(
            line(&"a\"b\\c\nd\re\tf\u{1}g\u{7f}h\u{9b}iü\u{202e}").unwrap(),
            "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u007fh\\u009biü\u{202e}\"\n"
        );
    }

    #[test]
    fn structs_are_one_compact_line_in_field_order() {
        #[derive(Serialize)]
        struct R<'a> {
            z: u64,
            a: Option<&'a str>,
            list: Vec<bool>,
        }
        let r = R {
            z: 1,
            a: None,
            list: vec![true, false],
        };
        let l = line(&r).unwrap();
        assert_eq!(l, "{\"z\":1,\"a\":null,\"list\":[true,false]}\n");
        let back: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(back["list"][1], false);
    }
}
