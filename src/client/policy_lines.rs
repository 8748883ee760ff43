//! The lines an operator publishes for trust policies, and the policy assembled from them.
//!
//! `rget log init` prints a log's line, `log <vkey> <url>`; `rget witness init` a witness's line,
//! `witness <name> <vkey> <url>` (C2SP tlog-policy). [`assemble`] puts such lines together with a
//! quorum into one tlog-policy and checks it as its readers will: every line parses, no key, name or
//! origin repeats, every log has a URL a client can fetch it from, and the quorum can be met by the
//! witnesses listed. The one command makes the three policies of a deployment: the users' policy
//! (logs, witnesses, quorum), the log's `--witnesses` file (witnesses with their URLs, quorum) and a
//! witness's `--policy` (the logs it witnesses, `quorum none`).

use super::trust::{PrefixError, TrustPolicy, canonical_prefix};
use rget_core::note::VerifierKey;
use rget_core::policy::{MAX_POLICY_SIZE, Policy, PolicyError};
use std::fmt;
use std::path::Path;
use thiserror::Error;

/// Which kind of line an argument must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `log <vkey> [<url>]`
    Log,
    /// `witness <name> <vkey> [<url>]`
    Witness,
}

impl Kind {
    /// The line's keyword, as the policy spells it.
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::Log => "log",
            Kind::Witness => "witness",
        }
    }
}

/// How many of the witnesses must cosign: the `--quorum` of `rget policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quorum {
    /// `quorum none`: the log's signature alone.
    None,
    /// Any one witness.
    Any,
    /// Every witness listed.
    All,
    /// At least this many (1 or more) of the witnesses listed.
    AtLeast(usize),
}

impl std::str::FromStr for Quorum {
    type Err = String;
    fn from_str(s: &str) -> Result<Quorum, String> {
        match s {
            "none" => Ok(Quorum::None),
            "any" => Ok(Quorum::Any),
            "all" => Ok(Quorum::All),
            _ => match s.parse::<usize>() {
                Ok(0) => Err("0 witnesses is written 'none'".to_owned()),
                Ok(n) if s.bytes().all(|b| b.is_ascii_digit()) => Ok(Quorum::AtLeast(n)),
                _ => Err(format!(
                    "{s:?} is not none, any, all or a number of witnesses"
                )),
            },
        }
    }
}

impl fmt::Display for Quorum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quorum::None => f.write_str("none"),
            Quorum::Any => f.write_str("any"),
            Quorum::All => f.write_str("all"),
            Quorum::AtLeast(n) => write!(f, "{n}"),
        }
    }
}

/// Why lines could not be read or put together. Each names the argument or file it concerns.
#[derive(Debug, Error)]
pub enum LinesError {
    /// A URL given for a log or witness line has no usable canonical spelling.
    #[error("URL {url:?} {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// Why it has no canonical spelling.
        reason: PrefixError,
    },
    /// An argument that is no line of its kind names a file that cannot be read.
    #[error("--{flag} {arg:?} is neither a '{flag} ...' line nor a readable file: {reason}")]
    Read {
        /// The flag's name, which is also the line's keyword (`log`, `witness`).
        flag: &'static str,
        /// The argument, taken as a path.
        arg: String,
        /// Why the file could not be read: the system's error, too large, or not UTF-8.
        reason: String,
    },
    /// A file or line that is not what its flag takes.
    #[error("--{flag} {source_name}: {reason}")]
    Malformed {
        /// The flag's name, which is also the line's keyword (`log`, `witness`).
        flag: &'static str,
        /// The argument (quoted), the file, or `FILE line N`.
        source_name: String,
        /// What is wrong with it (the policy parser's message, or a line of another kind).
        reason: String,
    },
    /// The lines do not make a policy together (a repeated key, name or origin).
    #[error("--{flag} {source_name}: {reason}")]
    Conflict {
        /// The flag's name, which is also the line's keyword (`log`, `witness`).
        flag: &'static str,
        /// The argument (quoted) or `FILE line N` whose line repeats an earlier one's key, name or
        /// origin.
        source_name: String,
        /// The policy parser's message, without its line number.
        reason: String,
    },
    /// No `--log` and no `--witness`: nothing to assemble.
    #[error("no --log and no --witness line: a policy needs at least one of them")]
    Empty,
    /// The quorum asks for more witnesses than are listed.
    #[error(
        "--quorum {quorum} cannot be met: the policy lists {count} witness{}{hint}",
        if *.count == 1 { "" } else { "es" }
    )]
    Unmeetable {
        /// The quorum asked for.
        quorum: Quorum,
        /// How many witnesses the lines list.
        count: usize,
        /// What to do when there are no witnesses at all (empty otherwise).
        hint: &'static str,
    },
    /// The assembled policy fails the client's own checks (a log without a usable URL).
    #[error("{0}")]
    Client(String),
}

