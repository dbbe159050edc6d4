//! Portcullis on Cloudflare Workers: the thin runtime adapter.
//!
//! This crate only translates. Requests arrive through the JavaScript entry
//! (`edge/entry.mjs`): for a Portcullis endpoint ([`is_endpoint`]) it hands the request to
//! [`fetch`], which turns it into a plain [`portcullis_core::http::Request`], builds the core's
//! ports from the worker's bindings (Workers KV, the Durable Objects, `Date.now()`,
//! `crypto.getRandomValues`, WebCrypto), answers it with the core and turns the answer back into
//! a `worker::Response`. Any other path is the gateway's: [`gateway`] decides it from the
//! method, URL and headers and the entry sends it on. The core's log events become JSON lines
//! on the console ([`log`]). All protocol logic is in `portcullis-core`. Compiled for `wasm32`
//! only.
#![cfg(target_arch = "wasm32")]

mod authority_object;
mod bindings;
mod convert;
mod grant_object;
mod log;
mod proxy;
mod webcrypto;

use std::rc::Rc;

use portcullis_core::app::Endpoint;
use portcullis_core::context::Caller;
use portcullis_core::gateway::{self, Decision};
use portcullis_core::http::{Method, Request as CoreRequest, Response as CoreResponse};
use portcullis_core::ports::{Clock, Failure, FetchError, Log, LogEvent};
use portcullis_core::Context;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::{event, Env, Request, Response, Result};

/// The bindings the core's ports are built on.
struct Ports {
    kv: bindings::KvPort,
    authority: bindings::AuthorityPort,
    grants: bindings::GrantPort,
    limits: bindings::RateLimitPort,
}

impl Ports {
    fn new(env: &Env) -> Result<Self> {
        Ok(Self {
            kv: bindings::KvPort(env.kv(bindings::KV_BINDING)?),
            authority: bindings::AuthorityPort(env.durable_object(bindings::AUTHORITY_BINDING)?),
            grants: bindings::GrantPort(env.durable_object(bindings::GRANTS_BINDING)?),
            limits: bindings::RateLimitPort::new(env),
        })
    }

    /// The context of one request (or of the scheduled run, which has no caller).
    fn context<'a>(
        &'a self,
        isolate: &'a bindings::Isolate,
        request_id: String,
        caller: Caller,
    ) -> Context<'a> {
        Context {
            kv: &self.kv,
            authority: &self.authority,
            grants: &self.grants,
            clock: &bindings::JsClock,
            rng: &bindings::JsRng,
            http: &proxy::FetchClient,
            signatures: &webcrypto::WebCryptoSignatures,
            limits: &self.limits,
            secrets: &isolate.secrets,
            caches: &isolate.caches,
            settings: &isolate.settings,
            log: &log::ConsoleLog,
            request_id,
            caller,
        }
    }
}

/// The isolate's state, the request's ports and its id (the `cf-ray` header's value, or a
/// random one); a misconfigured worker's 500 (logged) otherwise.
fn prepare(
    env: &Env,
    cf_ray: Option<String>,
    path: &str,
) -> std::result::Result<(Rc<bindings::Isolate>, Ports, String), CoreResponse> {
    let request_id =
        cf_ray.unwrap_or_else(|| portcullis_core::crypto::random_token(&bindings::JsRng, 9));
    let ports = bindings::isolate(env)
        .and_then(|isolate| Ok((isolate, Ports::new(env).map_err(|e| e.to_string())?)));
    match ports {
        Ok((isolate, ports)) => Ok((isolate, ports, request_id)),
        Err(err) => {
            let failure = Failure::new("config", &format!("portcullis misconfigured: {err}"));
            log::ConsoleLog.event(&LogEvent::request(&request_id, path, 500, 0, Some(failure)));
            Err(CoreResponse::json(
                500,
                &serde_json::json!({"error": "server_error", "error_description": "the worker is misconfigured; see its log"}),
            ))
        }
    }
}

/// The worker's entry point for Portcullis's own endpoints (the JavaScript entry,
/// `edge/entry.mjs`, hands it the requests [`is_endpoint`] names). Every request ends
/// with one log line ([`log::ConsoleLog`]).
#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: worker::Context) -> Result<Response> {
    let cf_ray = req.headers().get("cf-ray").ok().flatten();
    let (isolate, ports, request_id) = match prepare(&env, cf_ray, &req.path()) {
        Ok(ready) => ready,
        Err(resp) => return convert::into_worker(&resp),
    };
    let mut core_req = convert::head(&req);
    let caller = Caller::of(&isolate.settings, &core_req);
    let ctx = ports.context(&isolate, request_id, caller);
    let Some(endpoint) = Endpoint::of(&core_req.path) else {
        // The JavaScript entry sends every other path to `gateway`.
        return convert::into_worker(&portcullis_core::error::not_found());
    };
    convert::read_body(&mut core_req, &req, endpoint.body_limit()).await;
    let resp = endpoint.answer(&ctx, &core_req).await;
    convert::into_worker(&resp)
}

