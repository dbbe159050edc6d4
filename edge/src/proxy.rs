//! Outgoing HTTP: forwarding a gateway request to its origin, and the core's
//! [`HttpClient`] port (trusted issuers' JWKS, an origin's login endpoint), both on the
//! runtime's `fetch`.
//!
//! Forwarding executes the core's [`Forward`] decision: the caller's method, the core's URL and
//! header list, and the caller's body stream handed on untouched, so an upload streams through
//! without being buffered. Redirects are not followed: the origin's answer, status, headers and
//! streamed body, goes back as it is, except a `Set-Cookie` for one of Portcullis's own
//! cookies, which is dropped ([`is_own_set_cookie`]).

use async_trait::async_trait;
use portcullis_core::gateway::Forward;
use portcullis_core::ports::{Failure, FetchError, Fetched, HttpClient};
use portcullis_core::session::is_own_set_cookie;
use worker::{Fetch, Headers, Request, Response, ResponseBody, Result};

/// Sends `req` on to the origin as the core decided; a 502, and why, when the origin cannot be
/// reached.
pub async fn forward(req: &Request, decision: &Forward) -> Result<(Response, Option<Failure>)> {
    let headers = web_sys::Headers::new()?;
    for (name, value) in &decision.headers {
        headers.append(name, value)?;
    }
    let init = web_sys::RequestInit::new();
    let method = req.inner().method();
    init.set_method(&method);
    init.set_headers(&headers);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    // A GET or HEAD may arrive with `Content-Length: 0`, but fetch refuses any body on them.
    if method != "GET" && method != "HEAD" {
        if let Some(body) = req.inner().body() {
            init.set_body(&body);
        }
    }
    let outgoing = web_sys::Request::new_with_str_and_init(&decision.url, &init)?;
    match Fetch::Request(Request::from(outgoing)).send().await {
        Ok(resp) => Ok((without_own_cookies(resp)?, None)),
        Err(e) => {
            let resp = crate::convert::into_worker(&portcullis_core::http::Response::json(
                502,
                &serde_json::json!({"error": "bad_gateway", "error_description": "the origin could not be reached"}),
            ))?;
            Ok((
                resp,
                Some(FetchError(format!("origin unreachable: {e}")).into()),
            ))
        }
    }
}

/// The origin's answer without any `Set-Cookie` naming one of Portcullis's cookies: an origin
/// cannot plant or clear the sign-in session. The runtime lists each `Set-Cookie` on its own.
fn without_own_cookies(resp: Response) -> Result<Response> {
    let own = |(name, value): &(String, String)| name == "set-cookie" && is_own_set_cookie(value);
    if !resp.headers().entries().any(|entry| own(&entry)) {
        return Ok(resp);
    }
    let kept = Headers::new();
    for entry in resp.headers().entries().filter(|entry| !own(entry)) {
        kept.append(&entry.0, &entry.1)?;
    }
    Ok(resp.with_headers(kept))
}

/// `fetch` for the core's outgoing requests: neither follows a redirect (a 3xx is the
/// answer), and answers are read only up to the length the core allows.
pub struct FetchClient;

#[async_trait(?Send)]
impl HttpClient for FetchClient {
    async fn get(
        &self,
        url: &str,
        max_len: usize,
    ) -> std::result::Result<(u16, String), FetchError> {
        let init = web_sys::RequestInit::new();
        // A moved JWKS is a failed fetch: following the redirect would let whoever answers at
        // its target (or an open redirect on the issuer's host) choose the keys.
        init.set_redirect(web_sys::RequestRedirect::Manual);
        let req = web_sys::Request::new_with_str_and_init(url, &init)
            .map_err(|e| FetchError(worker::Error::from(e).to_string()))?;
        read_capped(Fetch::Request(req.into()), max_len).await
    }

    async fn get_document(
        &self,
        url: &str,
        max_len: usize,
        timeout_ms: u32,
    ) -> std::result::Result<Fetched, FetchError> {
        let init = web_sys::RequestInit::new();
        init.set_redirect(web_sys::RequestRedirect::Manual);
        init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(timeout_ms)));
        let req = web_sys::Request::new_with_str_and_init(url, &init)
            .map_err(|e| FetchError(worker::Error::from(e).to_string()))?;
        let resp = Fetch::Request(req.into())
            .send()
            .await
            .map_err(|e| FetchError(e.to_string()))?;
        let cache_control = resp.headers().get("cache-control").ok().flatten();
        let (status, body) = read_body(resp, max_len).await?;
        Ok(Fetched {
            status,
            body,
            cache_control,
        })
    }

    async fn post_json(
        &self,
        url: &str,
        body: &str,
        max_len: usize,
    ) -> std::result::Result<(u16, String), FetchError> {
        let req = crate::convert::post(
            url,
            body,
            &[
                ("content-type", "application/json"),
                ("accept", "application/json"),
            ],
            web_sys::RequestRedirect::Manual,
        )
        .map_err(|e| FetchError(e.to_string()))?;
        read_capped(Fetch::Request(req), max_len).await
    }
}

/// Sends `fetch` and reads at most `max_len` bytes of the answer: a longer one is cancelled
/// as soon as it passes `max_len` and is an error.
async fn read_capped(
    fetch: Fetch,
    max_len: usize,
) -> std::result::Result<(u16, String), FetchError> {
    let resp = fetch.send().await.map_err(|e| FetchError(e.to_string()))?;
    read_body(resp, max_len).await
}

/// Reads at most `max_len` bytes of a fetched answer: a longer one is cancelled as soon as it
/// passes `max_len` and is an error.
async fn read_body(
    resp: worker::Response,
    max_len: usize,
) -> std::result::Result<(u16, String), FetchError> {
    let err = |e: worker::Error| FetchError(e.to_string());
    // The runtime hands a fetched answer's body over as a stream, or none at all.
    let body = match resp.body() {
        ResponseBody::Stream(stream) => crate::convert::read_stream(stream, max_len)
            .await
            .map_err(err)?
            .map_err(|e| FetchError(e.to_string()))?,
        _ => Vec::new(),
    };
    Ok((
        resp.status_code(),
        String::from_utf8_lossy(&body).into_owned(),
    ))
}
