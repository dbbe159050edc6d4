//! Outgoing HTTP: the core's [`HttpClient`] port (trusted issuers' JWKS, an origin's login
//! endpoint, client ID metadata documents) on the runtime's `fetch`. Gateway requests are sent
//! on by the JavaScript entry (`edge/entry.mjs`), which keeps the caller's `Request` there.

use async_trait::async_trait;
use portcullis_core::ports::{FetchError, Fetched, HttpClient};
use worker::{Fetch, ResponseBody};

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
