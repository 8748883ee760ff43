//! `rget keygen`: make a minisign key pair (or, with `--ssh`, an OpenSSH `ssh-ed25519` one for
//! Sigsum); and the password and key-file options `rget release`
//! reads a secret key with (the reading itself is `crate::publish`'s).
//!
//! The files are byte-for-byte in the formats of the `minisign` tool (`minisign -G`), so a key made
//! here signs with `minisign -S` and a key made there signs with `rget release`. Keys and signatures
//! come from the `minisign` crate (the tool's author's Rust implementation); the comment lines are
//! written as the tool writes them.

use super::exit::{CliResult, Failure, io_reason};
use crate::publish::{KeyFileError, SecretKeyFile, SigningKey, public_key_line};
use crate::secret::{self, Secret};
use minisign::{KeyPair, PublicKey};
use rget_core::openssh;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

const ABOUT: &str = "Make a minisign key pair (as `minisign -G`) for signing releases";

const LONG_ABOUT: &str = "\
Make a minisign key pair, exactly as `minisign -G` does: the public key (publish it, and give it to \
rget's users as --key or in their keys file) and the secret key (keep it secret; `rget release` and \
`minisign -S` sign with it). The files are in minisign's own formats, so either tool can use a key \
made by the other.

The secret key is encrypted with a password (scrypt) unless -W is given. The password is read from \
--password-file FILE (its first line), else from $RGET_PASSWORD, else asked for twice on the \
terminal. Both files are written atomically (temporary file, fsync, rename); the secret key with mode \
0600, in a directory created with mode 0700 if missing. An existing file is never replaced unless -f \
is given.";

const AFTER_HELP: &str = "\
Examples:
  rget keygen                   password asked; writes minisign.pub and
                                ~/.minisign/minisign.key
  rget keygen -W -p release.pub -s release.key          no password
  rget keygen --password-file pw -s ci.key              password from a file
  rget keygen --ssh -s sigsum.key       a Sigsum key pair (and sigsum.key.pub)

With --ssh the pair is an OpenSSH ssh-ed25519 key, as `ssh-keygen -t ed25519
-N ''` writes it, which Sigsum's tools and rget's --sigsum-key read: the secret
key is not encrypted (keep it offline, or on a host of its own), and the public
key goes to -p (default: the secret key's name + .pub).

Standard output: the public key line (base64), for scripts; the rest goes to
standard error. The key ID is printed as minisign prints it (hex, no leading
zeros).

Exit codes: 0 ok, 2 usage (a file exists and -f was not given, no password
source), 7 local I/O.";

/// Arguments of `rget keygen` (minisign's flags where minisign has one).
#[derive(clap::Args, Debug)]
#[command(about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Args {
    /// Where to write the public key. Default: minisign.pub; with --ssh, the secret key's path
    /// followed by .pub
    #[arg(short = 'p', value_name = "PUB")]
    pub public: Option<PathBuf>,
    /// Make an OpenSSH ssh-ed25519 key pair (not encrypted) for Sigsum logs, instead of minisign's
    #[arg(long, conflicts_with_all = ["password_file", "no_password"], requires = "secret")]
    pub ssh: bool,
    /// Where to write the secret key. Default: $MINISIGN_CONFIG_DIR/minisign.key, else
    /// ~/.minisign/minisign.key (as minisign)
    #[arg(short = 's', value_name = "SEC")]
    pub secret: Option<PathBuf>,
    /// Do not encrypt the secret key with a password
    #[arg(short = 'W', conflicts_with = "password_file")]
    pub no_password: bool,
    /// Replace existing key files
    #[arg(short = 'f')]
    pub force: bool,
    /// Where the new key's password comes from.
    #[command(flatten)]
    pub password: PasswordArgs,
}

/// Where a secret key's password comes from, for `rget keygen` and `rget release`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PasswordArgs {
    /// Read the secret key's password from the first line of FILE. Default: $RGET_PASSWORD, else
    /// asked on the terminal
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

