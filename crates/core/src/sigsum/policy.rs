//! Sigsum policy files, parsed into the core's [`Policy`].
//!
//! ```text
//! log <hex public key> [<url>]
//! witness <name> <hex public key> [<url>]
//! group <name> all|any|<k> <name>...
//! quorum <name>|none
//! # comment
//! ```
//!
//! C2SP tlog-policy descends from this format: the two differ only in how keys are written (raw hex
//! here, verifier keys there). So a Sigsum policy is read by rewriting each key as the verifier key it
//! stands for, line for line, and handing the result to [`Policy::parse`]: one grammar and one quorum
//! evaluator for both formats, and every error keeps the line number of the file the user wrote.
//!
//! The verifier key of a log is an Ed25519 note key (type 0x01) named by the log's checkpoint origin,
//! `sigsum.org/v1/tree/<hex key hash>`, which is what a Sigsum log signs its tree heads as. The
//! verifier key of a witness is a `cosignature/v1` key (type 0x04) named as the policy names the
//! witness (Sigsum witness names are their note key names); a name that cannot be a note key name
//! (it contains `+`, or Unicode white space) is replaced by `sigsum.org/v1/witness/<hex key hash>`
//! in the key only: the policy still calls the witness by its name in groups and reports.
//!
//! Keys are hex in either case, as Sigsum's policy format says. The file must be UTF-8 (Sigsum
//! allows opaque non-ASCII octets in names and comments; a non-UTF-8 file is refused by the caller).

use super::{key_hash, origin};
use crate::note::{ALG_COSIGNATURE_V1, ALG_ED25519, VerifierKey, valid_key_name};
use crate::policy::{Policy, PolicyError};
use std::collections::HashMap;
use thiserror::Error;

/// Largest Sigsum policy accepted. Rewritten keys are longer than hex keys; with at most 512 keys
/// in a policy the rewritten text stays under the core's own limit.
pub const MAX_SIGSUM_POLICY_SIZE: usize = 128 * 1024;
/// Longest line accepted (the rewritten line must stay under the core's line limit).
pub const MAX_SIGSUM_LINE_LEN: usize = 4 * 1024;

/// Errors in a Sigsum policy: the ones specific to hex keys, and every error of the core's parser.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SigsumPolicyError {
    /// The policy text is over [`MAX_SIGSUM_POLICY_SIZE`].
    #[error("policy is {len} bytes, over the limit of {MAX_SIGSUM_POLICY_SIZE} bytes")]
    TooLarge {
        /// The text's length, in bytes.
        len: usize,
    },
    /// A line is over [`MAX_SIGSUM_LINE_LEN`].
    #[error(
        "policy line {line}: line is {len} bytes, over the limit of {MAX_SIGSUM_LINE_LEN} bytes"
    )]
    LineTooLong {
        /// The 1-based line number.
        line: usize,
        /// The line's length, in bytes.
        len: usize,
    },
    /// A `log` or `witness` line's key is not 64 hex digits (a raw Ed25519 public key).
    #[error("policy line {line}: {role} key is not 64 hexadecimal digits")]
    Key {
        /// The 1-based line number.
        line: usize,
        /// `log` or `witness`.
        role: &'static str,
    },
    /// The rewritten text fails the C2SP tlog-policy parser (line numbers are the file's).
    #[error("{0}")]
    Policy(#[from] PolicyError),
}

/// A 32-byte key in hex, either case.
fn hex_key(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    hex::decode(s).ok()?.try_into().ok()
}

/// The note verifier key of a Sigsum log.
pub fn log_verifier_key(public_key: &[u8; 32]) -> VerifierKey {
    let name = origin(&key_hash(public_key));
    VerifierKey {
        id: crate::note::key_id(&name, ALG_ED25519, public_key),
        name,
        alg: ALG_ED25519,
        public_key: *public_key,
    }
}

/// The `cosignature/v1` verifier key of a Sigsum witness called `name` by its policy.
pub fn witness_verifier_key(name: &str, public_key: &[u8; 32]) -> VerifierKey {
    let name = if valid_key_name(name) {
        name.to_owned()
    } else {
        format!("sigsum.org/v1/witness/{}", key_hash(public_key).to_hex())
    };
    VerifierKey {
        id: crate::note::key_id(&name, ALG_COSIGNATURE_V1, public_key),
        name,
        alg: ALG_COSIGNATURE_V1,
        public_key: *public_key,
    }
}

