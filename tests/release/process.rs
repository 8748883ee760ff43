//! rget's own release process end to end: `bootstrap/release.sh` into a temporary pin set (release
//! key in minisign's format, a real local log), its output served over HTTPS at the pin set's
//! source, and the bootstrap it built installing the rget it built, which then verifies itself with
//! the pins compiled into it (no `--pins`: the release trust of this temporary pin set).
//!
//! Both binaries are built with `RGET_BUILD_PROFILE=dev` (a release build of rget takes minutes on a
//! small CI machine; the process is the same) in `<target>/release-process`, kept between runs.
#![cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]

use crate::common::{self, https, release, text};

use https::{Reply, TestServer};
use release::{VERSION, World, rget_file, target};
use std::path::Path;
use std::process::{Command, Stdio};

#[test]
fn the_release_process_publishes_what_its_bootstrap_installs() {
    let w = World::new();
    // An older release already pinned: it must stay exactly as it is (append only).
    let old_line = format!("{}  {}\n", "ab".repeat(32), rget_file("0.0.1"));
    let pins = w.write_pins(
        "pinned",
        old_line.as_bytes(),
        &w.policy_text(),
        "/rget/v{version}/",
    );
    let out = w.dir("out");

    release_sh(&out, &pins, &w.dir("publisher-state"), |sh| {
        sh.args(["--key"])
            .arg(&w.key_sec)
            .args(["--log", &w.log_url, "--policy"])
            .arg(&w.policy)
            .arg("--cacert")
            .arg(w.ca.pem_path())
    });

    // The pin set: the old line untouched, the new digest appended.
    let name = rget_file(VERSION);
    let boot_name = format!("rget-bootstrap-{VERSION}-{}", target());
    let rget_bytes = std::fs::read(out.join(&name)).unwrap();
    let digest = rget::core::digest::sha256(&rget_bytes).to_hex();
    assert_eq!(
        std::fs::read_to_string(pins.join("SHA256SUMS")).unwrap(),
        format!("{old_line}{digest}  {name}\n")
    );
    // The release directory: both binaries, listed in SHA256SUMS, signed (checked by minisign's
    // verifier, not rget's) and logged.
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    assert!(sums.contains(&format!("{digest}  {name}\n")), "{sums}");
    assert!(sums.contains(&boot_name), "{sums}");
    w.minisign.verify(&w.key_pub, &out.join("SHA256SUMS"));
    assert!(out.join("SHA256SUMS.tlog-proof").is_file());

    // Upload: serve the release directory at the pin set's source.
    upload(&w.srv, &out);

    // The bootstrap it built installs the rget it built; that rget verifies itself under the pins
    // compiled into it (these test pins), with the CA from SSL_CERT_FILE.
    let bin = w.dir("bin");
    let (stdout, stderr) = install(&out.join(&boot_name), &w.root, &w.ca.pem_path(), &bin);
    assert!(
        stderr.contains(&format!("ok: {name} has the pinned SHA-256 {digest}")),
        "{stderr}"
    );
    assert!(std::fs::read(bin.join("rget")).unwrap() == rget_bytes);
    // `self verify` (the default ARGS) ran with the compiled-in pins and found itself.
    assert!(stdout.contains(&digest), "{stdout}");
    assert!(stdout.contains("pins: compiled in"), "{stdout}");
}

