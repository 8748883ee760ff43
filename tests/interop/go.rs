//! Cross-checks rget's signed notes, RFC 6962 Merkle proofs and C2SP tlog-tiles logs against Go's
//! reference packages `golang.org/x/mod/sumdb/note` and `golang.org/x/mod/sumdb/tlog`, through the
//! helper program in `tests/gointerop` (see its README for the CLI).
//!
//! The helper is built once per test process with the system Go toolchain in GOPATH mode, offline.
//! The tests are ignored by default (`cargo test -- --include-ignored` or `.ci/run` runs them); a
//! missing toolchain then fails them (it never skips them): install `golang-go` and
//! `golang-golang-x-mod-dev`.

use crate::common::go::gointerop;
use crate::common::{output_with_stdin, tempdir};

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use rget::core::checkpoint::Checkpoint;
use rget::core::digest::{Hash, sha256};
use rget::core::merkle::{
    self, HashSource, MemoryTree, MerkleError, consistency_proof, empty_root, inclusion_proof,
    leaf_hash, tree_hash, verify_consistency, verify_inclusion,
};
use rget::core::note::{self, NoteError, SignerKey, VerifierKey};
use rget::core::tile::{
    Tile, TileError, TileHashSource, TileLevel, TileReader, decode_bundle, encode_bundle,
    tiles_for_size, tiles_to_publish,
};

// ---- the Go helper ----------------------------------------------------------------------------

/// Runs `gointerop args...` with `stdin` (empty if `None`).
fn go(args: &[&str], stdin: Option<&[u8]>) -> Output {
    // Go may fail (bad key) and exit before reading its input: that is for the caller to judge
    // from the exit status.
    output_with_stdin(
        Command::new(gointerop()).args(args),
        stdin.unwrap_or_default(),
    )
}

/// Runs `gointerop args...`, asserts success, returns stdout.
#[track_caller]
fn go_ok(args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = go(args, stdin);
    assert!(
        out.status.success(),
        "gointerop {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("gointerop prints UTF-8")
}

/// Runs `gointerop args...`, asserts it fails with one `gointerop: ...` line, returns that line.
#[track_caller]
fn go_fails(args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = go(args, stdin);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "gointerop {args:?} should fail; stdout:\n{}\nstderr:\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.starts_with("gointerop: "),
        "unexpected stderr: {stderr}"
    );
    stderr
}

/// `gointerop keygen NAME` → (signer key text, verifier key text).
fn go_keygen(name: &str) -> (String, String) {
    let out = go_ok(&["keygen", name], None);
    let lines: Vec<&str> = out.lines().collect();
    let [skey, vkey] = lines.as_slice() else {
        panic!("keygen printed {out:?}");
    };
    ((*skey).to_owned(), (*vkey).to_owned())
}

/// Writes a signer key file for Go (`sign`, `writelog`), with a trailing newline as a user would.
fn key_file(dir: &Path, skey: &str) -> String {
    let path = dir.join("key");
    std::fs::write(&path, format!("{skey}\n")).expect("write key file");
    path.to_str().expect("UTF-8 temp path").to_owned()
}

fn b64(h: &Hash) -> String {
    h.to_base64()
}

fn hash(s: &str) -> Hash {
    Hash::from_base64(s).unwrap_or_else(|| panic!("Go printed a bad hash {s:?}"))
}

// ---- 1. signed notes ----------------------------------------------------------------------------

/// Note texts that exercise the format: one line, several lines, an inner blank line (the text ends
/// at the *last* blank line), non-ASCII, a checkpoint.
const TEXTS: &[&str] = &[
    "hello\n",
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n",
    "paragraph one\n\nparagraph two, after a blank line\n",
    "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\ned \u{e8} subito sera. \u{2014} \u{1f600}\n",
    "example.com/log\n42\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
];

/// Flips one character of the note text (not of the signatures).
fn tamper_text(signed: &[u8]) -> Vec<u8> {
    let mut t = signed.to_vec();
    let i = t
        .iter()
        .position(|b| b.is_ascii_lowercase())
        .expect("a letter");
    t[i] ^= 0x20; // lowercase → uppercase
    t
}

