//! An independent verifier of C2SP tlog-cosignature `cosignature/v1` signatures (Ed25519, key type
//! 0x04), to check the witness's cosignatures with code that shares nothing with rget's: written from
//! the specifications only (signed-note, tlog-cosignature), with ring's SHA-256 and Ed25519 (rget
//! uses `sha2` and `ed25519-dalek`) and its own base64.

use ring::signature::{ED25519, UnparsedPublicKey};

/// Checks that `note` (a signed checkpoint note) carries a valid cosignature by `vkey`
/// (`<name>+<hex key id>+<base64(0x04 || 32-byte public key)>`), and none by it that fails: the
/// cosignature's timestamp, or why not. Signature lines by other keys are ignored.
pub fn verify(vkey: &str, note: &[u8]) -> Result<u64, String> {
    let mut parts = vkey.splitn(3, '+');
    let (Some(name), Some(key_id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("not a verifier key: {vkey:?}"));
    };
    let key = base64_decode(key_b64)?;
    if key.len() != 33 || key[0] != 0x04 {
        return Err("not an Ed25519 cosignature/v1 (type 0x04) verifier key".into());
    }
    let public_key = &key[1..];
    // Key ID = SHA-256(name || "\n" || 0x04 || public key)[:4] (signed-note, tlog-cosignature).
    let id_input = [name.as_bytes(), b"\n\x04", public_key].concat();
    let digest = ring::digest::digest(&ring::digest::SHA256, &id_input);
    let key_id = &digest.as_ref()[..4];
    if hex(key_id) != key_id_hex {
        return Err(format!(
            "key id {key_id_hex} does not match the key (computed {})",
            hex(key_id)
        ));
    }
    // The text ends at the last blank line; signature lines follow, each ending in a newline.
    let split = find_last(note, b"\n\n").ok_or("not a signed note")?;
    if !note.ends_with(b"\n") {
        return Err("not a signed note".into());
    }
    let text = &note[..split + 1];
    let prefix = "\u{2014} ".as_bytes();
    let mut verified = None;
    for line in note[split + 2..note.len() - 1].split(|b| *b == b'\n') {
        let line = line
            .strip_prefix(prefix)
            .ok_or_else(|| format!("signature line without the em dash prefix: {line:?}"))?;
        let line = std::str::from_utf8(line).map_err(|_| "signature line not UTF-8")?;
        let (sig_name, sig_b64) = line.split_once(' ').unwrap_or((line, ""));
        let raw = base64_decode(sig_b64)?;
        if sig_name != name || raw.get(..4) != Some(key_id) {
            continue; // someone else's signature
        }
        if raw.len() != 4 + 8 + 64 {
            return Err(format!("cosignature has {} bytes, want 76", raw.len()));
        }
        let timestamp = u64::from_be_bytes(raw[4..12].try_into().expect("8 bytes"));
        if timestamp > (1 << 63) - 1 {
            return Err("timestamp above 2^63-1".into());
        }
        let message = [
            format!("cosignature/v1\ntime {timestamp}\n").as_bytes(),
            text,
        ]
        .concat();
        UnparsedPublicKey::new(&ED25519, public_key)
            .verify(&message, &raw[12..])
            .map_err(|_| format!("invalid cosignature by {name}"))?;
        verified = Some(timestamp);
    }
    verified.ok_or_else(|| format!("no cosignature by {name}+{key_id_hex}"))
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding; only the canonical encoding is accepted (it must re-encode to
/// exactly `s`), as signed notes require.
fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    let bad = || format!("not canonical base64: {s:?}");
    if !s.len().is_multiple_of(4) {
        return Err(bad());
    }
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = ALPHABET.iter().position(|a| *a == c).ok_or_else(bad)?;
        bits = bits << 6 | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    if base64_encode(&out) != s {
        return Err(bad());
    }
    Ok(out)
}

fn base64_encode(b: &[u8]) -> String {
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let v = chunk.iter().fold(0u32, |v, x| v << 8 | u32::from(*x)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(v >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
