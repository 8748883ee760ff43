//! The list of URLs `rget get -i FILE` reads: one URL per line; blank lines and lines starting
//! with `#` (after white space) are skipped; white space around a URL is ignored. Parsing is pure:
//! the caller reads the bytes (at most `rget_fetch::limits::URL_LIST`).

/// A URL of the list with its line number (from 1), for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The line it is on, from 1.
    pub line: usize,
    /// The URL, trimmed of white space.
    pub url: String,
}

/// Why a list is refused: the first bad line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    /// A line is not valid UTF-8.
    #[error("line {line} is not UTF-8 text")]
    NotUtf8 {
        /// The line, from 1.
        line: usize,
    },
    /// A line holds white space inside it: two URLs, or a URL and something else.
    #[error("line {line} holds more than one word ({text:?}): one URL per line")]
    TwoWords {
        /// The line, from 1.
        line: usize,
        /// The line's text, trimmed.
        text: String,
    },
}

/// The URLs of `bytes`, in order. A line that is not text, or that holds more than one word (a URL
/// has no white space, so `URL DEST` or two URLs on a line are a mistake, not a name), refuses the
/// whole list: a run that silently skipped a line would report success for less than was asked.
pub fn parse(bytes: &[u8]) -> Result<Vec<Listed>, ListError> {
    let mut out = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let text = std::str::from_utf8(raw).map_err(|_| ListError::NotUtf8 { line })?;
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        if text.split_whitespace().nth(1).is_some() {
            return Err(ListError::TwoWords {
                line,
                text: text.to_owned(),
            });
        }
        out.push(Listed {
            line,
            url: text.to_owned(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_comments_and_blank_lines() {
        let l = parse(b"# tools\nhttps://a/x\n\n  https://a/y  \r\n\t# https://a/z\n").unwrap();
        assert_eq!(
            l,
            vec![
                Listed {
                    line: 2,
                    url: "https://a/x".into()
                },
                Listed {
                    line: 4,
                    url: "https://a/y".into()
                },
            ]
        );
        assert!(parse(b"").unwrap().is_empty());
    }

    #[test]
    fn a_bad_line_refuses_the_list() {
        assert_eq!(
            parse(b"https://a/x\nhttps://a/y out.bin\n"),
            Err(ListError::TwoWords {
                line: 2,
                text: "https://a/y out.bin".into()
            })
        );
        assert_eq!(
            parse(b"https://a/x\n\xff\n"),
            Err(ListError::NotUtf8 { line: 2 })
        );
    }
}