/// Changes one base64 character inside the signature (after the key id), keeping it canonical.
fn tamper_sig(signed: &[u8]) -> Vec<u8> {
    let s = std::str::from_utf8(signed).expect("UTF-8 note");
    let line_start = s.rfind("\n\u{2014} ").expect("a signature line") + 1;
    let b64_start = line_start + s[line_start..].rfind(' ').expect("a space") + 1;
    let mut t = signed.to_vec();
    let i = b64_start + 20; // well past the key id's 6 base64 characters, well before the padding
    t[i] = if t[i] == b'A' { b'B' } else { b'A' };
    t
}

#[test]
#[ignore = "needs go and Go's x/mod: see .ci/run"]
fn notes_signed_by_go_verify_in_rget_and_back() {
    let dir = tempdir();
    let (go_skey, go_vkey_text) = go_keygen("go.example/signer");
    let go_key_file = key_file(dir.path(), &go_skey);
    let go_vkey = VerifierKey::parse(&go_vkey_text).expect("rget parses Go's vkey");
    let rget_key = SignerKey::generate("rget.example/signer").unwrap();
    let rget_vkey_text = rget_key.verifier_key().to_string();

    for text in TEXTS {
        // Go signs, rget opens.
        let signed = go_ok(&["sign", &go_key_file], Some(text.as_bytes())).into_bytes();
        let opened = note::open(&signed, std::slice::from_ref(&go_vkey))
            .unwrap_or_else(|e| panic!("rget rejects Go's note {text:?}: {e}"));
        assert_eq!(opened.note.text, *text);
        assert_eq!(opened.verified.len(), 1);
        assert_eq!(opened.unknown, 0);
        assert_eq!(
            opened.note.to_bytes(),
            signed,
            "rget re-encodes Go's note differently"
        );
        // Go accepts its own note (sanity) and both reject the tampered ones.
        assert_eq!(go_ok(&["open", &go_vkey_text], Some(&signed)), *text);
        for (what, bad) in [
            ("text", tamper_text(&signed)),
            ("signature", tamper_sig(&signed)),
        ] {
            let err = note::open(&bad, std::slice::from_ref(&go_vkey)).unwrap_err();
            assert!(
                matches!(err, NoteError::InvalidSignature { .. }),
                "tampered {what}: {err}"
            );
            let msg = go_fails(&["open", &go_vkey_text], Some(&bad));
            assert!(msg.contains("invalid signature"), "tampered {what}: {msg}");
        }
        // A note by a key Go does not know is unverified on both sides.
        let err = note::open(&signed, &[rget_key.verifier_key()]).unwrap_err();
        assert!(matches!(err, NoteError::Unverified { unknown: 1 }), "{err}");
        let msg = go_fails(&["open", &rget_vkey_text], Some(&signed));
        assert!(msg.contains("no verifiable signatures"), "{msg}");

        // rget signs, Go opens.
        let signed = note::sign(text, &[&rget_key]).unwrap();
        let out = go(&["open", &rget_vkey_text], Some(&signed));
        assert!(
            out.status.success(),
            "Go rejects rget's note {text:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, text.as_bytes());
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "rget.example/signer\n"
        );
        for bad in [tamper_text(&signed), tamper_sig(&signed)] {
            go_fails(&["open", &rget_vkey_text], Some(&bad));
            assert!(note::open(&bad, &[rget_key.verifier_key()]).is_err());
        }
    }

    // A note signed by both keys (one rget, one Go key used through rget): each side accepts it
    // with either key alone (the other signature is unknown and ignored) and with both.
    let go_key_in_rget = SignerKey::parse(&go_skey).unwrap();
    let text = TEXTS[1];
    let signed = note::sign(text, &[&rget_key, &go_key_in_rget]).unwrap();
    for vkeys in [
        vec![go_vkey_text.as_str()],
        vec![rget_vkey_text.as_str()],
        vec![go_vkey_text.as_str(), rget_vkey_text.as_str()],
    ] {
        let mut args = vec!["open"];
        args.extend(&vkeys);
        assert_eq!(go_ok(&args, Some(&signed)), text);
        let keys: Vec<VerifierKey> = vkeys.iter().map(|v| v.parse().unwrap()).collect();
        let opened = note::open(&signed, &keys).unwrap();
        assert_eq!(opened.verified.len(), keys.len());
        assert_eq!(opened.unknown, 2 - keys.len());
    }
    // A bad signature by one known key rejects the note even though the other one verifies.
    let mut bad = signed.clone();
    let cut = bad.len() - 30; // inside the last (Go key's) signature
    bad[cut] = if bad[cut] == b'A' { b'B' } else { b'A' };
    go_fails(&["open", &go_vkey_text, &rget_vkey_text], Some(&bad));
    assert!(matches!(
        note::open(&bad, &[go_vkey.clone(), rget_key.verifier_key()]),
        Err(NoteError::InvalidSignature { .. })
    ));
}

