#![no_main]
//! tlog-policy parsing, quorum evaluation and checkpoint verification under a fuzzed policy:
//! 1. round trip: a parsed policy written back as text parses to the same policy;
//! 2. the quorum rule agrees with a recursive evaluation written independently (`rget_fuzz`), for a
//!    set of cosigners the input chooses, and is monotone (more cosigners never break it);
//! 3. what was signed verifies: for every policy log whose key the targets hold (seeds 1..=8), a
//!    checkpoint signed by it and cosigned by the chosen witnesses whose keys they hold is accepted
//!    exactly when those witnesses meet the quorum, with those cosigners reported; with a bit of the
//!    log's signature flipped it is refused.
use libfuzzer_sys::fuzz_target;
use rget_core::cosignature;
use rget_core::note::{self, SignerKey};
use rget_core::policy::{Policy, PolicyError};
use rget_fuzz::{known_seed, quorum_recursive};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(p) = Policy::parse(s) else { return };
    let text = rget_fuzz::format_policy(&p);
    assert_eq!(
        Policy::parse(&text).as_ref(),
        Ok(&p),
        "written back as:\n{text}"
    );

    // Cosigners chosen by the input: witness i cosigns when bit i of the input's hash is set.
    let choice = rget_fuzz::pick(data, usize::MAX) as u64;
    let chosen: Vec<&str> = (p.witnesses.iter().enumerate())
        .filter(|(i, _)| choice >> (i % 64) & 1 == 1)
        .map(|(_, w)| w.name.as_str())
        .collect();
    let all: Vec<&str> = p.witnesses.iter().map(|w| w.name.as_str()).collect();
    for set in [&chosen[..], &all[..], &[][..]] {
        assert_eq!(
            p.quorum_met(set),
            quorum_recursive(&p, set),
            "cosigned by {set:?}"
        );
    }
    if p.quorum_met(&chosen) {
        assert!(p.quorum_met(&all), "more cosigners broke the quorum");
    }
    let _ = p.describe_quorum();

    // Sign for the logs and witnesses whose keys are known.
    let signers: Vec<(&str, SignerKey)> = p
        .witnesses
        .iter()
        .filter(|w| chosen.contains(&w.name.as_str()))
        .filter_map(|w| {
            let seed = known_seed(&w.vkey.public_key)?;
            Some((
                w.name.as_str(),
                SignerKey::from_seed(&w.vkey.name, seed).ok()?,
            ))
        })
        .collect();
    let cosigned: Vec<&str> = signers.iter().map(|(n, _)| *n).collect();
    for log in p.logs.iter().take(2) {
        let Some(seed) = known_seed(&log.vkey.public_key) else {
            continue;
        };
        let key = SignerKey::from_seed(&log.vkey.name, seed).unwrap();
        let root = rget_fuzz::leaf_hash(data);
        let cp = format!("{}\n{}\n{}\n", log.vkey.name, data.len(), root.to_base64());
        let mut n = note::parse(&note::sign(&cp, &[&key]).unwrap()).unwrap();
        for (i, (_, w)) in signers.iter().enumerate() {
            n.signatures
                .push(cosignature::sign(w, &cp, 1_700_000_000 + i as u64).unwrap());
        }
        let bytes = n.to_bytes();
        match p.verify_checkpoint(&bytes) {
            Ok(v) => {
                assert!(quorum_recursive(&p, &cosigned));
                let names: Vec<&str> = v.cosigners.iter().map(|(n, _)| n.as_str()).collect();
                assert_eq!(names, cosigned);
                assert_eq!(v.log.vkey, log.vkey);
            }
            Err(PolicyError::QuorumNotMet { .. }) => assert!(!quorum_recursive(&p, &cosigned)),
            Err(e) => panic!(
                "a checkpoint signed by policy log {} refused: {e}",
                log.vkey
            ),
        }
        n.signatures[0].sig[rget_fuzz::pick(data, 64)] ^= 0x20;
        assert!(matches!(
            p.verify_checkpoint(&n.to_bytes()),
            Err(PolicyError::BadSignature { .. })
        ));
    }
});
