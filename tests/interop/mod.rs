//! Cross-checks against independent implementations outside Cargo: Go's reference x/mod packages
//! and the `minisign` tool.

mod go;
mod minisign;
