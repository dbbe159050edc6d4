//! Portcullis on Cloudflare Workers: the thin runtime adapter.
//!
//! This crate only translates. It turns a `worker::Request` into a plain
//! [`portcullis_core::http::Request`], builds the core's ports from the worker's bindings
//! (Workers KV, the authority Durable Object, `Date.now()`, `crypto.getRandomValues`), calls
//! [`portcullis_core::handle`] (or, for a path Portcullis does not serve, the gateway, whose
//! forwarding [`proxy`] executes), and turns the answer back into a `worker::Response`; the
//! core's log events become JSON lines on the console ([`log`]). All protocol logic is in
//! `portcullis-core`. Compiled for `wasm32` only.
#![cfg(target_arch = "wasm32")]

mod authority_object;
mod bindings;
mod convert;
mod grant_object;
mod log;
mod proxy;
mod webcrypto;

use portcullis_core::app::Endpoint;
use portcullis_core::context::Caller;
use portcullis_core::gateway::{self, Decision};
use portcullis_core::ports::{Clock, Failure, Log, LogEvent};
use portcullis_core::Context;
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

/// The worker's entry point. Every request ends with one log line ([`log::ConsoleLog`]).
#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: worker::Context) -> Result<Response> {
    let started = bindings::JsClock.now_ms();
    let request_id = req
        .headers()
        .get("cf-ray")
        .ok()
        .flatten()
        .unwrap_or_else(|| portcullis_core::crypto::random_token(&bindings::JsRng, 9));
    let ports = bindings::isolate(&env)
        .and_then(|isolate| Ok((isolate, Ports::new(&env).map_err(|e| e.to_string())?)));
    let (isolate, ports) = match ports {
        Ok(ready) => ready,
        Err(err) => {
            let failure = Failure::new("config", &format!("portcullis misconfigured: {err}"));
            let route = req.path();
            log::ConsoleLog.event(&LogEvent::request(
                &request_id,
                &route,
                500,
                0,
                Some(failure),
            ));
            return convert::into_worker(&portcullis_core::http::Response::json(
                500,
                &serde_json::json!({"error": "server_error", "error_description": "the worker is misconfigured; see its log"}),
            ));
        }
    };
    let mut core_req = convert::head(&req);
    let caller = Caller::of(&isolate.settings, &core_req);
    let ctx = ports.context(&isolate, request_id, caller);
    let Some(endpoint) = Endpoint::of(&core_req.path) else {
        return match gateway::decide(&ctx, &core_req).await {
            Decision::Respond(resp) => {
                ctx.log_request("gateway", resp.status, resp.failure.as_ref(), started);
                convert::into_worker(&resp)
            }
            Decision::Forward(to) => match proxy::forward(&req, &to).await {
                Ok((resp, failure)) => {
                    ctx.log_request(&to.route, resp.status_code(), failure.as_ref(), started);
                    Ok(resp)
                }
                Err(e) => {
                    let failure = Failure::new("internal", &format!("forwarding: {e}"));
                    ctx.log_request(&to.route, 500, Some(&failure), started);
                    Err(e)
                }
            },
        };
    };
    convert::read_body(&mut core_req, &req, endpoint.body_limit()).await;
    let resp = endpoint.answer(&ctx, &core_req).await;
    convert::into_worker(&resp)
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
