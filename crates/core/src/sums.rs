//! `SHA256SUMS`: the list of release files and their digests that a publisher signs and logs.
//!
//! The format is the one GNU coreutils `sha256sum` writes and `sha256sum -c` reads, so publishers and
//! users can keep using the standard tool:
//!
//! ```text
//! <64 lowercase hex><space><space or *><name>\n           text or binary marker (same meaning here)
//! \<64 lowercase hex><space><space or *><escaped name>\n  when the name holds `\`, newline or CR
//! SHA256 (<name>) = <64 lowercase hex>\n                   BSD tag form (`sha256sum --tag`)
//! \SHA256 (<escaped name>) = <64 lowercase hex>\n          its escaped form
//! ```
//!
//! In an escaped line (one that starts with `\`), the name uses exactly three escapes: `\\` for a
//! backslash, `\n` for a newline and `\r` for a carriage return. That is what coreutils 9.1 writes and
//! reads; any other backslash sequence makes `sha256sum -c` reject the line, so we reject it too. In an
//! unescaped line the name is taken literally, backslashes included, as coreutils does.
//!
//! This module is pure: bytes in, values out. It is the parser every verifier goes through, so it is
//! strict (one spelling per meaning where that costs nobody anything), bounded (limits are checked
//! before the work they bound) and never panics, whatever the input.

use crate::digest::Hash;
use std::collections::HashMap;
use thiserror::Error;

/// Longest name, in bytes after unescaping. Linux allows 4,095-byte paths; a release file name is far
/// shorter, so this only stops abuse.
pub const MAX_NAME_BYTES: usize = 4096;

/// Longest line, in bytes, without its `\n`. Large enough for the longest line the writer can produce
/// (a 4,096-byte name of backslashes doubles when escaped), so everything we write we can read back.
pub const MAX_LINE_BYTES: usize = 8 * 1024 + 128;

/// Largest `SHA256SUMS`, in bytes. Checked before anything else is looked at.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// Most entries in one `SHA256SUMS`.
pub const MAX_ENTRIES: usize = 1_000_000;

// The worst-case line the writer produces: `\SHA256 (` + escaped name + `) = ` + hex is the longer form.
const _: () = assert!(1 + 8 + 2 * MAX_NAME_BYTES + 4 + 64 <= MAX_LINE_BYTES);

/// The BSD tag prefix for SHA-256, as `sha256sum --tag` writes it.
const TAG_PREFIX: &str = "SHA256 (";
/// What separates the name from the digest in the tag form.
const TAG_SEPARATOR: &str = ") = ";

/// One line of a `SHA256SUMS`: a file name and the digest its content must have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The file name, unescaped (a plain relative name, see [`check_name`]).
    pub name: String,
    /// The SHA-256 the named file's content must have.
    pub digest: Hash,
}

/// A parsed `SHA256SUMS`: at least one entry, names unique, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sums {
    entries: Vec<Entry>,
}

impl Sums {
    /// The digest listed for `name`, compared byte for byte (no normalisation of any kind).
    pub fn get(&self, name: &str) -> Option<&Hash> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| &e.digest)
    }

    /// All entries, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Number of entries (never zero: an empty file does not parse).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Always false; here because clippy expects it next to `len`.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Why a name is not a plain relative file name.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum NameError {
    /// The name is the empty string.
    #[error("name is empty")]
    Empty,
    /// The name is longer than [`MAX_NAME_BYTES`] bytes.
    #[error("name is {len} bytes, more than the limit of {MAX_NAME_BYTES}")]
    TooLong {
        /// The name's length in bytes (after unescaping).
        len: usize,
    },
    /// The name holds a NUL byte, which no file name can. Holds the name.
    #[error("name {0:?} contains a NUL byte")]
    Nul(String),
    /// The name starts with `/`, so joined to a directory it would name a file outside it. Holds
    /// the name.
    #[error("name {0:?} is an absolute path")]
    Absolute(String),
    /// A `/`-separated component of the name is `..`, which climbs out of the directory. Holds
    /// the name.
    #[error("name {0:?} has a \"..\" component")]
    DotDot(String),
    /// A `/`-separated component of the name is `.`, a second spelling of a shorter name. Holds
    /// the name.
    #[error("name {0:?} has a \".\" component")]
    Dot(String),
    /// The name has an empty component (`a//b`, or a trailing `/`), a second spelling of another
    /// name or a directory. Holds the name.
    #[error("name {0:?} has an empty component")]
    EmptyComponent(String),
}

