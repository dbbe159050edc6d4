//! Conversions between `worker` requests/responses and the core's plain ones.

use js_sys::Uint8Array;
use portcullis_core::http::{
    CappedBody, Method, Request as CoreRequest, Response as CoreResponse, TooLarge,
};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    ReadableStream, ReadableStreamDefaultReader, ReadableStreamReadResult, RequestRedirect,
};
use worker::{Error, Headers, Request, Response, Result};

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

/// Reads the body of a request for a Portcullis endpoint, capped at `limit` (the endpoint's
/// [`body_limit`](portcullis_core::app::Endpoint::body_limit)): a body that declares a longer
/// `Content-Length` is flagged without being read, one within it is read whole, and one
/// without it (chunked) is read as a stream and flagged as soon as it passes the cap, the rest
/// of it never read.
pub async fn read_body(core: &mut CoreRequest, req: &Request, limit: usize) {
    let declared = core
        .header("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        core.body_too_large = true;
        return;
    }
    let Some(stream) = req.inner().body() else {
        return;
    };
    // A declared length within the cap is all the runtime delivers (HTTP framing ends the
    // body there): read it at once, one promise instead of one per chunk.
    if declared.is_some() {
        if let Ok(read) = req.inner().array_buffer() {
            if let Ok(buffer) = JsFuture::from(read).await {
                core.body = Uint8Array::new(&buffer).to_vec();
            }
        }
        return;
    }
    // A body that breaks off reads as empty.
    match read_stream(&stream, limit).await {
        Ok(Ok(body)) => core.body = body,
        Ok(Err(TooLarge(_))) => core.body_too_large = true,
        Err(_) => {}
    }
}

/// Reads `stream` to its end, holding at most `limit` bytes: at the first chunk that would
/// pass the limit the stream is cancelled, so the runtime stops receiving it, and the answer
/// is [`TooLarge`].
pub async fn read_stream(
    stream: &ReadableStream,
    limit: usize,
) -> Result<std::result::Result<Vec<u8>, TooLarge>> {
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = CappedBody::new(limit);
    loop {
        let read: ReadableStreamReadResult = JsFuture::from(reader.read()).await?.unchecked_into();
        if read.get_done().unwrap_or(true) {
            return Ok(Ok(body.into_bytes()));
        }
        let chunk: Uint8Array = read
            .get_value()
            .dyn_into()
            .map_err(|_| Error::RustError("a body chunk is not bytes".into()))?;
        match body.room(chunk.length() as usize) {
            Ok(room) => chunk.copy_to(room),
            Err(too_large) => {
                // Whether the cancellation settles well or not, nothing more is read.
                let _ = JsFuture::from(reader.cancel()).await;
                return Ok(Err(too_large));
            }
        }
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
