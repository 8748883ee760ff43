//! The current C2SP tlog-witness protocol, checked against real requests: a real checkpoint of Go's
//! checksum database and litewitness's Sigsum requests (its test data, `tests/data/litewitness`), a
//! real tree head of the Sigsum test log serviceberry under the witness network's real testing list,
//! checkpoints that carry signatures of other types as CT static logs' do, and the 429 a log gets
//! past its `qpd`. Every cosignature is checked with `ring` (`common::cosig`).

use super::{add, cosigned, data, monitoring, request, signed, witness, witness_init};
use crate::common::log::{Answer, agent, get};
use crate::common::{cosig, tempdir};
use rget::core::checkpoint::Checkpoint;
use rget::core::digest::{Hash, sha256};
use rget::core::merkle::empty_root;
use rget::core::note::{self, NoteSignature, SignerKey};
use rget::core::sigsum::proof::SigsumProof;
use rget::core::sigsum::{builtin, key_hash, verify::checkpoint_note};
use std::time::{SystemTime, UNIX_EPOCH};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Asserts a 200 whose body is one cosignature line by `wkey` over the request's checkpoint, valid by
/// `ring`, made between `since` and now; returns the cosigned note.
#[track_caller]
fn assert_cosigned(wkey: &str, body: &[u8], a: &Answer, since: u64) -> Vec<u8> {
    assert_eq!(a.status, 200, "{}", a.text());
    let name = wkey.split('+').next().unwrap();
    assert!(
        a.text().starts_with(&format!("\u{2014} {name} ")) && a.text().lines().count() == 1,
        "{}",
        a.text()
    );
    let note = cosigned(body, a);
    let ts = cosig::verify(wkey, &note).unwrap_or_else(|e| panic!("{e}: {}", a.text()));
    assert!(since <= ts && ts <= now() + 1, "timestamp {ts}");
    note
}

const SUMDB_VKEY: &str = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
const SUMDB_ORIGIN: &str = "go.sum database tree";

#[test]
fn a_real_checkpoint_of_gos_checksum_database_is_cosigned() {
    let t = tempdir();
    let dir = t.path().join("w");
    let wkey = witness_init(&dir, "witness.test/network");
    // Go's checksum database as a log list names it: the key is sum.golang.org, the origin is not.
    let list = t.path().join("list");
    std::fs::write(
        &list,
        format!(
            "logs/v0\nvkey {SUMDB_VKEY}\norigin {SUMDB_ORIGIN}\nqpd 1440\ncontact golang-dev@googlegroups.com\n"
        ),
    )
    .unwrap();
    let w = witness(&dir, &["--log-list".as_ref(), list.as_os_str()]);
    let since = now();
    // litewitness's request: `old 0`, no proof, the checkpoint of size 35225469 signed by Go.
    let body = std::fs::read(data("litewitness/sumdb-add-checkpoint")).unwrap();
    let a = add(&w.base, &body);
    let note = assert_cosigned(&wkey, &body, &a, since);
    let cp = Checkpoint::parse(&note::parse(&note).unwrap().text).unwrap();
    assert_eq!((cp.origin.as_str(), cp.size), (SUMDB_ORIGIN, 35_225_469));

    // The monitoring endpoint serves it: Go's signature and this witness's cosignature.
    let m = get(&agent(), &w.url(&monitoring(SUMDB_ORIGIN)));
    assert_eq!(m.status, 200);
    assert_eq!(
        cosig::verify(&wkey, &m.body).unwrap(),
        cosig::verify(&wkey, &note).unwrap()
    );
    let vkey = note::VerifierKey::parse(SUMDB_VKEY).unwrap();
    assert!(
        note::open(&m.body, &[vkey]).is_ok(),
        "Go's signature is kept"
    );
    assert!(String::from_utf8_lossy(&m.body).starts_with("go.sum database tree\n35225469\n"));

    // The same request again: the witness holds 35225469 now, so `old 0` is a conflict, with the
    // size and its content type; `old 35225469` (the same tree, no proof) is cosigned again.
    let c = add(&w.base, &body);
    assert_eq!((c.status, c.text().as_str()), (409, "35225469\n"));
    assert_eq!(c.content_type.as_deref(), Some("text/x.tlog.size"));
    let again = [b"old 35225469".as_slice(), &body[b"old 0".len()..]].concat();
    assert_cosigned(&wkey, &again, &add(&w.base, &again), since);
    // One flipped bit in Go's signature: 403; the same tree under another origin: 404.
    let mut forged = body.clone();
    let n = forged.len();
    forged[n - 10] ^= 1;
    assert_eq!(add(&w.base, &forged).status, 403);
    let other = String::from_utf8(body.clone())
        .unwrap()
        .replace(SUMDB_ORIGIN, "go.sum database tree 2");
    assert_eq!(add(&w.base, other.as_bytes()).status, 404);
}

