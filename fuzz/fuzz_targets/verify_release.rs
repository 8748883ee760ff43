#![no_main]
//! `core::release::verify_release` as a whole: what the bootstrap and `rget self` check before they
//! trust a release binary. Input: eight parts separated by NUL bytes: the pinned `release.pub`,
//! `policy` and `source`, the version, then the release's `SHA256SUMS`, `SHA256SUMS.minisig`,
//! `SHA256SUMS.tlog-proof`, and the binary itself (its SHA-256 is what the caller computed).
//!
//! A release that verifies is checked again with independent code: the `SHA256SUMS` line for the
//! binary is found by a plain text scan, the signature verifies in the `minisign` crate under a pinned
//! key, the record rebuilt at the pinned URL is included (RFC 9162 algorithm in `rget_fuzz`, SHA-256 by
//! `ring`) under the proof's checkpoint, whose log signature and enough witness cosignatures for the
//! quorum verify with `ring`. Then what was signed must stay bound: one flipped bit in the binary, the
//! `SHA256SUMS` or a proof hash makes it fail.
use libfuzzer_sys::fuzz_target;
use rget_core::checkpoint::Checkpoint;
use rget_core::digest::{Hash, sha256};
use rget_core::note::{self, ALG_COSIGNATURE_V1};
use rget_core::pins::{ReleaseTrust, ReleaseTrustFiles, binary_name};
use rget_core::policy::Policy;
use rget_core::record;
use rget_core::release::{ReleaseError, ReleaseFiles, VerifiedRelease, verify_release};
use rget_core::tlog_proof::TlogProof;
use rget_fuzz::{TARGET, inclusion_root, quorum_recursive, ring_verify};
use std::io::Cursor;

struct Input<'a> {
    trust: ReleaseTrust,
    keys: &'a str,
    version: &'a str,
    sums: &'a [u8],
    minisig: &'a [u8],
    proof: &'a [u8],
}

fn run(
    i: &Input,
    sums: &[u8],
    proof: &[u8],
    digest: &Hash,
) -> Result<VerifiedRelease, ReleaseError> {
    let dir = i.trust.source_dir(i.version);
    let name = binary_name(i.version, TARGET);
    let files = ReleaseFiles {
        sums,
        minisig: i.minisig,
        proof,
    };
    let mut passed = 0;
    let r = verify_release(&i.trust, &dir, &name, digest, &files, &mut |_| passed += 1);
    if r.is_ok() {
        assert_eq!(passed, 3, "a verified release reports its three checks");
    }
    r
}

/// `SHA256SUMS` lists `name` with `digest`, in one of the forms `sha256sum` writes (GNU text or
/// binary marker, BSD tag, each possibly with the escape marker).
fn listed(sums: &[u8], name: &str, digest: &Hash) -> bool {
    let hex = digest.to_hex();
    let forms = [
        format!("{hex}  {name}"),
        format!("{hex} *{name}"),
        format!("SHA256 ({name}) = {hex}"),
    ];
    sums.split(|&b| b == b'\n').any(|line| {
        let line = line.strip_prefix(b"\\").unwrap_or(line);
        forms.iter().any(|f| line == f.as_bytes())
    })
}

/// The `minisign` crate verifies the signature over `sums` with one of the pinned key lines.
fn minisign_crate_verifies(keys: &str, minisig: &[u8], sums: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(minisig) else {
        return false;
    };
    let Ok(sigbox) = minisign::SignatureBox::from_string(text) else {
        return false;
    };
    let comment_ok = sigbox
        .trusted_comment()
        .is_ok_and(|c| c.split('\t').any(|f| f == "file:SHA256SUMS"));
    comment_ok
        && keys
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
            .filter_map(|l| minisign::PublicKey::from_base64(l).ok())
            .any(|pk| minisign::verify(&pk, &sigbox, Cursor::new(sums), true, false, false).is_ok())
}

