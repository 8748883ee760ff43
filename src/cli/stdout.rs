//! Writing a command's report on standard output: one place for the flush and for the message of a
//! write that fails (a closed pipe, a full disk), which every command reports the same way, exit 7.

use super::exit::{CliResult, Failure, io_reason};
use std::io::{self, Write};

/// Writes `text` on standard output and flushes it.
pub fn print(text: &str) -> CliResult {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(write_failed)
}

/// The failure of a write on standard output.
pub fn write_failed(e: io::Error) -> Failure {
    Failure::local_io(format!("writing to standard output: {}", io_reason(&e)))
}
