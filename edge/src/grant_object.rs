//! The grant Durable Object (one of `grants::SHARDS` shards): receives a grant command, runs it
//! in the core, answers the reply. Holds codes, refresh-token families, consents and lockouts.

use portcullis_core::grants::{execute, GrantCommand, GrantEnv};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use crate::bindings::{JsClock, StoragePort};

/// One shard of grant state.
#[durable_object(fetch)]
pub struct GrantObject {
    state: State,
}

impl DurableObject for GrantObject {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let command: GrantCommand = match crate::convert::json_body(&mut req).await {
            Ok(c) => c,
            Err(e) => return Response::error(format!("bad grant command: {e}"), 400),
        };
        let storage = StoragePort(self.state.storage());
        let env = GrantEnv {
            storage: &storage,
            clock: &JsClock,
        };
        match execute(&env, &command).await {
            Ok(reply) => Response::from_json(&reply),
            Err(e) => {
                crate::log::failure("-", "grants", e.into());
                Response::error("storage failure", 503)
            }
        }
    }
}