// ---- 2. keys ------------------------------------------------------------------------------------

/// Key names: plain, URL-like, long, and non-ASCII (the key id hashes the name's UTF-8 bytes).
const NAMES: &[&str] = &[
    "a",
    "example.com/log",
    "sigsum.org/v1/tree/4e89cc51651f0d95f3c6127c15e1a42e3ddf7046c5b17b752689c402e773bb4d",
    "\u{4f8b}\u{3048}.example/\u{43a}\u{43b}\u{44e}\u{447}",
    "x~!@#$%^&*()_=[]{}|;:'\",.<>?/",
];

#[test]
#[ignore = "needs go and Go's x/mod: see .ci/run"]
fn keys_generated_by_either_side_work_on_the_other() {
    let dir = tempdir();
    for name in NAMES {
        // Go's key in rget: same texts back, and rget's signatures verify in Go with Go's vkey.
        let (skey, vkey) = go_keygen(name);
        let k = SignerKey::parse(&skey)
            .unwrap_or_else(|e| panic!("rget rejects Go's key for {name:?}: {e}"));
        assert_eq!(k.name(), *name);
        assert_eq!(
            k.to_string(),
            skey,
            "rget re-encodes Go's private key differently"
        );
        assert_eq!(
            k.verifier_key().to_string(),
            vkey,
            "vkey of Go's key for {name:?}"
        );
        assert_eq!(VerifierKey::parse(&vkey).unwrap(), k.verifier_key());
        let text = format!("signed by {name}\n");
        let signed = note::sign(&text, &[&k]).unwrap();
        assert_eq!(go_ok(&["open", &vkey], Some(&signed)), text);
        // Ed25519 is deterministic: Go's signature with the same key is the same note, byte for byte.
        let kf = key_file(dir.path(), &skey);
        let go_signed = go_ok(&["sign", &kf], Some(text.as_bytes()));
        assert_eq!(
            go_signed.as_bytes(),
            signed,
            "Go and rget sign differently with {name:?}"
        );

        // rget's key in Go: Go signs with it; rget verifies with its own vkey, Go with rget's vkey.
        let k = SignerKey::generate(name).unwrap();
        let vkey = k.verifier_key().to_string();
        let kf = key_file(dir.path(), &k.to_string());
        let go_signed = go_ok(&["sign", &kf], Some(text.as_bytes()));
        let opened = note::open(go_signed.as_bytes(), &[k.verifier_key()]).unwrap_or_else(|e| {
            panic!("rget rejects Go's signature with rget's key {name:?}: {e}")
        });
        assert_eq!(opened.note.text, text);
        assert_eq!(go_ok(&["open", &vkey], Some(go_signed.as_bytes())), text);
        assert_eq!(go_signed.as_bytes(), note::sign(&text, &[&k]).unwrap());
        // The key id in Go's signature line is the one in rget's vkey (Go computed it itself).
        let sig_b64 = go_signed.trim_end().rsplit(' ').next().unwrap();
        let sig = base64_decode(sig_b64);
        assert_eq!(&sig[..4], &k.key_id().to_be_bytes());
    }

    // Keys Go would reject are rejected by rget too, and the reverse: a key id that does not match.
    let (skey, vkey) = go_keygen("example.com/log");
    // Names cannot contain '+' but base64 can: the id is the field after the name.
    let bad_id = |s: &str| {
        let (prefix, rest) = match s.strip_prefix("PRIVATE+KEY+") {
            Some(rest) => ("PRIVATE+KEY+", rest),
            None => ("", s),
        };
        let (name, rest) = rest.split_once('+').unwrap();
        let (id, key) = rest.split_once('+').unwrap();
        let id = u32::from_str_radix(id, 16).unwrap() ^ 1;
        format!("{prefix}{name}+{id:08x}+{key}")
    };
    assert!(SignerKey::parse(&bad_id(&skey)).is_err());
    assert!(VerifierKey::parse(&bad_id(&vkey)).is_err());
    let msg = go_fails(
        &["sign", &key_file(dir.path(), &bad_id(&skey))],
        Some(b"x\n"),
    );
    assert!(msg.contains("signer key"), "{msg}");
    let msg = go_fails(&["open", &bad_id(&vkey)], Some(b"x\n\n"));
    assert!(msg.contains("verifier key"), "{msg}");

    // Key name validity (no Unicode white space, no '+'): Go's NewSigner and rget agree on which
    // names a key file may carry. Go's keygen does not check names, its signer does.
    for name in [
        "a b",
        "a\tb",
        "a\u{85}b",
        "a\u{a0}b",
        "a\u{1680}b",
        "a\u{2007}b",
        "a\u{2028}b",
        "a\u{3000}b",
        "a\u{180e}b",
        "a\u{200b}b",
        "a\u{feff}b",
        "a\u{7f}b",
        "a+b",
        "+",
    ] {
        let (skey, _) = go_keygen(name);
        let go_accepts = go(&["sign", &key_file(dir.path(), &skey)], Some(b"x\n"))
            .status
            .success();
        let rget_accepts = SignerKey::parse(&skey).is_ok();
        assert_eq!(rget_accepts, go_accepts, "key name {name:?}: rget vs Go");
        assert_eq!(
            SignerKey::generate(name).is_ok(),
            go_accepts,
            "generate {name:?}"
        );
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    rget::core::b64::decode(s).expect("base64")
}

// ---- 3. Merkle trees and proofs ---------------------------------------------------------------

fn entry(i: u64) -> Vec<u8> {
    format!("entry {i}\n").into_bytes()
}

/// The largest tree any test needs (65,536 + 3 and 70,000 both fit).
const BIG: u64 = 70_000;

/// The tree of entries `0..BIG`, built once. Proofs for a smaller size `n` only use complete
/// subtrees within `n`, which are the same in every larger tree.
fn big_tree() -> &'static MemoryTree {
    static TREE: OnceLock<MemoryTree> = OnceLock::new();
    TREE.get_or_init(|| MemoryTree::from_leaf_hashes((0..BIG).map(|i| leaf_hash(&entry(i)))))
}

