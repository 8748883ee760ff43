//! `rget sigsum verify`, the real binary, on the proof published with the `sigsum` crate (a real
//! version 2 proof from the Sigsum test log, policy `sigsum-test-2025-3`) and on every way to spoil
//! it: each must be refused with its documented exit code (1 does not verify, 3 does not parse) and
//! one line naming the problem.

use crate::common;
use crate::common::sigsum as sigsum_world;

use common::{RGET, assert_code, code, stderr, stdout};
use rget::core::digest::sha256;
use rget::core::ed25519::Seed;
use rget::core::merkle;
use rget::core::openssh;
use rget::core::sigsum::builtin;
use sigsum_world::{LineKind, Spoil, data_dir, published_as_v1, published_proof, spoilings};
use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const TEST_POLICY: &str = "sigsum-test-2025-3";

/// Runs `rget sigsum verify ARGS` with `data` on standard input, in `dir`.
fn verify(dir: &Path, args: &[&str], data: &[u8]) -> Output {
    let input = dir.join(format!("stdin-{}", sha256(data)));
    fs::write(&input, data).unwrap();
    Command::new(RGET)
        .arg("sigsum")
        .arg("verify")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::from(fs::File::open(&input).unwrap()))
        .output()
        .unwrap()
}

/// The published key, data and proof, in a fresh directory.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(data_dir().join("hello.pub"), dir.path().join("hello.pub")).unwrap();
    fs::write(dir.path().join("proof"), published_proof()).unwrap();
    dir
}

/// Exactly one line on stderr, starting `rget: `, containing `want`.
#[track_caller]
fn one_line(out: &Output, want: &str) {
    let e = stderr(out);
    assert!(
        e.starts_with("rget: ") && e.ends_with('\n') && e.matches('\n').count() == 1,
        "not one line: {e:?}"
    );
    assert!(e.contains(want), "{e:?} does not say {want:?}");
}

#[test]
fn the_published_proof_verifies() {
    let dir = setup();
    let d = dir.path();
    let data = sigsum_world::PUBLISHED_DATA;
    let out = verify(d, &["-k", "hello.pub", "-P", TEST_POLICY, "proof"], data);
    assert_code(&out, 0);
    assert!(stdout(&out).is_empty(), "the summary goes to stderr");
    let e = stderr(&out);
    assert!(e.contains("leaf index 381381 in tree size 381382"), "{e}");
    assert!(e.contains(&format!("sha256     {}", sha256(data))), "{e}");

    // --json: one object on stdout with the log, leaf index, tree size and the witnesses.
    let out = verify(
        d,
        &["--json", "-k", "hello.pub", "-P", TEST_POLICY, "proof"],
        data,
    );
    assert_code(&out, 0);
    let j = stdout(&out);
    assert_eq!(j.lines().count(), 1);
    for want in [
        "\"leaf_index\":381381",
        "\"tree_size\":381382",
        "\"key_hash\":\"1643169b32bef33a3f54f8a353b87c475d19b6223cbb106390d10a29978e1cba\"",
        "\"url\":\"https://serviceberry.tlog.stagemole.eu\"",
        "\"signer_key_hash\":\"2c8d843ed6237e9ea033207113329fdd1428c75f8fd3c6782ae46c92c7a00c40\"",
        "{\"name\":\"poc.sigsum.org/nisse\",\"timestamp\":1770193051}",
        "\"policy\":\"sigsum-test-2025-3\"",
    ] {
        assert!(j.contains(want), "{j} lacks {want}");
    }
    assert_eq!(j.matches("\"name\":").count(), 8, "{j}");

    // The same policy as a file (-p), and the policy named by the key file's option.
    fs::write(d.join("policy"), builtin::text(TEST_POLICY).unwrap()).unwrap();
    assert_code(
        &verify(d, &["-k", "hello.pub", "-p", "policy", "proof"], data),
        0,
    );
    let key = fs::read_to_string(d.join("hello.pub")).unwrap();
    let line = key.lines().find(|l| l.starts_with("ssh-ed25519")).unwrap();
    fs::write(
        d.join("named.pub"),
        format!("sigsum-policy=\"{TEST_POLICY}\" {line}\n"),
    )
    .unwrap();
    assert_code(&verify(d, &["-k", "named.pub", "proof"], data), 0);
    // -P wins over the key file's option, as in sigsum-verify.
    let out = verify(
        d,
        &["-k", "named.pub", "-P", "sigsum-generic-2025-1", "proof"],
        data,
    );
    assert_code(&out, 1);
    one_line(&out, "not a log of the policy");

    // --raw-hash: the 32-byte message itself, raw or in hex.
    let message = sha256(data);
    let args = ["--raw-hash", "-k", "hello.pub", "-P", TEST_POLICY, "proof"];
    assert_code(&verify(d, &args, &message.0), 0);
    assert_code(&verify(d, &args, format!("{message}\n").as_bytes()), 0);
    let out = verify(d, &args, data);
    assert_code(&out, 3);
    one_line(&out, "want exactly 32 bytes or 64 hex digits");
    let out = verify(d, &args, &sha256(b"x").0);
    assert_code(&out, 1);
    one_line(&out, "does not verify for this data");

    // A version 1 rewrite of the same proof verifies; with another checksum prefix it names the
    // mismatch.
    fs::write(d.join("v1"), published_as_v1(None)).unwrap();
    assert_code(
        &verify(d, &["-k", "hello.pub", "-P", TEST_POLICY, "v1"], data),
        0,
    );
    fs::write(d.join("v1-bad"), published_as_v1(Some([0, 0]))).unwrap();
    let out = verify(d, &["-k", "hello.pub", "-P", TEST_POLICY, "v1-bad"], data);
    assert_code(&out, 1);
    one_line(
        &out,
        "the proof is for other data: its leaf checksum starts with 0000",
    );
}