/// The key of the Sigsum log in litewitness's `litewitness.txt`.
const LITEWITNESS_SIGSUM_KEY: &str =
    "ffdc2d4d98e4124d3feaf788c0c2f9abfd796083d1f0495437f302ec79cf100f";

#[test]
fn litewitness_requests_for_a_sigsum_log_get_the_answers_of_the_current_spec() {
    let key: [u8; 32] = hex::decode(LITEWITNESS_SIGSUM_KEY)
        .unwrap()
        .try_into()
        .unwrap();
    let origin = format!("sigsum.org/v1/tree/{}", key_hash(&key).to_hex());
    assert_eq!(
        origin,
        "sigsum.org/v1/tree/4d6d8825a6bb689d459628312889dfbb0bcd41b5211d9e1ce768b0ff0309e562"
    );
    let t = tempdir();
    let dir = t.path().join("w");
    let wkey = witness_init(&dir, "example.com/witness");
    // The log configured as Sigsum's own policy format names it: by its hex key.
    let policy = t.path().join("sigsum-policy");
    std::fs::write(
        &policy,
        format!("log {LITEWITNESS_SIGSUM_KEY}\nquorum none\n"),
    )
    .unwrap();
    let w = witness(&dir, &["--policy".as_ref(), policy.as_os_str()]);
    let since = now();
    // What litewitness answers, and what rget answers where the spec changed since: an unknown
    // origin is 404 now ("If the checkpoint origin is unknown, the witness MUST respond with a
    // 404"), litewitness's script still expects 403.
    let want: [(u16, Option<&str>); 9] = [
        (200, None),
        (403, None), // a signature by the log's key that does not verify
        (404, None), // unknown origin (litewitness: 403)
        (422, None), // old 1 without a proof
        (422, None), // a wrong proof
        (200, None),
        (409, Some("3\n")),
        (200, None),
        (409, Some("5\n")),
    ];
    for (i, (status, text)) in want.into_iter().enumerate() {
        let body = std::fs::read(data(&format!("litewitness/sigsum-{:02}", i + 1))).unwrap();
        let a = add(&w.base, &body);
        assert_eq!(a.status, status, "request {}: {}", i + 1, a.text());
        if status == 200 {
            assert_cosigned(&wkey, &body, &a, since);
        }
        if let Some(text) = text {
            assert_eq!(a.text(), text, "request {}", i + 1);
            assert_eq!(a.content_type.as_deref(), Some("text/x.tlog.size"));
        }
    }
    // As litewitness's script checks at the end: the witness holds size 5.
    let m = get(&agent(), &w.url(&super::monitoring(&origin)));
    let cp = Checkpoint::parse(&note::parse(&m.body).unwrap().text).unwrap();
    assert_eq!(cp.size, 5);
    cosig::verify(&wkey, &m.body).unwrap();
}

#[test]
fn a_real_sigsum_tree_head_is_cosigned_for_a_log_of_the_real_testing_list() {
    let t = tempdir();
    let dir = t.path().join("w");
    let wkey = witness_init(&dir, "witness.test/sigsum");
    let list = data("witness-network/testing-log-list.1");
    let w = witness(&dir, &["--log-list".as_ref(), list.as_os_str()]);
    // The tree head of a real proof from the Sigsum test log serviceberry, as the checkpoint its
    // witnesses cosigned (with their eight cosignatures, ignored as unknown keys).
    let proof = SigsumProof::parse(&std::fs::read(data("sigsum/hello-v2.proof")).unwrap()).unwrap();
    let policy = builtin::policy("sigsum-test-2025-3").unwrap().unwrap();
    let note_bytes = checkpoint_note(&proof, &policy).unwrap();
    assert!(note::parse(&note_bytes).unwrap().signatures.len() > 2);
    let body = request(0, &[], &note_bytes);
    let since = now();
    let cosigned_note = assert_cosigned(&wkey, &body, &add(&w.base, &body), since);
    let cp = Checkpoint::parse(&note::parse(&cosigned_note).unwrap().text).unwrap();
    assert_eq!(cp.size, 381_382);
    // The monitoring endpoint keeps the log's signature and this witness's, not the others'.
    let m = get(&agent(), &w.url(&monitoring(&cp.origin)));
    assert_eq!(note::parse(&m.body).unwrap().signatures.len(), 2);
    cosig::verify(&wkey, &m.body).unwrap();
    // A tree head whose log signature is spoilt is refused, whatever its cosignatures.
    let mut spoilt = note::parse(&note_bytes).unwrap();
    spoilt.signatures[0].sig[0] ^= 1;
    let r = add(&w.base, &request(381_382, &[], &spoilt.to_bytes()));
    assert_eq!(r.status, 403, "{}", r.text());
}

