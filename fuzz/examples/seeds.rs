//! Writes the seed corpora of every fuzz target into `fuzz/corpus/<target>/`, made with rget's own
//! API and real tools: a log of records with checkpoints signed by the fixed log key and cosigned by
//! the fixed witnesses (`rget_fuzz`), inclusion and consistency proofs from that log, tlog-policies,
//! pin sets and whole releases signed by the real `minisign` tool, `SHA256SUMS` written by GNU
//! `sha256sum` (GNU, binary, BSD tag and escaped forms), tile paths, entry bundles and hash tiles.
//!
//!   cd fuzz && cargo run --example seeds
//!
//! Deterministic: every key comes from a fixed seed, Ed25519 signatures are deterministic, and the
//! `minisign` tool is given its trusted comments, so a second run writes the same bytes. Without the
//! `minisign` tool, minisign signatures are made by the `minisign` crate instead (valid, but its
//! signatures are randomised, so those files then differ from run to run); without `sha256sum`, the
//! `SHA256SUMS` seeds come from rget's writer alone.

use rget::log::state::TreeState;
use rget_core::cosignature;
use rget_core::digest::{Hash, sha256};
use rget_core::merkle::{self, MemoryTree, empty_root};
use rget_core::note::{self, SignerKey};
use rget_core::pins::binary_name;
use rget_core::record;
use rget_core::sums::{self, Entry};
use rget_core::tile::{self, Tile, TileLevel};
use rget_core::tlog_proof::TlogProof;
use rget_fetch::percent_encode;
use rget_fuzz::{TARGET, log_key, log2_key, witness_key};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The corpora being built: target → (file name → bytes).
#[derive(Default)]
struct Corpus(BTreeMap<&'static str, BTreeMap<String, Vec<u8>>>);

impl Corpus {
    fn add(&mut self, target: &'static str, name: &str, bytes: impl AsRef<[u8]>) {
        let old = self
            .0
            .entry(target)
            .or_default()
            .insert(name.to_owned(), bytes.as_ref().to_vec());
        assert!(old.is_none(), "{target}/{name} written twice");
    }
}

fn join(parts: &[&[u8]]) -> Vec<u8> {
    parts.join(&0u8)
}

// ---- the log --------------------------------------------------------------------------------------

/// A log of records in memory, as `rget log` would hold it.
struct Log {
    entries: Vec<Vec<u8>>,
    tree: MemoryTree,
}

const TIMESTAMP: u64 = 1_700_000_000;

impl Log {
    fn new() -> Log {
        Log {
            entries: Vec::new(),
            tree: MemoryTree::new(),
        }
    }

    fn add(&mut self, entry: Vec<u8>) -> u64 {
        self.tree.append(merkle::leaf_hash(&entry));
        self.entries.push(entry);
        self.tree.size() - 1
    }

    fn record(&mut self, url: &str, sums: &[u8]) -> u64 {
        self.add(record::build(url, sums).expect("valid record"))
    }

    fn root(&mut self, size: u64) -> Hash {
        merkle::tree_hash(size, &mut self.tree).unwrap()
    }

    fn checkpoint_text(&mut self, origin: &str, size: u64) -> String {
        format!("{origin}\n{size}\n{}\n", self.root(size).to_base64())
    }

    /// The checkpoint of `size` signed by `key` and cosigned by the witnesses `cosigners` (indexes).
    fn note(&mut self, key: &SignerKey, size: u64, cosigners: &[usize]) -> Vec<u8> {
        let text = self.checkpoint_text(key.name(), size);
        cosigned(&text, key, cosigners)
    }

    fn proof(&mut self, index: u64, size: u64, note: Vec<u8>, extra: Option<Vec<u8>>) -> Vec<u8> {
        TlogProof {
            extra,
            index,
            hashes: merkle::inclusion_proof(index, size, &mut self.tree).unwrap(),
            checkpoint: note,
        }
        .to_bytes()
    }
}

fn cosigned(text: &str, key: &SignerKey, cosigners: &[usize]) -> Vec<u8> {
    let mut n = note::parse(&note::sign(text, &[key]).unwrap()).unwrap();
    for (k, &w) in cosigners.iter().enumerate() {
        n.signatures
            .push(cosignature::sign(&witness_key(w), text, TIMESTAMP + k as u64).unwrap());
    }
    n.to_bytes()
}

fn sums_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let entries: Vec<Entry> = files
        .iter()
        .map(|(name, content)| Entry {
            name: (*name).to_owned(),
            digest: sha256(content),
        })
        .collect();
    sums::format(&entries).unwrap().into_bytes()
}

// ---- real tools -----------------------------------------------------------------------------------

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A scratch directory under the target dir, emptied first.
fn scratch() -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = base.join("fuzz-seeds-scratch");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Signs `data` with the fixed publisher key: the `minisign` tool if installed (deterministic),
/// else the `minisign` crate.
struct Minisign {
    tool: bool,
    dir: PathBuf,
}

impl Minisign {
    fn new(dir: &Path) -> Minisign {
        let tool = have("minisign");
        if !tool {
            eprintln!(
                "seeds: no `minisign` tool: signing with the minisign crate (not byte-reproducible)"
            );
        }
        let key = format!(
            "untrusted comment: rget fuzzing key (public test key, seed [7; 32])\n{}\n",
            rget_core::b64::encode(&rget_fuzz::minisign_secret_bytes())
        );
        std::fs::write(dir.join("fuzz.key"), key).unwrap();
        Minisign {
            tool,
            dir: dir.to_owned(),
        }
    }

