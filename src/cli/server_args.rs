//! The connection limits every server command takes (`rget log serve`, `rget witness serve`).

use crate::log::server::Limits;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct ServerArgs {
    /// Concurrent connections; at the cap new ones wait in the kernel backlog
    #[arg(long, value_name = "N", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,

    /// Time a client has to send a request's headers; also the idle keep-alive timeout (ms)
    #[arg(long, value_name = "MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub header_timeout: u64,

    /// Time a client has to send a request body; also the limit on a blocked write (ms)
    #[arg(long, value_name = "MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub body_timeout: u64,

    /// On shutdown, how long in-flight requests get to finish (ms)
    #[arg(long, value_name = "MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub shutdown_timeout: u64,
}

impl ServerArgs {
    /// The server limits, with the command's own body limit.
    pub fn limits(&self, max_body: usize) -> Limits {
        Limits {
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            max_body,
            header_timeout: Duration::from_millis(self.header_timeout),
            body_timeout: Duration::from_millis(self.body_timeout),
            write_timeout: Duration::from_millis(self.body_timeout),
            shutdown_grace: Duration::from_millis(self.shutdown_timeout),
        }
    }
}