/// A `HashSource` over a shared tree.
struct Shared(&'static MemoryTree);

impl HashSource for Shared {
    fn subtree(&mut self, level: u8, index: u64) -> Result<Hash, MerkleError> {
        self.0.subtree_hash(level, index)
    }
}

fn root_of(n: u64) -> Hash {
    tree_hash(n, &mut Shared(big_tree())).unwrap()
}

/// Output of `gointerop merkle` / `gointerop proofs`.
#[derive(Debug, Default, PartialEq)]
struct GoProofs {
    root: Option<Hash>,
    inclusion: Vec<(u64, Vec<Hash>)>,
    consistency: Vec<(u64, Vec<Hash>)>,
}

fn parse_go_proofs(out: &str) -> GoProofs {
    let mut p = GoProofs::default();
    for line in out.lines() {
        let mut words = line.split(' ');
        let kind = words.next().unwrap();
        match kind {
            "root" => {
                assert!(p.root.is_none(), "two roots in {out}");
                p.root = Some(hash(words.next().expect("root hash")));
            }
            "inclusion" | "consistency" => {
                let n: u64 = words.next().unwrap().parse().unwrap();
                let hashes = words.map(hash).collect();
                if kind == "inclusion" {
                    p.inclusion.push((n, hashes));
                } else {
                    p.consistency.push((n, hashes));
                }
            }
            _ => panic!("unexpected line {line:?} from gointerop"),
        }
    }
    p
}

/// Proof arguments `-i I... -c M...` for Go.
fn proof_args(incl: &[u64], cons: &[u64]) -> Vec<String> {
    let mut args = Vec::new();
    for i in incl {
        args.extend(["-i".to_owned(), i.to_string()]);
    }
    for m in cons {
        args.extend(["-c".to_owned(), m.to_string()]);
    }
    args
}

/// Checks Go's root and proofs for a tree of size `n` against rget's, byte for byte, and runs
/// rget's verifiers on Go's proofs (including a tampered copy of each, which must fail).
#[track_caller]
fn check_against_rget(n: u64, go: &GoProofs, incl: &[u64], cons: &[u64]) {
    let tree = &mut Shared(big_tree());
    let root = tree_hash(n, tree).unwrap();
    assert_eq!(go.root, Some(root), "root of size {n}");
    let want_i: Vec<u64> = go.inclusion.iter().map(|(i, _)| *i).collect();
    assert_eq!(
        want_i, incl,
        "Go printed other inclusion proofs than asked for"
    );
    let want_c: Vec<u64> = go.consistency.iter().map(|(m, _)| *m).collect();
    assert_eq!(
        want_c, cons,
        "Go printed other consistency proofs than asked for"
    );

    for (i, go_proof) in &go.inclusion {
        let ours = inclusion_proof(*i, n, tree).unwrap();
        assert_eq!(&ours, go_proof, "inclusion proof of {i} in size {n}");
        let leaf = leaf_hash(&entry(*i));
        verify_inclusion(*i, n, &leaf, go_proof, &root)
            .unwrap_or_else(|e| panic!("rget rejects Go's inclusion proof of {i} in {n}: {e}"));
        if let Some(first) = go_proof.first() {
            let mut bad = go_proof.clone();
            bad[0] = merkle::node_hash(first, first);
            assert!(verify_inclusion(*i, n, &leaf, &bad, &root).is_err());
        }
    }
    for (m, go_proof) in &go.consistency {
        let ours = consistency_proof(*m, n, tree).unwrap();
        assert_eq!(&ours, go_proof, "consistency proof from {m} to {n}");
        let old_root = tree_hash(*m, tree).unwrap();
        verify_consistency(*m, n, &old_root, &root, go_proof)
            .unwrap_or_else(|e| panic!("rget rejects Go's consistency proof {m} → {n}: {e}"));
        if let Some(last) = go_proof.last() {
            let mut bad = go_proof.clone();
            *bad.last_mut().unwrap() = merkle::node_hash(last, last);
            assert!(verify_consistency(*m, n, &old_root, &root, &bad).is_err());
        }
    }
}

#[test]
#[ignore = "needs go and Go's x/mod: see .ci/run"]
fn merkle_roots_and_proofs_match_go_exhaustively_up_to_70() {
    // Size 0: Go prints MTH({}) = SHA-256(""), and so must rget (x/mod's TreeHash(0) would not).
    let go0 = parse_go_proofs(&go_ok(&["merkle", "0"], None));
    assert_eq!(go0.root, Some(sha256(b"")));
    assert_eq!(empty_root(), sha256(b""));
    assert_eq!(MemoryTree::new().root(), empty_root());
    check_against_rget(0, &go0, &[], &[]);

    // One Go process per size (the CLI takes one size), all of them running at once.
    let children: Vec<(u64, Vec<u64>, std::process::Child)> = (1..=70u64)
        .map(|n| {
            let all: Vec<u64> = (0..n).collect();
            let old: Vec<u64> = (1..=n).collect();
            let mut args = vec!["merkle".to_owned(), n.to_string()];
            args.extend(proof_args(&all, &old));
            let child = Command::new(gointerop())
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run gointerop merkle");
            (n, all, child)
        })
        .collect();
    for (n, all, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "gointerop merkle {n}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let go = parse_go_proofs(std::str::from_utf8(&out.stdout).unwrap());
        let old: Vec<u64> = (1..=n).collect();
        check_against_rget(n, &go, &all, &old);
        // A tree of exactly n leaves agrees with the shared big tree.
        let own = MemoryTree::from_leaf_hashes((0..n).map(|i| leaf_hash(&entry(i))));
        assert_eq!(Some(own.root()), go.root, "MemoryTree::root of size {n}");
        // Old size 0, which Go refuses: rget proves it with an empty proof from the empty root.
        let root = go.root.unwrap();
        assert_eq!(
            consistency_proof(0, n, &mut Shared(big_tree())).unwrap(),
            vec![]
        );
        verify_consistency(0, n, &empty_root(), &root, &[]).unwrap();
    }
    let msg = go_fails(&["merkle", "5", "-c", "0"], None);
    assert!(msg.contains("old size 0"), "{msg}");
}

/// Indices and old sizes around tile boundaries and powers of two, within `1..=n` / `0..n`.
fn sample_points(n: u64) -> (Vec<u64>, Vec<u64>) {
    let mut pts = BTreeSet::new();
    for p in [
        0u64, 1, 2, 3, 7, 8, 9, 100, 127, 128, 129, 200, 1000, 4096, 30_000, 65_535,
    ] {
        pts.insert(p);
    }
    for b in [255u64, 256, 511, 512, 65_536] {
        for d in [0, 1, 2] {
            pts.insert(b + d);
            pts.insert(b - d);
        }
    }
    for d in 1..=3 {
        pts.insert(n.saturating_sub(d));
    }
    pts.insert(n / 2);
    pts.insert(n);
    let incl = pts.iter().copied().filter(|&i| i < n).collect();
    let cons = pts.iter().copied().filter(|&m| m >= 1 && m <= n).collect();
    (incl, cons)
}

#[test]
#[ignore = "needs go and Go's x/mod: see .ci/run"]
fn merkle_roots_and_proofs_match_go_for_large_sizes() {
    let sizes = [255u64, 256, 257, 511, 512, 513, 1000, 65_536 + 3];
    let children: Vec<_> = sizes
        .iter()
        .map(|&n| {
            let (incl, cons) = sample_points(n);
            let mut args = vec!["merkle".to_owned(), n.to_string()];
            args.extend(proof_args(&incl, &cons));
            let child = Command::new(gointerop())
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run gointerop merkle");
            (n, incl, cons, child)
        })
        .collect();
    for (n, incl, cons, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "gointerop merkle {n}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let go = parse_go_proofs(std::str::from_utf8(&out.stdout).unwrap());
        check_against_rget(n, &go, &incl, &cons);
    }
}

// ---- 4 and 5. tile logs -------------------------------------------------------------------------

/// A `TileReader` over a log directory: `tile.path()` relative to it.
struct DirTiles<'a>(&'a Path);

