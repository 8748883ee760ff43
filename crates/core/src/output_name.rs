//! The file name `rget get URL` writes when no `-o` is given: the URL's last path segment,
//! percent-decoded, and only if it is a plain file name in the current directory.
//!
//! The attack this closes: the last segment is chosen by whoever wrote the URL, and percent-decoding
//! turns `%2F` into `/`, `%2e%2e` into `..`, `%00` into NUL and `%0A` into a line break. Taken as a
//! path, `..%2F..%2F.bashrc` writes outside the current directory, `sub%2Ftool` writes through
//! whatever `sub` is (a symbolic link to `/etc`, say), and an empty segment or `.` names the
//! directory itself. So the derived name must be one component that cannot be read as anything but a
//! new entry of the current directory; everything else is refused, and `-o PATH` says where to write
//! instead. The name written is the very string looked up in `SHA256SUMS` (the lookup only
//! additionally needs it to be listable), so what was verified and what is saved carry one name.

/// Longest name accepted, in bytes: Linux's `NAME_MAX`. A longer one could not be created anyway.
pub const MAX_OUTPUT_NAME: usize = 255;

/// Why a URL gives no output name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputNameError {
    /// The URL, before any `?` or `#`, has no `://`, so it has no scheme and authority.
    #[error("not an absolute URL")]
    NotAbsolute,
    /// The URL has no `/` after its authority (`https://host`), so it has no path segment.
    #[error("names no file (no path)")]
    NoPath,
    /// The last segment is not valid percent-encoding of UTF-8.
    #[error("its file name: {0}")]
    Undecodable(&'static str),
    /// The name is empty: the URL's path ends in `/`.
    #[error("its last path segment is empty (it names a directory, not a file)")]
    Empty,
    /// The name is `.` or `..`, the current or parent directory. Holds the name.
    #[error("its last path segment decodes to {0:?}, which names a directory, not a file")]
    DotName(String),
    /// The name holds `/` or `\` (decoded from `%2F` or `%5C`, or a literal backslash), so it
    /// would be read as a path of several components.
    #[error("its last path segment decodes to {name:?}, which holds {sep:?}, a path separator")]
    Separator {
        /// The decoded name.
        name: String,
        /// The first separator found in it, `/` or `\`.
        sep: char,
    },
    /// The name holds a control character (C0 including NUL, DEL, or C1), which could cut the path
    /// or rewrite a terminal. Holds the name.
    #[error("its last path segment decodes to {0:?}, which holds a NUL or control character")]
    Control(String),
    /// The name holds a Unicode bidirectional formatting character, so it would display in
    /// another order than it has. Holds the name.
    #[error(
        "its last path segment decodes to {0:?}, which holds a bidirectional-text control character (it would not read as it is)"
    )]
    Bidi(String),
    /// The name starts with `.` (hidden, and the prefix of rget's temporary files), `-` (read as
    /// an option by the next command) or `~` (a home directory to a shell).
    #[error(
        "its last path segment decodes to {name:?}, which starts with {first:?} ({})",
        start_reason(*.first)
    )]
    SpecialStart {
        /// The decoded name.
        name: String,
        /// Its first character: `.`, `-` or `~`.
        first: char,
    },
    /// The name starts or ends with a Unicode white-space character, which is easy to miss when
    /// the name is shown. Holds the name.
    #[error("its last path segment decodes to {0:?}, which starts or ends with white space")]
    Whitespace(String),
    /// The name is longer than [`MAX_OUTPUT_NAME`] bytes. Holds its length in bytes.
    #[error(
        "its last path segment decodes to a name of {0} bytes, more than a file name can hold ({MAX_OUTPUT_NAME})"
    )]
    TooLong(usize),
}

impl OutputNameError {
    /// Whether `-o PATH` gets past this refusal: yes when the URL names a file whose name is only
    /// unfit to be created in the current directory; no when the URL itself names no file.
    pub fn output_path_helps(&self) -> bool {
        !matches!(
            self,
            OutputNameError::NotAbsolute
                | OutputNameError::NoPath
                | OutputNameError::Undecodable(_)
        )
    }
}

/// Why a name may not start with `first`.
fn start_reason(first: char) -> &'static str {
    match first {
        '.' => "a hidden name, and rget's own temporary files are .rget-*",
        '-' => "other commands would read it as an option",
        _ => "a shell would read it as a home directory",
    }
}

/// The URL's last path segment, percent-decoded (strictly, see
/// [`percent_decode`](super::percent::percent_decode)), and nothing else checked: the name a file is
/// looked up under in `SHA256SUMS`. The query and fragment are not part of it.
pub fn last_segment(url: &str) -> Result<String, OutputNameError> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let (_, after_scheme) = path.split_once("://").ok_or(OutputNameError::NotAbsolute)?;
    let (_, p) = after_scheme
        .split_once('/')
        .ok_or(OutputNameError::NoPath)?;
    let last = p.rsplit('/').next().unwrap_or("");
    super::percent::percent_decode(last).map_err(OutputNameError::Undecodable)
}