/// What is wrong with one line.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum LineError {
    /// The line, without its `\n`, is longer than [`MAX_LINE_BYTES`] bytes.
    #[error("line is {len} bytes, more than the limit of {MAX_LINE_BYTES}")]
    TooLong {
        /// The line's length in bytes, without its `\n`.
        len: usize,
    },
    /// The line is empty (blank lines and comments are not part of the format).
    #[error("blank line")]
    Blank,
    /// The line's last byte is a carriage return (a CRLF line ending), which coreutils drops
    /// silently but would give one list two spellings.
    #[error("line ends with a carriage return (CRLF line endings are not accepted, use LF)")]
    CrLf,
    /// The line holds a carriage return before its end; a name holding one must be written
    /// escaped, and a raw one can hide text on a terminal.
    #[error("raw carriage return in line (a name holding one must use the escaped form \\r)")]
    RawCarriageReturn,
    /// The line's bytes are not valid UTF-8.
    #[error("not valid UTF-8")]
    NotUtf8,
    /// The line is neither `<hex><space><space or *><name>` (too short for it, or another
    /// separator after the 64 digest characters) nor `SHA256 (<name>) = <hex>` (no `) = `).
    #[error("not a checksum line (expected \"<hex>  <name>\" or \"SHA256 (<name>) = <hex>\")")]
    Syntax,
    /// The line has the right shape but its digest is not exactly 64 lowercase hex digits.
    #[error("digest is not 64 lowercase hexadecimal digits")]
    Digest,
    /// The line is escaped (starts with `\`) and its name has a backslash followed by anything
    /// other than `\`, `n` or `r`, or ends in a lone backslash; `sha256sum -c` rejects it too.
    #[error("invalid escape in name (only \\\\, \\n and \\r are allowed after a backslash)")]
    Escape,
    /// The line's name (after unescaping) is not a plain relative file name.
    #[error("{0}")]
    Name(#[from] NameError),
    /// The line lists a name an earlier line already listed, with another digest. (The same name
    /// with the same digest again is accepted and dropped.)
    #[error("name {name:?} is listed again with a different digest (first on line {first})")]
    Conflict {
        /// The name listed twice, unescaped.
        name: String,
        /// The 1-based line number where the name was first listed.
        first: usize,
    },
}

/// Why a `SHA256SUMS` does not parse.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SumsError {
    /// The file is larger than [`MAX_FILE_BYTES`]; refused before any line is read.
    #[error("SHA256SUMS is {size} bytes, more than the limit of {MAX_FILE_BYTES}")]
    TooLarge {
        /// The file's size in bytes.
        size: usize,
    },
    /// The file is zero bytes long.
    #[error("SHA256SUMS has no entries")]
    Empty,
    /// The file lists more than [`MAX_ENTRIES`] distinct names.
    #[error("SHA256SUMS has more than {MAX_ENTRIES} entries")]
    TooManyEntries,
    /// One line is not a valid checksum line; parsing stops at the first such line.
    #[error("SHA256SUMS line {line}: {problem}")]
    Line {
        /// The 1-based line number in the file.
        line: usize,
        /// What is wrong with that line.
        problem: LineError,
    },
}

/// Why entries cannot be written as a `SHA256SUMS`.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum FormatError {
    /// An entry's name is not a plain relative file name.
    #[error("{0}")]
    Name(#[from] NameError),
    /// Two entries have the same name (even with the same digest, which [`parse`] would drop).
    /// Holds the name.
    #[error("name {0:?} is listed twice")]
    Duplicate(String),
    /// No entries were given; an empty `SHA256SUMS` does not parse.
    #[error("no entries to list")]
    Empty,
    /// More than [`MAX_ENTRIES`] entries were given.
    #[error("more than {MAX_ENTRIES} entries")]
    TooManyEntries,
    /// The text written so far already exceeds [`MAX_FILE_BYTES`].
    #[error("the list would be {size} bytes, more than the limit of {MAX_FILE_BYTES}")]
    TooLarge {
        /// The length in bytes of the text written when the limit was passed (the lines so far).
        size: usize,
    },
}