impl TileReader for DirTiles<'_> {
    fn read_tile(&mut self, tile: &Tile) -> Result<Vec<u8>, TileError> {
        let path = tile.path();
        std::fs::read(self.0.join(&path)).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => TileError::NotFound { path },
            _ => TileError::Read {
                path,
                reason: e.to_string(),
            },
        })
    }
}

/// Every file under `dir`, as relative paths with `/`.
fn files_under(dir: &Path) -> BTreeSet<String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_str().unwrap();
                out.insert(rel.replace(std::path::MAIN_SEPARATOR, "/"));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

/// The entry bundles of a log of `n` entries: full ones, then the partial one if any.
fn bundles(n: u64) -> Vec<Tile> {
    (0..n.div_ceil(256))
        .map(|b| Tile {
            level: TileLevel::Entries,
            index: b,
            width: (n - b * 256).min(256) as u16,
        })
        .collect()
}

/// Reads and verifies `dir/checkpoint` with rget.
fn read_checkpoint(dir: &Path, vkey: &VerifierKey) -> Checkpoint {
    let bytes = std::fs::read(dir.join("checkpoint")).expect("read checkpoint");
    let opened = note::open(&bytes, std::slice::from_ref(vkey)).expect("checkpoint verifies");
    let cp = Checkpoint::parse(&opened.note.text).expect("checkpoint parses");
    assert_eq!(cp.format(), opened.note.text, "checkpoint round trip");
    cp
}

