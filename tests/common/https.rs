//! A small HTTPS (or plain HTTP) test server on 127.0.0.1 for end-to-end tests, with a test CA.
//!
//! ```ignore
//! let ca = TestCa::new();                       // CA + server certificate for localhost/127.0.0.1
//! let srv = TestServer::https(&ca);             // or TestServer::http()
//! srv.route("/f", Reply::body(b"hello"));
//! let url = srv.url("/f");                      // https://127.0.0.1:PORT/f
//! // trust ca.pem_path() via --cacert / SSL_CERT_FILE; srv.count("/f") = requests seen
//! ```
//! Thread per connection, one request per connection (`Connection: close`). Routes match the path
//! without the query; unknown paths get 404. Dropping the server stops it.

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A test certificate authority and a server certificate it issued (for `localhost` and
/// `127.0.0.1`, or the names given to [`TestCa::for_names`]). The CA certificate is written to `ca.pem` in a temporary directory.
pub struct TestCa {
    dir: tempfile::TempDir,
    config: Arc<rustls::ServerConfig>,
}

impl TestCa {
    pub fn new() -> TestCa {
        TestCa::for_names(&["localhost", "127.0.0.1"])
    }

    /// A CA whose server certificate names `names` (host names or IP addresses): the hosts of a
    /// world reached through a CONNECT proxy ([`super::relay::Tunnel`]) as the documents name them.
    pub fn for_names(names: &[&str]) -> TestCa {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "rget test CA");
        let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
        let key = KeyPair::generate().expect("server key");
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("server params");
        let cert = params
            .signed_by(&key, &ca_cert, &ca_key)
            .expect("server certificate");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).expect("write ca.pem");
        let chain = vec![cert.der().clone(), ca_cert.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server config");
        TestCa {
            dir,
            config: Arc::new(config),
        }
    }

    /// The TLS configuration of a server presenting the certificate this CA issued.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        self.config.clone()
    }

    /// The CA certificate (PEM), to pass as `--cacert` or `SSL_CERT_FILE`.
    pub fn pem_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
}

/// What the server does for one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A status, headers and body, with `Content-Length` if `content_length`, else close-delimited.
    Fixed {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        content_length: bool,
    },
    /// Declares `declared` bytes, sends `body` (shorter), closes.
    CutShort { declared: u64, body: Vec<u8> },
    /// A close-delimited body that never ends.
    Endless,
    /// `body` with `Content-Length`, `chunk` bytes at a time with `delay` between them.
    Slow {
        body: Vec<u8>,
        chunk: usize,
        delay: Duration,
    },
    /// Reads the request, then never answers (holds the connection until the server stops).
    Hang,
    /// The i-th request gets the i-th reply; the last one repeats.
    Sequence(Vec<Reply>),
    /// Whatever the function makes of the request target (path and query), when the request
    /// arrives: a test's hook into a run at that moment (a front of a real server, say).
    Hook(Hook),
}

/// The function of [`Reply::Hook`].
#[derive(Clone)]
pub struct Hook(pub Arc<dyn Fn(&str) -> Reply + Send + Sync>);

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hook")
    }
}

impl Reply {
    pub fn body(b: impl AsRef<[u8]>) -> Reply {
        Reply::Fixed {
            status: 200,
            headers: vec![],
            body: b.as_ref().to_vec(),
            content_length: true,
        }
    }
    /// A body without `Content-Length` (ends when the connection closes).
    pub fn body_unsized(b: impl AsRef<[u8]>) -> Reply {
        Reply::Fixed {
            status: 200,
            headers: vec![],
            body: b.as_ref().to_vec(),
            content_length: false,
        }
    }
    pub fn status(status: u16) -> Reply {
        Reply::Fixed {
            status,
            headers: vec![],
            body: format!("status {status}\n").into_bytes(),
            content_length: true,
        }
    }
    /// A 302 to `location` (absolute or relative).
    pub fn redirect(location: &str) -> Reply {
        Reply::redirect_with(302, location)
    }
    pub fn redirect_with(status: u16, location: &str) -> Reply {
        Reply::Fixed {
            status,
            headers: vec![("Location".into(), location.into())],
            body: vec![],
            content_length: true,
        }
    }
}

struct Route {
    reply: Reply,
    count: usize,
}

