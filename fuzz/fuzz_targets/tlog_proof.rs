#![no_main]
//! tlog-proof parsing: never panics; whatever parses formats back to the same bytes. For a proof whose
//! checkpoint is a signed note, rget's inclusion check agrees with the RFC 9162 algorithm written
//! independently in `rget_fuzz`, for the record hash the input chooses (its own leaf hash).
use libfuzzer_sys::fuzz_target;
use rget_core::checkpoint::Checkpoint;
use rget_core::merkle;
use rget_core::note;
use rget_core::tlog_proof::TlogProof;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = TlogProof::parse(data) else {
        return;
    };
    assert_eq!(p.to_bytes(), data);
    let Ok(n) = note::parse(&p.checkpoint) else {
        return;
    };
    let Ok(cp) = Checkpoint::parse(&n.text) else {
        return;
    };
    // The leaf: the proof's `extra` data if any (the seeds put the record there), else the index.
    let entry = p
        .extra
        .clone()
        .unwrap_or_else(|| p.index.to_be_bytes().to_vec());
    let leaf = merkle::leaf_hash(&entry);
    let ours = merkle::root_from_inclusion(p.index, cp.size, &leaf, &p.hashes).ok();
    let theirs = rget_fuzz::inclusion_root(p.index, cp.size, &leaf, &p.hashes);
    assert_eq!(ours, theirs, "index {} size {}", p.index, cp.size);
    let verified = merkle::verify_inclusion(p.index, cp.size, &leaf, &p.hashes, &cp.root).is_ok();
    assert_eq!(verified, theirs == Some(cp.root));
});