/// The exit code each spoiling of the published proof must give, and why.
fn expected(s: &Spoil) -> i32 {
    use LineKind::*;
    match s {
        // 8 witnesses cosigned and the quorum needs 4 of 6 members (one of which is 2 of 3): any
        // single cosignature can go, their order does not matter, and a cosignature whose key hash
        // names no policy witness is ignored.
        Spoil::Drop(Cosignature)
        | Spoil::Swap(Cosignature, Cosignature)
        | Spoil::HexDigit(Cosignature, 0) => 0,
        // Well-formed, but a value that no longer checks out: unknown log or submitter, bad
        // leaf/log/witness signature, a root the log did not sign, a path that leads elsewhere.
        Spoil::HexDigit(..) | Spoil::Swap(NodeHash, NodeHash) => 1,
        // Everything else breaks the format: missing, repeated or misplaced lines, hex of the wrong
        // case or length, stray white space, truncation.
        _ => 3,
    }
}

#[test]
fn every_spoiling_of_the_published_proof_is_refused_with_its_code() {
    let dir = setup();
    let d = dir.path();
    let data = sigsum_world::PUBLISHED_DATA;
    let spoiled = spoilings(&published_proof());
    let mut seen = std::collections::BTreeMap::new();
    for (i, (spoil, text)) in spoiled.iter().enumerate() {
        let name = format!("spoiled-{i}");
        fs::write(d.join(&name), text).unwrap();
        let out = verify(d, &["-k", "hello.pub", "-P", TEST_POLICY, &name], data);
        let want = expected(spoil);
        assert_eq!(
            code(&out),
            want,
            "{spoil:?}\n{text}\nstderr: {}",
            stderr(&out)
        );
        if want != 0 {
            // One line, naming the proof file and, for parse errors, the line or the block.
            one_line(&out, &format!("rget: {name}: "));
        }
        *seen.entry(want).or_insert(0) += 1;
    }
    // Every class was exercised.
    assert!(
        seen[&0] >= 8 && seen[&1] >= 20 && seen[&3] >= 300,
        "{seen:?}"
    );
}

