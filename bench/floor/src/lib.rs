//! Bench only: a workers-rs worker that does what every Portcullis request must (read a header
//! and the body, answer JSON) and nothing else. Its throughput is the floor of the wasm runtime
//! layer: no Rust worker, Portcullis included, can beat it (`cargo xtask bench`).
#![cfg(target_arch = "wasm32")]

use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(mut req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    let authorized = req.headers().get("authorization")?.is_some();
    let read = req.bytes().await?.len();
    let mut resp = Response::ok(format!("{{\"authorized\":{authorized},\"read\":{read}}}"))?;
    resp.headers_mut().set("content-type", "application/json")?;
    Ok(resp)
}