/// Whether `name` is a plain file name, safe to create in the current directory: one component
/// (no `/`, and no `\`, a separator elsewhere and in many archive tools), not empty, `.` or `..`, no
/// NUL, control (C0, DEL, C1) or bidirectional-text control character, not starting with `.`
/// (hidden, and rget's own temporaries are `.rget-*.part`), `-` (read as an option by the next
/// command) or `~` (a home directory to a shell), no white space at either end, at most
/// [`MAX_OUTPUT_NAME`] bytes.
pub fn check_output_name(name: &str) -> Result<(), OutputNameError> {
    let named = || name.to_owned();
    if name.is_empty() {
        return Err(OutputNameError::Empty);
    }
    if name == "." || name == ".." {
        return Err(OutputNameError::DotName(named()));
    }
    if let Some(sep) = name.chars().find(|c| matches!(c, '/' | '\\')) {
        return Err(OutputNameError::Separator { name: named(), sep });
    }
    if name.chars().any(char::is_control) {
        return Err(OutputNameError::Control(named()));
    }
    if name.chars().any(is_bidi_control) {
        return Err(OutputNameError::Bidi(named()));
    }
    if let Some(first) = name.chars().next().filter(|c| matches!(c, '.' | '-' | '~')) {
        return Err(OutputNameError::SpecialStart {
            name: named(),
            first,
        });
    }
    if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        return Err(OutputNameError::Whitespace(named()));
    }
    if name.len() > MAX_OUTPUT_NAME {
        return Err(OutputNameError::TooLong(name.len()));
    }
    Ok(())
}

/// The name `rget get URL` saves to without `-o`: [`last_segment`], if [`check_output_name`]
/// accepts it.
pub fn output_name(url: &str) -> Result<String, OutputNameError> {
    let name = last_segment(url)?;
    check_output_name(&name)?;
    Ok(name)
}

