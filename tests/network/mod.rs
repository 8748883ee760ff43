//! rget in the public witness network: `rget witness serve` with the network's real log lists and
//! real checkpoints of other logs (Go's checksum database, Sigsum), the current C2SP tlog-witness
//! protocol with its rate limits, and `rget log serve` witnessed within each witness's budget,
//! directly or through an https-bastion. Real processes on loopback; cosignatures checked with
//! `ring` (`common::cosig`).

mod budgets;
mod lists;
mod participation;
mod protocol;

use crate::common::log::{Answer, Server, agent, post};
use crate::common::{RGET, assert_ok, run};
use rget::core::checkpoint::Checkpoint;
use rget::core::note::{self, SignerKey};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

/// `tests/data/<path>`.
pub fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

/// `rget witness init --name NAME DIR`: the cosigner verifier key (of the policy line printed).
pub fn witness_init(dir: &Path, name: &str) -> String {
    let out = assert_ok(&run(Command::new(RGET)
        .args(["witness", "init", "--name", name])
        .arg(dir)));
    crate::common::log::policy_line_key(out.lines().last().expect("a policy line"), "witness")
}

/// `rget witness serve DIR --listen 127.0.0.1:0 ARGS...` with `env` set.
pub fn try_witness(
    dir: &Path,
    args: &[&OsStr],
    env: &[(&str, &OsStr)],
) -> Result<Server, (ExitStatus, String)> {
    let mut all: Vec<&OsStr> = vec!["witness".as_ref(), "serve".as_ref(), dir.as_os_str()];
    all.extend(["--listen", "127.0.0.1:0"].map(OsStr::new));
    all.extend(args);
    Server::try_spawn_env(&all, env)
}

pub fn witness(dir: &Path, args: &[&OsStr]) -> Server {
    try_witness(dir, args, &[])
        .unwrap_or_else(|(st, err)| panic!("witness did not start ({st}): {err}"))
}

/// `POST <base>/add-checkpoint`.
pub fn add(base: &str, body: &[u8]) -> Answer {
    post(&agent(), &format!("{base}/add-checkpoint"), body)
}

/// An add-checkpoint body: `old`, the proof lines, a blank line, the note.
pub fn request(old: u64, proof: &[rget::core::digest::Hash], note: &[u8]) -> Vec<u8> {
    let mut b = format!("old {old}\n").into_bytes();
    for h in proof {
        b.extend_from_slice(format!("{}\n", h.to_base64()).as_bytes());
    }
    b.push(b'\n');
    b.extend_from_slice(note);
    b
}

/// The checkpoint note of an add-checkpoint body with the answer's cosignature lines appended: what
/// a log publishes after asking this witness.
pub fn cosigned(request: &[u8], answer: &Answer) -> Vec<u8> {
    let at = request
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("a blank line after the proof");
    [&request[at + 2..], &answer.body[..]].concat()
}

/// A checkpoint of `origin` at `size` over some root, signed by `key`.
pub fn signed(
    key: &SignerKey,
    origin: &str,
    size: u64,
    root: &rget::core::digest::Hash,
) -> Vec<u8> {
    let text = Checkpoint {
        origin: origin.to_owned(),
        size,
        root: *root,
        extensions: Vec::new(),
    }
    .format();
    note::sign(&text, &[key]).expect("sign")
}

/// The monitoring path of `origin`: `/<lowercase hex SHA-256(origin)>/checkpoint`.
pub fn monitoring(origin: &str) -> String {
    format!(
        "/{}/checkpoint",
        rget::core::digest::sha256(origin.as_bytes()).to_hex()
    )
}