#[test]
fn field_changes_name_what_failed() {
    let dir = setup();
    let d = dir.path();
    let data = sigsum_world::PUBLISHED_DATA;
    let proof = published_proof();
    let edit = |from: &str, to: &str| proof.replacen(from, to, 1);
    let line = |prefix: &str| {
        proof
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap()
            .to_owned()
    };
    let last_node = proof.lines().last().unwrap().to_owned();
    let cosig = line("cosignature=");
    let ts_changed = cosig.replacen("1770193051", "1770193052", 1);
    let size_up = merkle::inclusion_proof_len(381381, 381383) == 10;
    let cases: Vec<(String, i32, &str)> = vec![
        (
            edit("log=1", "log=2"),
            1,
            "which is not a log of the policy",
        ),
        (
            edit("leaf=2c", "leaf=3c"),
            1,
            "which is none of the 1 submitter keys",
        ),
        (
            edit(
                "leaf=2c8d843ed6237e9ea033207113329fdd1428c75f8fd3c6782ae46c92c7a00c40 38",
                "leaf=2c8d843ed6237e9ea033207113329fdd1428c75f8fd3c6782ae46c92c7a00c40 39",
            ),
            1,
            "does not verify for this data",
        ),
        (
            edit("root_hash=9", "root_hash=a"),
            1,
            "invalid signature by known key sigsum.org/v1/tree/1643169b",
        ),
        (
            edit("signature=8a", "signature=8b"),
            1,
            "invalid signature by known key sigsum.org/v1/tree/1643169b",
        ),
        (
            edit(&cosig, &ts_changed),
            1,
            "invalid signature by known key poc.sigsum.org/nisse",
        ),
        (
            edit("size=381382", "size=381381"),
            3,
            "leaf index 381381 is outside the tree of size 381381",
        ),
        (
            edit("size=381382", "size=381383"),
            if size_up { 1 } else { 3 },
            if size_up {
                "invalid signature by known key"
            } else {
                "node hashes"
            },
        ),
        (
            edit("leaf_index=381381", "leaf_index=381380"),
            1,
            "the inclusion proof does not tie the leaf to the tree head",
        ),
        (
            edit(&last_node, &last_node.replace("e1c7", "e1c8")),
            1,
            "the inclusion proof does not tie the leaf to the tree head",
        ),
        (
            edit("version=2", "version=3"),
            3,
            "version \"3\" is not supported",
        ),
        (
            edit("version=2", "version=1"),
            3,
            "line 3: leaf is not three values",
        ),
        (
            edit(&format!("{last_node}\n"), ""),
            3,
            "has 9 node hashes; leaf index 381381 in a tree of size 381382 needs 10",
        ),
        (
            edit("\n\nleaf_index", "\nleaf_index"),
            3,
            "line 16: expected \"cosignature=...\" or a blank line",
        ),
        (
            edit("size=381382", "size=0381382"),
            3,
            "line 5: size is not a decimal number",
        ),
        (
            format!("{proof}node_hash={}\n", "0".repeat(64)),
            3,
            "has 11 node hashes; leaf index 381381 in a tree of size 381382 needs 10",
        ),
        (
            format!(
                "{proof}{}",
                format!("node_hash={}\n", "0".repeat(64)).repeat(10)
            ),
            3,
            "line 37: more node hashes than a tree of size 381382 allows (19)",
        ),
    ];
    for (i, (text, want, says)) in cases.iter().enumerate() {
        let name = format!("case-{i}");
        fs::write(d.join(&name), text).unwrap();
        let out = verify(d, &["-k", "hello.pub", "-P", TEST_POLICY, &name], data);
        assert_code(&out, *want);
        if *want != 0 {
            one_line(&out, says);
        }
    }
}