/// Whether `url` is one of Portcullis's own endpoints (else a gateway request), for the
/// JavaScript entry (`edge/entry.mjs`).
#[wasm_bindgen]
pub fn is_endpoint(url: &str) -> bool {
    Endpoint::of(&CoreRequest::from_url(Method::Get, url).path).is_some()
}

/// The gateway's half of the JavaScript entry (`edge/entry.mjs`), which keeps the caller's
/// `Request` in JavaScript and sends it on itself: decides a request from its method, URL and
/// headers (`name\nvalue\n` pairs, names lower-case, as the entry writes them), once
/// [`is_endpoint`] said it is not Portcullis's own. Answers a `Response` for a refusal (logged
/// here) or, for a request to forward, the core's
/// [`Forward`](gateway::Forward) as JSON with the request id and start time, which the entry
/// passes back to [`gateway_log`] once the origin has answered.
#[wasm_bindgen]
pub async fn gateway(env: Env, method: String, url: String, headers: String) -> JsValue {
    let started = bindings::JsClock.now_ms();
    let mut core_req = CoreRequest::from_url(Method::parse(&method), &url);
    let mut lines = headers.split('\n');
    while let (Some(name), Some(value)) = (lines.next(), lines.next()) {
        core_req.headers.push((name.to_owned(), value.to_owned()));
    }
    let cf_ray = core_req.header("cf-ray").ok().flatten().map(str::to_owned);
    let (isolate, ports, request_id) = match prepare(&env, cf_ray, &core_req.path) {
        Ok(ready) => ready,
        Err(resp) => return response(&resp),
    };
    let caller = Caller::of(&isolate.settings, &core_req);
    let ctx = ports.context(&isolate, request_id, caller);
    match gateway::decide(&ctx, &core_req).await {
        Decision::Respond(resp) => {
            ctx.log_request("gateway", resp.status, resp.failure.as_ref(), started);
            response(&resp)
        }
        Decision::Forward(to) => JsValue::from_str(
            &serde_json::json!({ "forward": to, "id": ctx.request_id, "started": started })
                .to_string(),
        ),
    }
}

/// A core response as a JavaScript `Response` (a 500 if the runtime cannot build it).
fn response(resp: &CoreResponse) -> JsValue {
    convert::into_worker(resp)
        .or_else(|_| Response::error("internal error", 500))
        .map_or(JsValue::NULL, |r| web_sys::Response::from(r).into())
}

/// The log line of a forwarded request (see [`gateway`]): its id, route, the origin's status
/// (502 when it could not be reached, with `failure` saying why) and the start time.
#[wasm_bindgen]
pub fn gateway_log(id: &str, route: &str, status: u16, failure: Option<String>, started: f64) {
    let failure = failure.map(|why| Failure::from(FetchError(why)));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let duration = bindings::JsClock.now_ms().saturating_sub(started as u64);
    log::ConsoleLog.event(&LogEvent::request(id, route, status, duration, failure));
}

/// Whether a `Set-Cookie` value of the origin's names one of Portcullis's own cookies, which
/// the entry drops: an origin cannot plant or clear the sign-in session.
#[wasm_bindgen]
pub fn is_own_set_cookie(value: &str) -> bool {
    portcullis_core::session::is_own_set_cookie(value)
}

/// The Cron Trigger (every minute, `wrangler.toml`): retries the second halves that failed
/// (sign-out tasks, undelivered revocations; [`portcullis_core::people::resume`]) and deletes
/// expired self-registered clients ([`portcullis_core::registration::sweep`]). A failure is
/// logged as a line of request id and route `scheduled`.
#[event(scheduled)]
async fn scheduled(_event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    let outcome = match (bindings::isolate(&env), Ports::new(&env)) {
        (Ok(isolate), Ok(ports)) => {
            let ctx = ports.context(&isolate, "scheduled".into(), Caller::default());
            let resumed = portcullis_core::people::resume(&ctx).await;
            let swept = portcullis_core::registration::sweep(&ctx).await;
            resumed.and(swept).map_err(Failure::from)
        }
        (Err(e), _) => Err(Failure::new("config", &e)),
        (_, Err(e)) => Err(Failure::new("config", &e.to_string())),
    };
    if let Err(failure) = outcome {
        log::failure(
            "scheduled",
            "scheduled",
            failure.during("the scheduled run"),
        );
    }
}
