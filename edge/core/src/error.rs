//! Typed errors and their wire form.
//!
//! [`OAuthError`] maps one-to-one onto the RFC 6749 §5.2 error codes (plus RFC 6750's
//! `invalid_token` and `insufficient_scope`), each with its HTTP status. [`ApiError`] is the
//! admin API's error: a status, a code, the field at fault and a reason. Internal failures answer
//! a generic message; their detail only goes to the log.

use serde::{Deserialize, Serialize};

use crate::http::{Method, Request, Response};
use crate::ports::{Failure, StoreError};

/// An OAuth protocol error (RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 6750 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// Client authentication failed (unknown client, wrong secret, malformed credentials: the
    /// caller cannot tell which).
    #[error("invalid_client")]
    InvalidClient,
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    #[error("invalid_target: {0}")]
    InvalidTarget(String),
    #[error("unsupported_token_type")]
    UnsupportedTokenType,
    /// The request body is larger than the endpoint accepts.
    #[error("request body too large")]
    PayloadTooLarge,
    /// Something failed inside; the caller gets a generic 503, the log the [`Failure`].
    #[error("temporarily_unavailable")]
    Unavailable(Failure),
    /// Too many requests: answered 429 with `Retry-After`.
    #[error("rate limited")]
    RateLimited,
    /// The DPoP proof is missing, invalid or replayed (RFC 9449 §5).
    #[error("invalid_dpop_proof: {0}")]
    InvalidDpopProof(String),
    /// The DPoP proof must carry this server nonce (RFC 9449 §8): answered with `DPoP-Nonce`.
    #[error("use_dpop_nonce")]
    UseDpopNonce(String),
}

/// The JSON body of every OAuth and admin error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_description: Option<String>,
    /// The request field at fault (admin API only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub field: Option<String>,
}

impl OAuthError {
    /// The RFC error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) | Self::PayloadTooLarge => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnauthorizedClient(_) => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::InvalidTarget(_) => "invalid_target",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::Unavailable(_) | Self::RateLimited => "temporarily_unavailable",
            Self::InvalidDpopProof(_) => "invalid_dpop_proof",
            Self::UseDpopNonce(_) => "use_dpop_nonce",
        }
    }

    /// The HTTP status RFC 6749 §5.2 prescribes.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidClient => 401,
            Self::PayloadTooLarge => 413,
            Self::Unavailable(_) => 503,
            Self::RateLimited => 429,
            _ => 400,
        }
    }

    fn description(&self) -> String {
        match self {
            Self::InvalidRequest(d)
            | Self::InvalidGrant(d)
            | Self::UnauthorizedClient(d)
            | Self::InvalidScope(d)
            | Self::InvalidTarget(d)
            | Self::InvalidDpopProof(d) => d.clone(),
            Self::UseDpopNonce(_) => "the DPoP proof must carry the server's nonce".into(),
            Self::InvalidClient => "client authentication failed".into(),
            Self::UnsupportedGrantType => "grant type not supported".into(),
            Self::UnsupportedTokenType => "token type not supported".into(),
            Self::PayloadTooLarge => "request body too large".into(),
            Self::Unavailable(_) => "the service is briefly unavailable; retry".into(),
            Self::RateLimited => format!(
                "too many requests; retry after {} seconds",
                crate::lifetimes::RETRY_AFTER_SECS
            ),
        }
    }

    /// The error as an HTTP response with `Cache-Control: no-store` and, for 401, a challenge.
    pub fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code().into(),
            error_description: Some(self.description()),
            field: None,
        };
        let mut resp = Response::json(self.status(), &body).no_store();
        match self {
            Self::InvalidClient => {
                resp = resp.header("www-authenticate", "Basic realm=\"portcullis\"");
            }
            Self::RateLimited => {
                resp = resp.header(
                    "retry-after",
                    crate::lifetimes::RETRY_AFTER_SECS.to_string(),
                );
            }
            Self::Unavailable(failure) => resp = resp.failed(failure),
            Self::UseDpopNonce(nonce) => resp = resp.header("dpop-nonce", nonce),
            _ => {}
        }
        resp
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        Self::Unavailable(e.into())
    }
}

