//! Cross-checks against independent implementations: Go's reference x/mod packages, and minisign
//! (the crate, and the `minisign` tool). The tests that need a tool outside Cargo are ignored by
//! default; `.ci/run` installs the tools and runs them.

mod go;
mod minisign;
