//! Text that reaches a terminal: the one escaping of names, URLs and messages rget prints.
//!
//! A URL, a name listed in a `SHA256SUMS`, a log's origin or a server's error text is chosen by
//! whoever publishes it. Printed raw, an escape sequence in it can recolour or rewrite what the
//! terminal shows (move the cursor, clear "FAILED", change the window title), a newline can forge a
//! line of rget's own output ("rget: verified ..."), and a bidirectional override can display a name
//! reversed. So every such text goes through [`for_terminal`] before it is written: what the user
//! sees is then exactly the characters it holds, each visible, on the line it belongs to.

use std::borrow::Cow;

/// `s` with every character that a terminal would act on instead of showing spelled out: `\n`,
/// `\r`, `\t`; other C0 controls, DEL and the C1 controls (U+0080–U+009F, which some terminals
/// take as CSI and friends) as `\xNN` / `\u{NN}`; and the Unicode bidirectional controls (U+061C,
/// U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) as `\u{NNNN}`. Everything else, backslashes
/// included, is unchanged, so ordinary text (and every valid `SHA256SUMS` name without control
/// characters) reads as it is.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && needs_escape(c) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A report of several lines, each escaped with [`for_terminal`] and ended with `\n`. The line
/// structure is the list's, never inferred from the text: a field holding a newline stays inside
/// its line, spelled `\n`, and cannot start a line of its own.
pub fn lines_for_terminal<S: AsRef<str>>(lines: &[S]) -> String {
    let mut out = String::new();
    for line in lines {
        out.push_str(&for_terminal(line.as_ref()));
        out.push('\n');
    }
    out
}

/// A short reason for an I/O error, as rget's one-line lowercase messages quote it: `no such file or
/// directory` rather than `No such file or directory (os error 2)`.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error ") {
        Some(i) => text.get(..i).unwrap_or(&text),
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        for s in [
            "",
            "tool-1.2.tar.gz",
            "https://a.example/x y/é/ß/日本",
            "back\\slash",
        ] {
            assert!(matches!(for_terminal(s), Cow::Borrowed(t) if t == s), "{s}");
        }
    }

    #[test]
    fn every_control_and_bidi_character_is_spelled_out() {
        assert_eq!(
            for_terminal("a\x1b[31mred\x07\n\r\tz\x7f\u{9b}2J\u{202e}gpj.exe"),
            "a\\x1b[31mred\\x07\\n\\r\\tz\\x7f\\u{9b}2J\\u{202e}gpj.exe"
        );
        assert_eq!(for_terminal("\0"), "\\x00");
    }

    #[test]
    fn no_character_a_terminal_acts_on_survives() {
        // Every code point that is a control or a bidi control, alone and amid text.
        for c in (0u32..0x3000)
            .filter_map(char::from_u32)
            .filter(|&c| needs_escape(c))
        {
            let s = format!("x{c}y");
            let e = for_terminal(&s);
            assert!(!e.chars().any(needs_escape), "{c:?} -> {e:?}");
            assert!(e.starts_with('x') && e.ends_with('y'));
        }
    }

    #[test]
    fn each_line_is_one_line_whatever_its_fields_hold() {
        let name = "a\nrget: verified evil\x1b[0m";
        let report = lines_for_terminal(&[format!("rget: verified {name}"), "  ok".to_owned()]);
        assert_eq!(
            report,
            "rget: verified a\\nrget: verified evil\\x1b[0m\n  ok\n"
        );
        assert_eq!(report.lines().count(), 2);
        assert_eq!(lines_for_terminal::<&str>(&[]), "");
    }

    #[test]
    fn io_reasons_are_short_and_lowercase() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(io_reason(&e), "no such file or directory");
        let e = std::io::Error::other("Custom thing");
        assert_eq!(io_reason(&e), "custom thing");
    }
}