/// The environment variable holding a password, for scripts that cannot use a file.
pub const PASSWORD_ENV: &str = "RGET_PASSWORD";

/// minisign refuses longer passwords; so do we, with a message instead of a truncation.
const MAX_PASSWORD: usize = 1024;

/// What the `minisign` tool writes as the untrusted comment of every secret key, encrypted or not.
const SECRET_KEY_COMMENT: &str = "minisign encrypted secret key";

/// Runs `rget keygen`.
pub fn run(a: Args) -> CliResult {
    if a.ssh {
        return ssh_keygen(&a);
    }
    let secret = match &a.secret {
        Some(s) => s.clone(),
        None => default_secret_path()?,
    };
    let public = a
        .public
        .clone()
        .unwrap_or_else(|| PathBuf::from("minisign.pub"));
    if !a.force {
        refuse_existing(&[&public, &secret])?;
    }
    let pair = if a.no_password {
        KeyPair::generate_unencrypted_keypair()
    } else {
        let password = a.password.read(Confirm::Twice)?;
        KeyPair::generate_encrypted_keypair(Some(password))
    }
    .map_err(|e| Failure::local_io(format!("cannot make a key pair: {e}")))?;
    let (pub_text, sec_text) = key_files(&pair)?;
    write_key_pair(&secret, &sec_text, &public, &pub_text)?;
    let key = public_key_line(&pair.pk);
    let _ = writeln!(
        std::io::stderr(),
        "rget: secret key written to {} ({}) - keep it secret\n  public key written to {} (key ID {})\n  verify with: rget get --key {} URL, or minisign -Vm FILE -P {key}",
        secret.display(),
        if a.no_password {
            "NOT encrypted"
        } else {
            "encrypted"
        },
        public.display(),
        key_id(&pair.pk),
        public.display(),
    );
    super::stdout::print(&format!("{key}\n"))
}

/// Writes the secret key (mode 0600) and the public key (0644) together, atomically. The secret
/// key's directory is private like minisign's ~/.minisign; write_atomic_all creates only what is
/// still missing, with 0755, for the public key.
fn write_key_pair(secret: &Path, sec_text: &str, public: &Path, pub_text: &str) -> CliResult {
    rget_fetch::durable::create_dirs(rget_fetch::durable::parent_of(secret), 0o700)
        .map_err(|e| Failure::local_io(format!("{}: {}", secret.display(), io_reason(&e))))?;
    rget_fetch::durable::write_atomic_all(&[
        (secret, sec_text.as_bytes(), 0o600),
        (public, pub_text.as_bytes(), 0o644),
    ])
    .map_err(|e| Failure::local_io(format!("writing the key pair: {}", io_reason(&e))))
}

/// `rget keygen --ssh`: an OpenSSH `ssh-ed25519` key pair (unencrypted, as Sigsum's tools read it).
fn ssh_keygen(a: &Args) -> CliResult {
    let Some(secret) = a.secret.clone() else {
        return Err(Failure::usage("--ssh needs -s FILE, the secret key's path"));
    };
    let public = a.public.clone().unwrap_or_else(|| {
        let mut p = secret.clone().into_os_string();
        p.push(".pub");
        PathBuf::from(p)
    });
    if !a.force {
        refuse_existing(&[&public, &secret])?;
    }
    let seed = rget_core::ed25519::Seed::generate()
        .map_err(|e| Failure::local_io(format!("cannot make a key pair: {e}")))?;
    let mut check = [0u8; 4];
    getrandom::fill(&mut check)
        .map_err(|e| Failure::local_io(format!("cannot make a key pair: {e}")))?;
    let comment = "rget sigsum key";
    let sec_text = openssh::format_private_key(&seed, comment, u32::from_le_bytes(check));
    let pub_text = format!(
        "{}\n",
        openssh::format_public_key(&seed.public_key(), comment)
    );
    write_key_pair(&secret, &sec_text, &public, &pub_text)?;
    let _ = writeln!(
        std::io::stderr(),
        "rget: ssh-ed25519 secret key written to {} (NOT encrypted) - keep it secret\n  public key written to {} (Sigsum key hash {})\n  the public key in hex (a Sigsum policy line, or a _sigsum_v1 DNS record for a submit token): {}\n  publish with: rget release DIR --sigsum-key {} --sigsum-policy POLICY --url URL",
        secret.display(),
        public.display(),
        rget_core::sigsum::key_hash(&seed.public_key()),
        hex::encode(seed.public_key()),
        secret.display(),
    );
    super::stdout::print(&pub_text)
}

