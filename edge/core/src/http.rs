//! A plain HTTP request and response: what the adapter hands the core and takes back.

use std::net::{IpAddr, Ipv6Addr};

use serde::Serialize;

/// An HTTP method the core distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Other,
}

impl Method {
    /// Parses a method name (case-sensitive, as RFC 9110 §9.1 says).
    pub fn parse(name: &str) -> Self {
        match name {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            "OPTIONS" => Self::Options,
            _ => Self::Other,
        }
    }

    /// The method's name (`OTHER` for one the core does not distinguish).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
            Self::Other => "OTHER",
        }
    }
}

/// A header that must appear once was sent several times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("header sent more than once")]
pub struct RepeatedHeader;

/// An incoming request, already read from the runtime.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// `scheme://host[:port]` as the caller reached us.
    pub origin: String,
    /// The path, still percent-encoded.
    pub path: String,
    /// The query string without `?`, if any.
    pub query: Option<String>,
    /// Header names lower-cased, in arrival order; repeated headers stay repeated.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Set by the adapter when the body was longer than it agreed to read.
    pub body_too_large: bool,
}

impl Request {
    /// A request with no headers and no body (tests and internal use).
    pub fn new(method: Method, origin: &str, path_and_query: &str) -> Self {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (path_and_query.to_owned(), None),
        };
        Self {
            method,
            origin: origin.to_owned(),
            path,
            query,
            headers: Vec::new(),
            body: Vec::new(),
            body_too_large: false,
        }
    }

    /// A request with no headers and no body for an absolute URL as the runtime serializes
    /// it (`scheme://[userinfo@]host[:port]/path[?query]`); the origin leaves out the userinfo,
    /// as a URL's origin does, and a fragment is dropped.
    pub fn from_url(method: Method, url: &str) -> Self {
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let (authority, path_and_query) =
            rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        let host = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        let path_and_query = path_and_query.split('#').next().unwrap_or_default();
        let path_and_query = if path_and_query.starts_with('/') {
            path_and_query.to_owned()
        } else {
            format!("/{path_and_query}")
        };
        Self::new(method, &format!("{scheme}://{host}"), &path_and_query)
    }

    /// Adds a header (builder style).
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Sets the body (builder style).
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The one value of header `name` (lower case); an error when it is sent more than once.
    pub fn header(&self, name: &str) -> Result<Option<&str>, RepeatedHeader> {
        let mut found = None;
        for (n, v) in &self.headers {
            if n == name {
                if found.is_some() {
                    return Err(RepeatedHeader);
                }
                found = Some(v.as_str());
            }
        }
        Ok(found)
    }

    /// The caller's address as the edge saw it (`CF-Connecting-IP`), if it parses.
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.header("cf-connecting-ip")
            .ok()
            .flatten()?
            .trim()
            .parse::<IpAddr>()
            .ok()
    }

    /// The caller's network as limits, lockouts and the audit log count it, from
    /// [`client_ip`](Self::client_ip): an IPv4 address, or the /64 an IPv6 address lies in
    /// (`2001:db8:1:2::/64`). A /64 is what one subscriber is usually given (RFC 6177), so
    /// walking through its addresses does not make a caller someone new; one spelling per
    /// network also means `2001:DB8::1` and `2001:db8:0::1` count as one.
    pub fn client_network(&self) -> Option<String> {
        Some(match self.client_ip()?.to_canonical() {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !u128::from(u64::MAX);
                format!("{}/64", Ipv6Addr::from(prefix))
            }
        })
    }

    /// The media type of the body, without parameters, lower-cased.
    pub fn media_type(&self) -> Option<String> {
        let ct = self.header("content-type").ok().flatten()?;
        Some(
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase(),
        )
    }

    /// The bearer token of the `Authorization` header (RFC 6750 §2.1), if exactly one is sent.
    pub fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization").ok().flatten()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty())
    }
}

/// A body read chunk by chunk from a stream that may not grow past `limit` bytes. The adapter
/// asks for [`room`](Self::room) for each chunk before copying it in and stops reading at the
/// first refusal, so an endless or oversized stream never takes more than `limit` bytes of
/// memory, whatever length it declared.
#[derive(Debug)]
pub struct CappedBody {
    limit: usize,
    bytes: Vec<u8>,
}

/// A body went past the limit of its [`CappedBody`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("body longer than {0} bytes")]
pub struct TooLarge(pub usize);

