#![no_main]
//! The witness's `add-checkpoint` request body (`old <size>`, proof lines, a blank line, the note),
//! sent by any log: strict, so what parses is exactly the body written back from its values, with a
//! size of at most 2^63 - 1 and at most 63 proof hashes.
use libfuzzer_sys::fuzz_target;
use rget::witness::{MAX_PROOF_LINES, parse_request};

fuzz_target!(|data: &[u8]| {
    let Ok(req) = parse_request(data) else { return };
    let mut body = format!("old {}\n", req.old).into_bytes();
    for h in &req.proof {
        body.extend_from_slice(h.to_base64().as_bytes());
        body.push(b'\n');
    }
    body.push(b'\n');
    body.extend_from_slice(&req.note);
    assert_eq!(body, data);
    assert!(req.old <= i64::MAX as u64 && req.proof.len() <= MAX_PROOF_LINES);
});