/// Checks that `name` is a plain relative file name: non-empty, at most [`MAX_NAME_BYTES`], no NUL,
/// not absolute, and made of `/`-separated components none of which is empty, `.` or `..`.
///
/// Such a name, joined to a directory, always names something inside that directory, and it has one
/// spelling (`a//b`, `./a` and `a/` would be other spellings of names we can already write).
pub fn check_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong { len: name.len() });
    }
    if name.contains('\0') {
        return Err(NameError::Nul(name.to_owned()));
    }
    if name.starts_with('/') {
        return Err(NameError::Absolute(name.to_owned()));
    }
    for component in name.split('/') {
        match component {
            "" => return Err(NameError::EmptyComponent(name.to_owned())),
            "." => return Err(NameError::Dot(name.to_owned())),
            ".." => return Err(NameError::DotDot(name.to_owned())),
            _ => {}
        }
    }
    Ok(())
}

/// Parses a `SHA256SUMS`. Every line must be a checksum line (no blank lines, no comments); the last
/// line may lack its final `\n`.
pub fn parse(bytes: &[u8]) -> Result<Sums, SumsError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(SumsError::TooLarge { size: bytes.len() });
    }
    if bytes.is_empty() {
        return Err(SumsError::Empty);
    }
    // A final `\n` terminates the last line rather than starting an empty one.
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);

    let mut entries: Vec<Entry> = Vec::new();
    // name -> (index in `entries`, line number where it was first listed)
    let mut seen: HashMap<String, (usize, usize)> = HashMap::new();
    for (index, raw) in body.split(|&b| b == b'\n').enumerate() {
        let line = index + 1;
        let at = |problem| SumsError::Line { line, problem };
        let entry = parse_line(raw).map_err(at)?;
        match seen.get(&entry.name) {
            // The same file listed twice with the same digest says nothing new, and tools that
            // concatenate lists produce it; keep the first so that every name appears once.
            Some(&(i, _)) if entries.get(i).map(|e| e.digest) == Some(entry.digest) => continue,
            Some(&(_, first)) => {
                return Err(at(LineError::Conflict {
                    name: entry.name,
                    first,
                }));
            }
            None => {}
        }
        if entries.len() >= MAX_ENTRIES {
            return Err(SumsError::TooManyEntries);
        }
        seen.insert(entry.name.clone(), (entries.len(), line));
        entries.push(entry);
    }
    Ok(Sums { entries })
}

/// Parses one line, without its `\n`.
fn parse_line(raw: &[u8]) -> Result<Entry, LineError> {
    if raw.len() > MAX_LINE_BYTES {
        return Err(LineError::TooLong { len: raw.len() });
    }
    if raw.is_empty() {
        return Err(LineError::Blank);
    }
    // coreutils quietly drops a CR before the LF; we refuse, because the bytes of a SHA256SUMS are
    // what gets signed and logged, and one list should have one spelling. A raw CR inside a line is
    // refused too: coreutils 9.1 writes it as `\r`, and a raw one can hide text on a terminal.
    if raw.last() == Some(&b'\r') {
        return Err(LineError::CrLf);
    }
    if raw.contains(&b'\r') {
        return Err(LineError::RawCarriageReturn);
    }
    let text = std::str::from_utf8(raw).map_err(|_| LineError::NotUtf8)?;

    let (escaped, rest) = match text.strip_prefix('\\') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (raw_name, hex) = match rest.strip_prefix(TAG_PREFIX) {
        Some(tagged) => split_tag(tagged)?,
        None => split_gnu(rest)?,
    };
    let digest = Hash::from_hex(hex).ok_or(LineError::Digest)?;
    let name = if escaped {
        unescape(raw_name)?
    } else {
        raw_name.to_owned()
    };
    check_name(&name)?;
    Ok(Entry { name, digest })
}

/// Splits `<hex><space><space or *><name>` into name and hex.
fn split_gnu(rest: &str) -> Result<(&str, &str), LineError> {
    // `get` returns None past the end or inside a multi-byte character: both are syntax errors.
    let hex = rest.get(..64).ok_or(LineError::Syntax)?;
    let marker = rest.get(64..66).ok_or(LineError::Syntax)?;
    let name = rest.get(66..).ok_or(LineError::Syntax)?;
    if marker != "  " && marker != " *" {
        return Err(LineError::Syntax);
    }
    Ok((name, hex))
}