/// minisign's default: `$MINISIGN_CONFIG_DIR/minisign.key`, else `~/.minisign/minisign.key`.
fn default_secret_path() -> CliResult<PathBuf> {
    if let Some(dir) = std::env::var_os("MINISIGN_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("minisign.key"));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Failure::usage("HOME is not set; name the secret key file with -s"))?;
    Ok(PathBuf::from(home).join(".minisign").join("minisign.key"))
}

/// Refuses to go on if any of `paths` exists (also as a dangling symbolic link), as minisign does
/// without -f: a key pair is never replaced by accident.
fn refuse_existing(paths: &[&Path]) -> CliResult {
    for p in paths {
        if std::fs::symlink_metadata(p).is_ok() {
            return Err(Failure::usage(format!(
                "{} already exists; use -f to replace it",
                p.display()
            )));
        }
    }
    Ok(())
}

/// The public and secret key files, as `minisign -G` writes them.
fn key_files(pair: &KeyPair) -> CliResult<(String, String)> {
    let sec = pair
        .sk
        .to_box(Some(SECRET_KEY_COMMENT))
        .map_err(|e| Failure::local_io(format!("cannot encode the secret key: {e}")))?
        .into_string();
    let pub_text = format!(
        "untrusted comment: minisign public key {}\n{}\n",
        key_id(&pair.pk),
        public_key_line(&pair.pk)
    );
    Ok((pub_text, sec))
}

/// The key ID as the `minisign` tool writes it in a `.pub` comment and as every other rget command
/// prints it (`rget_core::minisig::format_key_id`: uppercase hex, no leading zeros).
fn key_id(pk: &PublicKey) -> String {
    let mut id = [0u8; 8];
    id.copy_from_slice(pk.keynum());
    rget_core::minisig::format_key_id(&id)
}

// ---------------------------------------------------------------------------------------------
// Passwords

/// Whether a password typed on the terminal is asked for a second time (a new key) or once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// Unlocking an existing key: asked once.
    Once,
    /// A new key: asked twice, and an empty password is refused (`-W` makes a key without one).
    Twice,
}

impl PasswordArgs {
    /// The password: from --password-file, else $RGET_PASSWORD, else asked on the terminal. Never
    /// asked when standard input is not a terminal, so a script without a password fails at once
    /// instead of waiting for one.
    pub fn read(&self, confirm: Confirm) -> CliResult<String> {
        let password = if let Some(f) = &self.password_file {
            read_password_file(f)?
        } else if let Some(p) = std::env::var_os(PASSWORD_ENV) {
            p.into_string()
                .map_err(|_| Failure::usage(format!("{PASSWORD_ENV} is not valid UTF-8")))?
        } else if std::io::stdin().is_terminal() {
            prompt(confirm)?
        } else {
            let or_none = match confirm {
                Confirm::Twice => ", or -W for none",
                Confirm::Once => "",
            };
            return Err(Failure::usage(format!(
                "no password: use --password-file FILE or {PASSWORD_ENV}{or_none} (no terminal to ask on)"
            )));
        };
        if password.len() > MAX_PASSWORD {
            return Err(Failure::usage(format!(
                "the password is longer than {MAX_PASSWORD} bytes"
            )));
        }
        if password.is_empty() && confirm == Confirm::Twice {
            return Err(Failure::usage(
                "empty password; use -W for a secret key without one",
            ));
        }
        Ok(password)
    }
}

