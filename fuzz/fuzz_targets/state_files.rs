#![no_main]
//! The state files rget reads back from disk, each given the same bytes (a file there may have been
//! damaged or replaced, so reading it must never panic and must accept only what was written):
//! - the log's `tree-state`: what parses is exactly what `TreeState::format` writes;
//! - the witness's per-log state: accepted only as a checkpoint of the expected origin carrying this
//!   witness's valid cosignature (checked again with `ring`), with its size and root;
//! - the client's stored checkpoint: a checkpoint note of the expected origin (its signatures are not
//!   re-verified, by design), whose size and root are the note's;
//! - the client's audit mark: exactly `<origin>\n<size>\n<root>\n` for the expected origin.
use libfuzzer_sys::fuzz_target;
use rget::client::state::{parse_audit_mark, parse_stored};
use rget_core::checkpoint::Checkpoint;
use rget_core::cosignature;
use rget_core::note::{self, VerifierKey};
use rget::log::state::TreeState;
use rget::witness::state as witness_state;
use rget_fuzz::LOG_ORIGIN;
use std::path::Path;
use std::sync::OnceLock;

fn cosigner() -> &'static VerifierKey {
    static K: OnceLock<VerifierKey> = OnceLock::new();
    K.get_or_init(|| cosignature::verifier_key(&rget_fuzz::witness_key(0)))
}

/// The checkpoint of a note, parsed by the core parsers (the state readers must agree with them).
fn checkpoint_of(bytes: &[u8]) -> Option<(note::Note, Checkpoint)> {
    let n = note::parse(bytes).ok()?;
    let c = Checkpoint::parse(&n.text).ok()?;
    Some((n, c))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(s) = TreeState::parse(text)
    {
        assert_eq!(s.format(), text);
    }

    if let Ok(st) = witness_state::parse(data.to_vec(), LOG_ORIGIN, cosigner(), "state") {
        let (n, c) = checkpoint_of(data).expect("accepted state is a checkpoint note");
        assert_eq!(
            (c.origin.as_str(), c.size, c.root),
            (LOG_ORIGIN, st.size, st.root)
        );
        assert_eq!(st.note.as_deref(), Some(data));
        // Its first line by this witness's key is a valid cosignature of the text.
        let s = n
            .signatures
            .iter()
            .find(|s| s.name == cosigner().name && s.id == cosigner().id)
            .expect("a cosignature by this witness");
        let ts = cosignature::timestamp(&s.sig).expect("well-formed cosignature");
        let mut msg = format!("cosignature/v1\ntime {ts}\n").into_bytes();
        msg.extend_from_slice(n.text.as_bytes());
        assert!(rget_fuzz::ring_verify(
            &cosigner().public_key,
            &msg,
            &s.sig[8..]
        ));
    }

    let path = Path::new("checkpoint");
    for origin in [Some(LOG_ORIGIN), None] {
        if let Ok(cp) = parse_stored(path, data, origin) {
            let (_, c) = checkpoint_of(data).expect("accepted checkpoint is a checkpoint note");
            assert_eq!(cp, c);
            assert!(origin.is_none_or(|o| cp.origin == o));
        }
    }

    if let Ok(mark) = parse_audit_mark(Path::new("audit"), LOG_ORIGIN, data.to_vec()) {
        let written = Checkpoint {
            origin: LOG_ORIGIN.to_owned(),
            size: mark.size,
            root: mark.root,
            extensions: Vec::new(),
        }
        .format();
        assert_eq!(written.as_bytes(), data);
    }
});
