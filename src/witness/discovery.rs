//! Discovering logs from the witness network's log lists (`rget_core::log_list`), as the network
//! asks of its witnesses: read the lists periodically, configure every log not configured yet, and
//! never remove or change a log already configured because a list changed. A list is where logs are
//! found, not the witness's configuration: what a list adds is written to the witness's own
//! `DIR/discovered-logs` (a log list too) before it is witnessed, so a log stays configured, with
//! the key and budget it was first listed with, after the list drops or changes it and across
//! restarts, even when the list cannot be fetched.
//!
//! Why the rule: a witness cosigns one history per origin. If a list could change a configured log's
//! key, whoever controls the list could make the witness cosign checkpoints signed by another key
//! under the same origin; if it could remove a log, it could switch off the witness for that log.
//! Keeping the first configuration makes the list's maintainers a much less useful target.

use super::{Added, LogConfig, Witness};
use crate::serve::logfmt::{Level, event};
use rget_core::log_list::{self, Entry, LogList, LogListError, MAX_LIST_SIZE};
use rget_fetch::durable::write_atomic;
use rget_fetch::{Client, FetchError};
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// How often lists are read again by default: hourly, as the network suggests ("hourly or daily";
/// at most weekly).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);

/// `DIR/discovered-logs`: the logs this witness took from lists.
pub fn discovered_path(dir: &Path) -> PathBuf {
    dir.join("discovered-logs")
}

/// Where a list is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A local file.
    File(PathBuf),
    /// An https URL.
    Url(String),
}

impl Source {
    /// A `--log-list` value: a URL if it starts with `https://`, else a file path. An `http://` URL
    /// is refused: a list fetched in the clear could be rewritten on the way to add logs nobody
    /// listed.
    pub fn parse(s: &str) -> Result<Source, String> {
        let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
        if lower.starts_with("https://") {
            Ok(Source::Url(s.to_owned()))
        } else if lower.starts_with("http://") {
            Err(format!(
                "{s}: log lists are fetched over https only (or give a file)"
            ))
        } else {
            Ok(Source::File(PathBuf::from(s)))
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Url(u) => f.write_str(u),
        }
    }
}

/// Why a list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The list (a file, or an answer from its URL) is too large or does not parse as a log list.
    #[error("{source_name}: {error}")]
    Malformed {
        /// The file path or URL the list came from.
        source_name: String,
        /// Why it does not parse.
        error: LogListError,
    },
    /// The list's URL could not be fetched.
    #[error("{0}")]
    Fetch(#[from] FetchError),
    /// A list file could not be read, or `DIR/discovered-logs` could not be written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The system's error.
        error: io::Error,
    },
}

/// Reads and parses one list.
pub fn read(source: &Source, client: &Client) -> Result<LogList, ListError> {
    match source {
        Source::File(p) => read_file(p),
        Source::Url(u) => {
            let bytes = client.get_bytes(u, MAX_LIST_SIZE as u64)?.bytes;
            log_list::parse(&bytes).map_err(|error| ListError::Malformed {
                source_name: u.clone(),
                error,
            })
        }
    }
}

/// Reads and parses a list file: at most [`MAX_LIST_SIZE`] bytes and one more, so that a larger
/// file is refused as too large without being read whole.
pub fn read_file(path: &Path) -> Result<LogList, ListError> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_LIST_SIZE as u64 + 1).read_to_end(&mut bytes))
        .map_err(|error| ListError::Io {
            path: path.display().to_string(),
            error,
        })?;
    log_list::parse(&bytes).map_err(|error| ListError::Malformed {
        source_name: path.display().to_string(),
        error,
    })
}

/// The logs this witness discovered before (none if the file does not exist yet).
pub fn load_discovered(dir: &Path) -> Result<LogList, ListError> {
    let path = discovered_path(dir);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(LogList::default()),
        _ => read_file(&path),
    }
}

