//! The log's side of C2SP tlog-witness: before a checkpoint is published, it goes to every witness
//! of the `--witnesses` policy with a consistency proof from the size that witness last cosigned; the
//! cosignatures that verify are attached, and the checkpoint is published only once the policy's
//! quorum is met. A witness cosigns only a checkpoint consistent with everything it saw, so a log
//! that published a fork could not gather the quorum for it.

use rget_core::checkpoint::Checkpoint;
use rget_core::digest::Hash;
use rget_core::merkle::MerkleError;
use rget_core::note::{self, Note, VerifierKey};
use rget_core::policy::Policy;
use rget_fetch::{Client, Config, FetchError};
use std::time::Duration;

/// One witness the log asks.
#[derive(Clone, Debug)]
struct Target {
    /// Its name in the policy (what the quorum counts).
    name: String,
    vkey: VerifierKey,
    /// The witness's submission prefix, ending in `/`.
    url: String,
    /// The size this witness last cosigned, as far as the log knows (learned from 200 and 409).
    held: Option<u64>,
}

/// The witnesses of a log and the quorum it needs.
pub struct Witnesses {
    policy: Policy,
    targets: Vec<Target>,
    client: Client,
}

/// The outcome of one round of witnessing.
#[derive(Debug, Clone)]
pub struct Cosigned {
    /// The checkpoint note with every cosignature that verified appended.
    pub note: Vec<u8>,
    /// Policy names of the witnesses that cosigned.
    pub cosigners: Vec<String>,
    pub quorum_met: bool,
    /// One line per witness that did not cosign, saying why.
    pub failures: Vec<String>,
}

/// The largest answer a witness gives (a few cosignature lines).
const MAX_ANSWER: u64 = 16 * 1024;

impl Witnesses {
    /// Reads a witnesses policy: C2SP tlog-policy whose `witness` lines all carry the witness's URL.
    /// `log` lines, if any, are ignored (the log knows its own key).
    pub fn parse(text: &str) -> Result<Witnesses, String> {
        let policy = Policy::parse(text).map_err(|e| e.to_string())?;
        let mut targets = Vec::new();
        for w in &policy.witnesses {
            let url = w.url.clone().ok_or_else(|| {
                format!(
                    "witness {:?} has no URL: the log must know where to send checkpoints",
                    w.name
                )
            })?;
            let url = if url.ends_with('/') {
                url
            } else {
                format!("{url}/")
            };
            targets.push(Target {
                name: w.name.clone(),
                vkey: w.vkey.clone(),
                url,
                held: None,
            });
        }
        // Witness URLs are the operator's explicit configuration (often a private network), and every
        // cosignature is verified, so plain http is allowed here.
        let config = Config {
            allow_http: true,
            attempts: 1,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(10),
            ..Config::from_env()
        };
        let client = Client::new(config).map_err(|e| e.to_string())?;
        Ok(Witnesses {
            policy,
            targets,
            client,
        })
    }

    /// The witnesses' verifier keys: which signature lines of a published checkpoint are
    /// cosignatures (a Sigsum log's `get-tree-head` lists them by key hash).
    pub fn verifier_keys(&self) -> Vec<VerifierKey> {
        self.targets.iter().map(|t| t.vkey.clone()).collect()
    }

    /// What the quorum requires, for messages.
    pub fn describe_quorum(&self) -> String {
        self.policy.describe_quorum()
    }

    /// Sends `note` (the checkpoint `cp`, signed by the log) to every witness at once and collects
    /// the cosignatures. `proof(old, new)` gives consistency proofs from the log's tree.
    pub fn cosign(
        &mut self,
        note_bytes: &[u8],
        cp: &Checkpoint,
        proof: &(dyn Fn(u64, u64) -> Result<Vec<Hash>, MerkleError> + Sync),
    ) -> Cosigned {
        let client = &self.client;
        let results: Vec<Answer> = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .targets
                .iter()
                .map(|t| s.spawn(move || ask(client, t, note_bytes, cp, proof)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| (Err("witness thread panicked".into()), None))
                })
                .collect()
        });
        let mut parsed = match note::parse(note_bytes) {
            Ok(n) => n,
            Err(e) => {
                return Cosigned {
                    note: note_bytes.to_vec(),
                    cosigners: Vec::new(),
                    quorum_met: false,
                    failures: vec![e.to_string()],
                };
            }
        };
        let mut cosigners = Vec::new();
        let mut failures = Vec::new();
        for (t, (result, held)) in self.targets.iter_mut().zip(results) {
            t.held = held.or(t.held);
            match result {
                Ok(sigs) => {
                    parsed.signatures.extend(sigs);
                    cosigners.push(t.name.clone());
                }
                Err(why) => failures.push(format!("witness {}: {why}", t.name)),
            }
        }
        let names: Vec<&str> = cosigners.iter().map(String::as_str).collect();
        let quorum_met = self.policy.quorum_met(&names);
        Cosigned {
            note: parsed.to_bytes(),
            cosigners,
            quorum_met,
            failures,
        }
    }
}

