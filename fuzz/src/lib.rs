//! What the fuzz targets and the seed generator (`examples/seeds.rs`) share: the fixed keys every
//! seed is made with (so a target can sign what the fuzzer wrote, and seeds carry signatures the
//! targets' keys verify), and checks written independently of rget's own code (Ed25519 with `ring`,
//! RFC 9162 inclusion proofs with `ring`'s SHA-256, a recursive quorum evaluator), so that a target
//! can compare rget's answer with a second opinion instead of only "no panic".
//!
//! Every key here is derived from a fixed seed: they are public test keys, never trusted anywhere.

use rget_core::digest::Hash;
use rget_core::ed25519::Seed;
use rget_core::note::SignerKey;
use rget_core::policy::{Member, Policy, Quorum};
use std::sync::OnceLock;

/// The origin (and key name) of the log every seed checkpoint comes from.
pub const LOG_ORIGIN: &str = "log.example";
/// A second log, for policies with two logs.
pub const LOG2_ORIGIN: &str = "log2.example";
/// Key names of the three witnesses (their policy names are `w1`, `w2`, `w3`).
pub const WITNESS_NAMES: [&str; 3] = ["w1.example", "w2.example", "w3.example"];

/// The target triple of the release seeds.
pub const TARGET: &str = "x86_64-unknown-linux-gnu";

/// Seeds 1..=8 are the only private keys the targets know: 1 and 2 for logs, 4, 5 and 6 for
/// witnesses, the others spare (a fuzzer may move a key to another role).
const KNOWN_SEEDS: std::ops::RangeInclusive<u8> = 1..=8;

pub fn seed(n: u8) -> Seed {
    Seed([n; 32])
}

/// The log key of [`LOG_ORIGIN`] (seed 1).
pub fn log_key() -> SignerKey {
    SignerKey::from_seed(LOG_ORIGIN, seed(1)).expect("valid name")
}

/// The log key of [`LOG2_ORIGIN`] (seed 2).
pub fn log2_key() -> SignerKey {
    SignerKey::from_seed(LOG2_ORIGIN, seed(2)).expect("valid name")
}

/// Witness `i` (0, 1 or 2): key name `WITNESS_NAMES[i]`, seed 4 + i.
pub fn witness_key(i: usize) -> SignerKey {
    SignerKey::from_seed(WITNESS_NAMES[i], seed(4 + i as u8)).expect("valid name")
}

/// The key of the Sigsum log of the seeds (seed 3): its origin is `sigsum.org/v1/tree/<key hash>`.
pub fn sigsum_log_seed() -> Seed {
    seed(3)
}

/// The private seed of `public_key`, if it is one of the known seeds.
pub fn known_seed(public_key: &[u8; 32]) -> Option<Seed> {
    static TABLE: OnceLock<Vec<([u8; 32], u8)>> = OnceLock::new();
    let table = TABLE.get_or_init(|| KNOWN_SEEDS.map(|n| (seed(n).public_key(), n)).collect());
    table
        .iter()
        .find(|(pk, _)| pk == public_key)
        .map(|&(_, n)| seed(n))
}

/// Ed25519 verification by `ring` (BoringSSL's code), independent of the `ed25519-dalek` that rget
/// uses.
pub fn ring_verify(public_key: &[u8; 32], msg: &[u8], sig: &[u8]) -> bool {
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public_key)
        .verify(msg, sig)
        .is_ok()
}

fn ring_sha256(parts: &[&[u8]]) -> Hash {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    Hash(out)
}

/// RFC 6962 leaf hash, with `ring`'s SHA-256.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    ring_sha256(&[&[0], entry])
}

/// The root an inclusion proof leads to, computed as RFC 9162 section 2.1.3.2 writes the algorithm
/// (written here from the RFC, not from rget's `merkle`). `None` where the RFC says "fail".
pub fn inclusion_root(index: u64, size: u64, leaf: &Hash, proof: &[Hash]) -> Option<Hash> {
    if index >= size {
        return None;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            r = ring_sha256(&[&[1], &p.0, &r.0]);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = ring_sha256(&[&[1], &r.0, &p.0]);
        }
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some(r)
}

/// Whether witnesses named `cosigned` satisfy the policy's quorum, evaluated recursively from the
/// quorum down (rget evaluates groups bottom-up, in definition order), memoised per group so that
/// groups sharing members cannot make it exponential.
pub fn quorum_recursive(p: &Policy, cosigned: &[&str]) -> bool {
    fn met(p: &Policy, m: Member, cosigned: &[&str], memo: &mut Vec<Option<bool>>) -> bool {
        match m {
            Member::Witness(i) => p
                .witnesses
                .get(i)
                .is_some_and(|w| cosigned.contains(&w.name.as_str())),
            Member::Group(g) => {
                if let Some(Some(v)) = memo.get(g) {
                    return *v;
                }
                let Some(group) = p.groups.get(g) else {
                    return false;
                };
                let count = group
                    .members
                    .iter()
                    .filter(|&&m| met(p, m, cosigned, memo))
                    .count();
                let v = count >= group.threshold;
                memo[g] = Some(v);
                v
            }
        }
    }
    match p.quorum {
        Quorum::None => true,
        Quorum::Member(m) => met(p, m, cosigned, &mut vec![None; p.groups.len()]),
    }
}

