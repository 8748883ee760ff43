//! C2SP tlog-policy: which logs are trusted, which witnesses, and how many witnesses must cosign.
//!
//! ```text
//! log <vkey> [<url>]
//! witness <name> <vkey> [<url>]
//! group <name> all|any|<k> <member>...
//! quorum <name>|none
//! ```
//!
//! `Policy::verify_checkpoint` is the one routine every verifier in rget uses to accept a checkpoint.
//!
//! Decisions where the spec leaves room (all fail closed):
//! - exactly one `quorum` line is required; there is no default quorum;
//! - two logs may not share an origin (key name), so an origin selects exactly one log key;
//! - no two keys in the policy may share (key name, key id), so note verification is unambiguous;
//! - a final line without a newline is accepted (it is the end of the file, not a truncation
//!   hazard: every line is complete on its own);
//! - cosignature timestamps are reported, not judged: the core has no clock.

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::note::{
    self, ALG_COSIGNATURE_V1, ALG_ED25519, KeyError, NoteError, VerifierKey, snippet,
};
use std::collections::HashMap;
use thiserror::Error;

/// Largest policy file accepted.
pub const MAX_POLICY_SIZE: usize = 256 * 1024;
/// Longest line accepted (a vkey is under 100 bytes; room for long URLs and comments).
pub const MAX_LINE_LEN: usize = 8 * 1024;
/// Most logs in one policy (the spec recommends supporting at least 32).
pub const MAX_LOGS: usize = 256;
/// Most witnesses in one policy.
pub const MAX_WITNESSES: usize = 256;
/// Most groups in one policy.
pub const MAX_GROUPS: usize = 256;

/// The predefined name for "no cosignatures required"; it cannot be defined or be a group member.
const NONE: &str = "none";

