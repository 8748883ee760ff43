//! The trusted comment of a publisher's minisign signature: what it says about the signed file.
//!
//! `minisign -S` writes tab-separated fields, `timestamp:<unix time>\tfile:<name>\thashed`, and the
//! signature covers them (minisign's "global signature"). `rget release` adds one field,
//! `url:<canonical URL of the SHA256SUMS>`, after minisign's own, so that minisign shows the comment
//! as usual and the signature binds the place it was made for.
//!
//! Why the URL: anyone can record any `SHA256SUMS` under any URL in a log. An older release's
//! `SHA256SUMS`, genuinely signed and logged, can be recorded again under the newer release's URL and
//! served there with its signature; a signature that names no URL cannot tell. One that names its URL
//! can: a client refuses it at any other URL. Signatures made by other tools name no URL; then only the
//! log's list of records for the URL (the lookup, `rget audit`) shows such a replay.

use crate::record;

/// The field `rget release` adds.
pub const URL_FIELD: &str = "url:";
/// The field that names the signed file.
pub const FILE_FIELD: &str = "file:";

/// Why a trusted comment was refused. Messages are one line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommentError {
    /// Two tab-separated fields of the comment start with the same prefix (`file:` or `url:`).
    /// Holds that prefix.
    #[error("the signature's trusted comment has more than one {0} field")]
    Repeated(&'static str),
    /// The comment has a `url:` field whose value, in canonical form, is not the URL the
    /// `SHA256SUMS` was fetched from, or is no usable URL at all.
    #[error(
        "the signature was made for the SHA256SUMS at {signed}, not for the one at {expected}: another release's SHA256SUMS is served here (its trusted comment binds the URL)"
    )]
    OtherUrl {
        /// The `url:` field's value as the signed comment gives it (not canonicalized).
        signed: String,
        /// The URL the `SHA256SUMS` was fetched from, in canonical form (as given if it has none).
        expected: String,
    },
}

/// The fields of a trusted comment that rget reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedComment<'a> {
    /// `file:<name>`, as `minisign -S` writes it.
    pub file: Option<&'a str>,
    /// `url:<URL>`, as `rget release` writes it.
    pub url: Option<&'a str>,
}

/// Whether a signature binds the URL its `SHA256SUMS` was fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlBinding {
    /// The comment names this URL (canonical form).
    Bound(String),
    /// The comment names no URL (a signature by `minisign -S` or another tool).
    Unbound,
}

/// The trusted comment `rget release` signs: minisign's own fields, then the URL.
pub fn format(timestamp: u64, file: &str, canonical_url: &str) -> String {
    format!("timestamp:{timestamp}\t{FILE_FIELD}{file}\thashed\t{URL_FIELD}{canonical_url}")
}

/// Reads the `file:` and `url:` fields. A field given twice is refused: two readers taking different
/// ones would disagree on what was signed.
pub fn parse(comment: &str) -> Result<TrustedComment<'_>, CommentError> {
    let mut out = TrustedComment {
        file: None,
        url: None,
    };
    for field in comment.split('\t') {
        for (name, slot) in [(FILE_FIELD, &mut out.file), (URL_FIELD, &mut out.url)] {
            if let Some(value) = field.strip_prefix(name) {
                if slot.is_some() {
                    return Err(CommentError::Repeated(name));
                }
                *slot = Some(value);
            }
        }
    }
    Ok(out)
}

/// Checks a verified signature's trusted comment against the URL its `SHA256SUMS` was fetched from
/// (for rget's own releases, the URL under the pinned source, whichever mirror served it). Both sides
/// are compared in canonical form (`record::canonical_url`), so a respelling is the same URL; a
/// `url:` value that is no usable URL matches nothing.
pub fn check_url(comment: &str, expected_url: &str) -> Result<UrlBinding, CommentError> {
    let Some(signed) = parse(comment)?.url else {
        return Ok(UrlBinding::Unbound);
    };
    let expected = record::canonical_url(expected_url).unwrap_or_else(|_| expected_url.to_owned());
    match record::canonical_url(signed) {
        Ok(c) if c == expected => Ok(UrlBinding::Bound(c)),
        _ => Err(CommentError::OtherUrl {
            signed: signed.to_owned(),
            expected,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://rel.example/tool/v2/SHA256SUMS";

    #[test]
    fn rget_release_comments_bind_their_url() {
        let c = format(1700000000, "SHA256SUMS", URL);
        assert_eq!(
            c,
            "timestamp:1700000000\tfile:SHA256SUMS\thashed\turl:https://rel.example/tool/v2/SHA256SUMS"
        );
        assert_eq!(
            parse(&c),
            Ok(TrustedComment {
                file: Some("SHA256SUMS"),
                url: Some(URL)
            })
        );
        assert_eq!(check_url(&c, URL), Ok(UrlBinding::Bound(URL.to_owned())));
        // Another spelling of the same URL is the same URL.
        assert_eq!(
            check_url(&c, "HTTPS://Rel.Example:443/tool/%76%32/SHA256SUMS"),
            Ok(UrlBinding::Bound(URL.to_owned()))
        );
    }

    #[test]
    fn a_comment_for_another_url_is_refused_naming_both() {
        let v1 = format(1, "SHA256SUMS", "https://rel.example/tool/v1/SHA256SUMS");
        let e = check_url(&v1, URL).unwrap_err();
        assert_eq!(
            e,
            CommentError::OtherUrl {
                signed: "https://rel.example/tool/v1/SHA256SUMS".into(),
                expected: URL.into()
            }
        );
        let msg = e.to_string();
        assert!(
            msg.contains("/v1/SHA256SUMS") && msg.contains("/v2/SHA256SUMS"),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
        // A value that is no usable URL, or empty, matches nothing.
        for bad in [
            "url:",
            "url:not a url",
            "url:http://rel.example/tool/v2/SHA256SUMS",
        ] {
            let c = format!("timestamp:1\tfile:SHA256SUMS\thashed\t{bad}");
            assert!(
                matches!(check_url(&c, URL), Err(CommentError::OtherUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn minisign_comments_are_unbound_and_repeats_refused() {
        let plain = "timestamp:1700000000\tfile:SHA256SUMS\thashed";
        assert_eq!(
            parse(plain).unwrap(),
            TrustedComment {
                file: Some("SHA256SUMS"),
                url: None
            }
        );
        assert_eq!(check_url(plain, URL), Ok(UrlBinding::Unbound));
        assert_eq!(check_url("", URL), Ok(UrlBinding::Unbound));
        // "url:" only counts as a whole field, not inside another one.
        assert_eq!(
            check_url("timestamp:1\tfile:url:https://x.example/", URL),
            Ok(UrlBinding::Unbound)
        );
        assert_eq!(
            check_url(
                &format!("url:{URL}\turl:https://rel.example/v1/SHA256SUMS"),
                URL
            ),
            Err(CommentError::Repeated("url:"))
        );
        assert_eq!(
            parse("file:SHA256SUMS\tfile:other"),
            Err(CommentError::Repeated("file:"))
        );
    }
}