/// An admin API error: status, code, optional field and a reason fit to show an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{status} {code}: {reason}")]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub field: Option<String>,
    pub reason: String,
    /// What failed inside, for the log; never sent.
    #[serde(skip)]
    pub failure: Option<Failure>,
}

impl ApiError {
    fn new(status: u16, code: &str, field: Option<&str>, reason: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            field: field.map(Into::into),
            reason: reason.into(),
            failure: None,
        }
    }

    /// 400: the body is not what the endpoint accepts.
    pub fn bad_request(field: Option<&str>, reason: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", field, reason)
    }

    /// 422: well-formed, but a value breaks a rule.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Self::new(422, "invalid_value", Some(field), reason)
    }

    /// 409: the name or id is already taken.
    pub fn conflict(field: &str, reason: impl Into<String>) -> Self {
        Self::new(409, "conflict", Some(field), reason)
    }

    /// 404: no such record.
    pub fn not_found(what: &str) -> Self {
        Self::new(404, "not_found", None, format!("{what} not found"))
    }

    /// 412: `If-Match` names a version that is no longer the stored one.
    pub fn precondition_failed() -> Self {
        Self::new(
            412,
            "precondition_failed",
            Some("If-Match"),
            "the record changed since it was read; read it again and retry",
        )
    }

    /// 401: no or wrong admin token.
    pub fn unauthorized() -> Self {
        Self::new(
            401,
            "invalid_token",
            None,
            "a valid admin bearer token is required",
        )
    }

    /// 405: the path exists, the method does not.
    pub fn method_not_allowed() -> Self {
        Self::new(405, "method_not_allowed", None, "method not allowed here")
    }

    /// 429: too many failed admin authentications from one address.
    pub fn rate_limited() -> Self {
        Self::new(
            429,
            "rate_limited",
            None,
            "too many requests from this address; retry later",
        )
    }

    /// 503: storage failed; the detail goes to the log, not to the caller.
    pub fn unavailable(failure: impl Into<Failure>) -> Self {
        Self {
            failure: Some(failure.into()),
            ..Self::new(
                503,
                "temporarily_unavailable",
                None,
                "storage is briefly unavailable; retry",
            )
        }
    }

    /// The error as a JSON response.
    pub fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code,
            error_description: Some(self.reason),
            field: self.field,
        };
        let mut resp = Response::json(self.status, &body).no_store();
        resp.failure = self.failure;
        match self.status {
            401 => resp.header("www-authenticate", "Bearer realm=\"portcullis-admin\""),
            429 => resp.header(
                "retry-after",
                crate::lifetimes::RETRY_AFTER_SECS.to_string(),
            ),
            _ => resp,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::unavailable(e)
    }
}

/// Optimistic concurrency (RFC 9110 §13.1.1): 412 unless `expected` is absent or equals
/// `stored`.
pub fn check_version(stored: u64, expected: Option<u64>) -> Result<(), ApiError> {
    match expected {
        Some(v) if v != stored => Err(ApiError::precondition_failed()),
        _ => Ok(()),
    }
}

/// The answer for anything Portcullis does not serve.
pub fn not_found() -> Response {
    Response::json(
        404,
        &crate::error::ErrorBody {
            error: "not_found".into(),
            error_description: Some("no such endpoint".into()),
            field: None,
        },
    )
}

/// Refuses a method other than the ones listed.
pub fn only(req: &Request, methods: &[Method]) -> Option<Response> {
    (!methods.contains(&req.method)).then(|| {
        let allow = methods
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        Response::json(
            405,
            &crate::error::ErrorBody {
                error: "invalid_request".into(),
                error_description: Some(format!("method not allowed; use {allow}")),
                field: None,
            },
        )
        .header("allow", allow)
    })
}
