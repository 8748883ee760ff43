//! A reverse proxy on loopback that counts what it relays: to count the requests a log sends each
//! witness over a run (their budgets), to put a witness behind the client side of a C2SP
//! https-bastion, and as the TLS front of a whole deployment ([`Relay::front`]).
//!
//! A bastion serves `https://<bastion>/<lowercase hex SHA-256 of a backend key>/<path>` and relays it
//! as `/<path>` to that backend, over a connection the backend opened to the bastion (TLS 1.3 with
//! the backend key, then HTTP/2 served backwards). What a client (a log) sees is only the first half:
//! an https URL with the key hash as its first path segment, answered as the backend answers, and
//! the statuses the spec gives the bastion itself: 421 for a key hash it does not know, 503 for a
//! known backend that is not connected. [`Relay::bastion`] is exactly that half, on HTTPS with the
//! test CA; it reaches the witness by connecting to it over HTTP/1.1, in place of the backend's
//! reverse connection, which is the bastion's and the witness's business, not the log's.
//!
//! One request per connection (`Connection: close`); only `Content-Length` bodies.

use super::https::{Conn, ReadWrite, TestCa, read_head};
use std::collections::HashMap;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One relayed request: when it came, its path as received, and the status returned.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    pub path: String,
    pub status: u16,
}

struct Shared {
    /// Key hash (or "" without a prefix) → backend base URL, `None` while disconnected.
    backends: Mutex<HashMap<String, Option<String>>>,
    /// How long a request waits for a backend that refuses connections (not started yet).
    patience: Duration,
    seen: Mutex<Vec<Seen>>,
    stop: AtomicBool,
}

/// A running relay; stops on drop.
pub struct Relay {
    pub addr: SocketAddr,
    tls: bool,
    shared: Arc<Shared>,
}

impl Relay {
    /// A plain-HTTP relay of every path to `backend` (`http://127.0.0.1:PORT`).
    pub fn http(backend: &str) -> Relay {
        let r = Relay::start(None, Duration::ZERO);
        r.shared
            .backends
            .lock()
            .unwrap()
            .insert(String::new(), Some(backend.to_owned()));
        r
    }

    /// The client side of an https-bastion, with the certificate of `ca`, serving no backend yet.
    pub fn bastion(ca: &TestCa) -> Relay {
        Relay::start(Some(ca.server_config()), Duration::ZERO)
    }

    /// A TLS reverse proxy with the certificate of `ca` that routes by the first path segment, as
    /// the `location` blocks of an nginx front do: `route("rget", Some("http://127.0.0.1:PORT"))`
    /// relays `/rget/<path>` as `/<path>`. A request for a backend that refuses connections waits up
    /// to `patience` for it to start listening (a server started in the background a moment ago),
    /// instead of answering 502 at once.
    pub fn front(ca: &TestCa, patience: Duration) -> Relay {
        Relay::start(Some(ca.server_config()), patience)
    }

    /// Serves `backend` under `/<key_hash>/` (`None`: the backend is known but not connected).
    pub fn route(&self, key_hash: &str, backend: Option<&str>) {
        self.shared
            .backends
            .lock()
            .unwrap()
            .insert(key_hash.to_owned(), backend.map(str::to_owned));
    }

    /// Forgets `key_hash`: requests for it get 421.
    pub fn unroute(&self, key_hash: &str) {
        self.shared.backends.lock().unwrap().remove(key_hash);
    }

