//! The HTTPS file server of the `get_*` benchmarks: rustls (ring) on 127.0.0.1, a thread per
//! connection, HTTP/1.1 with keep-alive, each file streamed from the page cache in 256 KiB reads
//! with `Content-Length`; GETs only, a 404 for any other path.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;

/// Serves `files` (URL path -> file) over HTTPS on 127.0.0.1, a thread per connection.
pub fn serve(files: HashMap<String, PathBuf>, config: Arc<rustls::ServerConfig>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let files = Arc::new(files);
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let (files, config) = (files.clone(), config.clone());
            std::thread::spawn(move || {
                let _ = connection(tcp, &files, config);
            });
        }
    });
    addr
}

fn connection(
    tcp: TcpStream,
    files: &HashMap<String, PathBuf>,
    config: Arc<rustls::ServerConfig>,
) -> std::io::Result<()> {
    let tls = rustls::StreamOwned::new(
        rustls::ServerConnection::new(config).map_err(std::io::Error::other)?,
        tcp,
    );
    let mut conn = BufReader::new(tls);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        // Request head: `GET /path HTTP/1.1`, headers, empty line (GETs only, no body).
        let mut line = String::new();
        if conn.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let path = line.split(' ').nth(1).unwrap_or("").to_owned();
        let mut close = false;
        loop {
            let mut h = String::new();
            if conn.read_line(&mut h)? == 0 {
                return Ok(());
            }
            if h == "\r\n" {
                break;
            }
            close |= h.to_ascii_lowercase().starts_with("connection: close");
        }
        let w = conn.get_mut();
        match files.get(&path).map(std::fs::File::open) {
            Some(Ok(mut f)) => {
                let len = f.metadata()?.len();
                write!(
                    w,
                    "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nContent-Type: application/octet-stream\r\n\r\n"
                )?;
                loop {
                    let n = f.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    w.write_all(&buf[..n])?;
                }
            }
            _ => w.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")?,
        }
        w.flush()?;
        if close {
            w.conn.send_close_notify();
            return w.flush();
        }
    }
}
