//! The trusted roots: webpki-roots plus the certificates of `SSL_CERT_FILE` and `--cacert` files.
//!
//! ureq takes either its built-in webpki-roots or a list of certificates, not both. webpki-roots
//! ships trust anchors (subject, public key, name constraints), not certificates, so each anchor is
//! wrapped in a minimal certificate that carries exactly those three fields. rustls reads a root
//! certificate only for them (a trust anchor's signature, issuer and validity are never checked), so
//! the store ureq builds from these certificates equals webpki-roots; a unit test checks that.

use super::error::FetchError;
use std::path::Path;
use ureq::tls::{Certificate, PemItem};

/// The webpki-roots anchors, each as a minimal certificate, followed by the certificates of
/// `extra` files (PEM; every file must hold at least one certificate and parse completely).
pub fn load(extra: &[impl AsRef<Path>]) -> Result<Vec<Certificate<'static>>, FetchError> {
    let mut out: Vec<Certificate<'static>> = webpki_roots::TLS_SERVER_ROOTS
        .iter()
        .map(|a| {
            Certificate::from_der(&anchor_certificate(
                &a.subject,
                &a.subject_public_key_info,
                a.name_constraints.as_deref(),
            ))
            .to_owned()
        })
        .collect();
    for path in extra {
        out.extend(read_pem_file(path.as_ref())?);
    }
    Ok(out)
}

/// Reads the certificates of a PEM file. A file that cannot be read, that does not parse, whose
/// certificates rustls refuses, or that holds no certificate at all is an error naming it.
pub fn read_pem_file(path: &Path) -> Result<Vec<Certificate<'static>>, FetchError> {
    let bad = |reason: String| FetchError::Config {
        what: format!("CA file {}", path.display()),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&bytes) {
        match item.map_err(|e| bad(format!("not valid PEM: {e}")))? {
            PemItem::Certificate(c) => {
                let der = rustls::pki_types::CertificateDer::from(c.der());
                rustls::RootCertStore::empty().add(der).map_err(|e| {
                    bad(format!("certificate {} is unusable: {e}", certs.len() + 1))
                })?;
                certs.push(c);
            }
            _ => continue, // private keys and other PEM sections are not roots
        }
    }
    if certs.is_empty() {
        return Err(bad("contains no PEM certificate".into()));
    }
    Ok(certs)
}

/// A DER certificate that rustls reads back as the trust anchor (`subject`, `spki`,
/// `name_constraints`), where `subject` and `spki` are the contents of their SEQUENCEs and
/// `name_constraints` the contents of the NameConstraints SEQUENCE, as `TrustAnchor` stores them.
fn anchor_certificate(subject: &[u8], spki: &[u8], name_constraints: Option<&[u8]>) -> Vec<u8> {
    // ecdsa-with-SHA256 (1.2.840.10045.4.3.2); never used: nothing checks a root's signature.
    const ALG: &[u8] = &[
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
    ];
    let name = der(0x30, subject);
    let mut tbs = Vec::new();
    tbs.extend(der(0xa0, &der(0x02, &[2]))); // version v3
    tbs.extend(der(0x02, &[1])); // serial number
    tbs.extend(ALG);
    tbs.extend(&name); // issuer = subject
    tbs.extend(der(
        0x30,
        &[der(0x17, b"000101000000Z"), der(0x17, b"491231235959Z")].concat(),
    ));
    tbs.extend(&name);
    tbs.extend(der(0x30, spki));
    if let Some(nc) = name_constraints {
        // id-ce-nameConstraints 2.5.29.30, critical as RFC 5280 requires.
        let oid = der(0x06, &[0x55, 0x1d, 0x1e]);
        let critical = der(0x01, &[0xff]);
        let value = der(0x04, &der(0x30, nc));
        let ext = der(0x30, &[oid, critical, value].concat());
        tbs.extend(der(0xa3, &der(0x30, &ext)));
    }
    let mut cert = der(0x30, &tbs);
    cert.extend(ALG);
    cert.extend(der(0x03, &[0])); // empty BIT STRING
    der(0x30, &cert)
}

/// One DER TLV.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend(&bytes[skip..]);
    }
    out.extend(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_anchors_read_back_as_webpki_roots() {
        let certs = load(&[] as &[&Path]).unwrap();
        assert_eq!(certs.len(), webpki_roots::TLS_SERVER_ROOTS.len());
        let mut store = rustls::RootCertStore::empty();
        let (added, ignored) = store.add_parsable_certificates(
            certs
                .iter()
                .map(|c| rustls::pki_types::CertificateDer::from(c.der())),
        );
        assert_eq!((added, ignored), (certs.len(), 0));
        assert_eq!(store.roots, webpki_roots::TLS_SERVER_ROOTS);
        assert!(store.roots.iter().any(|a| a.name_constraints.is_some()));
    }

    #[test]
    fn der_lengths() {
        assert_eq!(der(0x04, &[]), [0x04, 0]);
        assert_eq!(der(0x04, &[7; 127])[..2], [0x04, 127]);
        assert_eq!(der(0x04, &[7; 128])[..3], [0x04, 0x81, 128]);
        assert_eq!(der(0x04, &[7; 300])[..4], [0x04, 0x82, 1, 44]);
    }

    #[test]
    fn bad_ca_files_are_named() {
        let dir = std::env::temp_dir().join(format!("rget-roots-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").unwrap();
        let e = read_pem_file(&empty).unwrap_err().to_string();
        assert!(
            e.contains("empty.pem") && e.contains("no PEM certificate"),
            "{e}"
        );
        let junk = dir.join("junk.pem");
        std::fs::write(
            &junk,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = read_pem_file(&junk).unwrap_err().to_string();
        assert!(e.contains("junk.pem"), "{e}");
        let missing = dir.join("missing.pem");
        let e = read_pem_file(&missing).unwrap_err().to_string();
        assert!(
            e.contains("missing.pem") && e.contains("cannot read"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
