//! The authority Durable Object: receives an envelope, runs it in the core, answers the reply.

use portcullis_core::authority::{execute, AuthorityEnv, Envelope};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use crate::bindings::{
    isolate, GrantPort, JsClock, JsRng, KvPort, StoragePort, GRANTS_BINDING, KV_BINDING,
};

/// The single writer behind every change.
#[durable_object(fetch)]
pub struct AuthorityObject {
    state: State,
    env: Env,
}

impl DurableObject for AuthorityObject {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let envelope: Envelope = match crate::convert::json_body(&mut req).await {
            Ok(e) => e,
            Err(e) => return Response::error(format!("bad envelope: {e}"), 400),
        };
        let isolate = match isolate(&self.env) {
            Ok(i) => i,
            Err(e) => return Response::error(e, 500),
        };
        let request_id = envelope.request_id.clone();
        let storage = StoragePort(self.state.storage());
        let kv = KvPort(self.env.kv(KV_BINDING)?);
        let grants = GrantPort(self.env.durable_object(GRANTS_BINDING)?);
        // One envelope at a time, KV writes included (see `execute`): the input gate stays
        // closed until the command is done. Errors come back as values, since an `Err` out of
        // the gate would reset the object.
        let outcome = self.state.block_concurrency_while(async move {
            let env = AuthorityEnv {
                storage: &storage,
                kv: &kv,
                grants: &grants,
                clock: &JsClock,
                rng: &JsRng,
                signatures: &crate::webcrypto::WebCryptoSignatures,
                secrets: &isolate.secrets,
                audit_retention_secs: isolate.settings.audit_retention_secs,
            };
            Ok(execute(&env, &envelope).await)
        });
        match outcome.await? {
            Ok(reply) => Response::from_json(&reply),
            Err(e) => {
                crate::log::failure(&request_id, "authority", e.into());
                Response::error("storage failure", 503)
            }
        }
    }
}