/// What asking one witness gave: its verified cosignature lines (or why not), and the size it is now
/// known to hold.
type Answer = (Result<Vec<note::NoteSignature>, String>, Option<u64>);

/// One witness, one checkpoint: at most two requests (the second after a 409 told us its size).
/// Returns the verified cosignature lines, and the size the witness is now known to hold.
fn ask(
    client: &Client,
    t: &Target,
    note_bytes: &[u8],
    cp: &Checkpoint,
    proof: &(dyn Fn(u64, u64) -> Result<Vec<Hash>, MerkleError> + Sync),
) -> Answer {
    let mut old = t.held.filter(|h| *h <= cp.size).unwrap_or(0);
    for _ in 0..2 {
        let hashes = match proof(old, cp.size) {
            Ok(h) if old > 0 && old < cp.size => h,
            Ok(_) => Vec::new(),
            Err(e) => return (Err(format!("no consistency proof from {old}: {e}")), None),
        };
        let mut body = format!("old {old}\n").into_bytes();
        for h in &hashes {
            body.extend_from_slice(h.to_base64().as_bytes());
            body.push(b'\n');
        }
        body.push(b'\n');
        body.extend_from_slice(note_bytes);
        match client.post_bytes(&format!("{}add-checkpoint", t.url), &body, MAX_ANSWER) {
            Ok(answer) => {
                return (
                    verify_answer(&t.vkey, &cp.format(), &answer.bytes),
                    Some(cp.size),
                );
            }
            // 409: the witness holds another size; resend with a proof from there (C2SP tlog-witness).
            Err(FetchError::Http {
                status: 409,
                detail,
                ..
            }) => match detail.trim().parse::<u64>() {
                Ok(size) if size <= cp.size && size != old => old = size,
                Ok(size) if size > cp.size => {
                    return (
                        Err(format!(
                            "holds size {size}, larger than this log's {}: a fork or a rollback",
                            cp.size
                        )),
                        Some(size),
                    );
                }
                _ => return (Err(format!("answered 409 with {detail:?}")), None),
            },
            Err(e) => return (Err(e.to_string()), None),
        }
    }
    (Err("kept answering 409".into()), None)
}

/// Keeps the answer's signature lines that are valid cosignatures by the witness key `vkey` over the
/// checkpoint `text`. Public for the fuzz target of this untrusted input (`fuzz/`), not an API.
#[doc(hidden)]
pub fn verify_answer(
    vkey: &VerifierKey,
    text: &str,
    answer: &[u8],
) -> Result<Vec<note::NoteSignature>, String> {
    let answer = std::str::from_utf8(answer).map_err(|_| "answer is not UTF-8".to_string())?;
    let as_note = format!("{text}\n{answer}");
    let parsed = note::parse(as_note.as_bytes())
        .map_err(|e| format!("answer is not signature lines: {e}"))?;
    // Only the first line by this key: it is the one `verify_note` checks (signed-note ignores
    // repeated signatures by one key), and a later, unchecked line kept in the published checkpoint
    // would make every client refuse it, since a bad signature by a known key rejects a whole note
    // (found by the `witness_answer` fuzz target).
    let mine = parsed
        .signatures
        .into_iter()
        .find(|s| s.name == vkey.name && s.id == vkey.id)
        .ok_or("answer has no cosignature by this witness's key")?;
    note::verify_note(
        Note {
            text: text.to_string(),
            signatures: vec![mine.clone()],
        },
        std::slice::from_ref(vkey),
    )
    .map_err(|e| format!("cosignature does not verify: {e}"))?;
    Ok(vec![mine])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::cosignature;
    use crate::core::ed25519::Seed;
    use crate::core::note::SignerKey;

    #[test]
    fn only_the_verified_cosignature_is_kept() {
        let w = SignerKey::from_seed("w.example", Seed([4; 32])).unwrap();
        let vkey = cosignature::verifier_key(&w);
        let text = "log.example\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
        let good = cosignature::sign(&w, text, 7).unwrap();
        let mut bad = cosignature::sign(&w, text, 8).unwrap();
        bad.sig[20] ^= 1;
        // Regression from the `witness_answer` fuzz target: a second, invalid line by the same key
        // was kept and would have been published.
        let answer = format!("{}{}", good.to_line(), bad.to_line());
        assert_eq!(
            verify_answer(&vkey, text, answer.as_bytes()),
            Ok(vec![good.clone()])
        );
        // The first line decides: a bad first line is refused whatever follows.
        let answer = format!("{}{}", bad.to_line(), good.to_line());
        assert!(verify_answer(&vkey, text, answer.as_bytes()).is_err());
        assert!(verify_answer(&vkey, text, b"").is_err());
    }
}
