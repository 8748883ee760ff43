//! What every server command takes (`rget log serve`, `rget witness serve`): the address to listen
//! on and the connection limits.

use crate::cli::exit::{Failure, io_reason};
use crate::serve::{Limits, shutdown_signals};
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

/// The listening address and connection limits of `rget log serve` and `rget witness serve`.
#[derive(clap::Args, Debug)]
pub struct ServerArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port)
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,

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

    /// Also trust the CA certificates in this PEM file for the server's own outbound HTTPS (the
    /// log's requests to its witnesses; the witness's --log-list URLs); repeatable. SSL_CERT_FILE
    /// is honoured too
    #[arg(long, value_name = "FILE")]
    pub cacert: Vec<std::path::PathBuf>,
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

    /// Binds `--listen` before anything is served, so a busy port fails the command at once
    /// (exit 4).
    pub fn bind(&self) -> Result<(std::net::TcpListener, SocketAddr), Failure> {
        let listen = self.listen;
        let failed = |e: std::io::Error| {
            Failure::network(format!("cannot listen on {listen}: {}", io_reason(&e)))
        };
        let listener = std::net::TcpListener::bind(listen)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(failed)?;
        let addr = listener.local_addr().map_err(failed)?;
        Ok((listener, addr))
    }
}

/// The tokio runtime a server command runs on.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::local_io(format!("cannot start the runtime: {}", io_reason(&e))))
}

/// Inside the runtime: takes over the bound listener, installs the SIGTERM/SIGINT handlers, and only
/// then prints `listening on http://ADDR` as the first line of standard output (so a signal sent right
/// after the line is read already finds the handlers installed, and port 0 can be discovered).
pub fn announce(
    listener: std::net::TcpListener,
    addr: SocketAddr,
) -> Result<(tokio::net::TcpListener, impl Future<Output = &'static str>), Failure> {
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| Failure::network(format!("cannot listen on {addr}: {}", io_reason(&e))))?;
    let signals = shutdown_signals().map_err(|e| {
        Failure::local_io(format!("cannot install signal handlers: {}", io_reason(&e)))
    })?;
    super::stdout::print(&format!("listening on http://{addr}\n"))?;
    Ok((listener, signals))
}