/// The first line of `path`, without its line ending.
fn read_password_file(path: &Path) -> CliResult<String> {
    // Only the first line counts: read a little past the longest password and its line break, and
    // no more (a file that goes on is not refused for that).
    let bytes = secret::read_prefix(path, Secret::Password, MAX_PASSWORD as u64 + 2)
        .map_err(Failure::local_io)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::malformed(format!("{}: not valid UTF-8", path.display())))?;
    let line = text.split('\n').next().unwrap_or_default();
    Ok(line.strip_suffix('\r').unwrap_or(line).to_owned())
}

/// Asks on the terminal (without echo).
fn prompt(confirm: Confirm) -> CliResult<String> {
    let ask = |p: &str| {
        rpassword::prompt_password(p)
            .map_err(|e| Failure::local_io(format!("reading the password: {}", io_reason(&e))))
    };
    let first = ask("Password: ")?;
    if confirm == Confirm::Twice && ask("Password (one more time): ")? != first {
        return Err(Failure::usage("the passwords do not match"));
    }
    Ok(first)
}

// ---------------------------------------------------------------------------------------------
// Reading a secret key

/// Reads a minisign secret key file (made by `minisign -G` or `rget keygen`), decrypting it with a
/// password from `password` when it is encrypted (the password is asked for only then).
pub fn load_secret_key(path: &Path, password: &PasswordArgs) -> CliResult<SigningKey> {
    let failure = |e: KeyFileError| Failure::new(e.exit_code(), e);
    let file = SecretKeyFile::read(path).map_err(failure)?;
    let password = if file.is_encrypted() {
        Some(password.read(Confirm::Once)?)
    } else {
        None
    };
    file.unlock(password).map_err(failure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::exit::ExitCode;

    fn no_password() -> PasswordArgs {
        PasswordArgs {
            password_file: None,
        }
    }

    #[test]
    fn generated_files_load_back_and_match_the_tool_layout() {
        let t = tempfile::tempdir().unwrap();
        let pair = KeyPair::generate_unencrypted_keypair().unwrap();
        let (pub_text, sec_text) = key_files(&pair).unwrap();
        assert!(pub_text.starts_with("untrusted comment: minisign public key "));
        assert_eq!(pub_text.lines().count(), 2);
        assert!(sec_text.starts_with("untrusted comment: minisign encrypted secret key\n"));
        let core = rget_core::minisig::PublicKey::parse(&pub_text).unwrap();
        assert_eq!(core.key_id(), key_id(&pair.pk));
        let path = t.path().join("k");
        std::fs::write(&path, &sec_text).unwrap();
        let loaded = load_secret_key(&path, &no_password()).unwrap();
        assert_eq!(public_key_line(&loaded.pk), public_key_line(&pair.pk));
    }

    #[test]
    fn password_file_gives_its_first_line() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("pw");
        std::fs::write(&f, "secret words\r\nignored\n").unwrap();
        let args = PasswordArgs {
            password_file: Some(f.clone()),
        };
        assert_eq!(args.read(Confirm::Once).unwrap(), "secret words");
        std::fs::write(&f, "\n").unwrap();
        assert_eq!(
            args.read(Confirm::Twice).unwrap_err().exit_code(),
            ExitCode::Usage
        );
        std::fs::write(&f, "x".repeat(MAX_PASSWORD + 1)).unwrap();
        assert_eq!(
            args.read(Confirm::Once).unwrap_err().exit_code(),
            ExitCode::Usage
        );
    }

    #[test]
    fn garbage_keys_are_malformed_not_panics() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("k");
        for text in [
            "",
            "untrusted comment: x\n",
            "untrusted comment: x\nRWQ=\n",
            "untrusted comment: x\n!!!\n",
        ] {
            std::fs::write(&path, text).unwrap();
            let e = load_secret_key(&path, &no_password())
                .map(|_| ())
                .unwrap_err();
            assert_eq!(e.exit_code(), ExitCode::Malformed, "{text:?}: {e}");
        }
    }
}