/// The canonical spelling of a log's or witness's URL prefix, ending in `/` as clients append paths
/// to it. Plain http is accepted: a log or witness on a private network may use it (the client then
/// needs `--allow-http`; every signature is verified either way).
pub fn canonical_url(url: &str) -> Result<String, LinesError> {
    let mut canon = canonical_prefix(url, true).map_err(|reason| LinesError::BadUrl {
        url: url.to_owned(),
        reason,
    })?;
    if !canon.ends_with('/') {
        canon.push('/');
    }
    Ok(canon)
}

/// A log's policy line: `log <vkey> <url>` (`log <vkey>` without a URL).
pub fn log_line(vkey: &VerifierKey, url: Option<&str>) -> String {
    match url {
        Some(u) => format!("log {vkey} {u}"),
        None => format!("log {vkey}"),
    }
}

/// A witness's policy line: `witness <name> <vkey> <url>` (without the URL if there is none). The
/// policy's name for a witness is its key name: unique across operators, and what its cosignatures
/// are signed under, so that messages naming it need no translation.
pub fn witness_line(vkey: &VerifierKey, url: Option<&str>) -> String {
    match url {
        Some(u) => format!("witness {} {vkey} {u}", vkey.name),
        None => format!("witness {} {vkey}", vkey.name),
    }
}

/// One line to assemble, and where it came from (for messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Which flag gave it.
    pub kind: Kind,
    /// The line, trimmed.
    pub text: String,
    /// The argument, or `FILE line N`.
    pub source: String,
}

/// The lines of kind `kind` an argument gives: the argument itself when it is such a line, else the
/// file it names, which must hold only such lines (blank lines and `#` comments aside), at least one.
/// The file is read up to the size of a whole policy.
pub fn lines_from_arg(arg: &str, kind: Kind) -> Result<Vec<Line>, LinesError> {
    let flag = kind.keyword();
    if first_field(arg) == Some(flag) {
        // One argument, one line: a line break would smuggle in lines of other kinds.
        if arg.contains(['\n', '\r']) {
            return Err(LinesError::Malformed {
                flag,
                source_name: format!("{arg:?}"),
                reason: "holds a line break: give one line per argument".to_owned(),
            });
        }
        return Ok(vec![Line {
            kind,
            text: arg.trim().to_owned(),
            source: format!("{arg:?}"),
        }]);
    }
    let text = read_small(Path::new(arg)).map_err(|reason| LinesError::Read {
        flag,
        arg: arg.to_owned(),
        reason,
    })?;
    let mut lines = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim();
        match first_field(line) {
            None => continue,
            Some(f) if f.starts_with('#') => continue,
            Some(f) if f == flag => lines.push(Line {
                kind,
                text: line.to_owned(),
                source: format!("{arg} line {}", i + 1),
            }),
            Some(f) => {
                return Err(LinesError::Malformed {
                    flag,
                    source_name: format!("{arg} line {}", i + 1),
                    reason: format!("want a '{flag} ...' line, found {f:?}"),
                });
            }
        }
    }
    if lines.is_empty() {
        return Err(LinesError::Malformed {
            flag,
            source_name: arg.to_owned(),
            reason: format!("holds no '{flag} ...' line"),
        });
    }
    Ok(lines)
}

fn first_field(line: &str) -> Option<&str> {
    line.split([' ', '\t']).find(|f| !f.is_empty())
}