#[test]
fn cosignatures_removed_until_below_the_quorum() {
    let dir = setup();
    let d = dir.path();
    let data = sigsum_world::PUBLISHED_DATA;
    let proof = published_proof();
    // The witnesses of the published proof, in its order (from --json of the full proof).
    let out = verify(
        d,
        &["--json", "-k", "hello.pub", "-P", TEST_POLICY, "proof"],
        data,
    );
    assert_code(&out, 0);
    let j = stdout(&out);
    let order: Vec<String> = j
        .split("{\"name\":\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect();
    assert_eq!(order.len(), 8);
    // An oracle for sigsum-test-2025-3 written out by hand: 4 of {2 of the Glasklar three, and five
    // single witnesses}.
    let quorum = |present: &[String]| {
        let has = |n: &str| present.iter().any(|p| p == n);
        let glasklar = [
            "poc.sigsum.org/nisse",
            "rgdd.se/poc-witness",
            "witness1.smartit.nu/witness1",
        ]
        .iter()
        .filter(|n| has(n))
        .count()
            >= 2;
        let singles = [
            "witness.navigli.sunlight.geomys.org",
            "remora.n621.de",
            "witness.stagemole.eu",
            "tillitis.se/test-witness-1",
            "transparency.dev/DEV:witness-little-garden",
        ]
        .iter()
        .filter(|n| has(n))
        .count();
        usize::from(glasklar) + singles >= 4
    };
    let mut lines: Vec<&str> = proof.lines().collect();
    let mut removed = 0;
    let mut refused = false;
    while let Some(pos) = lines.iter().position(|l| l.starts_with("cosignature=")) {
        lines.remove(pos);
        removed += 1;
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let name = format!("fewer-{removed}");
        fs::write(d.join(&name), text).unwrap();
        let out = verify(d, &["-k", "hello.pub", "-P", TEST_POLICY, &name], data);
        if quorum(&order[removed..]) {
            assert_code(&out, 0);
        } else {
            assert_code(&out, 1);
            one_line(&out, "quorum not met");
            refused = true;
        }
    }
    assert!(refused && removed == 8);
}

#[test]
fn other_keys_data_and_policies() {
    let dir = setup();
    let d = dir.path();
    let data = sigsum_world::PUBLISHED_DATA;
    let other = openssh::format_public_key(&Seed([1; 32]).public_key(), "other");
    fs::write(d.join("other.pub"), format!("{other}\n")).unwrap();
    let out = verify(d, &["-k", "other.pub", "-P", TEST_POLICY, "proof"], data);
    assert_code(&out, 1);
    one_line(&out, "which is none of the 1 submitter keys");
    // With the right key among others, it verifies.
    let right = fs::read_to_string(d.join("hello.pub")).unwrap();
    fs::write(
        d.join("both.pub"),
        format!("# two keys\n{other}\n\n{right}"),
    )
    .unwrap();
    assert_code(
        &verify(d, &["-k", "both.pub", "-P", TEST_POLICY, "proof"], data),
        0,
    );

    for other_data in [&b"Hello, Sigsum?\n"[..], b"Hello, Sigsum!", b""] {
        let out = verify(
            d,
            &["-k", "hello.pub", "-P", TEST_POLICY, "proof"],
            other_data,
        );
        assert_code(&out, 1);
        one_line(&out, "does not verify for this data");
    }

    // The log alone, no quorum: verifies. A witness that did not cosign as the quorum: refused.
    let log = "log 47e481606d8acba747a6b053d6c2d191605fb122175d410a1202a91430abce39\n";
    fs::write(d.join("log-only"), format!("{log}quorum none\n")).unwrap();
    assert_code(
        &verify(d, &["-k", "hello.pub", "-p", "log-only", "proof"], data),
        0,
    );
    fs::write(
        d.join("absent-witness"),
        format!(
            "{log}witness absent {}\nquorum absent\n",
            hex::encode(Seed([2; 32]).public_key())
        ),
    )
    .unwrap();
    let out = verify(
        d,
        &["-k", "hello.pub", "-p", "absent-witness", "proof"],
        data,
    );
    assert_code(&out, 1);
    one_line(
        &out,
        "quorum not met: cosigned by 0 of 1 policy witnesses (none), needs a cosignature by witness absent",
    );
    // The other test log only: the proof's log is not in it.
    fs::write(
        d.join("barreleye"),
        "log 4644af2abd40f4895a003bca350f9d5912ab301a49c77f13e5b6d905c20a5fe6\nquorum none\n",
    )
    .unwrap();
    let out = verify(d, &["-k", "hello.pub", "-p", "barreleye", "proof"], data);
    assert_code(&out, 1);
    one_line(&out, "the tree head is from log key hash 1643169b");
}

#[test]
fn bad_invocations_and_inputs() {
    let dir = setup();
    let d = dir.path();
    let data = sigsum_world::PUBLISHED_DATA;
    let rsa = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/openssh/rsa.pub");
    let rsa = rsa.to_str().unwrap();
    fs::write(d.join("empty.pub"), "# nothing\n\n").unwrap();
    fs::write(d.join("bad-policy"), "log 47e4\nquorum none\n").unwrap();
    fs::write(d.join("big"), "x".repeat(64 * 1024)).unwrap();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["-k", rsa, "-P", TEST_POLICY, "proof"],
            3,
            "key type \"ssh-rsa\" is not supported",
        ),
        (
            vec!["-k", "empty.pub", "-P", TEST_POLICY, "proof"],
            3,
            "key file has no keys",
        ),
        (
            vec!["-k", "missing.pub", "-P", TEST_POLICY, "proof"],
            7,
            "missing.pub: no such file or directory",
        ),
        (
            vec!["-k", "hello.pub", "-P", TEST_POLICY, "missing"],
            7,
            "missing: no such file or directory",
        ),
        (
            vec!["-k", "hello.pub", "-p", "missing", "proof"],
            7,
            "missing: no such file or directory",
        ),
        (
            vec!["-k", "hello.pub", "-p", "bad-policy", "proof"],
            3,
            "bad-policy: policy line 1: log key is not 64 hexadecimal digits",
        ),
        (
            vec!["-k", "hello.pub", "-P", TEST_POLICY, "big"],
            3,
            "big: larger than 32768 bytes, not a Sigsum proof",
        ),
        (
            vec!["-k", "hello.pub", "-P", "sigsum-test-2099", "proof"],
            2,
            "unknown policy name \"sigsum-test-2099\"",
        ),
        (
            vec!["-k", "hello.pub", "proof"],
            2,
            "no policy: give -p POLICYFILE or -P NAME",
        ),
        (
            vec!["-k", "hello.pub", "-p", "x", "-P", TEST_POLICY, "proof"],
            2,
            "cannot be used with",
        ),
        (vec!["-k", "hello.pub", "-P", TEST_POLICY], 2, "<PROOF>"),
        (vec!["-P", TEST_POLICY, "proof"], 2, "--key <KEYFILE>"),
    ];
    for (args, want, says) in cases {
        let out = verify(d, &args, data);
        assert_code(&out, want);
        one_line(&out, says);
    }
}

#[test]
fn help_teaches() {
    let out = Command::new(RGET)
        .args(["sigsum", "verify", "--help"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let h = stdout(&out);
    for want in [
        "sigsum-generic-2025-1",
        "sigsum-test-2025-3",
        "Examples:",
        "--raw-hash",
        "Exit codes: 0 verified, 1",
        "ssh-ed25519",
    ] {
        assert!(h.contains(want), "help lacks {want}");
    }
    let out = Command::new(RGET)
        .args(["sigsum", "--help"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert!(stdout(&out).contains("verify"));
}
