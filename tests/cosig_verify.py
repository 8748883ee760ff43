#!/usr/bin/env python3
"""Independent verifier of C2SP tlog-cosignature `cosignature/v1` (Ed25519, type 0x04) signatures.

Usage: cosig_verify.py VKEY CHECKPOINT_FILE

VKEY is the cosigner verifier key `<name>+<hex8 key id>+<base64(0x04 || 32-byte public key)>`;
CHECKPOINT_FILE is a signed checkpoint note carrying the cosignature (any other signature lines are
ignored). Written from the specs only (signed-note, tlog-cosignature), with Python's standard library
and `cryptography`'s Ed25519, sharing no code with rget.

Prints `OK <timestamp>` and exits 0 if a signature line by the key verifies and none by it fails;
otherwise prints one line saying why on stderr and exits 1.
"""

import base64
import binascii
import hashlib
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def fail(msg):
    print("cosig_verify: " + msg, file=sys.stderr)
    sys.exit(1)


def b64(s):
    try:
        raw = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        fail("not base64: %r" % s)
    if base64.b64encode(raw).decode() != s:
        fail("not canonical base64: %r" % s)
    return raw


def main():
    if len(sys.argv) != 3:
        fail("usage: cosig_verify.py VKEY CHECKPOINT_FILE")
    name, key_id_hex, key_b64 = sys.argv[1].split("+", 2)
    key = b64(key_b64)
    if len(key) != 33 or key[0] != 0x04:
        fail("not an Ed25519 cosignature/v1 (type 0x04) verifier key")
    public_key = key[1:]
    # Key ID = SHA-256(name || "\n" || 0x04 || public key)[:4] (signed-note, tlog-cosignature).
    key_id = hashlib.sha256(name.encode() + b"\n" + b"\x04" + public_key).digest()[:4]
    if key_id.hex() != key_id_hex:
        fail("key id %s does not match the key (computed %s)" % (key_id_hex, key_id.hex()))
    verifier = Ed25519PublicKey.from_public_bytes(public_key)

    with open(sys.argv[2], "rb") as f:
        note = f.read()
    # The text ends at the last blank line; signature lines follow, each ending in a newline.
    split = note.rfind(b"\n\n")
    if split < 0 or not note.endswith(b"\n"):
        fail("not a signed note")
    text = note[: split + 1]
    lines = note[split + 2 : -1].split(b"\n")
    prefix = "\u2014 ".encode()
    verified = None
    for line in lines:
        if not line.startswith(prefix):
            fail("signature line without the em dash prefix: %r" % line)
        sig_name, _, sig_b64 = line[len(prefix) :].decode().partition(" ")
        raw = b64(sig_b64)
        if sig_name != name or raw[:4] != key_id:
            continue  # someone else's signature
        if len(raw) != 4 + 8 + 64:
            fail("cosignature has %d bytes, want 76" % len(raw))
        (timestamp,) = struct.unpack(">Q", raw[4:12])
        if timestamp > 2**63 - 1:
            fail("timestamp above 2^63-1")
        message = b"cosignature/v1\ntime " + str(timestamp).encode() + b"\n" + text
        try:
            verifier.verify(raw[12:], message)
        except InvalidSignature:
            fail("invalid cosignature by %s" % name)
        verified = timestamp
    if verified is None:
        fail("no cosignature by %s+%s" % (name, key_id_hex))
    print("OK %d" % verified)


if __name__ == "__main__":
    main()