/// Splits `<name>) = <hex>` (after `SHA256 (`) into name and hex. The separator is the last `) = `,
/// since the name may contain one but the digest cannot (coreutils reads it the same way).
fn split_tag(tagged: &str) -> Result<(&str, &str), LineError> {
    tagged.rsplit_once(TAG_SEPARATOR).ok_or(LineError::Syntax)
}

/// Undoes the escaping of an escaped line's name: `\\`, `\n`, `\r`, nothing else.
fn unescape(s: &str) -> Result<String, LineError> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            _ => return Err(LineError::Escape),
        }
    }
    Ok(out)
}

/// Whether coreutils would write `name` in the escaped form: exactly when it holds a backslash, a
/// newline or a carriage return.
fn needs_escape(name: &str) -> bool {
    name.contains(['\\', '\n', '\r'])
}

/// Escapes `\`, newline and CR as `\\`, `\n`, `\r` (the inverse of [`unescape`]).
pub fn escape_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// One GNU line, `\n` included, exactly as coreutils 9.1 `sha256sum` writes it: two spaces (text
/// mode, the default), and the escaped form when the name needs it. Refuses names [`parse`] refuses.
pub fn format_line(name: &str, digest: &Hash) -> Result<String, NameError> {
    check_name(name)?;
    Ok(if needs_escape(name) {
        format!("\\{digest}  {}\n", escape_name(name))
    } else {
        format!("{digest}  {name}\n")
    })
}

