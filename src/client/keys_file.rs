//! Adding a publisher key to the keys file (`rget keys add`): the file `rget get` reads to know which
//! minisign key must have signed the `SHA256SUMS` under a URL prefix ([`super::trust`]).
//!
//! The new text is computed here, without I/O; the caller writes it atomically. What is refused:
//! a keys file that does not parse (it would already refuse every download), a prefix that has a key
//! already (the same key: nothing to add; another key: which one is meant is for a person to say, by
//! editing the file), a prefix that has no canonical spelling.

use super::trust::{PublisherKey, PublisherKeys, TrustError, canonical_prefix, prefix_matches};
use rget_core::minisig::PublicKey;
use std::path::Path;
use thiserror::Error;

/// Why a key cannot be added.
#[derive(Debug, Error)]
pub enum AddError {
    /// The keys file as it is does not parse.
    #[error("{0}")]
    Existing(TrustError),
    /// The prefix has no canonical spelling.
    #[error("URL prefix {prefix:?} {reason}")]
    BadPrefix {
        /// The prefix as given.
        prefix: String,
        /// Why it cannot be canonicalized.
        reason: super::trust::PrefixError,
    },
    /// The prefix (with or without a final `/`) has this very key already.
    #[error("{path} line {line} already has key ID {key_id} for {prefix}; nothing to add")]
    Duplicate {
        /// The keys file, as displayed.
        path: String,
        /// The 1-based line that has the key already.
        line: usize,
        /// The canonical prefix.
        prefix: String,
        /// The key's ID.
        key_id: String,
    },
    /// The prefix (with or without a final `/`) has another key.
    #[error(
        "{path} line {line} has another key (key ID {old}) for {prefix}; refusing to add key ID \
         {new}: one prefix has one key (edit the file to replace it)"
    )]
    Conflict {
        /// The keys file, as displayed.
        path: String,
        /// The 1-based line that has the other key.
        line: usize,
        /// The canonical prefix.
        prefix: String,
        /// The ID of the key the file has for the prefix.
        old: String,
        /// The ID of the key that was to be added.
        new: String,
    },
    /// The file with the new line would not parse (more keys than the limit).
    #[error("{0}")]
    Result(TrustError),
}

/// A key added: the new file text, and what the caller reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// The whole keys file with the new line appended, to be written in place of the old.
    pub text: String,
    /// The canonical prefix written.
    pub prefix: String,
    /// The new line's number.
    pub line: usize,
    /// Entries that cover URLs of the new prefix too, with another key: (prefix, key ID, line).
    /// The longest prefix wins, so the new key applies below its prefix; the caller says so.
    pub overlaps: Vec<(String, String, usize)>,
}

/// The keys file `current` (read from `path`, empty if it does not exist) with the line
/// `<prefix> <key_line>` appended, `key` being the parsed `key_line`.
pub fn add(
    path: &Path,
    current: &str,
    prefix: &str,
    key: &PublicKey,
    key_line: &str,
) -> Result<Added, AddError> {
    let keys = PublisherKeys::parse_keys_file(path, current).map_err(AddError::Existing)?;
    // https and http prefixes alike, as the keys file takes them.
    let canon = canonical_prefix(prefix, true).map_err(|reason| AddError::BadPrefix {
        prefix: prefix.to_owned(),
        reason,
    })?;
    let shown = path.display().to_string();
    let mut overlaps = Vec::new();
    // `https://a.example/rel` and `https://a.example/rel/` cover the same URLs (but the first
    // itself): one prefix for this purpose.
    let same = |p: &str| p.trim_end_matches('/') == canon.trim_end_matches('/');
    let new_key = PublisherKey::Minisign(key.clone());
    for (p, k, line) in keys.entries() {
        if same(p) {
            return Err(if k == &new_key {
                AddError::Duplicate {
                    path: shown,
                    line,
                    prefix: canon,
                    key_id: k.key_id(),
                }
            } else {
                AddError::Conflict {
                    path: shown,
                    line,
                    prefix: canon,
                    old: k.key_id(),
                    new: key.key_id(),
                }
            });
        }
        if *k != new_key && (prefix_matches(p, &canon) || prefix_matches(&canon, p)) {
            overlaps.push((p.to_owned(), k.key_id(), line));
        }
    }
    let mut text = current.to_owned();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("{canon} {key_line}\n"));
    // The file as it will be is checked as `rget get` will read it (the number of keys, line
    // lengths), so nothing is written that would then refuse every download.
    PublisherKeys::parse_keys_file(path, &text).map_err(AddError::Result)?;
    let line = text.trim_end_matches('\n').split('\n').count();
    Ok(Added {
        text,
        prefix: canon,
        line,
        overlaps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";
    const K2: &str = "RWTAPRW2qy9FjsBiMNpd5xyW3qRjC5nqVxLg2YE2nuC4yvbF6CwlVZvZ";

    fn key(b64: &str) -> PublicKey {
        PublicKey::parse(b64).unwrap()
    }

    #[test]
    fn appends_in_canonical_spelling_and_refuses_repeats() {
        let p = Path::new("keys");
        let a = add(p, "", "HTTPS://Rel.Example:443/app", &key(K1), K1).unwrap();
        assert_eq!(a.text, format!("https://rel.example/app {K1}\n"));
        assert_eq!((a.line, a.overlaps.len()), (1, 0));
        // A file without a final newline gets one before the new line.
        let b = add(
            p,
            "# mine\nhttps://o.example/ x",
            "https://x.example/",
            &key(K1),
            K1,
        );
        assert!(matches!(b, Err(AddError::Existing(_))), "{b:?}");
        let c = add(p, "# mine", "https://x.example/", &key(K2), K2).unwrap();
        assert_eq!(c.text, format!("# mine\nhttps://x.example/ {K2}\n"));
        assert_eq!(c.line, 2);
        // The same prefix again, in another spelling: the same key is a duplicate, another a
        // conflict; both name the line.
        let e = add(p, &a.text, "https://rel.example/app", &key(K1), K1).unwrap_err();
        assert!(matches!(e, AddError::Duplicate { line: 1, .. }), "{e}");
        let e = add(p, &a.text, "https://REL.example/app/", &key(K2), K2).unwrap_err();
        assert!(e.to_string().contains("line 1 has another key"), "{e}");
        // A nested prefix with another key is added, and the overlap reported.
        let d = add(p, &a.text, "https://rel.example/app/beta", &key(K2), K2).unwrap();
        assert_eq!(
            d.overlaps,
            vec![("https://rel.example/app".to_owned(), key(K1).key_id(), 1)]
        );
        assert!(add(p, "", "rel.example/app", &key(K1), K1).is_err());
    }
}