/// The Unicode bidirectional formatting characters (UAX #9: ALM, LRM, RLM, the embeddings and
/// overrides, the isolates): they make a name display in another order than it has ("Trojan
/// Source"), so `exe.txt` can be shown for `txt.exe`.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://example.org/rel/v1/";

    fn name_of(segment: &str) -> Result<String, OutputNameError> {
        output_name(&format!("{BASE}{segment}"))
    }

    #[test]
    fn plain_names_are_kept_as_decoded() {
        for (segment, want) in [
            ("tool-1.2-linux.tar.gz", "tool-1.2-linux.tar.gz"),
            ("a%20b", "a b"),
            ("r%C3%A9sum%C3%A9.pdf", "résumé.pdf"),
            ("a+b", "a+b"),
            ("x..y", "x..y"),
            ("v1.", "v1."),
            ("%41", "A"),
            ("日本", "日本"),
        ] {
            assert_eq!(name_of(segment).as_deref(), Ok(want), "{segment}");
        }
        // The query and fragment are not part of the name; only the last segment is.
        assert_eq!(
            output_name("https://h/a%2Fb/tool?x=../y#/z").as_deref(),
            Ok("tool")
        );
        assert_eq!(output_name("http://h/t").as_deref(), Ok("t"));
        let longest = "a".repeat(MAX_OUTPUT_NAME);
        assert_eq!(name_of(&longest), Ok(longest.clone()));
    }

    #[test]
    fn separators_are_refused_in_every_spelling() {
        for (segment, sep) in [
            ("%2F", '/'),
            ("%2f", '/'),
            ("..%2F..%2F.bashrc", '/'),
            ("sub%2Ftool", '/'),
            ("%2Fetc%2Fpasswd", '/'),
            ("tool%2F", '/'),
            ("%5C", '\\'),
            ("..%5c..%5cx", '\\'),
            ("a%5Cb", '\\'),
        ] {
            match name_of(segment) {
                Err(OutputNameError::Separator { sep: s, .. }) => assert_eq!(s, sep, "{segment}"),
                other => panic!("{segment}: {other:?}"),
            }
        }
    }

    #[test]
    fn dot_names_and_empty_segments_are_refused() {
        for segment in [".", "..", "%2e", "%2E%2e", "%2e%2e", ".%2e"] {
            assert!(
                matches!(name_of(segment), Err(OutputNameError::DotName(_))),
                "{segment}: {:?}",
                name_of(segment)
            );
        }
        for url in [
            "https://example.org/rel/",
            "https://example.org/",
            "https://example.org/rel/?x=y",
            "https://example.org/rel/#frag",
        ] {
            assert_eq!(output_name(url), Err(OutputNameError::Empty), "{url}");
        }
    }

    #[test]
    fn control_and_bidi_characters_are_refused() {
        for segment in [
            "%00",
            "a%00b",
            "a%0Ab",
            "%0D",
            "a%09b",
            "%1B%5B31m",
            "a%7F",
            "a%C2%85",
            "%C2%9B",
        ] {
            assert!(
                matches!(name_of(segment), Err(OutputNameError::Control(_))),
                "{segment}: {:?}",
                name_of(segment)
            );
        }
        for segment in [
            "exe%E2%80%AEtxt.sh", // U+202E RIGHT-TO-LEFT OVERRIDE
            "a%E2%80%8Eb",        // U+200E LEFT-TO-RIGHT MARK
            "a%E2%81%A6b",        // U+2066 LEFT-TO-RIGHT ISOLATE
            "a%D8%9Cb",           // U+061C ARABIC LETTER MARK
        ] {
            assert!(
                matches!(name_of(segment), Err(OutputNameError::Bidi(_))),
                "{segment}: {:?}",
                name_of(segment)
            );
        }
    }

    #[test]
    fn names_that_other_tools_read_as_something_else_are_refused() {
        for (segment, first) in [
            (".bashrc", '.'),
            (".rget-0123456789abcdef.part", '.'),
            ("%2Eprofile", '.'),
            ("-rf", '-'),
            ("-", '-'),
            ("~", '~'),
            ("~root", '~'),
        ] {
            assert_eq!(
                name_of(segment),
                Err(OutputNameError::SpecialStart {
                    name: percent_decoded(segment),
                    first
                }),
                "{segment}"
            );
        }
        for segment in ["%20", "a%20", "%20a", "a%C2%A0", "%E2%80%83a"] {
            assert!(
                matches!(name_of(segment), Err(OutputNameError::Whitespace(_))),
                "{segment}: {:?}",
                name_of(segment)
            );
        }
        assert_eq!(
            name_of(&"a".repeat(MAX_OUTPUT_NAME + 1)),
            Err(OutputNameError::TooLong(MAX_OUTPUT_NAME + 1))
        );
        // Bytes, not characters: 128 two-byte characters are 256 bytes.
        assert_eq!(
            name_of(&"%C3%A9".repeat(128)),
            Err(OutputNameError::TooLong(256))
        );
    }

    fn percent_decoded(s: &str) -> String {
        crate::percent::percent_decode(s).unwrap()
    }

    #[test]
    fn urls_that_name_no_file_say_so() {
        assert_eq!(output_name("tool"), Err(OutputNameError::NotAbsolute));
        assert_eq!(output_name("/rel/tool"), Err(OutputNameError::NotAbsolute));
        assert_eq!(
            output_name("https://example.org"),
            Err(OutputNameError::NoPath)
        );
        assert_eq!(
            output_name("https://example.org?x=/y"),
            Err(OutputNameError::NoPath)
        );
        for segment in ["%zz", "%4", "%ff", "%C3"] {
            assert!(
                matches!(name_of(segment), Err(OutputNameError::Undecodable(_))),
                "{segment}"
            );
        }
        assert!(!OutputNameError::NoPath.output_path_helps());
        assert!(!OutputNameError::Undecodable("x").output_path_helps());
        assert!(OutputNameError::Empty.output_path_helps());
        assert!(OutputNameError::DotName("..".into()).output_path_helps());
    }

    #[test]
    fn the_saved_name_is_the_name_looked_up() {
        for segment in ["tool", "a%20b", "r%C3%A9sum%C3%A9.pdf"] {
            let url = format!("{BASE}{segment}");
            assert_eq!(output_name(&url), last_segment(&url));
        }
    }

    proptest::proptest! {
        /// Whatever the segment, an accepted name is one component that names a new entry of the
        /// directory it is joined to, and it never panics.
        #[test]
        fn an_accepted_name_is_one_plain_component(segment in "[a-zA-Z0-9%./\\\\~ _+-]{0,40}") {
            if let Ok(name) = output_name(&format!("{BASE}{segment}")) {
                let p = std::path::Path::new("/d").join(&name);
                proptest::prop_assert_eq!(p.parent(), Some(std::path::Path::new("/d")));
                proptest::prop_assert_eq!(p.file_name().and_then(|n| n.to_str()), Some(name.as_str()));
                let mut components = std::path::Path::new(&name).components();
                proptest::prop_assert!(matches!(components.next(), Some(std::path::Component::Normal(_))));
                proptest::prop_assert!(components.next().is_none());
            }
        }
    }
}