/// Errors in a policy file (each with its 1-based line number) and in checkpoint verification.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    /// The policy file is over [`MAX_POLICY_SIZE`] bytes; refused before parsing.
    #[error("policy is {len} bytes, over the limit of {MAX_POLICY_SIZE} bytes")]
    TooLarge {
        /// The file's size in bytes.
        len: usize,
    },
    /// A line, without its `\n`, is over [`MAX_LINE_LEN`] bytes.
    #[error("policy line {line}: line is {len} bytes, over the limit of {MAX_LINE_LEN} bytes")]
    LineTooLong {
        /// The 1-based line number in the file.
        line: usize,
        /// The line's length in bytes, without its `\n`.
        len: usize,
    },
    /// A line holds a byte the spec's character set excludes: below 0x20 other than tab (a CRLF
    /// file's carriage return included), or DEL.
    #[error("policy line {line}: control character 0x{byte:02x} (only tab is allowed)")]
    ControlChar {
        /// The 1-based line number in the file.
        line: usize,
        /// The first such byte on that line.
        byte: u8,
    },
    /// A line's first field is not `log`, `witness`, `group` or `quorum` and does not start with
    /// `#` (keywords are case-sensitive).
    #[error("policy line {line}: unknown keyword {keyword:?}")]
    UnknownKeyword {
        /// The 1-based line number in the file.
        line: usize,
        /// The first field as given, shortened for the message.
        keyword: String,
    },
    /// A `log` line has other than 2 or 3 fields, `witness` other than 3 or 4, `group` fewer than
    /// 4, or `quorum` other than 2 (fields are separated by spaces and tabs).
    #[error("policy line {line}: {keyword} line has {got} fields, want {want}")]
    FieldCount {
        /// The 1-based line number in the file.
        line: usize,
        /// The line's keyword.
        keyword: &'static str,
        /// How many fields the line has, its keyword included.
        got: usize,
        /// How many it must have, as a phrase for the message.
        want: &'static str,
    },
    /// A `log` or `witness` line's key field is not a valid verifier key.
    #[error("policy line {line}: {role} key: {source}")]
    Key {
        /// The 1-based line number in the file.
        line: usize,
        /// Whose key: `"log"` or `"witness"`.
        role: &'static str,
        /// Why the key does not parse.
        source: KeyError,
    },
    /// A log key is not of type 0x01 (Ed25519 note signature), or a witness key not of type 0x04
    /// (`cosignature/v1`).
    #[error("policy line {line}: {role} key has type 0x{alg:02x}, want 0x{want:02x}")]
    WrongKeyType {
        /// The 1-based line number in the file.
        line: usize,
        /// Whose key: `"log"` or `"witness"`.
        role: &'static str,
        /// The key's type byte.
        alg: u8,
        /// The type that role requires.
        want: u8,
    },
    /// Two logs, or two witnesses, have the same Ed25519 public key: one witness key counted
    /// twice would let one party count twice towards the quorum.
    #[error("policy line {line}: {role} key repeats the public key of line {first}")]
    DuplicateKey {
        /// The 1-based line number of the repetition.
        line: usize,
        /// Whose key: `"log"` or `"witness"`.
        role: &'static str,
        /// The 1-based line number where the key first appears.
        first: usize,
    },
    /// A key has the same key name and key id as an earlier log or witness key, so a signature
    /// line could not be attributed to one key.
    #[error("policy line {line}: key name and key id collide with the key on line {first}")]
    KeyIdCollision {
        /// The 1-based line number of the second key.
        line: usize,
        /// The 1-based line number of the first.
        first: usize,
    },
    /// Two logs have the same key name, which is their checkpoints' origin, so an origin would
    /// not select one log key.
    #[error("policy line {line}: log origin {origin:?} is already defined on line {first}")]
    DuplicateOrigin {
        /// The 1-based line number of the second log.
        line: usize,
        /// The shared origin, shortened for the message.
        origin: String,
        /// The 1-based line number of the first log.
        first: usize,
    },
    /// A `witness` or `group` line defines a name an earlier witness or group already has.
    #[error("policy line {line}: name {name:?} is already defined on line {first}")]
    DuplicateName {
        /// The 1-based line number of the second definition.
        line: usize,
        /// The name, shortened for the message.
        name: String,
        /// The 1-based line number of the first definition.
        first: usize,
    },
    /// A `witness` or `group` line defines the name `none`, or a group lists `none` as a member;
    /// `none` only means "no cosignatures" on the `quorum` line.
    #[error("policy line {line}: \"none\" is reserved and cannot be defined or be a group member")]
    ReservedName {
        /// The 1-based line number in the file.
        line: usize,
    },
    /// A group member or the quorum names no witness or group defined on an earlier line (which
    /// also rules out cycles).
    #[error("policy line {line}: name {name:?} is not defined on an earlier line")]
    UndefinedName {
        /// The 1-based line number in the file.
        line: usize,
        /// The name as given, shortened for the message.
        name: String,
    },
    /// A `group` line lists one member twice.
    #[error("policy line {line}: group member {name:?} is listed twice")]
    DuplicateMember {
        /// The 1-based line number in the file.
        line: usize,
        /// The repeated member name, shortened for the message.
        name: String,
    },
    /// A group's threshold is not `all`, `any` or a decimal number without leading zero from 1 to
    /// its member count.
    #[error("policy line {line}: group threshold {k:?} is not all, any or a number from 1 to {n}")]
    BadThreshold {
        /// The 1-based line number in the file.
        line: usize,
        /// The threshold field as given, shortened for the message.
        k: String,
        /// The group's member count.
        n: usize,
    },
    /// The policy defines more than [`MAX_LOGS`] logs, [`MAX_WITNESSES`] witnesses or
    /// [`MAX_GROUPS`] groups.
    #[error("policy line {line}: more than {max} {what}")]
    TooMany {
        /// The 1-based line number of the definition over the limit.
        line: usize,
        /// What is too many: `"logs"`, `"witnesses"` or `"groups"`.
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// The policy has more than one `quorum` line.
    #[error("policy line {line}: second quorum line (the first is on line {first})")]
    SecondQuorum {
        /// The 1-based line number of the second `quorum` line.
        line: usize,
        /// The 1-based line number of the first.
        first: usize,
    },
    /// The policy has no `quorum` line; there is no default quorum.
    #[error("policy has no quorum line (write \"quorum none\" to require no witnesses)")]
    NoQuorum,
    /// The checkpoint's signed note does not parse, or note verification refuses the policy's
    /// keys (two sharing a name and key id, which only a hand-built [`Policy`] can have).
    #[error("checkpoint note: {0}")]
    Note(NoteError),
    /// The signed note's text is not a valid checkpoint.
    #[error("checkpoint: {0}")]
    Checkpoint(CheckpointError),
    /// The checkpoint's origin is not the key name of any policy log (for
    /// [`verify_signed_by`], of the given log).
    #[error("checkpoint origin {origin:?} is not a log in the policy")]
    UnknownLog {
        /// The checkpoint's origin, shortened for the message.
        origin: String,
    },
    /// The note has no signature by the origin's log key (none names its key name and id), even
    /// if witnesses cosigned it.
    #[error("checkpoint for {origin:?} has no valid signature by the log's key")]
    MissingLogSignature {
        /// The checkpoint's origin, shortened for the message.
        origin: String,
    },
    /// A signature line names a policy key (the log's, or a witness's) but does not verify; the
    /// whole checkpoint is rejected, whatever the other signatures say.
    #[error("checkpoint has an invalid signature by known key {name}+{id:08x}")]
    BadSignature {
        /// The key name the signature line gives.
        name: String,
        /// The key id the signature line gives.
        id: u32,
    },
    /// The log signed the checkpoint, but the policy witnesses whose cosignatures verified do not
    /// satisfy the quorum.
    #[error(
        "quorum not met: cosigned by {count} of {total} policy witnesses ({cosigned}), needs {need}"
    )]
    QuorumNotMet {
        /// How many policy witnesses' cosignatures verified.
        count: usize,
        /// How many witnesses the policy has.
        total: usize,
        /// Their policy names, comma-separated and shortened, or `none`.
        cosigned: String,
        /// The quorum rule in words ([`Policy::describe_quorum`]).
        need: String,
    },
}

/// A trusted log. Its key name is its origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyLog {
    /// The log's checkpoint signing key (type 0x01); its name is the log's origin.
    pub vkey: VerifierKey,
    /// The `log` line's optional URL field, verbatim (not checked by the parser).
    pub url: Option<String>,
}

/// A trusted witness. `name` is the policy's name for it, which may differ from its key name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyWitness {
    /// The name groups and the quorum refer to it by (the `witness` line's second field).
    pub name: String,
    /// The witness's cosigning key (type 0x04, `cosignature/v1`).
    pub vkey: VerifierKey,
    /// The `witness` line's optional URL field, verbatim (not checked by the parser).
    pub url: Option<String>,
}

