//! Reading admin API requests and writing their answers: strict JSON bodies (every error
//! names its field), `If-Match` and `ETag` (RFC 9110 §13.1.1, §8.8.3) with the optimistic
//! read-modify-write they guard, and the authority's replies turned into answers.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::api::Scope;
use crate::authority::Reply;
use crate::clients::ClientRecord;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::keys::KeySet;
use crate::ports::Failure;
use crate::users::UserRecord;

/// 405 with the `Allow` header RFC 9110 §15.5.6 requires.
pub(crate) fn not_allowed(allow: &'static str) -> Response {
    ApiError::method_not_allowed()
        .into_response()
        .header("allow", allow)
}

/// The version an `If-Match` header names: absent or `*` mean any version; a weak tag is a
/// failed precondition.
pub(crate) fn if_match(req: &Request) -> Result<Option<u64>, ApiError> {
    let bad = || {
        ApiError::bad_request(
            Some("If-Match"),
            "must be one strong ETag as returned by a read (e.g. \"3\") or *",
        )
    };
    match req.header("if-match").map_err(|_| bad())? {
        None => Ok(None),
        Some(v) if v.trim() == "*" => Ok(None),
        // RFC 9110 §13.1.1: If-Match compares strongly, so a weak tag never matches: it
        // stands for a version no record reaches, and fails where a stale tag would.
        Some(v) if is_weak_etag(v.trim()) => Ok(Some(u64::MAX)),
        Some(v) => v
            .trim()
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .and_then(|v| v.parse().ok())
            .map(Some)
            .ok_or_else(bad),
    }
}

/// Whether `tag` is one well-formed weak entity tag (`W/"…"`).
fn is_weak_etag(tag: &str) -> bool {
    tag.strip_prefix("W/")
        .and_then(|t| t.strip_prefix('"'))
        .and_then(|t| t.strip_suffix('"'))
        .is_some_and(|opaque| !opaque.contains('"'))
}

/// Read, change, write with the version read. Under `If-Match` a concurrent change answers
/// 412; without it the change is retried on the newer record (last writer wins), a few times.
pub(crate) async fn read_modify_write<T, F, Fut>(
    if_match: Option<u64>,
    attempt: F,
) -> Result<T, ApiError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Err(e) if e.status == 412 && if_match.is_none() && tries < 3 => {}
            other => return other,
        }
    }
}

pub(crate) fn with_etag(resp: Response, version: u64) -> Response {
    resp.header("etag", format!("\"{version}\""))
        .header("cache-control", "no-store")
}

/// Parses a JSON body, naming the field at fault.
pub fn parse_json<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    if req.body_too_large {
        return Err(ApiError {
            status: 413,
            code: "invalid_request".into(),
            field: None,
            reason: "request body too large".into(),
            failure: None,
        });
    }
    if req.media_type().as_deref() != Some("application/json") {
        return Err(ApiError {
            status: 415,
            code: "invalid_request".into(),
            field: None,
            reason: "the body must be application/json".into(),
            failure: None,
        });
    }
    let mut de = serde_json::Deserializer::from_slice(&req.body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        ApiError::bad_request(field.as_deref(), e.inner().to_string())
    })?;
    de.end()
        .map_err(|e| ApiError::bad_request(None, e.to_string()))?;
    // serde would also take a struct as a JSON array of its fields, and `null` for any
    // optional field; the API's documents allow neither.
    let raw: Value = serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(None, e.to_string()))?;
    if !raw.is_object() {
        return Err(ApiError::bad_request(
            None,
            "the body must be a JSON object",
        ));
    }
    if let Some(path) = null_at(&raw, String::new()) {
        return Err(ApiError::bad_request(Some(&path), "must not be null"));
    }
    Ok(value)
}

/// The path of the first `null` in `value` (`a.b[2]`), if any.
fn null_at(value: &Value, path: String) -> Option<String> {
    match value {
        Value::Null => Some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| null_at(v, format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(k, v)| {
            let at = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            null_at(v, at)
        }),
        _ => None,
    }
}

/// Parses an optional JSON body: an empty body means every field takes its default.
pub(crate) fn parse_optional_json<T: DeserializeOwned + Default>(
    req: &Request,
) -> Result<T, ApiError> {
    if req.body.is_empty() && !req.body_too_large {
        Ok(T::default())
    } else {
        parse_json(req)
    }
}

pub(crate) fn created<T: Serialize>(body: &T) -> Response {
    Response::json(201, body).no_store()
}

pub(crate) fn unexpected(reply: Reply) -> ApiError {
    match reply {
        Reply::Error(e) => e,
        _ => ApiError::unavailable(Failure::new("internal", "unexpected authority reply")),
    }
}

pub(crate) fn expect_scopes(reply: Reply) -> Result<Vec<Scope>, ApiError> {
    match reply {
        Reply::Scopes(s) => Ok(s),
        other => Err(unexpected(other)),
    }
}

pub(crate) fn expect_user(reply: Reply) -> Result<UserRecord, ApiError> {
    match reply {
        Reply::User(u) => Ok(u),
        other => Err(unexpected(other)),
    }
}

pub(crate) fn expect_keys(reply: Reply) -> Result<KeySet, ApiError> {
    match reply {
        Reply::Keys(set) => Ok(set),
        other => Err(unexpected(other)),
    }
}

pub(crate) fn expect_client(reply: Reply) -> Result<ClientRecord, ApiError> {
    match reply {
        Reply::Client(c) => Ok(*c),
        other => Err(unexpected(other)),
    }
}