/// Parses a Sigsum policy file.
pub fn parse(text: &str) -> Result<Policy, SigsumPolicyError> {
    Ok(Policy::parse(&to_tlog_policy(text)?)?)
}

/// The C2SP tlog-policy a Sigsum policy file stands for: each hex key rewritten as its verifier
/// key, line for line (so the core parser's errors keep the file's line numbers). The result still
/// has to pass [`Policy::parse`]; [`parse`] does both.
pub fn to_tlog_policy(text: &str) -> Result<String, SigsumPolicyError> {
    if text.len() > MAX_SIGSUM_POLICY_SIZE {
        return Err(SigsumPolicyError::TooLarge { len: text.len() });
    }
    let mut out = String::with_capacity(text.len() * 2);
    // Where each log key was first defined: the same log twice would otherwise surface as a key-id
    // collision of its verifier key, which is true but says less.
    let mut log_keys: HashMap<[u8; 32], usize> = HashMap::new();
    for (i, line) in text.split('\n').enumerate() {
        let n = i + 1;
        if line.len() > MAX_SIGSUM_LINE_LEN {
            return Err(SigsumPolicyError::LineTooLong {
                line: n,
                len: line.len(),
            });
        }
        if i > 0 {
            out.push('\n');
        }
        // Fields as the core splits them (spaces and tabs); any other line is passed on verbatim,
        // and so are log and witness lines with the wrong number of fields, for the core to name.
        let fields: Vec<&str> = line.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
        match fields.as_slice() {
            ["log", key, url @ ..] if url.len() <= 1 => {
                let key = hex_key(key).ok_or(SigsumPolicyError::Key {
                    line: n,
                    role: "log",
                })?;
                if let Some(&first) = log_keys.get(&key) {
                    return Err(PolicyError::DuplicateKey {
                        line: n,
                        role: "log",
                        first,
                    }
                    .into());
                }
                log_keys.insert(key, n);
                out.push_str(&format!("log {}", log_verifier_key(&key)));
                for u in url {
                    out.push(' ');
                    out.push_str(u);
                }
            }
            ["witness", name, key, url @ ..] if url.len() <= 1 => {
                let key = hex_key(key).ok_or(SigsumPolicyError::Key {
                    line: n,
                    role: "witness",
                })?;
                out.push_str(&format!(
                    "witness {name} {}",
                    witness_verifier_key(name, &key)
                ));
                for u in url {
                    out.push(' ');
                    out.push_str(u);
                }
            }
            _ => out.push_str(line),
        }
    }
    Ok(out)
}

/// Parses a policy in either format, Sigsum's (hex keys) or C2SP tlog-policy (verifier keys), so
/// that wherever a Sigsum policy is accepted a tlog-policy naming Sigsum logs works too. The format
/// is told by the first key in the file: a verifier key contains `+`, hex never does. A file with
/// no keys at all means the same in both formats.
pub fn parse_any(text: &str) -> Result<Policy, SigsumPolicyError> {
    Ok(Policy::parse(&as_tlog_policy(text)?)?)
}

