//! The demo's release server: static files from a directory over HTTPS on 127.0.0.1, with a CA the
//! demo generates (rcgen) and hands to every client with `--cacert`. It stands for a release host or
//! mirror, which rget does not trust: the attacks change files under its root while it runs.
//!
//! One request per connection, GET only, paths of plain segments (`[A-Za-z0-9._-]`, not starting with
//! `.`), so nothing outside the root can ever be named.

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A running file server.
pub struct FileServer {
    /// `https://127.0.0.1:PORT`
    pub base: String,
    /// The CA certificate (PEM) that issued the server's certificate.
    pub ca_pem: PathBuf,
}

/// Generates a CA and a certificate for `127.0.0.1`/`localhost`, writes the CA to `tls_dir/ca.pem`,
/// and serves `root` on an ephemeral port until the process ends.
pub fn start(root: &Path, tls_dir: &Path) -> Result<FileServer, String> {
    let config = tls_config(tls_dir)?;
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot listen: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let root = root.to_owned();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let (config, root) = (config.clone(), root.clone());
            std::thread::spawn(move || serve(tcp, config, &root));
        }
    });
    Ok(FileServer {
        base: format!("https://{addr}"),
        ca_pem: tls_dir.join("ca.pem"),
    })
}

fn tls_config(tls_dir: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let e = |what: &str, err: &dyn std::fmt::Display| format!("{what}: {err}");
    let ca_key = KeyPair::generate().map_err(|x| e("CA key", &x))?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(|x| e("CA", &x))?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "rget demo CA");
    let ca_cert = ca
        .self_signed(&ca_key)
        .map_err(|x| e("CA certificate", &x))?;
    let key = KeyPair::generate().map_err(|x| e("server key", &x))?;
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .map_err(|x| e("server certificate", &x))?
        .signed_by(&key, &ca_cert, &ca_key)
        .map_err(|x| e("server certificate", &x))?;
    std::fs::write(tls_dir.join("ca.pem"), ca_cert.pem()).map_err(|x| e("ca.pem", &x))?;
    let chain = vec![cert.der().clone(), ca_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|x| e("TLS", &x))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|x| e("TLS", &x))?;
    Ok(Arc::new(config))
}

fn serve(tcp: TcpStream, config: Arc<rustls::ServerConfig>, root: &Path) {
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(30)));
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut line = String::new();
    {
        // A request head larger than any our clients send is cut off (and then answered 404).
        let mut r = BufReader::new(std::io::Read::take(&mut tls, 16 * 1024));
        if r.read_line(&mut line).is_err() {
            return;
        }
        // Skip the headers up to the blank line.
        let mut h = String::new();
        while r.read_line(&mut h).map(|n| n > 2).unwrap_or(false) {
            h.clear();
        }
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next(), parts.next());
    let file = match (method, path.and_then(|p| resolve(root, p))) {
        (Some("GET"), Some(f)) => std::fs::File::open(f).ok(),
        _ => None,
    };
    let _ = match file {
        Some(mut f) => {
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            write!(
                tls,
                "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
            )
            .and_then(|()| std::io::copy(&mut f, &mut tls).map(|_| ()))
        }
        None => tls.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    }
    .and_then(|()| tls.flush());
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

/// The file a request path names under `root`, if it is made of plain segments only.
fn resolve(root: &Path, path: &str) -> Option<PathBuf> {
    let rel = path.strip_prefix('/')?;
    let mut out = root.to_path_buf();
    for seg in rel.split('/') {
        let plain = !seg.is_empty()
            && !seg.starts_with('.')
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !plain {
            return None;
        }
        out.push(seg);
    }
    out.is_file().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_under_the_root_resolve() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("v1")).unwrap();
        std::fs::write(t.path().join("v1/f"), b"x").unwrap();
        assert!(resolve(t.path(), "/v1/f").is_some());
        for bad in [
            "v1/f",
            "/v1/../v1/f",
            "/v1//f",
            "/v1/.f",
            "/v1",
            "/%2e%2e/f",
            "/v1/f?x",
        ] {
            assert!(resolve(t.path(), bad).is_none(), "{bad}");
        }
    }
}