/// What one reading of the lists did.
#[derive(Debug, Default)]
pub struct Report {
    /// Origins configured from this reading.
    pub added: Vec<String>,
    /// Lists that could not be read (the logs configured before stay).
    pub failed: Vec<(Source, ListError)>,
}

/// The lists a witness reads, and what it discovered from them.
pub struct Discovery {
    sources: Vec<Source>,
    client: Client,
    /// The contents of `DIR/discovered-logs`: every log taken from a list, as first listed.
    discovered: Mutex<LogList>,
}

impl Discovery {
    /// Lists to read with `client` (https only, as the fetcher allows), `discovered` being what the
    /// witness discovered before ([`load_discovered`]).
    pub fn new(sources: Vec<Source>, client: Client, discovered: LogList) -> Discovery {
        Discovery {
            sources,
            client,
            discovered: Mutex::new(discovered),
        }
    }

    /// The lists read.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// Reads every list and configures the logs the witness does not know yet: first written to
    /// `DIR/discovered-logs`, then witnessed. A log the witness knows is left as it is; when a list
    /// gives it another key or budget, that is logged and ignored. A list that cannot be read is
    /// skipped and reported to the caller, who decides how loud to be.
    pub fn refresh(&self, witness: &Witness) -> Report {
        let mut report = Report::default();
        for source in &self.sources {
            match read(source, &self.client) {
                Ok(list) => {
                    if let Err(e) = self.apply(witness, source, &list, &mut report.added) {
                        report.failed.push((source.clone(), e));
                    }
                }
                Err(e) => report.failed.push((source.clone(), e)),
            }
        }
        report
    }