/// The proof's checkpoint carries a valid signature by its policy log and valid cosignatures meeting
/// the quorum, and the record at `url` is included under it.
fn logged_independently(policy: &Policy, url: &str, sums: &[u8], proof: &[u8]) -> bool {
    let Ok(p) = TlogProof::parse(proof) else {
        return false;
    };
    let Ok(n) = note::parse(&p.checkpoint) else {
        return false;
    };
    let Ok(cp) = Checkpoint::parse(&n.text) else {
        return false;
    };
    let Some(log) = policy.logs.iter().find(|l| l.vkey.name == cp.origin) else {
        return false;
    };
    let first_by = |name: &str, id: u32| n.signatures.iter().find(|s| s.name == name && s.id == id);
    let log_ok = first_by(&log.vkey.name, log.vkey.id)
        .is_some_and(|s| ring_verify(&log.vkey.public_key, n.text.as_bytes(), &s.sig));
    let cosigners: Vec<&str> = policy
        .witnesses
        .iter()
        .filter(|w| w.vkey.alg == ALG_COSIGNATURE_V1)
        .filter(|w| {
            first_by(&w.vkey.name, w.vkey.id).is_some_and(|s| {
                let Some((ts, ed)) = s.sig.split_first_chunk::<8>() else {
                    return false;
                };
                let ts = u64::from_be_bytes(*ts);
                let mut msg = format!("cosignature/v1\ntime {ts}\n").into_bytes();
                msg.extend_from_slice(n.text.as_bytes());
                s.sig.len() == 72
                    && ts <= i64::MAX as u64
                    && ring_verify(&w.vkey.public_key, &msg, ed)
            })
        })
        .map(|w| w.name.as_str())
        .collect();
    let Ok(entry) = record::build(url, sums) else {
        return false;
    };
    let leaf = rget_fuzz::leaf_hash(&entry);
    log_ok
        && quorum_recursive(policy, &cosigners)
        && inclusion_root(p.index, cp.size, &leaf, &p.hashes) == Some(cp.root)
}

fuzz_target!(|data: &[u8]| {
    let Some(parts) = rget_fuzz::split_nul(data, 8) else {
        return;
    };
    let text = |i: usize| std::str::from_utf8(parts[i]).ok();
    let (Some(keys), Some(policy), Some(source), Some(version)) =
        (text(0), text(1), text(2), text(3))
    else {
        return;
    };
    let Ok(trust) = ReleaseTrust::parse(ReleaseTrustFiles {
        keys,
        policy,
        source,
    }) else {
        return;
    };
    let i = Input {
        trust,
        keys,
        version,
        sums: parts[4],
        minisig: parts[5],
        proof: parts[6],
    };
    let digest = sha256(parts[7]);
    let Ok(v) = run(&i, i.sums, i.proof, &digest) else {
        return;
    };

    let url = format!("{}SHA256SUMS", i.trust.source_dir(version));
    assert_eq!(v.sums_url, url);
    assert!(
        listed(i.sums, &binary_name(version, TARGET), &digest),
        "not listed"
    );
    let differs = std::str::from_utf8(i.minisig).is_ok_and(rget_fuzz::minisign_crate_differs);
    assert!(
        differs || minisign_crate_verifies(i.keys, i.minisig, i.sums),
        "signature"
    );
    assert!(
        logged_independently(&i.trust.policy, &url, i.sums, i.proof),
        "log proof"
    );
    let proof = TlogProof::parse(i.proof).unwrap();
    assert_eq!(v.logged.index, proof.index);

    // One flipped bit anywhere that matters makes it fail.
    let mut bad_digest = digest;
    bad_digest.0[rget_fuzz::pick(data, 32)] ^= 1;
    assert!(
        run(&i, i.sums, i.proof, &bad_digest).is_err(),
        "another binary verified"
    );
    let mut bad_sums = i.sums.to_vec();
    let bit = rget_fuzz::pick(data, bad_sums.len() * 8);
    bad_sums[bit / 8] ^= 1 << (bit % 8);
    assert!(
        run(&i, &bad_sums, i.proof, &digest).is_err(),
        "a changed SHA256SUMS verified"
    );
    if !proof.hashes.is_empty() {
        let mut p = proof.clone();
        let k = rget_fuzz::pick(data, p.hashes.len() * 256);
        p.hashes[k / 256].0[(k % 256) / 8] ^= 1 << (k % 8);
        assert!(
            run(&i, i.sums, &p.to_bytes(), &digest).is_err(),
            "a changed proof verified"
        );
    }
});