impl CappedBody {
    /// An empty body that may hold up to `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            bytes: Vec::new(),
        }
    }

    /// Room for the next `len` bytes of the body, for the caller to fill; [`TooLarge`], and
    /// the body unchanged, when they would take it past its limit.
    pub fn room(&mut self, len: usize) -> Result<&mut [u8], TooLarge> {
        let start = self.bytes.len();
        if len > self.limit - start {
            return Err(TooLarge(self.limit));
        }
        self.bytes.resize(start + len, 0);
        Ok(&mut self.bytes[start..])
    }

    /// The bytes read.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// An outgoing response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// What failed inside, for the request's log line; never sent.
    pub failure: Option<crate::ports::Failure>,
}

impl Response {
    /// A response with a body and its content type.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![("content-type", content_type.to_owned())],
            body: body.into(),
            failure: None,
        }
    }

    /// A JSON response.
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Self {
        // Serialising our own plain data types cannot fail.
        let body = serde_json::to_vec(value).unwrap_or_default();
        Self::new(status, "application/json", body)
    }

    /// A JSON response from bytes already serialised.
    pub fn raw_json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self::new(status, "application/json", body)
    }

    /// An empty response.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            failure: None,
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Notes what failed inside, for the log.
    #[must_use]
    pub fn failed(mut self, failure: impl Into<crate::ports::Failure>) -> Self {
        self.failure = Some(failure.into());
        self
    }

    /// Marks the response uncacheable (RFC 6749 §5.1).
    #[must_use]
    pub fn no_store(self) -> Self {
        self.header("cache-control", "no-store")
            .header("pragma", "no-cache")
    }

    /// Lets a page on any origin read the answer (CORS, `Access-Control-Allow-Origin: *`,
    /// never with credentials).
    #[must_use]
    pub fn cors(self) -> Self {
        self.header("access-control-allow-origin", "*")
            .header("access-control-expose-headers", "www-authenticate")
    }

    /// The first value of header `name`.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A 303 See Other to `location` (after a form post, the browser follows with a GET).
pub fn see_other(location: &str) -> Response {
    Response::empty(303).header("location", location).no_store()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_url_splits_origin_path_and_query() {
        let parts = |url| {
            let r = Request::from_url(Method::Get, url);
            (r.origin, r.path, r.query)
        };
        let owned =
            |o: &str, p: &str, q: Option<&str>| (o.to_owned(), p.to_owned(), q.map(str::to_owned));
        assert_eq!(
            parts("https://auth.example/oauth/token"),
            owned("https://auth.example", "/oauth/token", None)
        );
        assert_eq!(
            parts("http://127.0.0.1:8787/a%20b?x=1&y=?#f"),
            owned("http://127.0.0.1:8787", "/a%20b", Some("x=1&y=?"))
        );
        assert_eq!(
            parts("https://user:pw@auth.example/?"),
            owned("https://auth.example", "/", Some(""))
        );
        assert_eq!(
            parts("https://auth.example?q"),
            owned("https://auth.example", "/", Some("q"))
        );
    }

    #[test]
    fn capped_body_refuses_the_chunk_that_would_pass_its_limit() {
        let mut body = CappedBody::new(5);
        body.room(2).expect("fits").copy_from_slice(b"ab");
        body.room(0).expect("an empty chunk always fits");
        assert_eq!(body.room(4), Err(TooLarge(5)));
        body.room(3)
            .expect("exactly at the limit")
            .copy_from_slice(b"cde");
        assert_eq!(body.room(1), Err(TooLarge(5)));
        assert_eq!(body.into_bytes(), b"abcde");
        assert_eq!(CappedBody::new(0).room(usize::MAX), Err(TooLarge(0)));
        assert_eq!(TooLarge(5).to_string(), "body longer than 5 bytes");
    }

    #[test]
    fn ipv6_callers_are_counted_per_64() {
        let network = |ip: &str| {
            Request::from_url(Method::Get, "https://auth.example/")
                .with_header("cf-connecting-ip", ip)
                .client_network()
        };
        let ours = Some("2001:db8:1:2::/64".to_owned());
        assert_eq!(network("2001:db8:1:2::1"), ours);
        assert_eq!(network("2001:DB8:1:2:ffff:ffff:ffff:ffff"), ours);
        assert_eq!(network(" 2001:db8:1:2:0:0:0:9 "), ours);
        assert_eq!(
            network("2001:db8:1:3::1").as_deref(),
            Some("2001:db8:1:3::/64")
        );
        assert_eq!(network("192.0.2.1").as_deref(), Some("192.0.2.1"));
        assert_eq!(network("::ffff:192.0.2.1").as_deref(), Some("192.0.2.1"));
        assert_eq!(network("not an address"), None);
        let none = Request::from_url(Method::Get, "https://auth.example/");
        assert_eq!(none.client_network(), None);
    }
}
