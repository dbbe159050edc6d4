//! The admin server's address, checked before the admin token goes anywhere: `https://`, or
//! plain `http://` only to a loopback host (`localhost`, `127.0.0.0/8`, `::1`), unless the
//! operator passes `--insecure`. The host is judged as written, never by what a name resolves
//! to, and read with the same URI parser the HTTP client connects with, so a URL such as
//! `http://127.0.0.1@example.com/` cannot pass for loopback.

use std::fmt;
use std::net::IpAddr;

use ureq::http::Uri;

/// A server URL the admin token may be sent to (no trailing `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl(String);

/// Why a server URL was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlRefused {
    /// Not an absolute URL with a host.
    NotAUrl(String),
    /// A scheme other than `http` or `https`.
    Scheme(String),
    /// Plain `http://` to this host, which is not loopback, without `--insecure`.
    PlainHttp(String),
}

impl fmt::Display for UrlRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAUrl(url) => write!(f, "the server URL `{url}` is not an absolute URL"),
            Self::Scheme(url) => write!(
                f,
                "the server URL `{url}` must start with https:// (or http:// to a loopback host)"
            ),
            Self::PlainHttp(host) => write!(
                f,
                "refusing to send the admin token over plain http:// to {host}, which is not \
                 loopback: use https://, or pass --insecure if the network between is trusted"
            ),
        }
    }
}

impl std::error::Error for UrlRefused {}

impl ServerUrl {
    /// Checks `url`; `insecure` allows plain `http://` to any host.
    pub fn parse(url: &str, insecure: bool) -> Result<Self, UrlRefused> {
        let base = url.trim().trim_end_matches('/');
        let not_a_url = || UrlRefused::NotAUrl(base.to_owned());
        let uri: Uri = base.parse().map_err(|_| not_a_url())?;
        let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(not_a_url)?;
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if insecure || is_loopback(host) => {}
            Some("http") => return Err(UrlRefused::PlainHttp(host.to_owned())),
            _ => return Err(UrlRefused::Scheme(base.to_owned())),
        }
        Ok(Self(base.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `host` (as written in a URL) names this machine: `localhost`, or a loopback
/// address (an IPv4-mapped one too).
fn is_loopback(host: &str) -> bool {
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.eq_ignore_ascii_case("localhost")
        || literal
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> Option<UrlRefused> {
        ServerUrl::parse(url, false).err()
    }

    #[test]
    fn plain_http_is_refused_off_loopback_unless_insecure() {
        for ok in [
            "https://auth.example.com",
            "https://192.0.2.7:8443/",
            "http://127.0.0.1:8787",
            "http://127.8.9.1",
            "http://localhost:8787/",
            "http://LOCALHOST",
            "http://[::1]:8787",
            "http://[::ffff:127.0.0.1]:8787",
        ] {
            assert_eq!(refused(ok), None, "{ok}");
        }
        for (url, host) in [
            ("http://auth.example.com", "auth.example.com"),
            ("http://192.0.2.7:8787", "192.0.2.7"),
            ("http://0.0.0.0:8787", "0.0.0.0"),
            ("http://localhost.example.com", "localhost.example.com"),
            ("http://127.0.0.1.example.com", "127.0.0.1.example.com"),
            ("http://127.0.0.1@example.com/", "example.com"),
            ("http://[2001:db8::1]:8787", "[2001:db8::1]"),
        ] {
            assert_eq!(
                refused(url),
                Some(UrlRefused::PlainHttp(host.into())),
                "{url}"
            );
            let allowed = ServerUrl::parse(url, true).map(|s| s.as_str().to_owned());
            assert_eq!(allowed.as_deref(), Ok(url.trim_end_matches('/')), "{url}");
        }
    }

    #[test]
    fn other_schemes_and_non_urls_are_refused_even_when_insecure() {
        for url in [
            "ftp://127.0.0.1",
            "127.0.0.1:8787",
            "auth.example.com",
            "",
            "http://",
        ] {
            assert!(ServerUrl::parse(url, true).is_err(), "{url}");
        }
        assert!(refused("http://x").is_some_and(|e| e.to_string().contains("--insecure")));
    }
}
