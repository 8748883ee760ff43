//! The exit codes of every rget program (`rget`, `rget-bootstrap`), documented in README.md
//! ("Exit codes"). Scripts branch on them, so they are part of the interface: never renumber them.
//!
//! A command stopped by SIGINT, SIGTERM or SIGHUP exits with the shell's status for the signal
//! instead (128 + its number), after removing its temporary files.

/// Why a program ended. [`ExitCode::code`] is the number the process exits with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitCode {
    /// Everything checked out.
    Ok,
    /// A digest, signature, proof or policy check did not hold.
    VerificationFailed,
    /// The command line is wrong (unknown flag, missing argument, arguments that cannot go
    /// together), or asks for something that does not exist for it (an unpinned version).
    Usage,
    /// A file or server answer does not parse.
    Malformed,
    /// The network failed: connection, TLS, timeout, or an HTTP error status.
    Network,
    /// What was asked for does not exist (a file name absent from `SHA256SUMS`, an HTTP 404, no
    /// record).
    NotFound,
    /// Audit found an unexpected record, a URL has more than one `SHA256SUMS`, or a log rolled
    /// back, forked, or cannot serve the tiles of a tree size it signed.
    TrustAnomaly,
    /// Reading, writing, installing or executing a local file failed.
    LocalIo,
}

impl ExitCode {
    /// The process exit status.
    pub const fn code(self) -> i32 {
        match self {
            ExitCode::Ok => 0,
            ExitCode::VerificationFailed => 1,
            ExitCode::Usage => 2,
            ExitCode::Malformed => 3,
            ExitCode::Network => 4,
            ExitCode::NotFound => 5,
            ExitCode::TrustAnomaly => 6,
            ExitCode::LocalIo => 7,
        }
    }

    /// Its class in a few words, as README.md's "Exit codes" names it (for a line that reports
    /// one failure among several).
    pub const fn class(self) -> &'static str {
        match self {
            ExitCode::Ok => "success",
            ExitCode::VerificationFailed => "verification failed",
            ExitCode::Usage => "usage error",
            ExitCode::Malformed => "malformed input",
            ExitCode::Network => "network error",
            ExitCode::NotFound => "not found",
            ExitCode::TrustAnomaly => "trust anomaly",
            ExitCode::LocalIo => "local I/O error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ExitCode::*;

    /// Each code has the number and the meaning of its row in README.md's "Exit codes" table, and
    /// the table has no other row.
    #[test]
    fn codes_are_the_documented_ones() {
        let readme = include_str!("../../../README.md");
        let table = readme
            .split("## Exit codes")
            .nth(1)
            .and_then(|t| t.split("\n\n").nth(1))
            .unwrap();
        let documented = [
            (Ok, "success"),
            (VerificationFailed, "verification failed"),
            (Usage, "usage error"),
            (Malformed, "malformed input"),
            (Network, "network error"),
            (NotFound, "not found"),
            (TrustAnomaly, "trust anomaly"),
            (LocalIo, "local I/O error"),
        ];
        for (code, meaning) in documented {
            assert_eq!(code.class(), meaning);
            let row = format!("| {} | {meaning}", code.code());
            assert!(table.contains(&row), "README.md lacks the row {row:?}");
        }
        assert_eq!(table.lines().filter(|l| l.starts_with("| ")).count(), 1 + 8);
    }
}