#[test]
#[ignore = "needs go and Go's x/mod: see .ci/run"]
fn logs_written_by_go_read_in_rget() {
    let big = big_tree();
    for (k, n) in [1u64, 255, 256, 257, 70_000].into_iter().enumerate() {
        let dir = tempdir();
        let log = dir.path().join("log");
        let origin = format!("go.example/log-{n}");
        // Alternate between a key made by Go and one made by rget.
        let (skey, vkey) = if k % 2 == 0 {
            let (s, v) = go_keygen(&origin);
            (s, VerifierKey::parse(&v).unwrap())
        } else {
            let key = SignerKey::generate(&origin).unwrap();
            (key.to_string(), key.verifier_key())
        };
        let kf = key_file(dir.path(), &skey);
        go_ok(
            &[
                "writelog",
                log.to_str().unwrap(),
                &n.to_string(),
                &kf,
                &origin,
            ],
            None,
        );

        // Checkpoint: verified, parsed, and the root of our own tree of the same entries.
        let cp = read_checkpoint(&log, &vkey);
        assert_eq!(cp.origin, origin);
        assert!(cp.origin_matches_key(&vkey));
        assert_eq!(cp.size, n);
        assert!(cp.extensions.is_empty());
        let root = root_of(n);
        assert_eq!(cp.root, root, "Go's checkpoint root for size {n}");

        // The files: exactly the checkpoint, every hash tile of a log of size n and every bundle.
        let mut src = Shared(big);
        let published = tiles_to_publish(0, n, &mut src).unwrap();
        let mut want: BTreeSet<String> = published.iter().map(|(t, _)| t.path()).collect();
        want.extend(bundles(n).iter().map(Tile::path));
        want.insert("checkpoint".to_owned());
        assert_eq!(files_under(&log), want, "files of Go's log of size {n}");
        for t in tiles_for_size(n) {
            assert!(
                log.join(t.path()).is_file(),
                "right-edge tile {} missing",
                t.path()
            );
        }
        // Every hash tile Go wrote is byte for byte the one rget would publish.
        for (t, bytes) in &published {
            let go_bytes = std::fs::read(log.join(t.path())).unwrap();
            assert!(
                go_bytes == *bytes,
                "hash tile {} differs from Go's",
                t.path()
            );
        }

        // Through tiles only: the root, inclusion and consistency proofs, verified against the
        // checkpoint root and equal to the proofs from the in-memory tree.
        let mut tiles = TileHashSource::new(DirTiles(&log), n);
        assert_eq!(tree_hash(n, &mut tiles).unwrap(), cp.root);
        let (incl, cons) = sample_points(n);
        for &i in &incl {
            let proof = inclusion_proof(i, n, &mut tiles).unwrap();
            verify_inclusion(i, n, &leaf_hash(&entry(i)), &proof, &cp.root).unwrap();
            assert_eq!(proof, inclusion_proof(i, n, &mut src).unwrap());
        }
        for &m in &cons {
            let proof = consistency_proof(m, n, &mut tiles).unwrap();
            let old_root = tree_hash(m, &mut tiles).unwrap();
            assert_eq!(old_root, root_of(m));
            verify_consistency(m, n, &old_root, &cp.root, &proof).unwrap();
        }

        // Entry bundles: the entries, whose leaf hashes rebuild the checkpoint root.
        let mut rebuilt = MemoryTree::new();
        for b in bundles(n) {
            let bytes = std::fs::read(log.join(b.path())).unwrap();
            let entries = decode_bundle(&bytes, b.width)
                .unwrap_or_else(|e| panic!("bundle {}: {e}", b.path()));
            for (j, e) in entries.iter().enumerate() {
                let i = b.index * 256 + j as u64;
                assert_eq!(*e, entry(i).as_slice(), "entry {i}");
                rebuilt.append(leaf_hash(e));
            }
        }
        assert_eq!(rebuilt.size(), n);
        assert_eq!(rebuilt.root(), cp.root);
    }
}

