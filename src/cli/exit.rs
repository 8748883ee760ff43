//! Exit codes of `rget`, and the error type that carries one.
//!
//! Scripts branch on these codes, so they are part of the interface: never renumber them.

use std::fmt;

/// Everything checked out.
pub const OK: i32 = 0;
/// A digest, signature, proof or policy check did not hold.
pub const VERIFICATION_FAILED: i32 = 1;
/// The command line is wrong (unknown flag, missing argument, arguments that cannot go together).
pub const USAGE: i32 = 2;
/// A file or server answer does not parse.
pub const MALFORMED: i32 = 3;
/// The network failed: connection, TLS, timeout, or an HTTP error status.
pub const NETWORK: i32 = 4;
/// What was asked for does not exist (a file name absent from `SHA256SUMS`, an HTTP 404, no record).
pub const NOT_FOUND: i32 = 5;
/// The audit found an unexpected record, or a log rolled back or forked.
pub const TRUST_ANOMALY: i32 = 6;
/// Reading or writing a local file failed.
pub const LOCAL_IO: i32 = 7;

/// A failed command: the exit code and a one-line message (printed as `rget: <message>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    code: i32,
    message: String,
}

/// What every subcommand returns.
pub type CliResult<T = ()> = Result<T, Failure>;

impl Failure {
    /// A failure with `code`. Line breaks, escape sequences and every other character a terminal
    /// would act on (from a URL or a file name, say) are spelled out
    /// ([`rget_core::escape::for_terminal`]), so the message stays one line whatever it quotes,
    /// and shows what it quotes.
    pub fn new(code: i32, message: impl fmt::Display) -> Failure {
        let message = rget_core::escape::for_terminal(&message.to_string()).into_owned();
        Failure { code, message }
    }
    /// Exit code [`VERIFICATION_FAILED`].
    pub fn verification(message: impl fmt::Display) -> Failure {
        Failure::new(VERIFICATION_FAILED, message)
    }
    /// Exit code [`USAGE`].
    pub fn usage(message: impl fmt::Display) -> Failure {
        Failure::new(USAGE, message)
    }
    /// Exit code [`MALFORMED`].
    pub fn malformed(message: impl fmt::Display) -> Failure {
        Failure::new(MALFORMED, message)
    }
    /// Exit code [`NETWORK`].
    pub fn network(message: impl fmt::Display) -> Failure {
        Failure::new(NETWORK, message)
    }
    /// Exit code [`NOT_FOUND`].
    pub fn not_found(message: impl fmt::Display) -> Failure {
        Failure::new(NOT_FOUND, message)
    }
    /// Exit code [`TRUST_ANOMALY`].
    pub fn trust_anomaly(message: impl fmt::Display) -> Failure {
        Failure::new(TRUST_ANOMALY, message)
    }
    /// Exit code [`LOCAL_IO`].
    pub fn local_io(message: impl fmt::Display) -> Failure {
        Failure::new(LOCAL_IO, message)
    }
    /// The exit code.
    pub fn code(&self) -> i32 {
        self.code
    }
    /// The one-line message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// A short reason for an I/O error: `no such file or directory` rather than
/// `No such file or directory (os error 2)`, to fit the project's one-line lowercase messages.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error ") {
        Some(i) => text.get(..i).unwrap_or(&text),
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        assert_eq!(
            [
                OK,
                VERIFICATION_FAILED,
                USAGE,
                MALFORMED,
                NETWORK,
                NOT_FOUND,
                TRUST_ANOMALY,
                LOCAL_IO
            ],
            [0, 1, 2, 3, 4, 5, 6, 7]
        );
        assert_eq!(Failure::verification("x").code(), 1);
        assert_eq!(Failure::usage("x").code(), 2);
        assert_eq!(Failure::malformed("x").code(), 3);
        assert_eq!(Failure::network("x").code(), 4);
        assert_eq!(Failure::not_found("x").code(), 5);
        assert_eq!(Failure::trust_anomaly("x").code(), 6);
        assert_eq!(Failure::local_io("x").code(), 7);
    }

    #[test]
    fn messages_stay_on_one_line() {
        let f = Failure::malformed("bad name a\nb\rc");
        assert_eq!(f.to_string(), "bad name a\\nb\\rc");
        assert_eq!(f.message(), "bad name a\\nb\\rc");
    }

    #[test]
    fn messages_carry_no_terminal_controls() {
        let f = Failure::not_found(
            "\"\x1b[2J\x1b]0;owned\x07x\" is not listed in https://a/\u{202e}txt",
        );
        assert_eq!(
            f.message(),
            "\"\\x1b[2J\\x1b]0;owned\\x07x\" is not listed in https://a/\\u{202e}txt"
        );
        assert!(!f.message().chars().any(char::is_control));
    }

    #[test]
    fn io_reasons_are_short_and_lowercase() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(io_reason(&e), "no such file or directory");
        let e = std::io::Error::other("Custom thing");
        assert_eq!(io_reason(&e), "custom thing");
    }
}
