//! minisign key pairs and signatures for the tests, in the file formats of the `minisign` tool, made
//! by one of two implementations:
//! - [`Minisign::Crate`]: the `minisign` crate (by the tool's author) for keys and prehashed
//!   signatures, and ring's Ed25519 for legacy ones. Cargo fetches both, so the default test run
//!   needs nothing else.
//! - [`Minisign::Tool`]: the `minisign` tool itself, for the interop tests (`#[ignore]`d by default;
//!   `.ci/run` installs the tool and runs them). A missing tool fails the test with a hint.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where keys and signatures come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Minisign {
    Crate,
    Tool,
}

/// The reason on every test that needs the `minisign` tool.
pub const INSTALL_HINT: &str =
    "the interop tests need the `minisign` tool: apt-get install minisign (.ci/run installs it)";

/// What the tool writes as the untrusted comment of a signature.
const SIGNATURE_COMMENT: &str = "signature from minisign secret key";
/// What the tool writes as the untrusted comment of every secret key, encrypted or not.
const SECRET_KEY_COMMENT: &str = "minisign encrypted secret key";

impl Minisign {
    /// A key pair without a password, `DIR/NAME.pub` and `DIR/NAME.key`, as
    /// `minisign -G -W -p DIR/NAME.pub -s DIR/NAME.key` makes it.
    pub fn keypair(self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        std::fs::create_dir_all(dir).expect("key dir");
        let (public, secret) = (
            dir.join(format!("{name}.pub")),
            dir.join(format!("{name}.key")),
        );
        match self {
            Minisign::Crate => {
                let pair = minisign::KeyPair::generate_unencrypted_keypair().expect("key pair");
                // minisign 0.11 leaves the checksum of an unencrypted secret key zero; so do we,
                // so that rget reads the same bytes as from the tool.
                let mut bytes = pair.sk.to_bytes();
                let len = bytes.len();
                bytes[len - 32..].fill(0);
                let sec = format!("untrusted comment: {SECRET_KEY_COMMENT}\n{}\n", b64(&bytes));
                std::fs::write(&secret, sec).expect("write secret key");
                std::fs::write(&public, public_key_file(&pair.pk)).expect("write public key");
            }
            Minisign::Tool => {
                let mut c = Command::new("minisign");
                c.args(["-G", "-W", "-p"])
                    .arg(&public)
                    .arg("-s")
                    .arg(&secret);
                check(&tool(&mut c, ""), "minisign -G -W");
            }
        }
        (public, secret)
    }

    /// A key pair whose secret key is encrypted with `password` (scrypt), as
    /// `minisign -G -p PUBLIC -s SECRET` makes it.
    pub fn encrypted_keypair(self, public: &Path, secret: &Path, password: &str) {
        match self {
            Minisign::Crate => {
                let pair = minisign::KeyPair::generate_encrypted_keypair(Some(password.into()))
                    .expect("key pair");
                let sec = pair
                    .sk
                    .to_box(Some(SECRET_KEY_COMMENT))
                    .expect("secret key box")
                    .into_string();
                std::fs::write(secret, sec).expect("write secret key");
                std::fs::write(public, public_key_file(&pair.pk)).expect("write public key");
            }
            Minisign::Tool => {
                let mut c = Command::new("minisign");
                c.arg("-G").arg("-p").arg(public).arg("-s").arg(secret);
                let o = tool(&mut c, &format!("{password}\n{password}\n"));
                check(&o, "minisign -G with a password");
            }
        }
    }

    /// Signs `file` into `FILE.minisig` as `minisign -S -s SECRET -m FILE` does: prehashed, the
    /// trusted comment `timestamp:<now>\tfile:<file name>\thashed`. `password` decrypts the key.
    pub fn sign(self, secret: &Path, file: &Path, password: Option<&str>) {
        match self {
            Minisign::Crate => {
                let (sk, pk) = secret_key(secret, password);
                let name = file.file_name().expect("file name").to_string_lossy();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock")
                    .as_secs();
                let trusted = format!("timestamp:{now}\tfile:{name}\thashed");
                let data = std::fs::read(file).expect("read the file to sign");
                let sig = minisign::sign(
                    Some(&pk),
                    &sk,
                    &data[..],
                    Some(&trusted),
                    Some(SIGNATURE_COMMENT),
                )
                .expect("sign");
                std::fs::write(sig_path(file), sig.into_string()).expect("write signature");
            }
            Minisign::Tool => {
                let mut c = Command::new("minisign");
                c.arg("-S").arg("-s").arg(secret).arg("-m").arg(file);
                let password = password.map(|p| format!("{p}\n")).unwrap_or_default();
                check(&tool(&mut c, &password), "minisign -S");
            }
        }
    }