/// Writes the tiles, bundles and checkpoint of growing a log from `old` to `new` entries with rget's
/// code only. Tiles published for smaller sizes stay in place (a real log leaves them).
fn rget_grow_log(dir: &Path, key: &SignerKey, old: u64, new: u64) {
    let write = |rel: &str, bytes: &[u8]| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    };
    for (t, bytes) in tiles_to_publish(old, new, &mut Shared(big_tree())).unwrap() {
        write(&t.path(), &bytes);
    }
    for b in bundles(new).into_iter().skip((old / 256) as usize) {
        let entries: Vec<Vec<u8>> = (0..u64::from(b.width))
            .map(|j| entry(b.index * 256 + j))
            .collect();
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        write(&b.path(), &encode_bundle(&refs).unwrap());
    }
    let cp = Checkpoint {
        origin: key.name().to_owned(),
        size: new,
        root: root_of(new),
        extensions: Vec::new(),
    };
    write("checkpoint", &note::sign(&cp.format(), &[key]).unwrap());
}

/// Go's `checklog` and `proofs` over an rget-written log of size `n` agree with rget.
#[track_caller]
fn go_checks_rget_log(dir: &Path, vkey: &str, n: u64) {
    let d = dir.to_str().unwrap();
    let out = go_ok(&["checklog", d, vkey], None);
    assert_eq!(
        out,
        format!("ok {n} {}\n", b64(&root_of(n))),
        "checklog of size {n}"
    );
    let (incl, cons) = sample_points(n);
    let mut args = vec!["proofs".to_owned(), d.to_owned(), vkey.to_owned()];
    args.extend(proof_args(&incl, &cons));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let go = parse_go_proofs(&go_ok(&args, None));
    check_against_rget(n, &go, &incl, &cons);
    // And rget's own tile reader over the same directory gives the same proofs as Go.
    let mut tiles = TileHashSource::new(DirTiles(dir), n);
    for (i, p) in &go.inclusion {
        assert_eq!(&inclusion_proof(*i, n, &mut tiles).unwrap(), p);
    }
    for (m, p) in &go.consistency {
        assert_eq!(&consistency_proof(*m, n, &mut tiles).unwrap(), p);
    }
}

