//! Conversions between `worker` requests/responses and the core's plain ones.

use portcullis_core::http::{Method, Request as CoreRequest, Response as CoreResponse};
use web_sys::RequestRedirect;
use worker::{Headers, Request, Response, Result};

/// A worker request's method, URL and headers as a core request with no body yet: enough for
/// the gateway, which streams the body on untouched. The URL is split as the runtime serialized
/// it: parsing it again (`Request::url`) would link the `url` crate and its IDNA tables.
pub fn head(req: &Request) -> CoreRequest {
    let inner = req.inner();
    CoreRequest {
        headers: req.headers().entries().collect(),
        ..CoreRequest::from_url(Method::parse(&inner.method()), &inner.url())
    }
}

/// Reads the body of a request for a Portcullis endpoint, capped at
/// [`body_limit`](portcullis_core::app::body_limit); a longer body is flagged, not read.
pub async fn read_body(core: &mut CoreRequest, req: &mut Request) {
    let limit = portcullis_core::app::body_limit(&core.path);
    let declared = core
        .header("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        core.body_too_large = true;
        return;
    }
    let body = req.bytes().await.unwrap_or_default();
    if body.len() > limit {
        core.body_too_large = true;
    } else {
        core.body = body;
    }
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

/// Parses a JSON request body with `serde_json`. JavaScript's `JSON.parse` (what
/// `Request::json` uses) turns integers above 2^53 into floats, which would then not fit the
/// `u64` fields of a command.
pub async fn json_body<T: serde::de::DeserializeOwned>(
    req: &mut Request,
) -> std::result::Result<T, String> {
    let text = req.text().await.map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// A `POST` of `body` to `url` with `headers`, built on web-sys: `worker::RequestInit` would
/// link its conversion of Cloudflare `cf` properties, which Portcullis never sets.
pub fn post(
    url: &str,
    body: &str,
    headers: &[(&str, &str)],
    redirect: RequestRedirect,
) -> Result<Request> {
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    if !headers.is_empty() {
        let map = web_sys::Headers::new()?;
        for (name, value) in headers {
            map.set(name, value)?;
        }
        init.set_headers(&map);
    }
    init.set_redirect(redirect);
    init.set_body(&wasm_bindgen::JsValue::from_str(body));
    Ok(web_sys::Request::new_with_str_and_init(url, &init)?.into())
}
