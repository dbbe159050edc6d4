//! Strict `application/x-www-form-urlencoded` parsing and HTTP Basic client credentials.
//!
//! RFC 6749 §3.1/§3.2: parameters sent without a value are treated as omitted, and no parameter
//! may appear twice. §2.3.1: the Basic user name and password are form-urlencoded before they
//! are base64-encoded, so both are decoded again here.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::error::OAuthError;
use crate::http::{Method, Request};

/// The parameters of a form body, each at most once.
#[derive(Debug, Default)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Parses a body, refusing repeated parameters and invalid UTF-8.
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        if std::str::from_utf8(body).is_err() {
            return Err(OAuthError::InvalidRequest("body is not UTF-8".into()));
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in form_urlencoded::parse(body) {
            if pairs.iter().any(|(seen, _)| *seen == k) {
                return Err(OAuthError::InvalidRequest(format!(
                    "parameter `{k}` is repeated"
                )));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(Self { pairs })
    }

    /// The value of `name`; an empty value counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Whether `name` was sent at all, even empty.
    pub fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }
}

/// Client credentials taken from an `Authorization: Basic` header.
#[derive(Debug, PartialEq, Eq)]
pub struct BasicCredentials {
    pub client_id: String,
    pub client_secret: String,
}

/// Parses `Basic base64(urlencode(id) ":" urlencode(secret))`; the scheme is case-insensitive
/// (RFC 9110 §11.1).
pub fn parse_basic(header: &str) -> Result<BasicCredentials, OAuthError> {
    let bad = || OAuthError::InvalidClient;
    let (scheme, rest) = header.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let client_id = form_decode(id).ok_or_else(bad)?;
    let client_secret = form_decode(secret).ok_or_else(bad)?;
    if client_id.is_empty() {
        return Err(bad());
    }
    Ok(BasicCredentials {
        client_id,
        client_secret,
    })
}

/// Decodes one form-urlencoded component (`+` is a space).
fn form_decode(s: &str) -> Option<String> {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}

/// Why a posted form was not read.
#[derive(Debug)]
pub enum FormError {
    /// The body was longer than the endpoint reads.
    TooLarge,
    /// Not `application/x-www-form-urlencoded`.
    NotAForm,
    /// A parameter is repeated or malformed.
    Malformed(OAuthError),
}

/// The form body of `req` under the rules every form endpoint shares: read whole,
/// `application/x-www-form-urlencoded`, each parameter once (RFC 6749 §3.2).
pub fn posted_form(req: &Request) -> Result<Form, FormError> {
    if req.body_too_large {
        return Err(FormError::TooLarge);
    }
    if req.media_type().as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(FormError::NotAForm);
    }
    Form::parse(&req.body).map_err(FormError::Malformed)
}

/// The parameters of a request that may come as a query (`GET`) or a form (`POST`), as the
/// authorization and end-session endpoints take them (OIDC Core §3.1.2.1).
pub fn request_params(req: &Request) -> Result<Form, FormError> {
    match req.method {
        Method::Post => posted_form(req),
        _ => Form::parse(req.query.as_deref().unwrap_or_default().as_bytes())
            .map_err(FormError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameter_is_invalid_request() {
        let err = Form::parse(b"grant_type=a&grant_type=b").unwrap_err();
        assert_eq!(err.code(), "invalid_request");
    }

    #[test]
    fn empty_value_counts_as_absent() {
        let form = Form::parse(b"scope=&grant_type=client_credentials").unwrap();
        assert_eq!(form.get("scope"), None);
        assert!(form.contains("scope"));
        assert_eq!(form.get("grant_type"), Some("client_credentials"));
    }

    #[test]
    fn basic_credentials_are_percent_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20id:s%3Ac+r"));
        let creds = parse_basic(&header).unwrap();
        assert_eq!(creds.client_id, "my id");
        assert_eq!(creds.client_secret, "s:c r");
    }

    #[test]
    fn basic_scheme_is_case_insensitive() {
        let header = format!("basic {}", STANDARD.encode("a:b"));
        assert!(parse_basic(&header).is_ok());
    }

    #[test]
    fn malformed_basic_headers_are_invalid_client() {
        for h in [
            "Basic !!!notbase64",
            "Basic",
            &format!("Basic {}", STANDARD.encode("nocolon")),
            &format!("Basic {}", STANDARD.encode(":secret")),
            &format!("Bearer {}", STANDARD.encode("a:b")),
        ] {
            assert_eq!(
                parse_basic(h).unwrap_err(),
                OAuthError::InvalidClient,
                "{h}"
            );
        }
    }
}