/// A member of a group or the quorum: an index into `Policy::witnesses` or `Policy::groups`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Member {
    /// A witness: its index in `Policy::witnesses`; satisfied by its verified cosignature.
    Witness(usize),
    /// A group: its index in `Policy::groups`; satisfied when its threshold is met.
    Group(usize),
}

/// A group: satisfied when at least `threshold` of its members are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyGroup {
    /// The group's name, unique among witnesses and groups.
    pub name: String,
    /// How many members must be satisfied, from 1 to the member count (`all` is the member count,
    /// `any` is 1).
    pub threshold: usize,
    /// Its members, each once, in line order: witnesses or groups defined before it.
    pub members: Vec<Member>,
}

/// The quorum rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quorum {
    /// `quorum none`: the log's signature alone suffices.
    None,
    /// `quorum <name>`: that witness or group must be satisfied.
    Member(Member),
}

/// A parsed policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The trusted logs, in file order; no two share an origin or a public key.
    pub logs: Vec<PolicyLog>,
    /// The trusted witnesses, in file order; no two share a name or a public key.
    pub witnesses: Vec<PolicyWitness>,
    /// In definition order: a group's members are witnesses or earlier groups.
    pub groups: Vec<PolicyGroup>,
    /// The rule a checkpoint's verified witness cosignatures must satisfy.
    pub quorum: Quorum,
}

/// A checkpoint accepted by a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// The checkpoint the note's text parses to.
    pub checkpoint: Checkpoint,
    /// The note exactly as verified (to store as evidence, or to pass on).
    pub note: Vec<u8>,
    /// The policy log whose origin it has and whose key signed it.
    pub log: PolicyLog,
    /// The policy witnesses whose cosignatures verified: (policy name, cosignature timestamp).
    pub cosigners: Vec<(String, u64)>,
}

/// A checkpoint whose log signature verified under the policy's key for its origin, with its
/// cosignatures and the quorum not (yet) judged.
///
/// That is all it takes to compare a checkpoint with one remembered from the same log: two
/// checkpoints signed by one log key that are not consistent prove that the log forked, whatever
/// the witnesses said about either, so the comparison comes first and the fork is reported even if
/// the new checkpoint fails the quorum too. It is never enough to *accept* a checkpoint: that takes
/// [`Policy::verify_checkpoint`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSigned {
    /// The checkpoint the note's text parses to.
    pub checkpoint: Checkpoint,
    /// The note exactly as verified.
    pub note: Vec<u8>,
    /// The policy log whose origin it has and whose key signed it.
    pub log: PolicyLog,
}

impl VerifiedCheckpoint {
    /// The same checkpoint, as a [`LogSigned`] (a verified checkpoint is log-signed too).
    pub fn log_signed(&self) -> LogSigned {
        LogSigned {
            checkpoint: self.checkpoint.clone(),
            note: self.note.clone(),
            log: self.log.clone(),
        }
    }
}

/// Verifies that `note_bytes` is a checkpoint of `log` (its origin is the log key's name) carrying a
/// valid signature by exactly that key. Other signatures (witnesses, unknown keys) are ignored:
/// this checks the log's own commitment and nothing else.
pub fn verify_signed_by(log: &PolicyLog, note_bytes: &[u8]) -> Result<Checkpoint, PolicyError> {
    let parsed = note::parse(note_bytes).map_err(PolicyError::Note)?;
    let checkpoint = Checkpoint::parse(&parsed.text).map_err(PolicyError::Checkpoint)?;
    if checkpoint.origin != log.vkey.name {
        return Err(PolicyError::UnknownLog {
            origin: snippet(&checkpoint.origin),
        });
    }
    let missing_log = || PolicyError::MissingLogSignature {
        origin: snippet(&checkpoint.origin),
    };
    match note::verify_note(parsed, std::slice::from_ref(&log.vkey)) {
        Ok(o) if o.verified.iter().any(|v| v.verifier == 0) => Ok(checkpoint),
        Ok(_) | Err(NoteError::Unverified { .. }) => Err(missing_log()),
        Err(NoteError::InvalidSignature { name, id, .. }) => {
            Err(PolicyError::BadSignature { name, id })
        }
        Err(e) => Err(PolicyError::Note(e)),
    }
}

/// State while parsing: where each name, key and origin was defined, for duplicate checks.
#[derive(Default)]
struct Parser {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<PolicyGroup>,
    quorum: Option<(Quorum, usize)>,
    names: HashMap<String, (Member, usize)>,
    log_keys: HashMap<[u8; 32], usize>,
    witness_keys: HashMap<[u8; 32], usize>,
    key_ids: HashMap<(String, u32), usize>,
    origins: HashMap<String, usize>,
}

/// The allowed octets (spec, "Character set"): tab, newline, 0x20–0x7E and 0x80–0xFF.
fn check_chars(line: &str, n: usize) -> Result<(), PolicyError> {
    match line
        .bytes()
        .find(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        Some(byte) => Err(PolicyError::ControlChar { line: n, byte }),
        None => Ok(()),
    }
}