    /// `http(s)://127.0.0.1:PORT<path>`.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// Every request relayed or answered so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    fn start(tls: Option<Arc<rustls::ServerConfig>>, patience: Duration) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            backends: Mutex::new(HashMap::new()),
            seen: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            patience,
        });
        let s = shared.clone();
        let is_tls = tls.is_some();
        let prefixed = is_tls;
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(tcp) = conn else { continue };
                let (s, tls) = (s.clone(), tls.clone());
                std::thread::spawn(move || serve(tcp, tls, prefixed, &s));
            }
        });
        Relay {
            addr,
            tls: is_tls,
            shared,
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(tcp: TcpStream, tls: Option<Arc<rustls::ServerConfig>>, prefixed: bool, s: &Shared) {
    let Some(mut conn) = Conn::accept(tcp, tls) else {
        return;
    };
    let Some((method, path, headers, body)) = read_request(conn.io()) else {
        return;
    };
    let at = Instant::now();
    // The route: the first segment of the path for a bastion, everything for a plain relay.
    let (key, rest) = if prefixed {
        let p = path.strip_prefix('/').unwrap_or(&path);
        match p.split_once('/') {
            Some((k, r)) => (k.to_owned(), format!("/{r}")),
            None => (p.to_owned(), "/".to_owned()),
        }
    } else {
        (String::new(), path.clone())
    };
    let backend = s.backends.lock().unwrap().get(&key).cloned();
    let (status, ctype, answer) = match backend {
        // https-bastion: an unknown key hash is 421, a known backend that is not connected 503.
        None => (421, "text/plain".to_owned(), b"unknown backend\n".to_vec()),
        Some(None) => (
            503,
            "text/plain".to_owned(),
            b"backend not connected\n".to_vec(),
        ),
        Some(Some(base)) => {
            let url = format!("{base}{rest}");
            let until = Instant::now() + s.patience;
            loop {
                match forward(&method, &url, &headers, &body) {
                    Err(refused) if Instant::now() >= until => break refused,
                    Err(_) => std::thread::sleep(Duration::from_millis(50)),
                    Ok(answer) => break answer,
                }
            }
        }
    };
    s.seen.lock().unwrap().push(Seen { at, path, status });
    let head = format!(
        "HTTP/1.1 {status} Relayed\r\nConnection: close\r\nContent-Type: {ctype}\r\n\
         Content-Length: {}\r\n\r\n",
        answer.len()
    );
    let io = conn.io();
    if io.write_all(head.as_bytes()).is_err() || io.write_all(&answer).is_err() {
        return;
    }
    let _ = io.flush();
    conn.finish();
}

/// A relayed answer: status, content type, body.
type Answer = (u16, String, Vec<u8>);

/// Sends the request on to the backend; returns its status, content type and body, or as the error
/// the 502 answer to give when the backend refused the connection.
fn forward(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Answer, Answer> {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build(),
    );
    let result = match method {
        "POST" => {
            let mut req = agent.post(url);
            for (k, v) in headers {
                if k.eq_ignore_ascii_case("content-type") {
                    req = req.header(k, v);
                }
            }
            req.send(body)
        }
        _ => agent.get(url).call(),
    };
    match result {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let ctype = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("text/plain")
                .to_owned();
            let body = r.body_mut().read_to_vec().unwrap_or_default();
            Ok((status, ctype, body))
        }
        Err(ureq::Error::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Err((502, "text/plain".to_owned(), format!("{e}\n").into_bytes()))
        }
        Err(e) => Ok((502, "text/plain".to_owned(), format!("{e}\n").into_bytes())),
    }
}

/// A request as read: method, path, headers, body.
type Request = (String, String, Vec<(String, String)>, Vec<u8>);

/// Reads a request head and its `Content-Length` body.
fn read_request(stream: &mut dyn ReadWrite) -> Option<Request> {
    let head = read_head(stream)?;
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let len: u64 = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = Vec::new();
    stream.take(len).read_to_end(&mut body).ok()?;
    Some((method, path, headers, body))
}

/// A CONNECT proxy on loopback (`HTTPS_PROXY=http://127.0.0.1:PORT`) that tunnels every request to
/// one address, whatever host it names: a URL with an explicit `:443` (or no port) reaches a test
/// server, and a whole world's hosts (`example.org`, `log.example.org`, …) reach one TLS front whose
/// certificate names them ([`super::https::TestCa::for_names`]). Records the targets asked for.
pub struct Tunnel {
    pub port: u16,
    targets: Arc<Mutex<Vec<String>>>,
}

impl Tunnel {
    pub fn start(to: SocketAddr) -> Tunnel {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let seen = targets.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                let seen = seen.clone();
                std::thread::spawn(move || tunnel(client, to, &seen));
            }
        });
        Tunnel { port, targets }
    }

    /// `http://127.0.0.1:PORT`, for `HTTPS_PROXY`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `host:port` of every CONNECT so far.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

/// Reads one CONNECT request from `client`, then copies bytes both ways between it and `to`.
fn tunnel(mut client: TcpStream, to: SocketAddr, seen: &Mutex<Vec<String>>) {
    use std::io::Write;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        if client.read(&mut byte).unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let Some(target) = head
        .strip_prefix(b"CONNECT ")
        .and_then(|rest| rest.split(|b| *b == b' ').next())
    else {
        return;
    };
    seen.lock()
        .unwrap()
        .push(String::from_utf8_lossy(target).into_owned());
    let Ok(server) = TcpStream::connect(to) else {
        return;
    };
    let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    let (Ok(mut c2), Ok(mut s2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut s2);
        let _ = s2.shutdown(std::net::Shutdown::Write);
    });
    let (mut s, mut c) = (server, client);
    let _ = std::io::copy(&mut s, &mut c);
    let _ = c.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
}