/// Writes a policy back as text, one line per log, witness and group, then the quorum: what
/// `Policy::parse` reads back to the same value.
pub fn format_policy(p: &Policy) -> String {
    let mut out = String::new();
    let name = |m: Member| match m {
        Member::Witness(i) => p.witnesses[i].name.clone(),
        Member::Group(g) => p.groups[g].name.clone(),
    };
    for l in &p.logs {
        out.push_str(&format!("log {}", l.vkey));
        if let Some(u) = &l.url {
            out.push_str(&format!(" {u}"));
        }
        out.push('\n');
    }
    for w in &p.witnesses {
        out.push_str(&format!("witness {} {}", w.name, w.vkey));
        if let Some(u) = &w.url {
            out.push_str(&format!(" {u}"));
        }
        out.push('\n');
    }
    for g in &p.groups {
        out.push_str(&format!("group {} {}", g.name, g.threshold));
        for &m in &g.members {
            out.push(' ');
            out.push_str(&name(m));
        }
        out.push('\n');
    }
    match p.quorum {
        Quorum::None => out.push_str("quorum none\n"),
        Quorum::Member(m) => out.push_str(&format!("quorum {}\n", name(m))),
    }
    out
}

// ---- minisign -------------------------------------------------------------------------------------

/// Seed and key number of the publisher key (minisign) of every seed signature.
pub const MINISIGN_SEED: [u8; 32] = [7; 32];
pub const MINISIGN_KEYNUM: [u8; 8] = *b"rgetfuzz";

/// The minisign secret key as the `minisign` crate holds it (unencrypted).
pub fn minisign_secret() -> minisign::SecretKey {
    minisign::SecretKey::from_bytes(&minisign_secret_bytes()).expect("well-formed key bytes")
}

/// The serialised unencrypted secret key, laid out as `minisign -G -W` writes it (which also leaves
/// the checksum of an unencrypted key zero, and does not check it when signing).
pub fn minisign_secret_bytes() -> Vec<u8> {
    let mut b = Vec::with_capacity(158);
    b.extend_from_slice(b"Ed"); // signature algorithm
    b.extend_from_slice(&[0, 0]); // no key derivation: unencrypted
    b.extend_from_slice(b"B2"); // checksum algorithm (BLAKE2b)
    b.extend_from_slice(&[0; 32 + 8 + 8]); // KDF salt, opslimit, memlimit: unused
    b.extend_from_slice(&MINISIGN_KEYNUM);
    b.extend_from_slice(&MINISIGN_SEED);
    b.extend_from_slice(&Seed(MINISIGN_SEED).public_key());
    b.extend_from_slice(&[0; 32]); // checksum
    b
}

/// The public key's binary form: `Ed ‖ key number ‖ Ed25519 public key`.
pub fn minisign_public_bytes() -> Vec<u8> {
    let mut b = b"Ed".to_vec();
    b.extend_from_slice(&MINISIGN_KEYNUM);
    b.extend_from_slice(&Seed(MINISIGN_SEED).public_key());
    b
}

/// The public key's base64 line (what `minisign.pub` holds after its comment line).
pub fn minisign_public_base64() -> String {
    rget_core::b64::encode(&minisign_public_bytes())
}

/// The public key as the `minisign` crate holds it.
pub fn minisign_public() -> minisign::PublicKey {
    minisign::PublicKey::from_bytes(&minisign_public_bytes()).expect("well-formed key bytes")
}

/// Where the `minisign` crate reads a `.minisig` differently from minisign-verify (rget) and the
/// `minisign` tool, on details that carry no meaning: it trims the trusted comment and the base64 lines, and
/// wants a space after `untrusted comment:`. Such inputs are not compared.
pub fn minisign_crate_differs(text: &str) -> bool {
    let l: Vec<&str> = text.lines().collect();
    let ws = |s: &str| s.trim() != s;
    l.len() < 4
        || !l[0].starts_with("untrusted comment: ")
        || ws(l[1])
        || ws(l[3])
        || l[2].get(17..).is_none_or(ws)
}

// ---- input helpers -----------------------------------------------------------------------------

/// Splits `data` at its first `n - 1` NUL bytes into exactly `n` parts, or `None`.
pub fn split_nul(data: &[u8], n: usize) -> Option<Vec<&[u8]>> {
    let parts: Vec<&[u8]> = data.splitn(n, |&b| b == 0).collect();
    (parts.len() == n).then_some(parts)
}

/// A deterministic position in `len` bytes chosen by the input (for "flip one bit" checks).
pub fn pick(data: &[u8], len: usize) -> usize {
    let h = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    (h % len.max(1) as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use rget_core::merkle::{self, MemoryTree};

    #[test]
    fn independent_inclusion_check_agrees_with_rget_on_honest_proofs() {
        for size in 1..40u64 {
            let mut t = MemoryTree::new();
            for i in 0..size {
                t.append(leaf_hash(&i.to_be_bytes()));
            }
            for index in 0..size {
                let leaf = leaf_hash(&index.to_be_bytes());
                let proof = merkle::inclusion_proof(index, size, &mut t).unwrap();
                assert_eq!(inclusion_root(index, size, &leaf, &proof), Some(t.root()));
                assert_ne!(
                    inclusion_root(index, size, &leaf_hash(b"x"), &proof),
                    Some(t.root())
                );
            }
        }
    }
}