/// Static CT logs (and Rekor v2) sign their checkpoints twice under the log's name: with the
/// Ed25519 key the witness network lists, and with a key of another type (ECDSA, RFC 6962 note
/// signature type 0x05) that witnesses do not know. The second line has the same name but another
/// key id, so it is ignored, as signed-note requires.
#[test]
fn checkpoints_with_signatures_of_other_types_are_witnessed() {
    let t = tempdir();
    let dir = t.path().join("w");
    let wkey = witness_init(&dir, "witness.test/ct");
    let origin = "arche2099h1.staging.ct.example";
    let log = SignerKey::generate(origin).unwrap();
    let list = t.path().join("list");
    std::fs::write(
        &list,
        format!(
            "logs/v0\nvkey {}\nqpd 86400\ncontact ct@example\n",
            log.verifier_key()
        ),
    )
    .unwrap();
    let w = witness(&dir, &["--log-list".as_ref(), list.as_os_str()]);
    let mut n = note::parse(&signed(&log, origin, 7, &sha256(b"ct tree"))).unwrap();
    let ecdsa = NoteSignature {
        name: origin.to_owned(),
        id: note::key_id(origin, 0x05, b"an ECDSA P-256 public key"),
        // timestamp (8 bytes) and a DER ECDSA signature of typical length
        sig: vec![0x30; 8 + 71],
    };
    n.signatures.insert(0, ecdsa);
    let body = request(0, &[], &n.to_bytes());
    assert_cosigned(&wkey, &body, &add(&w.base, &body), now());
}

/// A log with a `qpd` gets 429 with `Retry-After` once its budget is spent: the witness holds a
/// minute of it and at least 3 requests (`rget_core::qpd`). Only requests with the log's valid
/// signature count: junk sent in its name does not use up its budget. A log of the policy has no
/// budget.
#[test]
fn a_log_past_its_qpd_gets_429_and_junk_in_its_name_costs_it_nothing() {
    let t = tempdir();
    let dir = t.path().join("w");
    let wkey = witness_init(&dir, "witness.test/budget");
    let listed = SignerKey::generate("listed.test/log").unwrap();
    let mine = SignerKey::generate("mine.test/log").unwrap();
    let list = t.path().join("list");
    std::fs::write(
        &list,
        format!(
            "logs/v0\nvkey {}\nqpd 24\ncontact x\n",
            listed.verifier_key()
        ),
    )
    .unwrap();
    let policy = t.path().join("policy");
    std::fs::write(
        &policy,
        format!("log {}\nquorum none\n", mine.verifier_key()),
    )
    .unwrap();
    let w = witness(
        &dir,
        &[
            "--log-list".as_ref(),
            list.as_os_str(),
            "--policy".as_ref(),
            policy.as_os_str(),
        ],
    );
    let empty = empty_root();
    // Ten requests in its name that carry no valid signature by its key: 403, free.
    let stranger = SignerKey::generate("listed.test/log").unwrap();
    for _ in 0..10 {
        let r = add(
            &w.base,
            &request(0, &[], &signed(&stranger, "listed.test/log", 0, &empty)),
        );
        assert_eq!(r.status, 403);
    }
    // Three valid requests (the empty tree, twice, then a conflict) pass; the fourth is 429.
    let cp0 = signed(&listed, "listed.test/log", 0, &empty);
    let since = now();
    assert_cosigned(
        &wkey,
        &request(0, &[], &cp0),
        &add(&w.base, &request(0, &[], &cp0)),
        since,
    );
    assert_cosigned(
        &wkey,
        &request(0, &[], &cp0),
        &add(&w.base, &request(0, &[], &cp0)),
        since,
    );
    let cp1 = signed(&listed, "listed.test/log", 1, &Hash([1; 32]));
    assert_eq!(add(&w.base, &request(1, &[], &cp1)).status, 409);
    let r = add(&w.base, &request(0, &[], &cp0));
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(
        r.text().contains("24 add-checkpoint requests a day"),
        "{}",
        r.text()
    );
    // One request an hour: the next one is about an hour away.
    let retry: u64 = r.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((3500..=3600).contains(&retry), "Retry-After {retry}");
    // The policy's log is not limited.
    let m0 = signed(&mine, "mine.test/log", 0, &empty);
    for _ in 0..10 {
        assert_eq!(add(&w.base, &request(0, &[], &m0)).status, 200);
    }
}