/// A whole `SHA256SUMS` for `entries`, in the order given. Refuses anything [`parse`] would refuse
/// or would silently change (a name listed twice, even with the same digest), so that what we
/// publish always reads back as exactly these entries.
pub fn format(entries: &[Entry]) -> Result<String, FormatError> {
    if entries.is_empty() {
        return Err(FormatError::Empty);
    }
    if entries.len() > MAX_ENTRIES {
        return Err(FormatError::TooManyEntries);
    }
    let mut names = std::collections::HashSet::with_capacity(entries.len());
    let mut out = String::new();
    for entry in entries {
        if !names.insert(entry.name.as_str()) {
            return Err(FormatError::Duplicate(entry.name.clone()));
        }
        out.push_str(&format_line(&entry.name, &entry.digest)?);
        if out.len() > MAX_FILE_BYTES {
            return Err(FormatError::TooLarge { size: out.len() });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256;
    use proptest::prelude::*;

    fn d(s: &str) -> Hash {
        sha256(s.as_bytes())
    }

    fn one(text: &str) -> Result<Sums, SumsError> {
        parse(text.as_bytes())
    }

    fn line_err(text: &str) -> (usize, LineError) {
        match one(text) {
            Err(SumsError::Line { line, problem }) => (line, problem),
            other => panic!("expected a line error for {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn accepts_text_and_binary_markers() {
        let s = one(&format!("{}  a.tar.gz\n{} *b.zip\n", d("a"), d("b"))).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.get("a.tar.gz"), Some(&d("a")));
        assert_eq!(s.get("b.zip"), Some(&d("b")));
        assert_eq!(s.get("*b.zip"), None);
        assert_eq!(s.entries()[0].name, "a.tar.gz");
        assert_eq!(s.entries()[1].name, "b.zip");
    }

    #[test]
    fn accepts_missing_final_newline() {
        let s = one(&format!("{}  a\n{}  b", d("a"), d("b"))).unwrap();
        assert_eq!(s.get("b"), Some(&d("b")));
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn names_keep_spaces_and_markers_literally() {
        // After the two-character separator everything is the name: leading `*`, spaces, `-`.
        let text = format!(
            "{}   lead\n{}  trail \n{}  *star\n{} **bin-star\n{}  -dash\n",
            d("1"),
            d("2"),
            d("3"),
            d("4"),
            d("5")
        );
        let s = one(&text).unwrap();
        let names: Vec<&str> = s.entries().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, [" lead", "trail ", "*star", "*bin-star", "-dash"]);
    }

    #[test]
    fn accepts_escaped_gnu_lines_as_coreutils_writes_them() {
        // Lines copied from coreutils 9.1 `sha256sum` output on this machine.
        let text = "\\ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb  back\\\\slash\n\
                    \\2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6  cr\\rx\n\
                    \\3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d  new\\nline\n";
        let s = one(text).unwrap();
        assert_eq!(s.get("back\\slash"), Some(&d("a")));
        assert_eq!(s.get("cr\rx"), Some(&d("c")));
        assert_eq!(s.get("new\nline"), Some(&d("b")));
    }

    #[test]
    fn unescaped_backslash_is_literal() {
        let s = one(&format!("{}  back\\nslash\n", d("a"))).unwrap();
        assert_eq!(s.get("back\\nslash"), Some(&d("a")));
    }

    #[test]
    fn escaped_line_without_escapes_is_accepted() {
        let s = one(&format!("\\{}  plain\n", d("a"))).unwrap();
        assert_eq!(s.get("plain"), Some(&d("a")));
    }

    #[test]
    fn accepts_bsd_tags_plain_and_escaped() {
        let text = format!(
            "SHA256 ( lead) = {}\n\\SHA256 (back\\\\slash\\n) = {}\nSHA256 (a) = b) = {}\n",
            d("1"),
            d("2"),
            d("3")
        );
        let s = one(&text).unwrap();
        assert_eq!(s.get(" lead"), Some(&d("1")));
        assert_eq!(s.get("back\\slash\n"), Some(&d("2")));
        // The last `) = ` separates, as in coreutils.
        assert_eq!(s.get("a) = b"), Some(&d("3")));
    }

    #[test]
    fn accepts_utf8_and_subdirectories() {
        let s = one(&format!("{}  ünï/cödé.txt\n", d("u"))).unwrap();
        assert_eq!(s.get("ünï/cödé.txt"), Some(&d("u")));
    }

    #[test]
    fn same_name_same_digest_is_kept_once() {
        let s = one(&format!("{}  a\n{}  b\n{} *a\n", d("a"), d("b"), d("a"))).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.entries()[0].name, "a");
    }

    #[test]
    fn same_name_different_digest_is_an_error() {
        let text = format!("{}  a\n{}  b\n{}  a\n", d("a"), d("b"), d("x"));
        let (line, problem) = line_err(&text);
        assert_eq!(line, 3);
        assert_eq!(
            problem,
            LineError::Conflict {
                name: "a".into(),
                first: 1
            }
        );
        let msg = one(&text).unwrap_err().to_string();
        assert_eq!(
            msg,
            "SHA256SUMS line 3: name \"a\" is listed again with a different digest (first on line 1)"
        );
    }

    #[test]
    fn rejects_bad_names_with_line_numbers() {
        let cases: &[(&str, NameError)] = &[
            ("/etc/passwd", NameError::Absolute("/etc/passwd".into())),
            ("../etc/passwd", NameError::DotDot("../etc/passwd".into())),
            ("a/../../b", NameError::DotDot("a/../../b".into())),
            ("a/..", NameError::DotDot("a/..".into())),
            ("..", NameError::DotDot("..".into())),
            ("./a", NameError::Dot("./a".into())),
            ("a/.", NameError::Dot("a/.".into())),
            (".", NameError::Dot(".".into())),
            ("a//b", NameError::EmptyComponent("a//b".into())),
            ("a/", NameError::EmptyComponent("a/".into())),
            ("a\0b", NameError::Nul("a\0b".into())),
        ];
        for (name, want) in cases {
            let text = format!("{}  ok\n{}  {name}\n", d("1"), d("2"));
            assert_eq!(
                line_err(&text),
                (2, LineError::Name(want.clone())),
                "name {name:?}"
            );
        }
        let msg = one(&format!("{}  ../etc/passwd", d("1")))
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            "SHA256SUMS line 1: name \"../etc/passwd\" has a \"..\" component"
        );
    }

    #[test]
    fn rejects_empty_name() {
        assert_eq!(
            line_err(&format!("{}  \n", d("1"))),
            (1, LineError::Name(NameError::Empty))
        );
        assert_eq!(
            line_err(&format!("SHA256 () = {}\n", d("1"))),
            (1, LineError::Name(NameError::Empty))
        );
    }

    #[test]
    fn rejects_escaped_bad_names() {
        // An escape cannot smuggle a bad name past the checks: they run on the unescaped name.
        assert_eq!(
            line_err(&format!("\\{}  ..\\n/../x\n", d("1"))),
            (1, LineError::Name(NameError::DotDot("..\n/../x".into())))
        );
    }

    #[test]
    fn rejects_crlf_and_raw_cr() {
        let text = format!("{}  a\n{}  b\r\n", d("a"), d("b"));
        assert_eq!(line_err(&text), (2, LineError::CrLf));
        assert!(one(&text).unwrap_err().to_string().contains("CRLF"));
        assert_eq!(
            line_err(&format!("{}  a\rb\n", d("a"))),
            (1, LineError::RawCarriageReturn)
        );
        assert_eq!(
            line_err(&format!("SHA256 (a) = {}\r", d("a"))),
            (1, LineError::CrLf)
        );
    }

    #[test]
    fn rejects_blank_lines_anywhere() {
        assert_eq!(line_err("\n"), (1, LineError::Blank));
        assert_eq!(
            line_err(&format!("{}  a\n\n{}  b\n", d("a"), d("b"))),
            (2, LineError::Blank)
        );
        assert_eq!(
            line_err(&format!("{}  a\n\n", d("a"))),
            (2, LineError::Blank)
        );
    }

    #[test]
    fn rejects_empty_file() {
        assert_eq!(one(""), Err(SumsError::Empty));
    }

    #[test]
    fn rejects_malformed_lines() {
        let h = d("a").to_hex();
        let cases: Vec<(String, LineError)> = vec![
            ("hello".into(), LineError::Syntax),
            ("# comment".into(), LineError::Syntax),
            (format!("{h} a"), LineError::Syntax),
            (format!("{h}\ta"), LineError::Syntax),
            (h.clone(), LineError::Syntax),
            (format!("{h} "), LineError::Syntax),
            (format!("{h}x  a"), LineError::Syntax),
            (format!("{}  a", &h[1..]), LineError::Syntax),
            (format!("{}  a", h.to_uppercase()), LineError::Digest),
            (format!("{}g  a", &h[1..]), LineError::Digest),
            (
                format!("SHA256 (a) = {}", h.to_uppercase()),
                LineError::Digest,
            ),
            (format!("SHA256 (a) = {h}0"), LineError::Digest),
            (format!("SHA256 (a)= {h}"), LineError::Syntax),
            (format!("SHA256(a) = {h}"), LineError::Syntax),
            (format!("MD5 (a) = {h}"), LineError::Syntax),
            (format!("\\{h}  a\\tb"), LineError::Escape),
            (format!("\\{h}  a\\"), LineError::Escape),
            (format!("\\{h}  \\ lead"), LineError::Escape),
            (format!("\\\\{h}  a"), LineError::Syntax),
            // A multi-byte character where the digest should end must not panic on slicing.
            (format!("{}é  a", &h[..63]), LineError::Syntax),
            (format!("{}  é", &h[..63]), LineError::Syntax),
        ];
        for (text, want) in cases {
            assert_eq!(line_err(&text), (1, want), "line {text:?}");
        }
    }

    #[test]
    fn rejects_invalid_utf8() {
        let mut bytes = format!("{}  a", d("a")).into_bytes();
        bytes.push(0xff);
        assert_eq!(
            parse(&bytes),
            Err(SumsError::Line {
                line: 1,
                problem: LineError::NotUtf8
            })
        );
    }

    #[test]
    fn limits_are_checked() {
        let big = vec![b'a'; MAX_FILE_BYTES + 1];
        assert_eq!(
            parse(&big),
            Err(SumsError::TooLarge {
                size: MAX_FILE_BYTES + 1
            })
        );
        let long = format!("{}  {}", d("a"), "x".repeat(MAX_LINE_BYTES));
        assert_eq!(
            line_err(&long),
            (
                1,
                LineError::TooLong {
                    len: MAX_LINE_BYTES + 66
                }
            )
        );
        let long_name = "x".repeat(MAX_NAME_BYTES + 1);
        assert_eq!(
            line_err(&format!("{}  {long_name}", d("a"))),
            (
                1,
                LineError::Name(NameError::TooLong {
                    len: MAX_NAME_BYTES + 1
                })
            )
        );
        let ok_name = "x".repeat(MAX_NAME_BYTES);
        assert_eq!(one(&format!("{}  {ok_name}", d("a"))).unwrap().len(), 1);
    }

    #[test]
    fn longest_writable_line_reads_back() {
        let name = "\\".repeat(MAX_NAME_BYTES);
        let entries = vec![Entry {
            name: name.clone(),
            digest: d("a"),
        }];
        let text = format(&entries).unwrap();
        assert_eq!(parse(text.as_bytes()).unwrap().entries(), &entries[..]);
    }

    #[test]
    fn format_line_matches_coreutils() {
        assert_eq!(
            format_line("a b", &d("a")).unwrap(),
            format!("{}  a b\n", d("a"))
        );
        assert_eq!(
            format_line("back\\slash", &d("a")).unwrap(),
            "\\ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb  back\\\\slash\n"
        );
        assert_eq!(
            format_line("m\nb\rc", &d("k")).unwrap(),
            format!("\\{}  m\\nb\\rc\n", d("k"))
        );
        assert_eq!(
            format_line("tab\tx", &d("a")).unwrap(),
            format!("{}  tab\tx\n", d("a"))
        );
    }

    #[test]
    fn writer_refuses_what_the_parser_refuses() {
        for bad in ["", "/abs", "../x", "a/./b", "a//b", "a/", "nul\0"] {
            assert!(format_line(bad, &d("a")).is_err(), "{bad:?}");
            let entries = [Entry {
                name: bad.into(),
                digest: d("a"),
            }];
            assert!(
                matches!(format(&entries), Err(FormatError::Name(_))),
                "{bad:?}"
            );
        }
        let dup = [
            Entry {
                name: "a".into(),
                digest: d("a"),
            },
            Entry {
                name: "a".into(),
                digest: d("a"),
            },
        ];
        assert_eq!(format(&dup), Err(FormatError::Duplicate("a".into())));
        assert_eq!(format(&[]), Err(FormatError::Empty));
    }

    #[test]
    fn check_name_accepts_plain_names() {
        for ok in [
            "a", " a ", "*a", "-a", "a/b", "a\\b", "a\nb", "\r", "...", ".a", "a..", "ü",
        ] {
            assert_eq!(check_name(ok), Ok(()), "{ok:?}");
        }
    }

    #[test]
    fn escape_round_trips() {
        for name in ["a\\b", "\n", "\r\n\\", "\\n", "x\\\\r"] {
            assert_eq!(unescape(&escape_name(name)).as_deref(), Ok(name));
        }
    }

    /// A valid name: components from a set that stresses escaping and separators.
    fn name_strategy() -> impl Strategy<Value = String> {
        let component =
            "[a-z \\\\\n\r*ü日\t.-]{1,12}".prop_filter("not . or ..", |c| c != "." && c != "..");
        prop::collection::vec(component, 1..4).prop_map(|parts| parts.join("/"))
    }

    proptest! {
        #[test]
        fn parse_inverts_format(
            names in prop::collection::hash_set(name_strategy(), 1..20),
            seed in any::<u64>(),
        ) {
            let entries: Vec<Entry> = names
                .into_iter()
                .enumerate()
                .map(|(i, name)| Entry { digest: sha256(format!("{seed}/{i}").as_bytes()), name })
                .collect();
            let text = format(&entries).unwrap();
            let sums = parse(text.as_bytes()).unwrap();
            prop_assert_eq!(sums.entries(), &entries[..]);
            // And each line on its own.
            for e in &entries {
                let line = format_line(&e.name, &e.digest).unwrap();
                let single = parse(line.as_bytes()).unwrap();
                prop_assert_eq!(single.entries(), std::slice::from_ref(e));
            }
        }

        #[test]
        fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn parse_never_panics_on_near_misses(
            prefix in "\\\\?(SHA256 \\()?",
            hex in "[0-9a-fA-F]{60,66}",
            tail in "[ *]{0,3}[a-z/.\\\\\r\n)= é]{0,12}",
        ) {
            let text = format!("{prefix}{hex}{tail}");
            if let Ok(sums) = parse(text.as_bytes()) {
                // Whatever parses obeys the name rules.
                for e in sums.entries() {
                    prop_assert!(check_name(&e.name).is_ok());
                }
            }
        }
    }
}