impl Parser {
    fn line(&mut self, text: &str, n: usize) -> Result<(), PolicyError> {
        if text.len() > MAX_LINE_LEN {
            return Err(PolicyError::LineTooLong {
                line: n,
                len: text.len(),
            });
        }
        check_chars(text, n)?;
        let fields: Vec<&str> = text.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
        match fields.as_slice() {
            [] => Ok(()),
            [first, ..] if first.starts_with('#') => Ok(()),
            ["log", rest @ ..] => self.log(rest, n),
            ["witness", rest @ ..] => self.witness(rest, n),
            ["group", rest @ ..] => self.group(rest, n),
            ["quorum", rest @ ..] => self.quorum(rest, n),
            [keyword, ..] => Err(PolicyError::UnknownKeyword {
                line: n,
                keyword: snippet(keyword),
            }),
        }
    }

    /// Parses a vkey of the type `role` requires, and checks that no key of the policy shares its
    /// (name, id): that would make note verification ambiguous.
    fn key(
        &self,
        text: &str,
        n: usize,
        role: &'static str,
        want: u8,
    ) -> Result<VerifierKey, PolicyError> {
        let vkey = VerifierKey::parse(text).map_err(|source| PolicyError::Key {
            line: n,
            role,
            source,
        })?;
        if vkey.alg != want {
            return Err(PolicyError::WrongKeyType {
                line: n,
                role,
                alg: vkey.alg,
                want,
            });
        }
        if let Some(&first) = self.key_ids.get(&(vkey.name.clone(), vkey.id)) {
            return Err(PolicyError::KeyIdCollision { line: n, first });
        }
        Ok(vkey)
    }

    fn log(&mut self, f: &[&str], n: usize) -> Result<(), PolicyError> {
        let (vkey, url) = match f {
            [vkey] => (*vkey, None),
            [vkey, url] => (*vkey, Some((*url).to_owned())),
            _ => return Err(field_count(n, "log", f.len() + 1, "2 or 3")),
        };
        if self.logs.len() >= MAX_LOGS {
            return Err(PolicyError::TooMany {
                line: n,
                what: "logs",
                max: MAX_LOGS,
            });
        }
        // Logs sign checkpoints with Ed25519 note signatures (tlog-checkpoint, tlog-tiles).
        let vkey = self.key(vkey, n, "log", ALG_ED25519)?;
        if let Some(&first) = self.log_keys.get(&vkey.public_key) {
            return Err(PolicyError::DuplicateKey {
                line: n,
                role: "log",
                first,
            });
        }
        if let Some(&first) = self.origins.get(&vkey.name) {
            return Err(PolicyError::DuplicateOrigin {
                line: n,
                origin: snippet(&vkey.name),
                first,
            });
        }
        self.log_keys.insert(vkey.public_key, n);
        self.origins.insert(vkey.name.clone(), n);
        self.key_ids.insert((vkey.name.clone(), vkey.id), n);
        self.logs.push(PolicyLog { vkey, url });
        Ok(())
    }

    /// A new name for a witness or group: unique across both, and not the reserved `none`.
    fn new_name(&self, name: &str, n: usize) -> Result<(), PolicyError> {
        if name == NONE {
            return Err(PolicyError::ReservedName { line: n });
        }
        if let Some(&(_, first)) = self.names.get(name) {
            return Err(PolicyError::DuplicateName {
                line: n,
                name: snippet(name),
                first,
            });
        }
        Ok(())
    }

    fn witness(&mut self, f: &[&str], n: usize) -> Result<(), PolicyError> {
        let (name, vkey, url) = match f {
            [name, vkey] => (*name, *vkey, None),
            [name, vkey, url] => (*name, *vkey, Some((*url).to_owned())),
            _ => return Err(field_count(n, "witness", f.len() + 1, "3 or 4")),
        };
        if self.witnesses.len() >= MAX_WITNESSES {
            return Err(PolicyError::TooMany {
                line: n,
                what: "witnesses",
                max: MAX_WITNESSES,
            });
        }
        self.new_name(name, n)?;
        // Witnesses cosign with cosignature/v1 (tlog-cosignature), type 0x04.
        let vkey = self.key(vkey, n, "witness", ALG_COSIGNATURE_V1)?;
        // One key for two witnesses would let one party count twice towards the quorum.
        if let Some(&first) = self.witness_keys.get(&vkey.public_key) {
            return Err(PolicyError::DuplicateKey {
                line: n,
                role: "witness",
                first,
            });
        }
        self.witness_keys.insert(vkey.public_key, n);
        self.key_ids.insert((vkey.name.clone(), vkey.id), n);
        self.names
            .insert(name.to_owned(), (Member::Witness(self.witnesses.len()), n));
        self.witnesses.push(PolicyWitness {
            name: name.to_owned(),
            vkey,
            url,
        });
        Ok(())
    }

    /// A name defined on an earlier line (which also rules out cycles).
    fn member(&self, name: &str, n: usize) -> Result<Member, PolicyError> {
        if name == NONE {
            return Err(PolicyError::ReservedName { line: n });
        }
        self.names
            .get(name)
            .map(|&(m, _)| m)
            .ok_or_else(|| PolicyError::UndefinedName {
                line: n,
                name: snippet(name),
            })
    }

