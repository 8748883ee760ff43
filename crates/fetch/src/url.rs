//! Absolute http(s) URLs as the fetcher needs them: parsed strictly, and `Location` references
//! resolved against the URL that answered (RFC 3986 section 5.2).

use super::error::FetchError;

/// An absolute `http` or `https` URL without fragment and without user information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    https: bool,
    /// `host[:port]`, as written (IPv6 literals in brackets).
    authority: String,
    /// Starts with `/`; includes the query, if any.
    path_query: String,
}

impl Url {
    /// Parses an absolute http(s) URL. The scheme is case-insensitive; a fragment is dropped.
    pub fn parse(s: &str) -> Result<Url, FetchError> {
        let bad = |reason: &str| FetchError::bad_url(s, reason);
        if s.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(bad("contains spaces or control characters"));
        }
        let (https, rest) = if let Some(r) = strip_prefix_ci(s, "https://") {
            (true, r)
        } else if let Some(r) = strip_prefix_ci(s, "http://") {
            (false, r)
        } else {
            return Err(bad("not an absolute http:// or https:// URL"));
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.is_empty() {
            return Err(bad("no host"));
        }
        if authority.contains('@') {
            return Err(bad("user names and passwords in URLs are not supported"));
        }
        let after_host = match authority.strip_prefix('[') {
            Some(r) => r
                .split_once(']')
                .map(|(_, p)| p)
                .ok_or_else(|| bad("unclosed ["))?,
            None => authority.find(':').map_or("", |i| &authority[i..]),
        };
        if let Some(port) = after_host.strip_prefix(':') {
            if port.parse::<u16>().is_err() || !port.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("port is not a number from 0 to 65535"));
            }
        } else if !after_host.is_empty() {
            return Err(bad("junk after the host"));
        }
        let tail = tail.split('#').next().unwrap_or("");
        let path_query = if tail.starts_with('/') {
            tail.to_owned()
        } else {
            format!("/{tail}")
        };
        let url = Url {
            https,
            authority: authority.to_owned(),
            path_query,
        };
        // What ureq (the http crate) will not accept must fail here, as a bad URL.
        ureq::http::Uri::try_from(url.as_string())
            .map_err(|e| bad(&e.to_string()))
            .and_then(|u| match u.host() {
                Some(h) if !h.is_empty() => Ok(()),
                _ => Err(bad("no host")),
            })?;
        Ok(url)
    }

    /// Whether the scheme is `https` (otherwise it is `http`).
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The host, lowercase, without port and without the brackets of an IPv6 literal.
    pub fn host(&self) -> String {
        let a = self.authority.as_str();
        let host = if let Some(rest) = a.strip_prefix('[') {
            rest.split(']').next().unwrap_or("")
        } else {
            a.rsplit_once(':').map_or(a, |(h, _)| h)
        };
        host.to_ascii_lowercase()
    }

    /// The URL written back: scheme, authority as given, path and query (no fragment).
    pub fn as_string(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{}", self.authority, self.path_query)
    }

    /// Resolves a `Location` header value against this URL (RFC 3986 section 5.2, for the forms a
    /// server sends: absolute, scheme-relative, absolute path, query only, relative path).
    pub fn join(&self, reference: &str) -> Result<Url, FetchError> {
        let r = reference.split('#').next().unwrap_or("");
        let has_scheme = r.find(':').is_some_and(|i| {
            r[..i]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
                && r[..i]
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphabetic())
                && !r[..i].contains('/')
        });
        if has_scheme {
            return Url::parse(r);
        }
        let scheme = if self.https { "https:" } else { "http:" };
        if r.starts_with("//") {
            return Url::parse(&format!("{scheme}{r}"));
        }
        let base_path = self.path_query.split('?').next().unwrap_or("/");
        let joined = if r.is_empty() {
            self.path_query.clone()
        } else if r.starts_with('/') {
            r.to_owned()
        } else if r.starts_with('?') {
            format!("{base_path}{r}")
        } else {
            let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{r}")
        };
        let (path, query) = match joined.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (joined.as_str(), None),
        };
        let mut out = remove_dot_segments(path);
        if let Some(q) = query {
            out.push('?');
            out.push_str(q);
        }
        Url::parse(&format!("{scheme}//{}{out}", self.authority))
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_string())
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// RFC 3986 section 5.2.4 on an absolute path.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        match *seg {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(base: &str, r: &str) -> String {
        Url::parse(base).unwrap().join(r).unwrap().as_string()
    }

    #[test]
    fn parses_strictly() {
        let u = Url::parse("HTTPS://Example.org:8443/a/b?x=1#frag").unwrap();
        assert!(u.is_https());
        assert_eq!(u.as_string(), "https://Example.org:8443/a/b?x=1");
        assert_eq!(u.host(), "example.org");
        assert_eq!(Url::parse("http://h").unwrap().as_string(), "http://h/");
        assert_eq!(Url::parse("https://[::1]:4/").unwrap().host(), "::1");
        for bad in [
            "ftp://h/",
            "https:///x",
            "https://u:p@h/",
            "https://h/a b",
            "/relative",
            "",
            "https://h:port/",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resolves_references() {
        let b = "https://h/a/b/c?q";
        assert_eq!(j(b, "d"), "https://h/a/b/d");
        assert_eq!(j(b, "./d"), "https://h/a/b/d");
        assert_eq!(j(b, "../d"), "https://h/a/d");
        assert_eq!(j(b, "../../../../d"), "https://h/d");
        assert_eq!(j(b, "/x/y"), "https://h/x/y");
        assert_eq!(j(b, "?z"), "https://h/a/b/c?z");
        assert_eq!(j(b, ""), "https://h/a/b/c?q");
        assert_eq!(j(b, "."), "https://h/a/b/");
        assert_eq!(j(b, ".."), "https://h/a/");
        assert_eq!(j(b, "//o.example/p"), "https://o.example/p");
        assert_eq!(j(b, "http://o/p"), "http://o/p");
        assert_eq!(j(b, "d#frag"), "https://h/a/b/d");
        assert_eq!(j(b, "./d:e"), "https://h/a/b/d:e");
        assert!(Url::parse(b).unwrap().join("mailto:x@y").is_err());
    }
}
