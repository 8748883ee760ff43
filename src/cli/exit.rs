//! The error type of `rget`'s subcommands: an exit code ([`ExitCode`], declared once in
//! `rget_core::exit` for rget and the bootstrap alike) and a one-line message.

pub use rget_core::escape::io_reason;
pub use rget_core::exit::ExitCode;
use std::fmt;

/// A failed command: the exit code and a one-line message (printed as `rget: <message>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    code: ExitCode,
    message: String,
}

/// What every subcommand returns.
pub type CliResult<T = ()> = Result<T, Failure>;

impl Failure {
    /// A failure with `code`. Line breaks, escape sequences and every other character a terminal
    /// would act on (from a URL or a file name, say) are spelled out
    /// ([`rget_core::escape::for_terminal`]), so the message stays one line whatever it quotes,
    /// and shows what it quotes.
    pub fn new(code: ExitCode, message: impl fmt::Display) -> Failure {
        let message = rget_core::escape::for_terminal(&message.to_string()).into_owned();
        Failure { code, message }
    }
    /// Exit code [`ExitCode::VerificationFailed`].
    pub fn verification(message: impl fmt::Display) -> Failure {
        Failure::new(ExitCode::VerificationFailed, message)
    }
    /// Exit code [`ExitCode::Usage`].
    pub fn usage(message: impl fmt::Display) -> Failure {
        Failure::new(ExitCode::Usage, message)
    }
    /// Exit code [`ExitCode::Malformed`].
    pub fn malformed(message: impl fmt::Display) -> Failure {
        Failure::new(ExitCode::Malformed, message)
    }
    /// Exit code [`ExitCode::Network`].
    pub fn network(message: impl fmt::Display) -> Failure {
        Failure::new(ExitCode::Network, message)
    }
    /// Exit code [`ExitCode::NotFound`].
    pub fn not_found(message: impl fmt::Display) -> Failure {
        Failure::new(ExitCode::NotFound, message)
    }
    /// Exit code [`ExitCode::TrustAnomaly`].
    pub fn trust_anomaly(message: impl fmt::Display) -> Failure {
        Failure::new(ExitCode::TrustAnomaly, message)
    }
    /// Exit code [`ExitCode::LocalIo`].
    pub fn local_io(message: impl fmt::Display) -> Failure {
        Failure::new(ExitCode::LocalIo, message)
    }
    /// Why the command failed.
    pub fn exit_code(&self) -> ExitCode {
        self.code
    }
    /// The process exit status.
    pub fn code(&self) -> i32 {
        self.code.code()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_constructor_has_its_code() {
        assert_eq!(
            Failure::verification("x").exit_code(),
            ExitCode::VerificationFailed
        );
        assert_eq!(Failure::usage("x").exit_code(), ExitCode::Usage);
        assert_eq!(Failure::malformed("x").exit_code(), ExitCode::Malformed);
        assert_eq!(Failure::network("x").exit_code(), ExitCode::Network);
        assert_eq!(Failure::not_found("x").exit_code(), ExitCode::NotFound);
        assert_eq!(
            Failure::trust_anomaly("x").exit_code(),
            ExitCode::TrustAnomaly
        );
        assert_eq!(Failure::local_io("x").exit_code(), ExitCode::LocalIo);
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
}