    fn group(&mut self, f: &[&str], n: usize) -> Result<(), PolicyError> {
        let [name, k, names @ ..] = f else {
            return Err(field_count(n, "group", f.len() + 1, "at least 4"));
        };
        if names.is_empty() {
            return Err(field_count(n, "group", f.len() + 1, "at least 4"));
        }
        if self.groups.len() >= MAX_GROUPS {
            return Err(PolicyError::TooMany {
                line: n,
                what: "groups",
                max: MAX_GROUPS,
            });
        }
        self.new_name(name, n)?;
        let mut members: Vec<Member> = Vec::with_capacity(names.len());
        for m in names {
            let member = self.member(m, n)?;
            // Each name at most once: a witness contributes to a group in only one way.
            if members.contains(&member) {
                return Err(PolicyError::DuplicateMember {
                    line: n,
                    name: snippet(m),
                });
            }
            members.push(member);
        }
        let threshold =
            parse_threshold(k, members.len()).ok_or_else(|| PolicyError::BadThreshold {
                line: n,
                k: snippet(k),
                n: members.len(),
            })?;
        self.names
            .insert((*name).to_owned(), (Member::Group(self.groups.len()), n));
        self.groups.push(PolicyGroup {
            name: (*name).to_owned(),
            threshold,
            members,
        });
        Ok(())
    }

    fn quorum(&mut self, f: &[&str], n: usize) -> Result<(), PolicyError> {
        let [name] = f else {
            return Err(field_count(n, "quorum", f.len() + 1, "2"));
        };
        if let Some((_, first)) = self.quorum {
            return Err(PolicyError::SecondQuorum { line: n, first });
        }
        let q = if *name == NONE {
            Quorum::None
        } else {
            Quorum::Member(self.member(name, n)?)
        };
        self.quorum = Some((q, n));
        Ok(())
    }
}

fn field_count(line: usize, keyword: &'static str, got: usize, want: &'static str) -> PolicyError {
    PolicyError::FieldCount {
        line,
        keyword,
        got,
        want,
    }
}

/// `all` = n, `any` = 1, or a decimal k (digits only, no leading zero) with 1 ≤ k ≤ n.
fn parse_threshold(k: &str, n: usize) -> Option<usize> {
    let k = match k {
        "all" => n,
        "any" => 1,
        _ if k.bytes().all(|b| b.is_ascii_digit()) && !k.starts_with('0') => k.parse().ok()?,
        _ => return None,
    };
    (1..=n).contains(&k).then_some(k)
}

impl Policy {
    /// Parses a policy file.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        if text.len() > MAX_POLICY_SIZE {
            return Err(PolicyError::TooLarge { len: text.len() });
        }
        let mut p = Parser::default();
        for (i, line) in text.split('\n').enumerate() {
            p.line(line, i + 1)?;
        }
        let (quorum, _) = p.quorum.ok_or(PolicyError::NoQuorum)?;
        Ok(Policy {
            logs: p.logs,
            witnesses: p.witnesses,
            groups: p.groups,
            quorum,
        })
    }

    /// The log whose key name is `origin`.
    pub fn log_for_origin(&self, origin: &str) -> Option<&PolicyLog> {
        self.logs.iter().find(|l| l.vkey.name == origin)
    }

    /// Whether cosignatures by the named policy witnesses satisfy the quorum.
    ///
    /// Groups are evaluated in definition order, each from already computed results, so there is no
    /// recursion: a hand-built `Policy` with a forward or cyclic reference, a missing index or a zero
    /// threshold evaluates that member or group as unsatisfied instead of looping or panicking.
    pub fn quorum_met(&self, cosigned: &[&str]) -> bool {
        let witness_ok: Vec<bool> = self
            .witnesses
            .iter()
            .map(|w| cosigned.contains(&w.name.as_str()))
            .collect();
        let mut group_ok: Vec<bool> = Vec::with_capacity(self.groups.len());
        for g in &self.groups {
            // Each member counts once even if a hand-built group lists it twice.
            let mut members = g.members.clone();
            members.sort_unstable();
            members.dedup();
            let count = members
                .iter()
                .filter(|&&m| member_ok(m, &witness_ok, &group_ok))
                .count();
            group_ok.push(g.threshold >= 1 && count >= g.threshold);
        }
        match self.quorum {
            Quorum::None => true,
            Quorum::Member(m) => member_ok(m, &witness_ok, &group_ok),
        }
    }

    fn member_name(&self, m: Member) -> &str {
        match m {
            Member::Witness(i) => self.witnesses.get(i).map(|w| w.name.as_str()),
            Member::Group(i) => self.groups.get(i).map(|g| g.name.as_str()),
        }
        .unwrap_or("?")
    }

    /// The quorum rule in words, one level deep, for error messages.
    pub fn describe_quorum(&self) -> String {
        match self.quorum {
            Quorum::None => "no cosignatures".to_owned(),
            Quorum::Member(Member::Witness(i)) => {
                format!(
                    "a cosignature by witness {}",
                    self.member_name(Member::Witness(i))
                )
            }
            Quorum::Member(Member::Group(i)) => {
                let Some(g) = self.groups.get(i) else {
                    return "an undefined group".to_owned();
                };
                let names: Vec<&str> = g.members.iter().map(|&m| self.member_name(m)).collect();
                format!(
                    "group {} to have {} of {} members ({})",
                    g.name,
                    g.threshold,
                    g.members.len(),
                    names.join(", ")
                )
            }
        }
    }

    /// Verifies only the log's signature of a checkpoint note: its origin must be a policy log and
    /// that log's key must have signed it (see [`LogSigned`] for what this is good for).
    pub fn verify_log_signature(&self, note_bytes: &[u8]) -> Result<LogSigned, PolicyError> {
        let parsed = note::parse(note_bytes).map_err(PolicyError::Note)?;
        let origin = Checkpoint::parse(&parsed.text)
            .map_err(PolicyError::Checkpoint)?
            .origin;
        let log = self
            .log_for_origin(&origin)
            .ok_or_else(|| PolicyError::UnknownLog {
                origin: snippet(&origin),
            })?;
        Ok(LogSigned {
            checkpoint: verify_signed_by(log, note_bytes)?,
            note: note_bytes.to_vec(),
            log: log.clone(),
        })
    }

    /// Verifies a cosigned checkpoint note under this policy: the checkpoint's origin must be a
    /// policy log, that log's signature must verify, every signature by a policy key must verify,
    /// and the verified witness cosignatures must meet the quorum. Signatures by keys outside the
    /// policy are ignored.
    pub fn verify_checkpoint(&self, note_bytes: &[u8]) -> Result<VerifiedCheckpoint, PolicyError> {
        let parsed = note::parse(note_bytes).map_err(PolicyError::Note)?;
        let checkpoint = Checkpoint::parse(&parsed.text).map_err(PolicyError::Checkpoint)?;
        let log =
            self.log_for_origin(&checkpoint.origin)
                .ok_or_else(|| PolicyError::UnknownLog {
                    origin: snippet(&checkpoint.origin),
                })?;
        // Verifier 0 is the log; verifier i + 1 is witness i.
        let mut verifiers = Vec::with_capacity(1 + self.witnesses.len());
        verifiers.push(log.vkey.clone());
        verifiers.extend(self.witnesses.iter().map(|w| w.vkey.clone()));
        let missing_log = || PolicyError::MissingLogSignature {
            origin: snippet(&checkpoint.origin),
        };
        let opened = match note::verify_note(parsed, &verifiers) {
            Ok(o) => o,
            Err(NoteError::Unverified { .. }) => return Err(missing_log()),
            Err(NoteError::InvalidSignature { name, id, .. }) => {
                return Err(PolicyError::BadSignature { name, id });
            }
            Err(e) => return Err(PolicyError::Note(e)),
        };
        // Witness cosignatures alone are not enough: the log itself must have signed.
        if !opened.verified.iter().any(|v| v.verifier == 0) {
            return Err(missing_log());
        }
        let cosigners: Vec<(String, u64)> = opened
            .verified
            .iter()
            .filter_map(|v| {
                let w = self.witnesses.get(v.verifier.checked_sub(1)?)?;
                Some((w.name.clone(), v.timestamp?))
            })
            .collect();
        let names: Vec<&str> = cosigners.iter().map(|(n, _)| n.as_str()).collect();
        if !self.quorum_met(&names) {
            return Err(PolicyError::QuorumNotMet {
                count: names.len(),
                total: self.witnesses.len(),
                cosigned: if names.is_empty() {
                    "none".to_owned()
                } else {
                    snippet(&names.join(", "))
                },
                need: self.describe_quorum(),
            });
        }
        Ok(VerifiedCheckpoint {
            checkpoint,
            note: note_bytes.to_vec(),
            log: log.clone(),
            cosigners,
        })
    }
}

