//! Go's reference implementation (`golang.org/x/mod/sumdb/note` and `.../tlog`, Debian's x/mod 0.7.0)
//! as a command-line helper for the interop tests: `tests/gointerop`, built once per test process in
//! GOPATH mode, offline.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

pub const INSTALL_HINT: &str = "the Go interop tests need the Go toolchain and Go's x/mod sources: \
     install the Debian packages `golang-go golang-golang-x-mod-dev` (CI installs them)";

/// Path of the `gointerop` binary, built on first use.
pub fn gointerop() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(build_gointerop)
}

fn build_gointerop() -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gointerop");
    // Cargo's scratch directory for integration tests: the Go build cache persists there between
    // runs. Each process builds its own binary and renames it into place, so a concurrent run never
    // executes a half-written file.
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gointerop");
    let cache = scratch.join("gocache");
    std::fs::create_dir_all(&cache).expect("create the Go build cache directory");
    let tmp = scratch.join(format!("gointerop.{}", std::process::id()));
    let bin = scratch.join("gointerop");
    let out = Command::new("go")
        .args(["build", "-o"])
        .arg(&tmp)
        .arg(".")
        .current_dir(&src)
        .env("GO111MODULE", "off")
        .env("GOPATH", "/usr/share/gocode")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .env("GOCACHE", &cache)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `go build` ({e}); {INSTALL_HINT}"));
    assert!(
        out.status.success(),
        "`go build` of {} failed; {INSTALL_HINT}\n{}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::rename(&tmp, &bin).expect("move the gointerop binary into place");
    bin
}

/// Go's reference verification of a whole published log directory (`gointerop checkdir`): the
/// checkpoint, the tree from the entry bundles, and every file under `tile/` against it. Panics
/// with Go's one-line message if anything fails; returns `ok <size> <root> <files>`.
pub fn check_published_dir(public: &Path, vkey: &str) -> String {
    let out = Command::new(gointerop())
        .arg("checkdir")
        .arg(public)
        .arg(vkey)
        .stdin(Stdio::null())
        .output()
        .expect("run gointerop");
    assert!(
        out.status.success(),
        "Go's verification of {} failed: {}",
        public.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}