    fn apply(
        &self,
        witness: &Witness,
        source: &Source,
        list: &LogList,
        added: &mut Vec<String>,
    ) -> Result<(), ListError> {
        let mut fresh: Vec<&Entry> = Vec::new();
        for e in &list.logs {
            let wanted = LogConfig::from_entry(e);
            match witness.config_of(&e.origin) {
                None => fresh.push(e),
                Some(c) if c == wanted => {}
                Some(c) => {
                    let (what, level) = if c.vkey != wanted.vkey {
                        ("another key", Level::Warn)
                    } else {
                        ("another qpd", Level::Info)
                    };
                    let kept_qpd = c.qpd.map_or("unlimited".to_owned(), |q| q.to_string());
                    event(
                        level,
                        "log list changes a configured log; the configuration stays",
                        &[
                            ("list", &source),
                            ("line", &e.line),
                            ("origin", &e.origin),
                            ("listed", &what),
                            ("kept_vkey", &c.vkey),
                            ("kept_qpd", &kept_qpd),
                        ],
                    );
                }
            }
        }
        if fresh.is_empty() {
            return Ok(());
        }
        // Written down first: a log is witnessed only once the witness's own configuration holds it.
        let mut discovered = self
            .discovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let before = discovered.logs.len();
        discovered.logs.extend(fresh.iter().map(|e| (*e).clone()));
        let path = discovered_path(witness.dir());
        let text = format!(
            "# Logs this rget witness discovered in log lists, each as first listed. A configured log\n\
             # is never changed or removed by a later list; edit this file only while the witness is\n\
             # stopped.\n{discovered}"
        );
        if let Err(error) = write_atomic(&path, text.as_bytes(), 0o644) {
            discovered.logs.truncate(before);
            return Err(ListError::Io {
                path: path.display().to_string(),
                error,
            });
        }
        drop(discovered);
        for e in fresh {
            match witness.add_log(LogConfig::from_entry(e)) {
                Ok(Added::New) => {
                    event(
                        Level::Info,
                        "log discovered; witnessing it",
                        &[
                            ("list", &source),
                            ("line", &e.line),
                            ("origin", &e.origin),
                            ("vkey", &e.vkey),
                            ("qpd", &e.qpd),
                        ],
                    );
                    added.push(e.origin.clone());
                }
                Ok(_) => {}
                Err(err) => event(
                    Level::Error,
                    "log discovered, but its stored state does not load; not witnessing it",
                    &[("origin", &e.origin), ("error", &err)],
                ),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rget_core::ed25519::Seed;
    use rget_core::note::SignerKey;

    #[test]
    fn sources() {
        assert_eq!(
            Source::parse("https://example.org/list"),
            Ok(Source::Url("https://example.org/list".into()))
        );
        assert_eq!(
            Source::parse("HTTPS://example.org/list"),
            Ok(Source::Url("HTTPS://example.org/list".into()))
        );
        assert!(Source::parse("HTTP://example.org/list").is_err());
        assert_eq!(Source::parse("list"), Ok(Source::File("list".into())));
        assert_eq!(
            Source::parse("./https://x"),
            Ok(Source::File("./https://x".into()))
        );
    }

    fn vkey(name: &str, seed: u8) -> rget_core::note::VerifierKey {
        SignerKey::from_seed(name, Seed([seed; 32]))
            .unwrap()
            .verifier_key()
    }

    /// Lists add logs; a later list never changes or removes one, and what was added survives a
    /// restart without the list.
    #[test]
    fn a_configured_log_is_never_changed_or_removed_by_a_list() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("w");
        super::super::init(&dir, "w.example/w").unwrap();
        let (a, b, c) = (
            vkey("a.example", 1),
            vkey("b.example", 2),
            vkey("c.example", 3),
        );
        let list = t.path().join("list");
        std::fs::write(
            &list,
            format!("logs/v0\nvkey {a}\nqpd 24\ncontact x\nvkey {b}\norigin b origin\nqpd 1\ncontact y\n"),
        )
        .unwrap();
        let policy = LogConfig {
            origin: "p.example".into(),
            vkey: vkey("p.example", 9),
            qpd: None,
        };
        let w = Witness::open(&dir, std::slice::from_ref(&policy)).unwrap();
        let d = Discovery::new(
            vec![Source::File(list.clone())],
            Client::new(rget_fetch::Config::default()).unwrap(),
            load_discovered(&dir).unwrap(),
        );
        let r = d.refresh(&w);
        assert_eq!(r.added, ["a.example", "b origin"]);
        assert!(r.failed.is_empty());
        assert_eq!(w.log_count(), 3);
        // The list now gives a another key and qpd, drops b, adds c, and names the policy's log.
        let a2 = vkey("a.example", 7);
        let p2 = vkey("p.example", 8);
        std::fs::write(
            &list,
            format!(
                "logs/v0\nvkey {a2}\nqpd 99\ncontact x\nvkey {c}\nqpd 5\ncontact z\nvkey {p2}\nqpd 5\ncontact z\n"
            ),
        )
        .unwrap();
        let r = d.refresh(&w);
        assert_eq!(r.added, ["c.example"]);
        assert_eq!(w.config_of("a.example").unwrap().vkey, a);
        assert_eq!(w.config_of("a.example").unwrap().qpd, Some(24));
        assert_eq!(w.config_of("b origin").unwrap().vkey, b);
        assert_eq!(w.config_of("p.example").unwrap(), policy);
        // A malformed list changes nothing and is reported with its line.
        std::fs::write(&list, "logs/v0\nvkey x\n").unwrap();
        let r = d.refresh(&w);
        assert!(r.added.is_empty());
        assert!(
            r.failed[0].1.to_string().contains("line 2"),
            "{:?}",
            r.failed
        );
        assert_eq!(w.log_count(), 4);
        drop(w);
        // Restarted with the list gone: the discovered logs are still configured, as first listed.
        std::fs::remove_file(&list).unwrap();
        let found = load_discovered(&dir).unwrap();
        let origins: Vec<&str> = found.logs.iter().map(|e| e.origin.as_str()).collect();
        assert_eq!(origins, ["a.example", "b origin", "c.example"]);
        assert_eq!(found.logs[0].vkey, a);
        assert_eq!(found.logs[1].qpd, 1);
    }
}