    /// A legacy (not prehashed) signature of `file` into `out`, with `trusted_comment`, as
    /// `minisign -S -l -s SECRET -m FILE -x OUT -t COMMENT` makes it. The key is unencrypted.
    pub fn sign_legacy(self, secret: &Path, file: &Path, out: &Path, trusted_comment: &str) {
        match self {
            Minisign::Crate => {
                // The crate makes prehashed signatures only; a legacy one is Ed25519 over the file
                // itself (algorithm `Ed`), and the global signature covers signature || comment.
                let text = std::fs::read_to_string(secret).expect("read secret key");
                let bytes = b64_decode(text.lines().nth(1).expect("key line"));
                let (key_id, seed, public) = (&bytes[54..62], &bytes[62..94], &bytes[94..126]);
                let pair = ring::signature::Ed25519KeyPair::from_seed_and_public_key(seed, public)
                    .expect("Ed25519 key");
                let data = std::fs::read(file).expect("read the file to sign");
                let sig = pair.sign(&data);
                let global = pair.sign(&[sig.as_ref(), trusted_comment.as_bytes()].concat());
                let line = b64(&[b"Ed".as_slice(), key_id, sig.as_ref()].concat());
                let minisig = format!(
                    "untrusted comment: {SIGNATURE_COMMENT}\n{line}\ntrusted comment: {trusted_comment}\n{}\n",
                    b64(global.as_ref())
                );
                std::fs::write(out, minisig).expect("write signature");
            }
            Minisign::Tool => {
                let mut c = Command::new("minisign");
                c.args(["-S", "-l", "-s"])
                    .arg(secret)
                    .arg("-m")
                    .arg(file)
                    .arg("-x")
                    .arg(out)
                    .args(["-t", trusted_comment]);
                check(&tool(&mut c, ""), "minisign -S -l");
            }
        }
    }

    /// Verifies `FILE.minisig` with the public key file as `minisign -V -p PUBLIC -m FILE` does;
    /// fails the test if it does not verify. Returns what the verifier says, which includes the
    /// trusted comment.
    pub fn verify(self, public: &Path, file: &Path) -> String {
        match self {
            Minisign::Crate => {
                let text = std::fs::read_to_string(public).expect("read public key");
                let pk = minisign::PublicKeyBox::from_string(&text)
                    .and_then(minisign::PublicKeyBox::into_public_key)
                    .expect("a minisign public key");
                let sig = minisign::SignatureBox::from_file(sig_path(file)).expect("a signature");
                let data = std::fs::read(file).expect("read the signed file");
                minisign::verify(&pk, &sig, std::io::Cursor::new(&data), true, false, false)
                    .unwrap_or_else(|e| {
                        panic!("{} does not verify: {e}", sig_path(file).display())
                    });
                format!(
                    "Trusted comment: {}\n",
                    sig.trusted_comment().expect("trusted comment")
                )
            }
            Minisign::Tool => {
                let mut c = Command::new("minisign");
                c.arg("-V").arg("-p").arg(public).arg("-m").arg(file);
                let o = tool(&mut c, "");
                check(&o, "minisign -V");
                String::from_utf8_lossy(&o.stdout).into_owned()
                    + &String::from_utf8_lossy(&o.stderr)
            }
        }
    }
}

/// `FILE.minisig`.
fn sig_path(file: &Path) -> PathBuf {
    let mut p = file.as_os_str().to_owned();
    p.push(".minisig");
    PathBuf::from(p)
}

/// The public key file as the tool writes it: the key ID in the comment (the little-endian number
/// in uppercase hex without leading zeros, as the tool's printf writes it), then the base64 line.
fn public_key_file(pk: &minisign::PublicKey) -> String {
    let id = u64::from_le_bytes(pk.keynum().try_into().expect("8-byte key number"));
    format!(
        "untrusted comment: minisign public key {id:X}\n{}\n",
        pk.to_base64()
    )
}

/// Reads a secret key file (the tool's unencrypted layout, whose checksum may be zero, or an
/// encrypted one, decrypted with `password`) and its public key.
fn secret_key(path: &Path, password: Option<&str>) -> (minisign::SecretKey, minisign::PublicKey) {
    let text = std::fs::read_to_string(path).expect("read secret key");
    let bytes = b64_decode(text.lines().nth(1).expect("key line"));
    let sk = if bytes[2..4] == [0, 0] {
        minisign::SecretKey::from_bytes(&bytes)
    } else {
        minisign::SecretKeyBox::from_string(&text)
            .and_then(|b| b.into_secret_key(password.map(str::to_owned)))
    }
    .expect("a usable minisign secret key");
    let pk = minisign::PublicKey::from_secret_key(&sk).expect("its public key");
    (sk, pk)
}

fn b64(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn b64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim_end())
        .expect("base64 key line")
}

/// Runs the `minisign` tool with `stdin` (the password: it reads it from standard input when that
/// is not a terminal).
fn tool(cmd: &mut Command, stdin: &str) -> Output {
    super::try_output_with_stdin(cmd, stdin.as_bytes())
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} ({e}); {INSTALL_HINT}"))
}

#[track_caller]
fn check(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
