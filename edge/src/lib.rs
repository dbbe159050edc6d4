//! Portcullis on Cloudflare Workers: the thin runtime adapter.
//!
//! This crate only translates. It turns a `worker::Request` into a plain
//! [`portcullis_core::http::Request`], builds the core's ports from the worker's bindings
//! (Workers KV, the authority Durable Object, `Date.now()`, `crypto.getRandomValues`), calls
//! [`portcullis_core::handle`] (or, for a path Portcullis does not serve, the gateway, whose
//! forwarding [`proxy`] executes), and turns the answer back into a `worker::Response`. All
//! protocol logic is in `portcullis-core`. Compiled for `wasm32` only.
#![cfg(target_arch = "wasm32")]

mod authority_object;
mod bindings;
mod convert;
mod grant_object;
mod proxy;
mod webcrypto;

use portcullis_core::gateway::{self, Decision};
use portcullis_core::{handle, Context};
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

    fn context<'a>(&'a self, isolate: &'a bindings::Isolate, request_id: String) -> Context<'a> {
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
            request_id,
        }
    }
}

/// The worker's entry point.
#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: worker::Context) -> Result<Response> {
    let isolate = match bindings::isolate(&env) {
        Ok(isolate) => isolate,
        Err(err) => {
            worker::console_error!("portcullis misconfigured: {err}");
            return convert::into_worker(&portcullis_core::http::Response::json(
                500,
                &serde_json::json!({"error": "server_error", "error_description": "the worker is misconfigured; see its log"}),
            ));
        }
    };
    let request_id = req
        .headers()
        .get("cf-ray")
        .ok()
        .flatten()
        .unwrap_or_else(|| portcullis_core::crypto::random_token(&bindings::JsRng, 9));
    let mut core_req = convert::head(&req);
    let ports = Ports::new(&env)?;
    let ctx = ports.context(&isolate, request_id);
    if !portcullis_core::app::is_endpoint(&core_req.path) {
        return match gateway::decide(&ctx, &core_req).await {
            Decision::Respond(resp) => convert::into_worker(&resp),
            Decision::Forward(to) => proxy::forward(&req, &to).await,
        };
    }
    convert::read_body(&mut core_req, &req).await;
    let resp = handle(&ctx, core_req).await;
    convert::into_worker(&resp)
}

/// The Cron Trigger (every minute, `wrangler.toml`): retries the second halves that failed
/// (sign-out tasks, undelivered revocations; [`portcullis_core::people::resume`]).
#[event(scheduled)]
async fn scheduled(_event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    let outcome = match (bindings::isolate(&env), Ports::new(&env)) {
        (Ok(isolate), Ok(ports)) => {
            let ctx = ports.context(&isolate, "scheduled".into());
            portcullis_core::people::resume(&ctx)
                .await
                .map_err(|e| e.to_string())
        }
        (Err(e), _) => Err(e),
        (_, Err(e)) => Err(e.to_string()),
    };
    if let Err(e) = outcome {
        worker::console_error!("retrying revocations failed: {e}");
    }
}