struct Shared {
    routes: Mutex<HashMap<String, Route>>,
    /// `(prefix, dir)`: paths under `prefix` without a route of their own are the files under
    /// `dir`, read when the request comes ([`TestServer::serve_dir_live`]).
    live: Mutex<Vec<(String, PathBuf)>>,
    stop: AtomicBool,
    connections: AtomicUsize,
}

/// A running test server. Stops (and releases hanging connections) on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    tls: bool,
    shared: Arc<Shared>,
}

impl TestServer {
    /// An HTTPS server with the certificate of `ca`.
    pub fn https(ca: &TestCa) -> TestServer {
        TestServer::start(Some(ca.server_config()))
    }

    /// A plain HTTP server.
    pub fn http() -> TestServer {
        TestServer::start(None)
    }

    fn start(tls: Option<Arc<rustls::ServerConfig>>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            routes: Mutex::new(HashMap::new()),
            live: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
        });
        let s = shared.clone();
        let is_tls = tls.is_some();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(tcp) = conn else { continue };
                s.connections.fetch_add(1, Ordering::SeqCst);
                let (s, tls) = (s.clone(), tls.clone());
                std::thread::spawn(move || serve(tcp, tls, &s));
            }
        });
        TestServer {
            addr,
            tls: is_tls,
            shared,
        }
    }

    /// `https://127.0.0.1:PORT<path>` (or `http://`).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// Sets what `path` answers (the request count stays).
    pub fn route(&self, path: &str, reply: Reply) {
        let mut routes = self.shared.routes.lock().unwrap();
        let count = routes.get(path).map_or(0, |r| r.count);
        routes.insert(path.to_owned(), Route { reply, count });
    }

    /// Serves every file under `dir`, as it is now, at `prefix/<its path under dir>`: what a plain
    /// static web server (or a CDN) does with a directory. Other paths get 404.
    pub fn serve_dir(&self, prefix: &str, dir: &Path) {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("read dir") {
                let p = e.expect("dir entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p
                        .strip_prefix(dir)
                        .expect("under dir")
                        .to_str()
                        .expect("UTF-8");
                    let body = std::fs::read(&p).expect("read file");
                    self.route(&format!("{prefix}/{rel}"), Reply::body(body));
                }
            }
        }
    }

    /// Serves the files under `dir` at `prefix/<their path under dir>` as they are when each request
    /// comes: a web server's document root, into which a test (or a script it runs) copies files
    /// later. Paths with a `..` segment, and files that do not exist, get 404.
    pub fn serve_dir_live(&self, prefix: &str, dir: &Path) {
        self.shared
            .live
            .lock()
            .unwrap()
            .push((prefix.trim_end_matches('/').to_owned(), dir.to_path_buf()));
    }

    /// TCP connections accepted so far (including ones whose TLS handshake failed).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Requests seen for `path` (including unknown paths).
    pub fn count(&self, path: &str) -> usize {
        self.shared
            .routes
            .lock()
            .unwrap()
            .get(path)
            .map_or(0, |r| r.count)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wake the accept loop
    }
}