    fn sign(&self, data: &[u8], trusted_comment: &str, legacy: bool) -> Vec<u8> {
        if !self.tool {
            assert!(
                !legacy,
                "the minisign crate makes prehashed signatures only"
            );
            let sig = minisign::sign(
                Some(&rget_fuzz::minisign_public()),
                &rget_fuzz::minisign_secret(),
                data,
                Some(trusted_comment),
                Some("signature from minisign secret key"),
            )
            .unwrap();
            return sig.to_string().into_bytes();
        }
        let file = self.dir.join("data");
        let sig = self.dir.join("data.minisig");
        std::fs::write(&file, data).unwrap();
        let mut cmd = Command::new("minisign");
        cmd.arg("-S");
        if legacy {
            cmd.arg("-l");
        }
        let status = cmd
            .arg("-s")
            .arg(self.dir.join("fuzz.key"))
            .arg("-m")
            .arg(&file)
            .arg("-x")
            .arg(&sig)
            .arg("-t")
            .arg(trusted_comment)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "minisign -S failed");
        std::fs::read(&sig).unwrap()
    }
}

fn minisign_pub() -> String {
    format!(
        "untrusted comment: minisign public key {:X}\n{}\n",
        u64::from_le_bytes(rget_fuzz::MINISIGN_KEYNUM),
        rget_fuzz::minisign_public_base64()
    )
}

/// `SHA256SUMS` written by GNU `sha256sum` over files with these names and contents, in `mode`
/// (`""`, `"-b"` or `"--tag"`); `None` without the tool.
fn gnu_sha256sum(dir: &Path, files: &[(&str, &[u8])], mode: &str) -> Option<Vec<u8>> {
    if !have("sha256sum") {
        return None;
    }
    let d = dir.join("sums");
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    for (name, content) in files {
        std::fs::write(d.join(name), content).unwrap();
    }
    let mut cmd = Command::new("sha256sum");
    if !mode.is_empty() {
        cmd.arg(mode);
    }
    let out = cmd
        .arg("--")
        .args(files.iter().map(|(n, _)| *n))
        .current_dir(&d)
        .output()
        .unwrap();
    assert!(out.status.success());
    Some(out.stdout)
}

// ---- policies -------------------------------------------------------------------------------------

fn witness_vkey(i: usize) -> String {
    cosignature::verifier_key(&witness_key(i)).to_string()
}

fn policy_quorum_none() -> String {
    format!(
        "log {} https://log.example/\nquorum none\n",
        log_key().verifier_key()
    )
}

fn policy_one_witness() -> String {
    format!(
        "# one log, one witness\nlog {} https://log.example/\nwitness w1 {} https://w1.example/\nquorum w1\n",
        log_key().verifier_key(),
        witness_vkey(0)
    )
}

fn policy_two_of_three() -> String {
    format!(
        "log {} https://log.example/\nwitness w1 {} https://w1.example/\nwitness w2 {} https://w2.example/\nwitness w3 {}\ngroup g 2 w1 w2 w3\nquorum g\n",
        log_key().verifier_key(),
        witness_vkey(0),
        witness_vkey(1),
        witness_vkey(2)
    )
}

fn policy_nested() -> String {
    format!(
        "log {}\nlog {} https://log2.example/\n\nwitness w1 {}\nwitness w2 {}\nwitness w3 {}\ngroup a any w1 w2\ngroup b all w3\ngroup top 2 a b w1\nquorum top\n",
        log_key().verifier_key(),
        log2_key().verifier_key(),
        witness_vkey(0),
        witness_vkey(1),
        witness_vkey(2)
    )
}

// ---- the seeds ------------------------------------------------------------------------------------

