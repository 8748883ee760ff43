//! Proxy selection from the environment, the way curl does it.
//!
//! ureq's own `Proxy::try_from_env` is not used: it prefers `ALL_PROXY` over `HTTPS_PROXY`, uses
//! `HTTP_PROXY` for https URLs, and matches a `NO_PROXY` entry `example.org` only against that exact
//! host and an entry ` b.example` (after a comma and space) against nothing. Here:
//! - https URLs use `HTTPS_PROXY`/`https_proxy`, else `ALL_PROXY`/`all_proxy`;
//! - http URLs use `http_proxy` (lowercase only: `HTTP_PROXY` can be set by a CGI request header,
//!   "httpoxy"), else `ALL_PROXY`/`all_proxy`;
//! - `NO_PROXY`/`no_proxy` is a comma-separated list; `*` matches every host; `example.org`,
//!   `.example.org` and `*.example.org` all match `example.org` and every name under it; IP
//!   addresses match exactly (no CIDR ranges); entries are case-insensitive, spaces are trimmed.

use super::error::FetchError;
use super::url::Url;

/// Which proxies to use, read once from the environment (or set by hand).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Proxy URL for https URLs.
    pub https: Option<String>,
    /// Proxy URL for http URLs.
    pub http: Option<String>,
    /// Hosts reached directly (see the module documentation).
    pub no_proxy: Vec<String>,
}

impl ProxyConfig {
    /// Reads `HTTPS_PROXY`, `http_proxy`, `ALL_PROXY` and `NO_PROXY` (and their other-case forms).
    pub fn from_env() -> ProxyConfig {
        ProxyConfig::from_vars(|name| std::env::var(name).ok())
    }

    /// As [`ProxyConfig::from_env`], with the variables from `var` (empty values count as unset).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> ProxyConfig {
        let first = |names: &[&str]| {
            names
                .iter()
                .filter_map(|n| var(n))
                .map(|v| v.trim().to_owned())
                .find(|v| !v.is_empty())
        };
        let all = first(&["ALL_PROXY", "all_proxy"]);
        ProxyConfig {
            https: first(&["HTTPS_PROXY", "https_proxy"]).or_else(|| all.clone()),
            http: first(&["http_proxy"]).or(all),
            no_proxy: first(&["NO_PROXY", "no_proxy"])
                .map(|v| {
                    v.split(',')
                        .map(|e| e.trim().to_ascii_lowercase())
                        .filter(|e| !e.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The proxy URL for `url`, if any.
    pub(crate) fn for_url(&self, url: &Url) -> Option<&str> {
        let proxy = if url.is_https() {
            self.https.as_deref()
        } else {
            self.http.as_deref()
        }?;
        let host = url.host();
        let bypass = self.no_proxy.iter().any(|e| {
            let e = e.trim_start_matches("*.").trim_start_matches('.');
            let e = e
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))
                .unwrap_or(e);
            e == "*"
                || host == e
                || (host.len() > e.len()
                    && host.ends_with(e)
                    && host.as_bytes()[host.len() - e.len() - 1] == b'.')
        });
        (!bypass).then_some(proxy)
    }

    /// The ureq proxy for `url`: `Ok(None)` to connect directly.
    pub(crate) fn ureq_proxy(&self, url: &Url) -> Result<Option<ureq::Proxy>, FetchError> {
        match self.for_url(url) {
            None => Ok(None),
            Some(p) => ureq::Proxy::new(p)
                .map(Some)
                .map_err(|e| FetchError::Config {
                    what: format!("proxy {p:?} (from HTTPS_PROXY, http_proxy or ALL_PROXY)"),
                    reason: e.to_string(),
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> ProxyConfig {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProxyConfig::from_vars(|n| m.get(n).cloned())
    }

    fn via(c: &ProxyConfig, url: &str) -> Option<String> {
        c.for_url(&Url::parse(url).unwrap()).map(str::to_owned)
    }

    #[test]
    fn scheme_specific_wins_and_http_proxy_uppercase_is_ignored() {
        let c = cfg(&[
            ("ALL_PROXY", "http://all:1"),
            ("HTTPS_PROXY", "http://s:1"),
            ("HTTP_PROXY", "http://evil:1"),
        ]);
        assert_eq!(via(&c, "https://a/").as_deref(), Some("http://s:1"));
        assert_eq!(via(&c, "http://a/").as_deref(), Some("http://all:1"));
        let c = cfg(&[("https_proxy", "http://s:2"), ("http_proxy", "http://p:2")]);
        assert_eq!(via(&c, "https://a/").as_deref(), Some("http://s:2"));
        assert_eq!(via(&c, "http://a/").as_deref(), Some("http://p:2"));
        assert_eq!(via(&cfg(&[("HTTPS_PROXY", "")]), "https://a/"), None);
        assert_eq!(via(&cfg(&[]), "https://a/"), None);
    }

    #[test]
    fn no_proxy_matches_hosts_and_domains() {
        let c = cfg(&[
            ("HTTPS_PROXY", "http://p:1"),
            (
                "NO_PROXY",
                "localhost, .internal.example ,*.corp.example,Example.ORG,127.0.0.1,[::1]",
            ),
        ]);
        for direct in [
            "https://localhost:8443/x",
            "https://a.internal.example/",
            "https://internal.example/",
            "https://x.y.corp.example/",
            "https://example.org/",
            "https://www.example.org/",
            "https://127.0.0.1:9/",
            "https://[::1]:9/",
        ] {
            assert_eq!(via(&c, direct), None, "{direct}");
        }
        for proxied in [
            "https://notexample.org/",
            "https://example.org.evil/",
            "https://127.0.0.2/",
            "https://localhost.evil/",
        ] {
            assert!(via(&c, proxied).is_some(), "{proxied}");
        }
        let all = cfg(&[("HTTPS_PROXY", "http://p:1"), ("no_proxy", "*")]);
        assert_eq!(via(&all, "https://anything/"), None);
    }
}