/// A text file of at most [`MAX_POLICY_SIZE`] bytes; the reason as a phrase otherwise.
pub fn read_small(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_POLICY_SIZE as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| rget_core::escape::io_reason(&e))?;
    if bytes.len() > MAX_POLICY_SIZE {
        return Err(format!("larger than {MAX_POLICY_SIZE} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())
}

/// The error of a policy whose last line is the one just added, without the parser's
/// `policy line N: ` (the line's own source names it instead).
fn about_last_line(e: &PolicyError, n: usize) -> String {
    let s = e.to_string();
    s.strip_prefix(&format!("policy line {n}: "))
        .map_or(s.clone(), str::to_owned)
}

/// The policy of `lines` (logs first, then witnesses, each in the order given) and `quorum`, checked
/// as described in the module documentation. `allow_http`: whether a log may be reached over plain
/// http (the client's `--allow-http`). Returns the policy text.
pub fn assemble(lines: &[Line], quorum: Quorum, allow_http: bool) -> Result<String, LinesError> {
    if lines.is_empty() {
        return Err(LinesError::Empty);
    }
    let mut ordered: Vec<&Line> = lines.iter().filter(|l| l.kind == Kind::Log).collect();
    ordered.extend(lines.iter().filter(|l| l.kind == Kind::Witness));
    let mut text = String::from("# C2SP tlog-policy, assembled by 'rget policy'\n");
    let header_lines = 1;
    // Each line is checked as it is added, against those before it, so a message names the one
    // argument (or file line) that breaks the policy.
    for (i, line) in ordered.iter().enumerate() {
        let n = header_lines + i + 1;
        let candidate = format!("{text}{}\nquorum none\n", line.text);
        if let Err(e) = Policy::parse(&candidate) {
            let reason = about_last_line(&e, n);
            let (flag, source_name) = (line.kind.keyword(), line.source.clone());
            let conflict = matches!(
                e,
                PolicyError::DuplicateKey { .. }
                    | PolicyError::DuplicateOrigin { .. }
                    | PolicyError::DuplicateName { .. }
                    | PolicyError::KeyIdCollision { .. }
            );
            return Err(if conflict {
                LinesError::Conflict {
                    flag,
                    source_name,
                    reason,
                }
            } else {
                LinesError::Malformed {
                    flag,
                    source_name,
                    reason,
                }
            });
        }
        text.push_str(&line.text);
        text.push('\n');
    }
    let names: Vec<&str> = ordered
        .iter()
        .filter(|l| l.kind == Kind::Witness)
        .filter_map(|l| l.text.split([' ', '\t']).filter(|f| !f.is_empty()).nth(1))
        .collect();
    let threshold = match quorum {
        Quorum::None => None,
        Quorum::Any => Some(1),
        Quorum::All => Some(names.len()),
        Quorum::AtLeast(k) => Some(k),
    };
    match threshold {
        None => text.push_str("quorum none\n"),
        Some(k) if k == 0 || k > names.len() => {
            return Err(LinesError::Unmeetable {
                quorum,
                count: names.len(),
                hint: if names.is_empty() {
                    " (add --witness lines, or write --quorum none)"
                } else {
                    ""
                },
            });
        }
        Some(k) => {
            // The group's name must differ from every witness's.
            let mut group = "quorum".to_owned();
            while names.contains(&group.as_str()) {
                group.push('_');
            }
            text.push_str(&format!(
                "group {group} {k} {}\nquorum {group}\n",
                names.join(" ")
            ));
        }
    }
    check(&text, Path::new("the assembled policy"), allow_http)?;
    Ok(text)
}

/// What a policy file holds, once checked: for `rget policy --check` and after assembling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// Each log's origin and URL.
    pub logs: Vec<(String, String)>,
    /// The policy's names of its witnesses.
    pub witnesses: Vec<String>,
    /// The quorum in words.
    pub quorum: String,
}

/// Checks policy text as `rget get` reads it (`path` names it in messages): it parses, every log has
/// a usable URL, and the quorum is met when every witness cosigns (a policy whose quorum no
/// checkpoint can meet would refuse every download).
pub fn check(text: &str, path: &Path, allow_http: bool) -> Result<Checked, LinesError> {
    let trusted = TrustPolicy::from_text(path, super::trust::PolicySource::Flag, text, allow_http)
        .map_err(|e| LinesError::Client(e.to_string()))?;
    let policy = &trusted.policy;
    let names: Vec<&str> = policy.witnesses.iter().map(|w| w.name.as_str()).collect();
    if !policy.quorum_met(&names) {
        return Err(LinesError::Client(format!(
            "{}: the quorum ({}) cannot be met even if every witness cosigns",
            path.display(),
            policy.describe_quorum()
        )));
    }
    Ok(Checked {
        logs: trusted
            .logs()
            .map(|l| (l.origin.to_owned(), l.url.to_owned()))
            .collect(),
        witnesses: names.iter().map(|&n| n.to_owned()).collect(),
        quorum: policy.describe_quorum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rget_core::cosignature;
    use rget_core::note::SignerKey;

    fn log_vkey(name: &str) -> VerifierKey {
        SignerKey::generate(name).unwrap().verifier_key()
    }

    fn witness_vkey(name: &str) -> VerifierKey {
        cosignature::verifier_key(&SignerKey::generate(name).unwrap())
    }

    fn arg(kind: Kind, text: String) -> Line {
        Line {
            kind,
            source: format!("{text:?}"),
            text,
        }
    }

    #[test]
    fn assembles_a_two_of_two_policy_that_parses() {
        let log = log_line(&log_vkey("log.example/a"), Some("https://log.example/a/"));
        let w1 = witness_line(&witness_vkey("w.example/1"), Some("https://w.example/1/"));
        let w2 = witness_line(&witness_vkey("w.example/2"), None);
        let lines = [
            arg(Kind::Witness, w1.clone()),
            arg(Kind::Log, log.clone()),
            arg(Kind::Witness, w2.clone()),
        ];
        let text = assemble(&lines, "2".parse().unwrap(), false).unwrap();
        let want = format!(
            "# C2SP tlog-policy, assembled by 'rget policy'\n{log}\n{w1}\n{w2}\n\
             group quorum 2 w.example/1 w.example/2\nquorum quorum\n"
        );
        assert_eq!(text, want);
        let p = Policy::parse(&text).unwrap();
        assert!(p.quorum_met(&["w.example/1", "w.example/2"]));
        assert!(!p.quorum_met(&["w.example/1"]));
        let any = assemble(&lines, Quorum::Any, false).unwrap();
        assert!(Policy::parse(&any).unwrap().quorum_met(&["w.example/2"]));
        let none = assemble(&lines[1..2], Quorum::None, false).unwrap();
        assert!(none.ends_with("\nquorum none\n"), "{none}");
    }

    #[test]
    fn refuses_what_cannot_work() {
        let log = arg(
            Kind::Log,
            log_line(&log_vkey("log.example/a"), Some("https://log.example/a/")),
        );
        let w = arg(
            Kind::Witness,
            witness_line(&witness_vkey("w.example/1"), None),
        );
        let e = assemble(&[log.clone(), w.clone()], Quorum::AtLeast(2), false).unwrap_err();
        assert!(matches!(e, LinesError::Unmeetable { count: 1, .. }), "{e}");
        let e = assemble(std::slice::from_ref(&log), Quorum::Any, false).unwrap_err();
        assert!(e.to_string().contains("add --witness"), "{e}");
        // The same witness twice: its key repeats.
        let e = assemble(&[log.clone(), w.clone(), w.clone()], Quorum::Any, false).unwrap_err();
        assert!(matches!(e, LinesError::Conflict { .. }), "{e}");
        // A log without a URL: clients could not fetch it.
        let bare = arg(Kind::Log, log_line(&log_vkey("log.example/b"), None));
        let e = assemble(&[bare], Quorum::None, false).unwrap_err();
        assert!(e.to_string().contains("has no URL"), "{e}");
        // A witness key where a log key belongs.
        let wrong = arg(
            Kind::Log,
            format!("log {} https://x.example/", witness_vkey("w.example/9")),
        );
        let e = assemble(&[wrong], Quorum::None, false).unwrap_err();
        assert!(e.to_string().contains("want 0x01"), "{e}");
        assert!(!e.to_string().contains("policy line"), "{e}");
        // An http log only with allow_http.
        let http = arg(
            Kind::Log,
            log_line(&log_vkey("log.example/c"), Some("http://127.0.0.1:1/")),
        );
        assert!(assemble(std::slice::from_ref(&http), Quorum::None, false).is_err());
        assert!(assemble(&[http], Quorum::None, true).is_ok());
        assert!(matches!(
            assemble(&[], Quorum::None, false),
            Err(LinesError::Empty)
        ));
    }

    #[test]
    fn quorum_words() {
        assert_eq!("none".parse(), Ok(Quorum::None));
        assert_eq!("all".parse(), Ok(Quorum::All));
        assert_eq!("3".parse(), Ok(Quorum::AtLeast(3)));
        assert!("0".parse::<Quorum>().is_err());
        assert!("+1".parse::<Quorum>().is_err());
        assert!("two".parse::<Quorum>().is_err());
    }

    #[test]
    fn group_name_avoids_witness_names() {
        let w = witness_vkey("quorum");
        let lines = [arg(Kind::Witness, witness_line(&w, None))];
        let text = assemble(&lines, Quorum::All, false).unwrap();
        assert!(
            text.contains("group quorum_ 1 quorum\nquorum quorum_\n"),
            "{text}"
        );
        Policy::parse(&text).unwrap();
    }

    #[test]
    fn urls_end_in_a_slash() {
        assert_eq!(
            canonical_url("HTTPS://Log.Example:443/rget").unwrap(),
            "https://log.example/rget/"
        );
        assert!(canonical_url("log.example/rget").is_err());
    }
}