fn main() {
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let tmp = scratch();
    let ms = Minisign::new(&tmp);
    let mut c = Corpus::default();

    // A log of six records; the release of rget 1.2.3 is at index 3.
    let mut log = Log::new();
    let tool_sums = sums_of(&[
        ("tool.sh", b"#!/bin/sh\necho tool\n"),
        ("tool.tar.gz", b"tgz"),
    ]);
    log.record("https://a.example/rel/v1/SHA256SUMS", &tool_sums);
    log.record(
        "https://a.example:8443/rel/v2/SHA256SUMS",
        &sums_of(&[("dir/file.txt", b"x")]),
    );
    log.record("https://[::1]:4443/SHA256SUMS", &sums_of(&[("e", b"")]));
    let binary: &[u8] = b"\x7fELF rget 1.2.3 for x86_64\n";
    let bin_name = binary_name("1.2.3", TARGET);
    let release_sums = sums_of(&[
        (&bin_name, binary),
        (&binary_name("1.2.3", "aarch64-unknown-linux-gnu"), b"arm"),
    ]);
    let release_url = "https://rel.example/rget/v1.2.3/SHA256SUMS";
    let release_index = log.record(release_url, &release_sums);
    log.record("https://a.example/rel/v1/SHA256SUMS", &tool_sums);
    log.record(
        "https://b.example/x/SHA256SUMS",
        &sums_of(&[("a b", b"1"), ("c\\d", b"2")]),
    );
    let size = log.tree.size();
    // A bigger log (300 tiny entries) for longer proofs.
    let mut big = Log::new();
    for i in 0..300u32 {
        big.add(format!("entry {i}").into_bytes());
    }

    // --- checkpoint
    let texts = [
        ("size6", log.checkpoint_text("log.example", size)),
        ("size1", log.checkpoint_text("log.example", 1)),
        (
            "size0-empty",
            format!("log.example\n0\n{}\n", empty_root().to_base64()),
        ),
        (
            "extensions",
            format!(
                "example.com/origin\n{}\n{}\next one\next two\n",
                i64::MAX,
                log.root(4).to_base64()
            ),
        ),
    ];
    for (name, t) in &texts {
        c.add("checkpoint", name, t);
    }
    for n in 2..size {
        c.add(
            "checkpoint",
            &format!("size{n}"),
            log.checkpoint_text("log.example", n),
        );
    }
    c.add("checkpoint", "log2", log.checkpoint_text("log2.example", 3));

    // --- note (signed notes; the Go example from golang.org/x/mod/sumdb/note's documentation)
    c.add(
        "note",
        "go-example",
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
    );
    c.add("note", "checkpoint-log", log.note(&log_key(), size, &[]));
    c.add(
        "note",
        "checkpoint-cosigned",
        log.note(&log_key(), size, &[0, 1, 2]),
    );
    c.add(
        "note",
        "big-checkpoint-cosigned",
        big.note(&log_key(), 300, &[0, 2]),
    );
    c.add("note", "checkpoint-two-logs", {
        let text = log.checkpoint_text("log.example", 2);
        note::sign(&text, &[&log_key(), &log2_key()]).unwrap()
    });
    c.add("note", "unknown-and-known", {
        let mut n = note::parse(&log.note(&log_key(), 3, &[])).unwrap();
        let other = SignerKey::from_seed("other.example", rget_fuzz::seed(9)).unwrap();
        n.signatures.insert(0, other.sign(&n.text));
        n.to_bytes()
    });
    c.add(
        "note",
        "blank-lines-in-text",
        note::sign("a\n\nb\n", &[&log_key(), &log2_key()]).unwrap(),
    );

    // --- cosignature: signed notes opened with the log key and w1, and [timestamp ‖ text] inputs
    let cp6 = log.checkpoint_text("log.example", size);
    c.add(
        "cosignature",
        "log-and-w1",
        log.note(&log_key(), size, &[0]),
    );
    c.add(
        "cosignature",
        "log-w1-w2",
        log.note(&log_key(), size, &[0, 1]),
    );
    c.add("cosignature", "w1-only", {
        let mut n = note::parse(&log.note(&log_key(), size, &[0])).unwrap();
        n.signatures.remove(0);
        n.to_bytes()
    });
    c.add("cosignature", "w1-twice", {
        let mut n = note::parse(&log.note(&log_key(), size, &[0])).unwrap();
        n.signatures
            .push(cosignature::sign(&witness_key(0), &cp6, 5).unwrap());
        n.to_bytes()
    });
    c.add("cosignature", "w1-bad", {
        let mut n = note::parse(&log.note(&log_key(), size, &[0])).unwrap();
        n.signatures[1].sig[20] ^= 1;
        n.to_bytes()
    });
    c.add(
        "cosignature",
        "all-witnesses",
        log.note(&log_key(), 2, &[0, 1, 2]),
    );
    c.add("cosignature", "log2-and-w1", log.note(&log2_key(), 2, &[0]));
    for (name, ts) in [
        ("ts-text", TIMESTAMP),
        ("ts-max", i64::MAX as u64),
        ("ts-over-max", i64::MAX as u64 + 1),
        ("ts-zero", 0),
    ] {
        let mut b = ts.to_be_bytes().to_vec();
        b.extend_from_slice(cp6.as_bytes());
        c.add("cosignature", name, b);
    }

    // --- tlog_proof: each record's proof with the record as `extra` (what the target hashes)
    let full = log.note(&log_key(), size, &[0, 1]);
    for i in 0..size {
        let extra = Some(log.entries[i as usize].clone());
        let p = log.proof(i, size, full.clone(), extra);
        c.add("tlog_proof", &format!("index{i}-of-{size}"), p);
    }
    let small = log.note(&log_key(), 4, &[]);
    let extra = Some(log.entries[2].clone());
    c.add("tlog_proof", "index2-of-4", log.proof(2, 4, small, extra));
    let one = log.note(&log_key(), 1, &[]);
    c.add("tlog_proof", "no-extra", log.proof(0, 1, one, None));

    for (index, size) in [
        (0, 300),
        (150, 300),
        (255, 256),
        (256, 257),
        (299, 300),
        (7, 9),
    ] {
        let note = big.note(&log_key(), size, &[0]);
        let extra = Some(big.entries[index as usize].clone());
        c.add(
            "tlog_proof",
            &format!("big-{index}-of-{size}"),
            big.proof(index, size, note, extra),
        );
    }

    // --- record: whole records, and "URL\nSHA256SUMS" for building one
    for (i, e) in log.entries.iter().enumerate() {
        c.add("record", &format!("record{i}"), e);
    }
    for (i, url) in [
        "https://[2001:db8::1]/SHA256SUMS",
        "https://x.example:1/a/b/c/SHA256SUMS",
    ]
    .iter()
    .enumerate()
    {
        c.add(
            "record",
            &format!("more{i}"),
            record::build(url, &release_sums).unwrap(),
        );
    }
    c.add(
        "record",
        "build-from-parts",
        [
            b"HTTPS://A.Example:443/rel/v1/SHA256SUMS\n".as_slice(),
            &tool_sums,
        ]
        .concat(),
    );

    // --- sums: rget's writer and GNU sha256sum in its forms
    let files: [(&str, &[u8]); 4] = [
        ("tool.sh", b"#!/bin/sh\n"),
        ("a b.txt", b"space"),
        ("back\\slash", b"bs"),
        ("new\nline", b"nl"),
    ];
    c.add("sums", "rget-writer", sums_of(&files));
    for (name, mode) in [("gnu", ""), ("gnu-binary", "-b"), ("bsd-tag", "--tag")] {
        if let Some(s) = gnu_sha256sum(&tmp, &files, mode) {
            c.add("sums", name, s);
        }
    }
    c.add("sums", "release", &release_sums);
    c.add(
        "sums",
        "pinned",
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../pinned/SHA256SUMS"))
            .unwrap(),
    );
    c.add(
        "sums",
        "no-final-newline",
        sums_of(&[("a", b"a")]).strip_suffix(b"\n").unwrap(),
    );
    c.add(
        "sums",
        "same-line-twice",
        [sums_of(&[("a", b"a")]), sums_of(&[("a", b"a")])].concat(),
    );
    c.add(
        "sums",
        "subdirectories",
        sums_of(&[("dir/sub/file", b"1"), ("dir/other", b"2")]),
    );
    if let Some(s) = gnu_sha256sum(&tmp, &[("only.bin", b"\0\x01")], "") {
        c.add("sums", "gnu-one", s);
    }

    // --- tile_path
    for (name, t) in [
        ("l0-0", Tile::new(TileLevel::Hash(0), 0, 256)),
        ("l0-partial", Tile::new(TileLevel::Hash(0), 273, 112)),
        ("l1-partial", Tile::new(TileLevel::Hash(1), 1, 17)),
        ("l2-1", Tile::new(TileLevel::Hash(2), 0, 1)),
        ("entries-big", Tile::new(TileLevel::Entries, 1_234_067, 256)),
        ("entries-partial", Tile::new(TileLevel::Entries, 0, 6)),
        ("l63-max", Tile::new(TileLevel::Hash(63), u64::MAX, 255)),
        ("l0-999", Tile::new(TileLevel::Hash(0), 999, 256)),
        ("l0-1000", Tile::new(TileLevel::Hash(0), 1000, 1)),
        ("l3-x", Tile::new(TileLevel::Hash(3), 1_000_000, 200)),
        (
            "entries-u64max",
            Tile::new(TileLevel::Entries, u64::MAX, 256),
        ),
    ] {
        c.add("tile_path", name, t.unwrap().path());
    }
    for (i, t) in tile::tiles_for_size(70_000).iter().enumerate() {
        c.add("tile_path", &format!("size70000-{i}"), t.path());
    }

    // --- bundle: [width - 1] ‖ bytes
    let refs: Vec<&[u8]> = log.entries.iter().map(Vec::as_slice).collect();
    c.add(
        "bundle",
        "records6",
        [&[5u8][..], &tile::encode_bundle(&refs).unwrap()].concat(),
    );
    let tiny: Vec<Vec<u8>> = (0..256u16).map(|i| i.to_be_bytes().to_vec()).collect();
    let tiny_refs: Vec<&[u8]> = tiny.iter().map(Vec::as_slice).collect();
    c.add(
        "bundle",
        "full-256",
        [&[255u8][..], &tile::encode_bundle(&tiny_refs).unwrap()].concat(),
    );
    for n in [1usize, 2, 3] {
        c.add(
            "bundle",
            &format!("records{n}"),
            [
                &[n as u8 - 1][..],
                &tile::encode_bundle(&refs[..n]).unwrap(),
            ]
            .concat(),
        );
    }
    for (level, width) in [(0u8, 128u16), (1, 1), (0, 255)] {
        let size = u64::from(width) << (8 * level);
        let published = tile::tiles_to_publish(0, size.min(300), &mut big.tree).unwrap();
        if let Some((t, bytes)) = published
            .iter()
            .find(|(t, _)| t.level == TileLevel::Hash(level))
        {
            c.add(
                "bundle",
                &format!("hash-tile-l{level}-w{}", t.width),
                [&[(t.width - 1) as u8][..], bytes].concat(),
            );
        }
    }
    let leaves: Vec<Hash> = log.entries.iter().map(|e| merkle::leaf_hash(e)).collect();
    c.add(
        "bundle",
        "hash-tile6",
        [&[5u8][..], &tile::encode_hash_tile(&leaves)].concat(),
    );

    // --- policy
    c.add("policy", "quorum-none", policy_quorum_none());
    c.add("policy", "one-witness", policy_one_witness());
    c.add("policy", "two-of-three", policy_two_of_three());
    c.add("policy", "nested-groups", policy_nested());
    c.add(
        "policy",
        "tabs-comments-no-final-newline",
        format!(
            "# logs\nlog\t{}\n\n# witnesses\nwitness\tw1\t{}\thttps://w1.example/\ngroup one any w1\nquorum one",
            log2_key().verifier_key(),
            witness_vkey(0)
        ),
    );
    c.add(
        "policy",
        "all-of-two",
        format!(
            "log {}\nwitness a {}\nwitness b {}\ngroup both all a b\nquorum both\n",
            log_key().verifier_key(),
            witness_vkey(1),
            witness_vkey(2)
        ),
    );
    c.add(
        "policy",
        "spare-seeds",
        format!(
            "log {}\nwitness s7 {}\nwitness s8 {}\nquorum s8\n",
            SignerKey::from_seed("spare.example/log", rget_fuzz::seed(3))
                .unwrap()
                .verifier_key(),
            cosignature::verifier_key(
                &SignerKey::from_seed("s7.example", rget_fuzz::seed(7)).unwrap()
            ),
            cosignature::verifier_key(
                &SignerKey::from_seed("s8.example", rget_fuzz::seed(8)).unwrap()
            ),
        ),
    );

    // --- minisig: [.minisig or .pub text] NUL [signed data]
    let data: &[u8] = b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  empty\n";
    let sig = ms.sign(data, "timestamp:1700000000\tfile:SHA256SUMS\thashed", false);
    c.add("minisig", "prehashed", join(&[&sig, data]));
    if ms.tool {
        let legacy = ms.sign(data, "timestamp:1700000000\tfile:SHA256SUMS", true);
        c.add("minisig", "legacy", join(&[&legacy, data]));
    }
    let spaced = ms.sign(b"", " trailing space ", false);
    c.add(
        "minisig",
        "comment-spaces-empty-data",
        join(&[&spaced, b""]),
    );
    c.add("minisig", "public-key", minisign_pub());
    c.add(
        "minisig",
        "public-key-line",
        rget_fuzz::minisign_public_base64(),
    );
    c.add(
        "minisig",
        "pinned-key",
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../pinned/release.pub"))
            .unwrap(),
    );
    for (i, (comment, data)) in [
        (
            "timestamp:1\tfile:tool.sh\thashed",
            b"#!/bin/sh\n".as_slice(),
        ),
        (
            "url:https://a.example/rel/v1/SHA256SUMS",
            tool_sums.as_slice(),
        ),
        ("x", b"x".as_slice()),
    ]
    .iter()
    .enumerate()
    {
        let sig = ms.sign(data, comment, false);
        c.add("minisig", &format!("prehashed-{i}"), join(&[&sig, data]));
    }

    // --- release (pin set: SHA256SUMS NUL release.pub NUL policy NUL source; LATEST; markers)
    let source = "https://rel.example/rget/v{version}/";
    let pins = |policy: &str| {
        join(&[
            &release_sums,
            minisign_pub().as_bytes(),
            policy.as_bytes(),
            source.as_bytes(),
        ])
    };
    c.add("release", "pins-quorum-none", pins(&policy_quorum_none()));
    c.add("release", "pins-two-of-three", pins(&policy_two_of_three()));
    c.add("release", "pins-nested", pins(&policy_nested()));
    c.add("release", "latest", "1.2.3-rc.1\n");
    c.add("release", "latest-plain", "10.20.30");
    c.add(
        "release",
        "binary-with-marker",
        [
            b"\x7fELF...".as_slice(),
            format!("\0rget-release 1.2.3 {TARGET}\0").as_bytes(),
            b"...",
        ]
        .concat(),
    );

    // --- verify_release: release.pub NUL policy NUL source NUL version NUL SHA256SUMS NUL
    //     SHA256SUMS.minisig NUL SHA256SUMS.tlog-proof NUL binary
    let release_sig = ms.sign(
        &release_sums,
        "timestamp:1700000000\tfile:SHA256SUMS\thashed",
        false,
    );
    let release = |log: &mut Log, policy: &str, cosigners: &[usize], sig: &[u8], keys: &str| {
        let note = log.note(&log_key(), size, cosigners);
        let proof = log.proof(release_index, size, note, None);
        join(&[
            keys.as_bytes(),
            policy.as_bytes(),
            source.as_bytes(),
            b"1.2.3",
            &release_sums,
            sig,
            &proof,
            binary,
        ])
    };
    let keys = minisign_pub();
    c.add(
        "verify_release",
        "quorum-none",
        release(&mut log, &policy_quorum_none(), &[], &release_sig, &keys),
    );
    c.add(
        "verify_release",
        "two-of-three",
        release(
            &mut log,
            &policy_two_of_three(),
            &[0, 2],
            &release_sig,
            &keys,
        ),
    );
    c.add(
        "verify_release",
        "nested-all-witnesses",
        release(&mut log, &policy_nested(), &[0, 1, 2], &release_sig, &keys),
    );
    let two_keys = format!(
        "{}untrusted comment: another key\nRWT4jquzmgjH5VwzydMJrzOBGV+vtsgEpKLoMlqXS8CmjT5Z8nFvoS/Q\n",
        keys
    );
    c.add(
        "verify_release",
        "second-pinned-key",
        release(
            &mut log,
            &policy_one_witness(),
            &[0],
            &release_sig,
            &two_keys,
        ),
    );
    let rc = |log: &mut Log| {
        // A pre-release whose SHA256SUMS was written by `sha256sum --tag` (BSD form), logged later.
        let name = binary_name("2.0.0-rc.1", TARGET);
        let sums = gnu_sha256sum(&tmp, &[(name.as_str(), binary)], "--tag")
            .unwrap_or_else(|| sums_of(&[(name.as_str(), binary)]));
        let url = "https://rel.example/rget/v2.0.0-rc.1/SHA256SUMS";
        let index = log.record(url, &sums);
        let sig = ms.sign(
            &sums,
            "timestamp:1700000001\tfile:SHA256SUMS\thashed",
            false,
        );
        let size = log.tree.size();
        let note = log.note(&log_key(), size, &[1]);
        let proof = log.proof(index, size, note, None);
        join(&[
            keys.as_bytes(),
            format!(
                "log {} https://log.example/\nwitness w2 {}\nquorum w2\n",
                log_key().verifier_key(),
                witness_vkey(1)
            )
            .as_bytes(),
            source.as_bytes(),
            b"2.0.0-rc.1",
            &sums,
            &sig,
            &proof,
            binary,
        ])
    };
    let mut rc_log = Log::new();
    for e in &log.entries {
        rc_log.add(e.clone());
    }
    c.add("verify_release", "rc-bsd-sums", rc(&mut rc_log));
    let mut first = Log::new();
    c.add("verify_release", "first-and-only-record", rc(&mut first));
    let mut long = Log::new();
    for e in &big.entries {
        long.add(e.clone());
    }
    c.add("verify_release", "after-300-entries", rc(&mut long));
    if ms.tool {
        // Refused (legacy signatures are not accepted for releases): reaches the signature check.
        let legacy = ms.sign(&release_sums, "timestamp:1700000000\tfile:SHA256SUMS", true);
        c.add(
            "verify_release",
            "legacy-refused",
            release(&mut log, &policy_quorum_none(), &[], &legacy, &keys),
        );
    }

    // --- redirect: base NL Location
    for (name, base, location) in [
        ("relative", "https://h.example/a/b/c?q", "d/e"),
        ("dot-segments", "https://h.example/a/b/c", "../../x/./y/.."),
        ("absolute-path", "https://h.example/a/b", "/x?y=1#frag"),
        ("query-only", "https://h.example/a/b?old", "?new"),
        (
            "scheme-relative",
            "https://h.example/a",
            "//other.example:8443/p",
        ),
        (
            "absolute",
            "https://h.example/a",
            "HTTPS://Other.Example/SHA256SUMS",
        ),
        ("downgrade", "https://h.example/a", "http://h.example/a"),
        ("ipv6-base", "http://[::1]:8080/rel/v1/x", "../v2/x"),
        ("empty", "https://h.example/a/./b/../c", ""),
        ("colon-in-path", "https://h.example/a/", "./d:e"),
        ("mailto", "https://h.example/a", "mailto:x@y.example"),
        ("userinfo", "https://h.example/a", "https://u:p@h.example/"),
        ("port", "https://h.example:8443/a/b", "c?d=e"),
        ("percent-dots", "https://h.example/a/b/", "%2e%2e/c"),
        ("many-dotdots", "https://h.example/a", "../../../../x"),
        ("fragment-only", "https://h.example/a?q", "#f"),
    ] {
        c.add("redirect", name, format!("{base}\n{location}"));
    }

    // --- lookup: the log's answers
    let h = |s: &[u8]| sha256(s).to_hex();
    c.add("lookup", "empty", "");
    c.add("lookup", "one", format!("3 {}\n", h(&release_sums)));
    c.add(
        "lookup",
        "two-records",
        format!("0 {}\n4 {}\n", h(&tool_sums), h(&tool_sums)),
    );
    c.add(
        "lookup",
        "five",
        (0..5)
            .map(|i| format!("{} {}\n", i * 3 + 1, h(&[i as u8])))
            .collect::<String>(),
    );
    c.add("lookup", "zero", format!("0 {}\n", h(b"0")));
    c.add(
        "lookup",
        "release-twice",
        format!("3 {}\n6 {}\n", h(&release_sums), h(b"other")),
    );
    c.add(
        "lookup",
        "not-increasing",
        format!("4 {}\n2 {}\n", h(b"a"), h(b"b")),
    );
    c.add(
        "lookup",
        "large-index",
        format!("9223372036854775807 {}\n", h(b"")),
    );

    // --- output_name and canonical_url: URLs, including the path tricks the client must refuse
    let urls = [
        ("plain", "https://a.example/rel/v1/tool.sh"),
        (
            "percent",
            "https://a.example/rel/v1/my%20tool%2Bx.tar.gz?x=1#f",
        ),
        ("slash-escape", "https://a.example/rel/a%2Fb"),
        ("backslash-escape", "https://a.example/rel/a%5Cb"),
        ("dotdot-escape", "https://a.example/rel/%2e%2e"),
        ("nul", "https://a.example/rel/a%00b"),
        ("newline", "https://a.example/rel/a%0Ab"),
        ("trailing-slash", "https://a.example/rel/"),
        ("upper-host-port", "HTTPS://A.Example:443/Rel/SHA256SUMS"),
        ("ipv6-port", "https://[::1]:4443/x/SHA256SUMS"),
        ("port", "https://a.example:8443/SHA256SUMS"),
        ("no-path", "https://a.example"),
        ("dot-segment", "https://a.example/a/./b"),
        ("empty-segment", "https://a.example/a//b"),
        ("userinfo", "https://u@a.example/x"),
        ("query", "https://a.example/x?y=1"),
        ("http", "http://a.example/x"),
        ("tilde-escapes", "https://a.example/%7euser/%41.txt"),
        ("long-host", "https://a-b.c-d.e-f.example.org:65535/x"),
        ("ipv4", "https://127.0.0.1:4443/SHA256SUMS"),
    ];
    for (name, u) in urls {
        c.add("output_name", name, u);
        c.add("canonical_url", name, u);
    }

    // --- log_url_param: query strings
    for (name, q) in [
        ("release", format!("url={}", percent_encode(release_url))),
        (
            "lowercase-escapes",
            "url=https%3a%2f%2fa.example%2fx".to_owned(),
        ),
        ("plus", "url=https://a.example/a+b".to_owned()),
        ("utf8", "url=https%3A%2F%2Fa.example%2F%C3%A9".to_owned()),
        ("two-params", "url=a&url=b".to_owned()),
        ("empty-pairs", "&&url=x&".to_owned()),
        ("other-param", "url=x&y=1".to_owned()),
        ("no-value", "url".to_owned()),
        ("bad-escape", "url=%zz".to_owned()),
        (
            "all-encoded",
            format!("url={}", percent_encode("https://a.example/x y/é+%")),
        ),
    ] {
        c.add("log_url_param", name, q);
    }

    // --- log_list: the witness network's real lists (tests/data), and lists written here
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/witness-network");
    for name in [
        "testing-log-list.1",
        "staging-log-list-10qps-4klogs.1",
        "staging-log-list-100qps-40klogs.1",
    ] {
        c.add("log_list", name, std::fs::read(data.join(name)).unwrap());
    }
    let lk = log_key().verifier_key();
    let l2 = log2_key().verifier_key();
    for (name, text) in [
        ("empty", "logs/v0\n".to_owned()),
        (
            "origin-with-spaces",
            format!(
                "logs/v0\nvkey {lk}\norigin go.sum database tree\nqpd 1440\ncontact golang-dev\n"
            ),
        ),
        (
            "two-logs-comments-crlf",
            format!(
                "# list\r\nlogs/v0\r\n\r\n  # one\r\nvkey {lk}\r\nqpd 1\r\ncontact a b\r\n\
                 \r\nvkey {l2}\r\norigin {} tree\r\nqpd 2147483647\r\ncontact c\r\n",
                l2.name
            ),
        ),
        (
            "duplicate-origin",
            format!(
                "logs/v0\nvkey {lk}\nqpd 1\ncontact a\nvkey {l2}\norigin {}\nqpd 1\ncontact b\n",
                lk.name
            ),
        ),
        ("truncated", format!("logs/v0\nvkey {lk}\nqpd 1\n")),
    ] {
        c.add("log_list", name, text);
    }

    // --- witness_request: old size, consistency proof, blank line, the checkpoint note
    for (name, old, new) in [
        ("from0", 0, 4),
        ("from4", 4, 6),
        ("from1", 1, 6),
        ("same", 6, 6),
        ("from3", 3, 5),
        ("big-from100", 100, 300),
        ("big-from255", 255, 257),
    ] {
        let src = if new > size { &mut big } else { &mut log };
        let proof = merkle::consistency_proof(old, new, &mut src.tree).unwrap();
        let mut body = format!("old {old}\n").into_bytes();
        for p in &proof {
            body.extend_from_slice(p.to_base64().as_bytes());
            body.push(b'\n');
        }
        body.push(b'\n');
        body.extend_from_slice(&src.note(&log_key(), new, &[]));
        c.add("witness_request", name, body);
    }

    // --- witness_answer: checkpoint text NUL answer (no NUL: the answer to the target's fixed text)
    let cosig = |text: &str, w: usize, ts: u64| {
        cosignature::sign(&witness_key(w), text, ts)
            .unwrap()
            .to_line()
    };
    c.add(
        "witness_answer",
        "one-line",
        join(&[cp6.as_bytes(), cosig(&cp6, 0, 7).as_bytes()]),
    );
    c.add(
        "witness_answer",
        "two-lines",
        join(&[
            cp6.as_bytes(),
            (cosig(&cp6, 0, 7) + &cosig(&cp6, 0, 8)).as_bytes(),
        ]),
    );
    c.add(
        "witness_answer",
        "other-witness-too",
        join(&[
            cp6.as_bytes(),
            (cosig(&cp6, 1, 7) + &cosig(&cp6, 0, 7)).as_bytes(),
        ]),
    );
    let fixed = "log.example\n3\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
    c.add("witness_answer", "fixed-text", cosig(fixed, 0, TIMESTAMP));
    c.add("witness_answer", "fixed-text-ts0", cosig(fixed, 0, 0));
    c.add("witness_answer", "extension-lines", {
        let text = format!("{cp6}ext\n");
        join(&[text.as_bytes(), cosig(&text, 0, 1).as_bytes()])
    });
    c.add("witness_answer", "log-signature-line", {
        let sig = log_key().sign(&cp6).to_line();
        join(&[cp6.as_bytes(), (sig + &cosig(&cp6, 0, 2)).as_bytes()])
    });

    // --- state_files: tree-state, witness state, client checkpoint, audit mark
    c.add(
        "state_files",
        "tree-state",
        TreeState {
            size,
            root: log.root(size),
        }
        .format(),
    );
    // What the witness stores: the log's signature and its own cosignature.
    c.add(
        "state_files",
        "witness-state",
        log.note(&log_key(), size, &[0]),
    );
    c.add(
        "state_files",
        "client-checkpoint",
        log.note(&log_key(), size, &[0, 1]),
    );
    c.add(
        "state_files",
        "audit-mark",
        log.checkpoint_text("log.example", 4),
    );
    c.add(
        "state_files",
        "audit-mark-0",
        log.checkpoint_text("log.example", 0),
    );
    c.add(
        "state_files",
        "tree-state-0",
        TreeState {
            size: 0,
            root: empty_root(),
        }
        .format(),
    );
    c.add(
        "state_files",
        "tree-state-big",
        TreeState {
            size: 300,
            root: big.root(300),
        }
        .format(),
    );
    c.add(
        "state_files",
        "witness-state-2",
        log.note(&log_key(), 2, &[0, 1]),
    );
    c.add(
        "state_files",
        "client-checkpoint-log2",
        log.note(&log2_key(), 1, &[]),
    );

    // --- sigsum_api: a Sigsum log's answers and the add-leaf request; the first byte says which
    // (0 tree head, 1 inclusion proof, 2 consistency proof, 3 leaves with the count asked - 1, 4
    // add-leaf), as the target reads them.
    {
        use rget_core::sigsum::api::{self as sapi, InclusionProof, LeafRequest, TreeHead};
        use rget_core::sigsum::leaf::Leaf;
        use rget_core::sigsum::proof::Cosignature;
        let slog = rget_fuzz::sigsum_log_seed();
        let submitter = rget_fuzz::seed(7);
        let leaves: Vec<Leaf> = (0..5u8)
            .map(|i| Leaf::sign(&submitter, &sha256(&[i])))
            .collect();
        let mut tree = MemoryTree::new();
        for l in &leaves {
            tree.append(l.merkle_hash());
        }
        let head = |size: u64, root: Hash, witnesses: &[usize]| {
            let mut th = TreeHead {
                size,
                root_hash: root,
                signature: [0; 64],
                cosignatures: Vec::new(),
            };
            let text = th.checkpoint_text(&rget_core::sigsum::key_hash(&slog.public_key()));
            th.signature = slog.sign(text.as_bytes());
            for &i in witnesses {
                let sig = cosignature::sign(&witness_key(i), &text, TIMESTAMP).unwrap();
                th.cosignatures.push(Cosignature {
                    key_hash: rget_core::sigsum::key_hash(&witness_key(i).public_key()),
                    timestamp: TIMESTAMP,
                    signature: sig.sig[8..].try_into().unwrap(),
                });
            }
            th
        };
        let with = |kind: u8, body: &[u8]| [&[kind][..], body].concat();
        c.add(
            "sigsum_api",
            "tree-head-cosigned",
            with(0, head(5, tree.root(), &[0, 1]).to_text().as_bytes()),
        );
        c.add(
            "sigsum_api",
            "tree-head-empty",
            with(0, head(0, empty_root(), &[]).to_text().as_bytes()),
        );
        let mut many = head(5, tree.root(), &[2]);
        for i in 0..63u8 {
            many.cosignatures.push(Cosignature {
                key_hash: sha256(&[i]),
                timestamp: u64::from(i),
                signature: [i; 64],
            });
        }
        c.add("sigsum_api", "tree-head-64-cosignatures", with(0, many.to_text().as_bytes()));
        let inclusion = |index: u64, size: u64, t: &mut MemoryTree| InclusionProof {
            leaf_index: index,
            path: merkle::inclusion_proof(index, size, t).unwrap(),
        };
        c.add(
            "sigsum_api",
            "inclusion-2-of-5",
            with(1, inclusion(2, 5, &mut tree).to_text().as_bytes()),
        );
        c.add(
            "sigsum_api",
            "inclusion-200-of-300",
            with(1, inclusion(200, 300, &mut big.tree).to_text().as_bytes()),
        );
        for (old, new, t) in [(2, 5, &mut tree), (100, 300, &mut big.tree)] {
            c.add(
                "sigsum_api",
                &format!("consistency-{old}-{new}"),
                with(
                    2,
                    sapi::format_consistency_proof(&merkle::consistency_proof(old, new, t).unwrap())
                        .as_bytes(),
                ),
            );
        }
        c.add(
            "sigsum_api",
            "leaves-5-of-5",
            with(3, &[&[4u8][..], sapi::format_leaves(&leaves).as_bytes()].concat()),
        );
        let request = LeafRequest::sign(&submitter, &sha256(b"SHA256SUMS bytes"));
        c.add("sigsum_api", "add-leaf", with(4, request.to_text().as_bytes()));
        let mut forged = request.clone();
        forged.message = sha256(b"other bytes");
        c.add("sigsum_api", "add-leaf-bad-signature", with(4, forged.to_text().as_bytes()));
    }

    check(&c);
    write(&out, &c);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The seeds are what they claim to be: releases verify (but the one made to be refused), policies
/// parse, signatures verify with the fixed key, proofs and requests parse, the witness state loads.
fn check(c: &Corpus) {
    use rget_core::minisig::{self, PublicKey, Signature};
    use rget_core::pins::{ReleaseTrust, ReleaseTrustFiles};
    use rget_core::policy::Policy;
    use rget_core::release::{ReleaseFiles, verify_release};
    let seeds = |t: &str| c.0.get(t).into_iter().flatten();
    for (name, data) in seeds("verify_release") {
        let p = rget_fuzz::split_nul(data, 8).unwrap();
        let s = |i: usize| std::str::from_utf8(p[i]).unwrap();
        let trust = ReleaseTrust::parse(ReleaseTrustFiles {
            keys: s(0),
            policy: s(1),
            source: s(2),
        })
        .unwrap();
        let files = ReleaseFiles {
            sums: p[4],
            minisig: p[5],
            proof: p[6],
        };
        let r = verify_release(
            &trust,
            &trust.source_dir(s(3)),
            &binary_name(s(3), TARGET),
            &sha256(p[7]),
            &files,
            &mut |_| {},
        );
        assert_eq!(
            r.is_ok(),
            name != "legacy-refused",
            "verify_release/{name}: {r:?}"
        );
    }
    for (name, data) in seeds("policy") {
        Policy::parse(std::str::from_utf8(data).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let key = PublicKey::parse(&rget_fuzz::minisign_public_base64()).unwrap();
    for (name, data) in seeds("minisig") {
        if let Some(p) = rget_fuzz::split_nul(data, 2) {
            let sig = Signature::parse(std::str::from_utf8(p[0]).unwrap()).unwrap();
            // Legacy (non-prehashed) signatures are seeds the verifier must refuse.
            let r = minisig::verify(&key, &sig, p[1]);
            assert_eq!(r.is_ok(), !sig.is_legacy(), "minisig/{name}: {r:?}");
        }
    }
    for (name, data) in seeds("sigsum_api") {
        use rget_core::sigsum::api::{self as sapi, InclusionProof, LeafRequest, TreeHead};
        let (kind, body) = data.split_first().unwrap();
        let ok = match kind {
            0 => TreeHead::parse(body).is_ok(),
            1 => InclusionProof::parse(body).is_ok(),
            2 => sapi::parse_consistency_proof(body).is_ok(),
            3 => sapi::parse_leaves(&body[1..], u64::from(body[0]) + 1).is_ok(),
            _ => LeafRequest::parse(body)
                .map(|r| r.leaf().is_some() != name.ends_with("bad-signature"))
                .unwrap_or(false),
        };
        assert!(ok, "sigsum_api/{name}");
    }
    for (name, data) in seeds("tlog_proof") {
        TlogProof::parse(data).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for name in [
        "testing-log-list.1",
        "staging-log-list-10qps-4klogs.1",
        "staging-log-list-100qps-40klogs.1",
        "empty",
        "origin-with-spaces",
        "two-logs-comments-crlf",
    ] {
        let data = &c.0["log_list"][name];
        rget_core::log_list::parse(data).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for (name, data) in seeds("witness_request") {
        rget::witness::parse_request(data).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let cosigner = cosignature::verifier_key(&witness_key(0));
    for name in ["witness-state", "witness-state-2"] {
        let data = c.0["state_files"][name].clone();
        rget::witness::state::parse(data, "log.example", &cosigner, name).unwrap();
    }
}

/// Replaces each target's corpus directory with the seeds made for it.
fn write(out: &Path, c: &Corpus) {
    for (target, files) in &c.0 {
        let dir = out.join(target);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut bytes = 0;
        for (name, data) in files {
            std::fs::write(dir.join(name), data).unwrap();
            bytes += data.len();
        }
        println!("{target}: {} files, {bytes} bytes", files.len());
    }
}