/// The same process into a Sigsum log (`release.sh --sigsum-…`): a Sigsum pin set (ssh-ed25519
/// release key, Sigsum policy), `SHA256SUMS.proof` instead of the signature and tlog-proof, and the
/// bootstrap it built (the Sigsum verifier only) installing the rget it built.
#[test]
fn the_release_process_into_a_sigsum_log_publishes_what_its_bootstrap_installs() {
    let w = crate::common::sigsum_log::SigsumWorld::new(1);
    let pins = w.dir("pinned");
    std::fs::write(pins.join("SHA256SUMS"), "").unwrap();
    std::fs::copy(&w.key_pub, pins.join("release.pub")).unwrap();
    std::fs::write(pins.join("policy"), w.policy_text()).unwrap();
    std::fs::write(
        pins.join("source"),
        format!("{}\n", w.url("/rget/v{version}/")),
    )
    .unwrap();
    let out = w.dir("out");
    release_sh(&out, &pins, &w.dir("publisher-state"), |sh| {
        sh.arg("--sigsum-key")
            .arg(&w.key)
            .arg("--sigsum-policy")
            .arg(&w.policy)
    });
    let name = rget_file(VERSION);
    let boot_name = format!("rget-bootstrap-{VERSION}-{}", target());
    let rget_bytes = std::fs::read(out.join(&name)).unwrap();
    let digest = rget::core::digest::sha256(&rget_bytes).to_hex();
    assert!(out.join("SHA256SUMS.proof").is_file());
    assert!(!out.join("SHA256SUMS.minisig").exists());
    assert!(!out.join("SHA256SUMS.tlog-proof").exists());
    // The sigsum crate, not rget, checks the proof of the release directory.
    let proof = std::fs::read_to_string(out.join("SHA256SUMS.proof")).unwrap();
    let sums = std::fs::read(out.join("SHA256SUMS")).unwrap();
    let key = rget::core::openssh::parse_public_keys(&std::fs::read(&w.key_pub).unwrap())
        .unwrap()
        .keys[0];
    let sig = sigsum::SigsumSignature::from_ascii(&proof);
    // A one-leaf tree's proof has no inclusion block, which the sigsum crate does not read; the
    // release is then checked by rget's verifier through the bootstrap below.
    if let Ok(sig) = sig {
        sigsum::verify(
            &sigsum::Hash::new(&sums),
            &sig,
            &[key.into()],
            &sigsum::Policy::parse(&w.policy_text()).unwrap(),
        )
        .expect("the sigsum crate verifies the release's proof");
    }
    upload(&w.srv, &out);
    let bin = w.dir("bin");
    let (stdout, stderr) = install(&out.join(&boot_name), &w.root, &w.ca.pem_path(), &bin);
    assert!(
        stderr.contains("ok: SHA256SUMS is signed by pinned release key ssh-ed25519"),
        "{stderr}"
    );
    assert!(std::fs::read(bin.join("rget")).unwrap() == rget_bytes);
    assert!(stdout.contains(&digest), "{stdout}");
    assert!(stdout.contains("pins: compiled in"), "{stdout}");
}

/// Runs `bootstrap/release.sh --out OUT --pinned PINS --allow-http --state STATE` with the signing
/// and log options `options` adds, both binaries built as dev builds in `<target>/release-process`
/// (kept between runs), and asserts that it succeeded.
fn release_sh(
    out: &Path,
    pins: &Path,
    state: &Path,
    options: impl FnOnce(&mut Command) -> &mut Command,
) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bootstrap/release.sh");
    let mut sh = Command::new("sh");
    sh.arg(&script)
        .arg("--out")
        .arg(out)
        .arg("--pinned")
        .arg(pins)
        .arg("--allow-http")
        .arg("--state")
        .arg(state)
        .env("RGET_BUILD_PROFILE", "dev")
        .env("CARGO_TARGET_DIR", common::target_dir("release-process"))
        .stdin(Stdio::null());
    let run = options(&mut sh).output().expect("run bootstrap/release.sh");
    assert!(
        run.status.success(),
        "release.sh failed\nstdout:\n{}\nstderr:\n{}",
        text(&run.stdout),
        text(&run.stderr)
    );
}

/// Uploads the release directory `out`: every file of it served at `/rget/v<VERSION>/`, the pin
/// set's source.
fn upload(srv: &TestServer, out: &Path) {
    for f in std::fs::read_dir(out).unwrap() {
        let f = f.unwrap();
        let path = format!("/rget/v{VERSION}/{}", f.file_name().to_string_lossy());
        srv.route(&path, Reply::body(std::fs::read(f.path()).unwrap()));
    }
}

/// Runs the released bootstrap `boot` as a user would, in an empty environment but for `PATH`,
/// `HOME` and `XDG_STATE_HOME` under `root` and the test CA in `SSL_CERT_FILE`, installing into
/// `bin`; asserts that it succeeded and returns its standard output and error.
fn install(boot: &Path, root: &Path, ca: &Path, bin: &Path) -> (String, String) {
    let ran = Command::new(boot)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", root.join("home"))
        .env("XDG_STATE_HOME", root.join("state"))
        .env("SSL_CERT_FILE", ca)
        .arg("--prefix")
        .arg(bin)
        .stdin(Stdio::null())
        .output()
        .expect("run the released bootstrap");
    let (stdout, stderr) = (text(&ran.stdout), text(&ran.stderr));
    assert!(ran.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    (stdout, stderr)
}
