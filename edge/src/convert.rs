//! Conversions between `worker` requests/responses and the core's plain ones.

use portcullis_core::http::{Method, Request as CoreRequest, Response as CoreResponse};
use worker::{Headers, Request, Response, Result};

/// Largest body the core is handed; longer bodies are flagged, not read.
pub const MAX_BODY: usize = 64 * 1024;

/// Reads a worker request into a core request (the body capped at [`MAX_BODY`]).
pub async fn from_worker(mut req: Request) -> Result<CoreRequest> {
    let url = req.url()?;
    let headers: Vec<(String, String)> = req.headers().entries().collect();
    let declared = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let (body, too_large) = if declared.is_some_and(|n| n > MAX_BODY) {
        (Vec::new(), true)
    } else {
        let body = req.bytes().await.unwrap_or_default();
        if body.len() > MAX_BODY {
            (Vec::new(), true)
        } else {
            (body, false)
        }
    };
    Ok(CoreRequest {
        method: Method::parse(req.method().as_ref()),
        origin: url.origin().ascii_serialization(),
        path: url.path().to_owned(),
        query: url.query().map(str::to_owned),
        headers,
        body,
        body_too_large: too_large,
    })
}

/// Builds a worker response from a core response.
pub fn into_worker(resp: &CoreResponse) -> Result<Response> {
    let headers = Headers::new();
    for (name, value) in &resp.headers {
        headers.append(name, value)?;
    }
    headers.set("x-content-type-options", "nosniff")?;
    Ok(Response::from_bytes(resp.body.clone())?
        .with_status(resp.status)
        .with_headers(headers))
}