/// The C2SP tlog-policy text of a policy in either format ([`parse_any`] without the final
/// parse): a tlog-policy as it is, a Sigsum policy rewritten by [`to_tlog_policy`]. What a program
/// that reads only tlog-policies (the bootstrap, whose build rewrites its pinned policy) is given.
pub fn as_tlog_policy(text: &str) -> Result<std::borrow::Cow<'_, str>, SigsumPolicyError> {
    let first_key = text.split('\n').find_map(|line| {
        let fields: Vec<&str> = line.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
        match fields.as_slice() {
            ["log", key, ..] | ["witness", _, key, ..] => Some(key.contains('+')),
            _ => None,
        }
    });
    if first_key == Some(true) {
        Ok(std::borrow::Cow::Borrowed(text))
    } else {
        to_tlog_policy(text).map(std::borrow::Cow::Owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ed25519::Seed;
    use crate::policy::Quorum;

    fn hexkey(n: u8) -> String {
        hex::encode(Seed([n; 32]).public_key())
    }

    #[test]
    fn keys_become_verifier_keys_and_groups_work() {
        let text = format!(
            "# a policy\n\
             log {} https://log.example/\n\
             log {}\n\
             \n\
             witness X1 {}\n\
             \twitness X2   {} https://w2.example/\n\
             witness odd+name {}\n\
             group g 2 X1 X2 odd+name\n\
             quorum g\n",
            hexkey(1).to_uppercase(),
            hexkey(2),
            hexkey(3),
            hexkey(4),
            hexkey(5),
        );
        let p = parse(&text).unwrap();
        assert_eq!(p.logs.len(), 2);
        let k1 = Seed([1; 32]).public_key();
        assert_eq!(p.logs[0].vkey, log_verifier_key(&k1));
        assert_eq!(p.logs[0].vkey.name, origin(&key_hash(&k1)));
        assert_eq!(p.logs[0].url.as_deref(), Some("https://log.example/"));
        assert_eq!(p.logs[1].url, None);
        assert_eq!(p.witnesses[1].name, "X2");
        assert_eq!(p.witnesses[1].vkey.name, "X2");
        assert_eq!(p.witnesses[1].vkey.alg, ALG_COSIGNATURE_V1);
        assert_eq!(p.witnesses[1].url.as_deref(), Some("https://w2.example/"));
        assert_eq!(p.witnesses[2].name, "odd+name");
        assert!(
            p.witnesses[2]
                .vkey
                .name
                .starts_with("sigsum.org/v1/witness/")
        );
        assert!(p.quorum_met(&["X1", "odd+name"]));
        assert!(!p.quorum_met(&["X2"]));
        assert!(matches!(p.quorum, Quorum::Member(_)));
    }

    #[test]
    fn either_format() {
        let k = Seed([1; 32]).public_key();
        let sigsum = format!("log {}\nquorum none\n", hex::encode(k));
        let tlog = format!("log {}\nquorum none\n", log_verifier_key(&k));
        assert_eq!(parse_any(&sigsum).unwrap(), parse_any(&tlog).unwrap());
        assert_eq!(parse_any(&sigsum).unwrap(), parse(&sigsum).unwrap());
        assert!(parse_any("quorum none\n").is_ok());
        // The first key decides: a hex key after a verifier key is an error in a tlog-policy.
        let mixed = format!(
            "log {}\nlog {}\nquorum none\n",
            log_verifier_key(&k),
            hex::encode(k)
        );
        assert!(matches!(
            parse_any(&mixed),
            Err(SigsumPolicyError::Policy(PolicyError::Key { line: 2, .. }))
        ));
    }

    #[test]
    fn errors_name_the_line() {
        let (a, b) = (hexkey(1), hexkey(2));
        let cases: Vec<(String, &str)> = vec![
            (
                format!("log {a}\nlog {}\nquorum none\n", &a[..63]),
                "policy line 2: log key is not 64 hexadecimal digits",
            ),
            (
                format!("witness w {a}x\nquorum none\n"),
                "policy line 1: witness key is not 64 hexadecimal digits",
            ),
            (
                format!("log {a}\nlog {a} https://other/\nquorum none\n"),
                "policy line 2: log key repeats the public key of line 1",
            ),
            (
                format!("witness w1 {a}\nwitness w2 {a}\nquorum none\n"),
                "policy line 2: witness key repeats the public key of line 1",
            ),
            (
                format!("witness w {a}\nwitness w {b}\nquorum w\n"),
                "policy line 2: name \"w\" is already defined on line 1",
            ),
            (
                format!("log {a} url extra\nquorum none\n"),
                "policy line 1: log line has 4 fields, want 2 or 3",
            ),
            (
                format!("witness w {a}\ngroup g 2 w\nquorum g\n"),
                "policy line 2: group threshold \"2\" is not all, any or a number from 1 to 1",
            ),
            (
                format!("log {a}\n"),
                "policy has no quorum line (write \"quorum none\" to require no witnesses)",
            ),
            (
                "quorum none\r\n".to_owned(),
                "policy line 1: control character 0x0d (only tab is allowed)",
            ),
            (
                "frobnicate x\n".to_owned(),
                "policy line 1: unknown keyword \"frobnicate\"",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(&text).unwrap_err().to_string(), want, "{text:?}");
        }
    }
}