fn member_ok(m: Member, witness_ok: &[bool], group_ok: &[bool]) -> bool {
    match m {
        Member::Witness(i) => witness_ok.get(i).copied().unwrap_or(false),
        Member::Group(i) => group_ok.get(i).copied().unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosignature;
    use crate::ed25519::Seed;
    use crate::note::SignerKey;

    fn signer(name: &str, n: u8) -> SignerKey {
        SignerKey::from_seed(name, Seed([n; 32])).unwrap()
    }
    fn wkey(n: u8) -> String {
        cosignature::verifier_key(&signer(&format!("w{n}.example"), n)).to_string()
    }
    fn lkey() -> String {
        signer("log.example", 100).verifier_key().to_string()
    }

    #[test]
    fn nested_groups() {
        // 2-of-3 where one member is an `all` group.
        let text = format!(
            "# rget policy\n\
             log {} https://log.example/\n\
             \n\
             witness A {}\n\
             witness B {}\twitness.example/b\n\
             witness C {}\n\
             witness D {}\n\
             group CD all C D\n\
             group top 2 A B CD\n\
             \t quorum top  \n",
            lkey(),
            wkey(1),
            wkey(2),
            wkey(3),
            wkey(4)
        );
        let p = Policy::parse(&text).unwrap();
        assert_eq!(p.logs.len(), 1);
        assert_eq!(p.logs[0].url.as_deref(), Some("https://log.example/"));
        assert_eq!(p.witnesses[1].url.as_deref(), Some("witness.example/b"));
        assert_eq!(p.groups[1].threshold, 2);
        assert!(p.quorum_met(&["A", "B"]));
        assert!(p.quorum_met(&["A", "C", "D"]));
        assert!(p.quorum_met(&["B", "C", "D"]));
        assert!(!p.quorum_met(&["A", "C"]), "CD needs both C and D");
        assert!(!p.quorum_met(&["C", "D"]), "CD counts once");
        assert!(!p.quorum_met(&["A", "A", "A"]), "a witness counts once");
        assert!(
            !p.quorum_met(&["top", "CD"]),
            "group names are not cosigners"
        );
        assert!(!p.quorum_met(&[]));
    }

    #[test]
    fn any_all_single_and_none() {
        let base = format!("witness A {}\nwitness B {}\n", wkey(1), wkey(2));
        let any = Policy::parse(&format!("{base}group g any A B\nquorum g\n")).unwrap();
        assert!(any.quorum_met(&["B"]) && !any.quorum_met(&[]));
        let all = Policy::parse(&format!("{base}group g all A B\nquorum g\n")).unwrap();
        assert!(all.quorum_met(&["A", "B"]) && !all.quorum_met(&["A"]));
        let one = Policy::parse(&format!("{base}quorum B")).unwrap();
        assert!(one.quorum_met(&["B"]) && !one.quorum_met(&["A"]));
        let none = Policy::parse("quorum none\n").unwrap();
        assert_eq!(none.quorum, Quorum::None);
        assert!(none.quorum_met(&[]));
    }

    #[test]
    fn hand_built_policies_fail_closed() {
        let mut p = Policy::parse(&format!("witness A {}\nquorum A\n", wkey(1))).unwrap();
        p.groups.push(PolicyGroup {
            name: "loop".into(),
            threshold: 1,
            members: vec![Member::Group(0), Member::Witness(7)],
        });
        p.quorum = Quorum::Member(Member::Group(0));
        assert!(!p.quorum_met(&["A"]));
        p.groups[0].members = vec![Member::Witness(0), Member::Witness(0)];
        p.groups[0].threshold = 2;
        assert!(!p.quorum_met(&["A"]), "a repeated member counts once");
        p.groups[0].threshold = 0;
        assert!(!p.quorum_met(&["A"]));
        p.quorum = Quorum::Member(Member::Group(9));
        assert!(!p.quorum_met(&["A"]));
    }

    #[test]
    fn every_parse_error() {
        let (w1, w2, l) = (wkey(1), wkey(2), lkey());
        let log_as_witness = signer("x", 5).verifier_key().to_string();
        let same_key_other_name = cosignature::verifier_key(&signer("other", 1)).to_string();
        let other_log_same_name = signer("log.example", 101).verifier_key().to_string();
        let cases: Vec<(String, PolicyError)> = vec![
            ("".into(), PolicyError::NoQuorum),
            ("# only a comment\n".into(), PolicyError::NoQuorum),
            (
                "quorum none\nquorum none\n".into(),
                PolicyError::SecondQuorum { line: 2, first: 1 },
            ),
            (
                "quorum none\r\n".into(),
                PolicyError::ControlChar {
                    line: 1,
                    byte: 0x0d,
                },
            ),
            (
                "# ok\nquorum none\x7f\n".into(),
                PolicyError::ControlChar {
                    line: 2,
                    byte: 0x7f,
                },
            ),
            ("quorum\n".into(), field_count(1, "quorum", 1, "2")),
            ("quorum a b\n".into(), field_count(1, "quorum", 3, "2")),
            (
                "quorum X\n".into(),
                PolicyError::UndefinedName {
                    line: 1,
                    name: "X".into(),
                },
            ),
            (
                "Quorum none\n".into(),
                PolicyError::UnknownKeyword {
                    line: 1,
                    keyword: "Quorum".into(),
                },
            ),
            ("log\n".into(), field_count(1, "log", 1, "2 or 3")),
            (
                format!("log {l} u extra\n"),
                field_count(1, "log", 4, "2 or 3"),
            ),
            (
                "log nonsense\n".into(),
                PolicyError::Key {
                    line: 1,
                    role: "log",
                    source: KeyError::Syntax,
                },
            ),
            (
                format!("log {w1}\n"),
                PolicyError::WrongKeyType {
                    line: 1,
                    role: "log",
                    alg: 4,
                    want: 1,
                },
            ),
            (
                format!("log {l}\nlog {l} https://mirror/\n"),
                PolicyError::KeyIdCollision { line: 2, first: 1 },
            ),
            (
                format!("log {l}\nlog {}\n", signer("elsewhere", 100).verifier_key()),
                PolicyError::DuplicateKey {
                    line: 2,
                    role: "log",
                    first: 1,
                },
            ),
            (
                format!("log {l}\nlog {other_log_same_name}\n"),
                PolicyError::DuplicateOrigin {
                    line: 2,
                    origin: "log.example".into(),
                    first: 1,
                },
            ),
            (
                format!("witness A {log_as_witness}\n"),
                PolicyError::WrongKeyType {
                    line: 1,
                    role: "witness",
                    alg: 1,
                    want: 4,
                },
            ),
            (
                format!("witness A {w1}\nwitness B {same_key_other_name}\n"),
                PolicyError::DuplicateKey {
                    line: 2,
                    role: "witness",
                    first: 1,
                },
            ),
            (
                format!("witness A {w1}\nwitness A {w2}\n"),
                PolicyError::DuplicateName {
                    line: 2,
                    name: "A".into(),
                    first: 1,
                },
            ),
            (
                format!("witness none {w1}\n"),
                PolicyError::ReservedName { line: 1 },
            ),
            (
                "witness A\n".to_string(),
                field_count(1, "witness", 2, "3 or 4"),
            ),
            (
                format!("witness A {w1}\ngroup A any A\n"),
                PolicyError::DuplicateName {
                    line: 2,
                    name: "A".into(),
                    first: 1,
                },
            ),
            (
                format!("witness A {w1}\ngroup g any\n"),
                field_count(2, "group", 3, "at least 4"),
            ),
            ("group g\n".into(), field_count(1, "group", 2, "at least 4")),
            (
                format!("witness A {w1}\ngroup g any A none\n"),
                PolicyError::ReservedName { line: 2 },
            ),
            (
                format!("witness A {w1}\ngroup g any A B\n"),
                PolicyError::UndefinedName {
                    line: 2,
                    name: "B".into(),
                },
            ),
            (
                format!("witness A {w1}\ngroup g any g\n"),
                PolicyError::UndefinedName {
                    line: 2,
                    name: "g".into(),
                },
            ),
            (
                format!("witness A {w1}\ngroup g all A A\n"),
                PolicyError::DuplicateMember {
                    line: 2,
                    name: "A".into(),
                },
            ),
            (
                format!("witness A {w1}\ngroup g 2 A\n"),
                PolicyError::BadThreshold {
                    line: 2,
                    k: "2".into(),
                    n: 1,
                },
            ),
            (
                format!("witness A {w1}\ngroup g 0 A\n"),
                PolicyError::BadThreshold {
                    line: 2,
                    k: "0".into(),
                    n: 1,
                },
            ),
            (
                format!("witness A {w1}\ngroup g 01 A\n"),
                PolicyError::BadThreshold {
                    line: 2,
                    k: "01".into(),
                    n: 1,
                },
            ),
            (
                format!("witness A {w1}\ngroup g most A\n"),
                PolicyError::BadThreshold {
                    line: 2,
                    k: "most".into(),
                    n: 1,
                },
            ),
            (
                format!("witness A {w1}\ngroup g 99999999999999999999999 A\n"),
                PolicyError::BadThreshold {
                    line: 2,
                    k: "99999999999999999999999".into(),
                    n: 1,
                },
            ),
            (
                "quorum none # trailing comment\n".to_string(),
                field_count(1, "quorum", 5, "2"),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(Policy::parse(&text), Err(want), "{text:?}");
        }
        let long = format!("# {}\nquorum none\n", "x".repeat(MAX_LINE_LEN));
        assert_eq!(
            Policy::parse(&long),
            Err(PolicyError::LineTooLong {
                line: 1,
                len: MAX_LINE_LEN + 2
            })
        );
        let big = "#\n".repeat(MAX_POLICY_SIZE / 2 + 1);
        assert!(matches!(
            Policy::parse(&big),
            Err(PolicyError::TooLarge { .. })
        ));
    }

    #[test]
    fn count_limits() {
        let mut text = format!("witness A {}\n", wkey(1));
        for i in 0..=MAX_GROUPS {
            text.push_str(&format!("group g{i} any A\n"));
        }
        assert_eq!(
            Policy::parse(&text),
            Err(PolicyError::TooMany {
                line: MAX_GROUPS + 2,
                what: "groups",
                max: MAX_GROUPS
            })
        );
        let mut text = String::new();
        for i in 0..=MAX_WITNESSES {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let k = SignerKey::from_seed(&format!("w{i}"), Seed(seed)).unwrap();
            text.push_str(&format!("witness w{i} {}\n", cosignature::verifier_key(&k)));
        }
        assert_eq!(
            Policy::parse(&text),
            Err(PolicyError::TooMany {
                line: MAX_WITNESSES + 1,
                what: "witnesses",
                max: MAX_WITNESSES
            })
        );
    }
    #[test]
    fn log_signature_alone_is_checked_without_the_quorum() {
        let log = signer("log.example", 100);
        let policy = Policy::parse(&format!(
            "log {}\nwitness w1 {}\nquorum w1\n",
            lkey(),
            wkey(1)
        ))
        .unwrap();
        let text = Checkpoint {
            origin: "log.example".into(),
            size: 3,
            root: crate::digest::sha256(b"r"),
            extensions: vec![],
        }
        .format();
        let signed = note::sign(&text, &[&log]).unwrap();
        // No witness cosigned: not acceptable, but the log's own commitment all the same.
        assert!(matches!(
            policy.verify_checkpoint(&signed),
            Err(PolicyError::QuorumNotMet { .. })
        ));
        let ls = policy.verify_log_signature(&signed).unwrap();
        assert_eq!((ls.checkpoint.size, ls.note.as_slice()), (3, &signed[..]));
        assert_eq!(ls.log, policy.logs[0]);
        assert_eq!(verify_signed_by(&policy.logs[0], &signed).unwrap().size, 3);

        // A bad signature by the log's key, another key under the log's name, another origin.
        let mut bad = note::parse(&signed).unwrap();
        bad.signatures[0].sig[9] ^= 1;
        assert!(matches!(
            policy.verify_log_signature(&bad.to_bytes()),
            Err(PolicyError::BadSignature { .. })
        ));
        let impostor = note::sign(&text, &[&signer("log.example", 7)]).unwrap();
        assert!(matches!(
            policy.verify_log_signature(&impostor),
            Err(PolicyError::MissingLogSignature { .. })
        ));
        let other = note::sign(&text.replace("log.example", "other.example"), &[&log]).unwrap();
        assert!(matches!(
            policy.verify_log_signature(&other),
            Err(PolicyError::UnknownLog { .. })
        ));
        assert!(matches!(
            verify_signed_by(&policy.logs[0], &other),
            Err(PolicyError::UnknownLog { .. })
        ));
    }
}
