//! `GET/PUT /admin/v1/registration`: the policy for clients nobody registered in advance
//! (RFC 7591 dynamic registration, client ID metadata documents), one versioned document
//! replaced whole, like the gateway's tables: validated here, then stored, versioned
//! (`If-Match`, 412) and audited (`registration.replace`) by the authority.

use std::rc::Rc;

use crate::admin::io::{expect_scopes, if_match, not_allowed, parse_json, unexpected, with_etag};
use crate::api::RegistrationPolicy;
use crate::authority::{Command, Reply, Table, REGISTRATION_KEY};
use crate::clients::dynamic::validate_policy;
use crate::context::Context;
use crate::error::ApiError;
use crate::gateway::CONFIG_TTL_MS;
use crate::http::{Method, Request, Response};

impl Table for RegistrationPolicy {
    const KEY: &'static str = REGISTRATION_KEY;
    const ACTION: &'static str = "registration.replace";

    fn version(&self) -> u64 {
        self.version
    }

    fn stamp(&mut self, version: u64, now: u64) {
        self.version = version;
        self.updated_at = now;
    }
}

/// `GET/PUT /admin/v1/registration`.
pub async fn policy(ctx: &Context<'_>, req: &Request, actor: &str) -> Result<Response, ApiError> {
    let command = match req.method {
        Method::Get => Command::GetRegistration,
        Method::Put => {
            let policy: RegistrationPolicy = parse_json(req)?;
            let catalogue = expect_scopes(ctx.command(actor, Command::ListScopes).await?)?;
            validate_policy(&policy, &catalogue)?;
            Command::PutRegistration {
                policy,
                if_match: if_match(req)?,
            }
        }
        _ => return Ok(not_allowed("GET, PUT")),
    };
    match ctx.command(actor, command).await? {
        Reply::Registration(policy) => {
            let answer = with_etag(Response::json(200, &policy), policy.version);
            ctx.caches
                .registration
                .set(ctx.clock.now_ms(), CONFIG_TTL_MS, Rc::new(policy));
            Ok(answer)
        }
        other => Err(unexpected(other)),
    }
}