/// A listener that accepts connections and never reads or writes (not even a TLS handshake).
pub struct SilentServer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl SilentServer {
    pub fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                held.extend(conn.ok());
            }
        });
        SilentServer { addr, stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// A connection a test server accepted, TLS or not.
pub enum Conn {
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
    Plain(TcpStream),
}

impl Conn {
    /// Takes over `tcp` (10 s read and write timeouts), in TLS when `tls` is given; `None` if TLS
    /// cannot start.
    pub fn accept(tcp: TcpStream, tls: Option<Arc<rustls::ServerConfig>>) -> Option<Conn> {
        let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = tcp.set_write_timeout(Some(Duration::from_secs(10)));
        Some(match tls {
            Some(cfg) => Conn::Tls(Box::new(rustls::StreamOwned::new(
                rustls::ServerConnection::new(cfg).ok()?,
                tcp,
            ))),
            None => Conn::Plain(tcp),
        })
    }

    pub fn io(&mut self) -> &mut dyn ReadWrite {
        match self {
            Conn::Tls(t) => t.as_mut(),
            Conn::Plain(p) => p,
        }
    }

    /// Ends the connection properly (TLS `close_notify`), so a close-delimited body is complete.
    pub fn finish(&mut self) {
        if let Conn::Tls(t) = self {
            t.conn.send_close_notify();
            let _ = t.flush();
        }
    }
}

pub trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn serve(tcp: TcpStream, tls: Option<Arc<rustls::ServerConfig>>, s: &Shared) {
    let Some(mut conn) = Conn::accept(tcp, tls) else {
        return;
    };
    let Some(target) = read_request(conn.io()) else {
        return;
    };
    let path = target.split('?').next().unwrap_or("").to_owned();
    if let Some(reply) = live_file(s, &path) {
        if answer(conn.io(), reply, s).is_ok() {
            conn.finish();
        }
        return;
    }
    let reply = {
        let mut routes = s.routes.lock().unwrap();
        let r = routes.entry(path).or_insert(Route {
            reply: Reply::status(404),
            count: 0,
        });
        r.count += 1;
        match &r.reply {
            Reply::Sequence(v) => v[(r.count - 1).min(v.len() - 1)].clone(),
            other => other.clone(),
        }
    };
    // Outside the routes' lock: a hook may take its time.
    let reply = match reply {
        Reply::Hook(h) => (h.0)(&target),
        other => other,
    };
    let complete = !matches!(reply, Reply::CutShort { .. });
    if answer(conn.io(), reply, s).is_ok() && complete {
        conn.finish();
    }
}

/// The reply for `path` from a live directory ([`TestServer::serve_dir_live`]), if one covers it and
/// no route is set for it.
fn live_file(s: &Shared, path: &str) -> Option<Reply> {
    if s.routes.lock().unwrap().contains_key(path) {
        return None;
    }
    let live = s.live.lock().unwrap();
    let (rel, dir) = live.iter().find_map(|(prefix, dir)| {
        let rel = path.strip_prefix(prefix.as_str())?.strip_prefix('/')?;
        Some((rel.to_owned(), dir.clone()))
    })?;
    if rel.split('/').any(|seg| seg == ".." || seg.is_empty()) {
        return Some(Reply::status(404));
    }
    Some(match std::fs::read(dir.join(rel)) {
        Ok(body) => Reply::body(body),
        Err(_) => Reply::status(404),
    })
}

/// A request's head, up to and including the empty line (at most 64 KiB; byte by byte, so nothing
/// of the body is consumed); `None` if the connection ends first.
pub fn read_head(stream: &mut dyn ReadWrite) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if buf.len() > 64 * 1024 || stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// Reads the request head (and a `Content-Length` body); returns the target (path and query).
fn read_request(stream: &mut dyn ReadWrite) -> Option<String> {
    let head = read_head(stream)?;
    let target = head.split(' ').nth(1)?.to_owned();
    let len: u64 = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    std::io::copy(&mut stream.take(len), &mut std::io::sink()).ok()?;
    Some(target)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        404 => "Not Found",
        410 => "Gone",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Whatever",
    }
}

fn head(status: u16, length: Option<u64>, extra: &[(String, String)]) -> Vec<u8> {
    let mut h = format!(
        "HTTP/1.1 {status} {}\r\nConnection: close\r\n",
        reason(status)
    );
    if let Some(n) = length {
        h.push_str(&format!("Content-Length: {n}\r\n"));
    }
    for (k, v) in extra {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h.into_bytes()
}

fn answer(stream: &mut dyn ReadWrite, reply: Reply, s: &Shared) -> std::io::Result<()> {
    match reply {
        Reply::Fixed {
            status,
            headers,
            body,
            content_length,
        } => {
            let len = content_length.then_some(body.len() as u64);
            stream.write_all(&head(status, len, &headers))?;
            stream.write_all(&body)?;
        }
        Reply::CutShort { declared, body } => {
            stream.write_all(&head(200, Some(declared), &[]))?;
            stream.write_all(&body)?;
        }
        Reply::Endless => {
            stream.write_all(&head(200, None, &[]))?;
            let chunk = vec![b'x'; 64 * 1024];
            while !s.stop.load(Ordering::SeqCst) {
                stream.write_all(&chunk)?;
            }
        }
        Reply::Slow { body, chunk, delay } => {
            stream.write_all(&head(200, Some(body.len() as u64), &[]))?;
            for c in body.chunks(chunk.max(1)) {
                stream.write_all(c)?;
                stream.flush()?;
                std::thread::sleep(delay);
            }
        }
        Reply::Hang => {
            let until = Instant::now() + Duration::from_secs(120);
            while !s.stop.load(Ordering::SeqCst) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Reply::Sequence(_) | Reply::Hook(_) => unreachable!("resolved by serve"),
    }
    stream.flush()
}

/// Files in `dir` whose names start with `prefix` (to check that no temporary file is left).
pub fn files_with_prefix(dir: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect()
}