/// Flips one byte of `dir/rel`, checks that Go's `checklog` then fails mentioning `expect`, and
/// restores the file.
#[track_caller]
fn go_detects_corruption(dir: &Path, vkey: &str, rel: &str, offset: usize, expect: &str) {
    let path = dir.join(rel);
    let good = std::fs::read(&path).unwrap();
    let mut bad = good.clone();
    bad[offset] ^= 0x01;
    std::fs::write(&path, &bad).unwrap();
    let msg = go_fails(&["checklog", dir.to_str().unwrap(), vkey], None);
    assert!(msg.contains(expect), "corrupting {rel}: {msg}");
    std::fs::write(&path, &good).unwrap();
}

#[test]
#[ignore = "needs go and Go's x/mod: see .ci/run"]
fn logs_written_by_rget_check_in_go() {
    let key = SignerKey::generate("rget.example/log").unwrap();
    let vkey = key.verifier_key().to_string();

    // Logs written at once.
    for n in [1u64, 255, 256, 257, 65_539] {
        let dir = tempdir();
        rget_grow_log(dir.path(), &key, 0, n);
        go_checks_rget_log(dir.path(), &vkey, n);
    }

    // One log grown in uneven steps; stale partial tiles of earlier sizes stay behind.
    let dir = tempdir();
    let mut old = 0;
    for n in [100u64, 256, 700, 65_539] {
        rget_grow_log(dir.path(), &key, old, n);
        go_checks_rget_log(dir.path(), &vkey, n);
        old = n;
    }
    let files = files_under(dir.path());
    for stale in [
        "tile/0/000.p/100",
        "tile/entries/000.p/100",
        "tile/0/002.p/188",
    ] {
        assert!(
            files.contains(stale),
            "stale partial tile {stale} should be left in place"
        );
    }

    // The check is live: one flipped byte anywhere makes Go's checklog fail.
    let d = dir.path();
    go_detects_corruption(d, &vkey, "tile/0/005", 100, "hash tile tile/0/005");
    go_detects_corruption(d, &vkey, "tile/1/000", 8000, "hash tile tile/1/000");
    go_detects_corruption(d, &vkey, "tile/2/000.p/1", 0, "hash tile tile/2/000.p/1");
    go_detects_corruption(d, &vkey, "tile/0/256.p/3", 40, "hash tile tile/0/256.p/3");
    go_detects_corruption(d, &vkey, "tile/entries/017", 5, "tile/entries/017");
    go_detects_corruption(d, &vkey, "checkpoint", 3, "checkpoint");
    // Restored: fine again.
    go_checks_rget_log(d, &vkey, 65_539);
}
