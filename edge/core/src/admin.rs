//! The operator API under `/admin/v1` (JSON over HTTPS, `Authorization: Bearer <ADMIN_TOKEN>`).
//!
//! Requests are validated here; every change is then sent to the authority, which enforces
//! uniqueness, versions the record, audits it and writes it through to KV. Reads come from the
//! authority too, so an operator always sees the latest state. No answer ever holds a secret's
//! hash; a client secret appears once, in the creation answer.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::{ClientCreated, ClientList, NewClient, NewScope, Scope, ScopeList};
use crate::app::{only, Context};
use crate::authority::{Command, Reply};
use crate::clients::{is_scope_token, ClientRecord};
use crate::error::ApiError;
use crate::http::{Method, Request, Response};

/// Handles every `/admin` path.
pub async fn handle(ctx: &Context<'_>, req: &Request) -> Response {
    match route(ctx, req).await {
        Ok(resp) => resp,
        Err(err) => err.into_response(),
    }
}

fn authorized(ctx: &Context<'_>, req: &Request) -> bool {
    req.header("authorization").is_ok()
        && req.bearer().is_some_and(|t| ctx.secrets.is_admin_token(t))
}

async fn route(ctx: &Context<'_>, req: &Request) -> Result<Response, ApiError> {
    if !authorized(ctx, req) {
        return Err(ApiError::unauthorized());
    }
    let segments: Vec<&str> = req.path.trim_end_matches('/').split('/').skip(1).collect();
    let actor = ctx.secrets.admin_fingerprint();
    match segments.as_slice() {
        ["admin", "v1", "scopes"] => match req.method {
            Method::Get => {
                let scopes = expect_scopes(ctx.command(actor, Command::ListScopes).await?)?;
                Ok(Response::json(200, &ScopeList { scopes }))
            }
            Method::Post => create_scope(ctx, req, actor).await,
            _ => Err(ApiError::method_not_allowed()),
        },
        ["admin", "v1", "clients"] => match req.method {
            Method::Get => {
                let clients = match ctx.command(actor, Command::ListClients).await? {
                    Reply::Clients(all) => all.into_iter().map(|r| r.client).collect(),
                    other => return Err(unexpected(other)),
                };
                Ok(Response::json(200, &ClientList { clients }))
            }
            Method::Post => create_client(ctx, req, actor).await,
            _ => Err(ApiError::method_not_allowed()),
        },
        ["admin", "v1", "clients", id] => {
            if let Some(refusal) = only(req, &[Method::Get]) {
                return Ok(refusal);
            }
            let record = expect_client(
                ctx.command(
                    actor,
                    Command::GetClient {
                        client_id: (*id).to_owned(),
                    },
                )
                .await?,
            )?;
            Ok(with_etag(
                Response::json(200, &record.client),
                record.client.version,
            ))
        }
        _ => Err(ApiError::not_found("admin resource")),
    }
}

fn with_etag(resp: Response, version: u64) -> Response {
    resp.header("etag", format!("\"{version}\""))
        .header("cache-control", "no-store")
}

/// Parses a JSON body, naming the field at fault.
pub fn parse_json<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    if req.body_too_large {
        return Err(ApiError {
            status: 413,
            code: "invalid_request".into(),
            field: None,
            reason: "request body too large".into(),
        });
    }
    if req.media_type().as_deref() != Some("application/json") {
        return Err(ApiError {
            status: 415,
            code: "invalid_request".into(),
            field: None,
            reason: "the body must be application/json".into(),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(&req.body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        ApiError::bad_request(field.as_deref(), e.inner().to_string())
    })?;
    de.end()
        .map_err(|e| ApiError::bad_request(None, e.to_string()))?;
    Ok(value)
}

fn created<T: Serialize>(body: &T) -> Response {
    Response::json(201, body).no_store()
}

fn unexpected(reply: Reply) -> ApiError {
    match reply {
        Reply::Error(e) => e,
        _ => ApiError::unavailable(),
    }
}

fn expect_scopes(reply: Reply) -> Result<Vec<Scope>, ApiError> {
    match reply {
        Reply::Scopes(s) => Ok(s),
        other => Err(unexpected(other)),
    }
}

fn expect_client(reply: Reply) -> Result<ClientRecord, ApiError> {
    match reply {
        Reply::Client(c) => Ok(c),
        other => Err(unexpected(other)),
    }
}

async fn create_scope(ctx: &Context<'_>, req: &Request, actor: &str) -> Result<Response, ApiError> {
    let new: NewScope = parse_json(req)?;
    if !is_scope_token(&new.name) {
        return Err(ApiError::invalid(
            "name",
            "must be a scope token (RFC 6749 §3.3), at most 128 characters",
        ));
    }
    if new.description.len() > 500 {
        return Err(ApiError::invalid("description", "at most 500 characters"));
    }
    let scope = Scope {
        name: new.name,
        description: new.description,
        created_at: ctx.clock.now(),
        version: 1,
    };
    match ctx.command(actor, Command::CreateScope { scope }).await? {
        Reply::Scope(s) => {
            ctx.caches.scopes.invalidate();
            Ok(created(&s))
        }
        other => Err(unexpected(other)),
    }
}

async fn create_client(
    ctx: &Context<'_>,
    req: &Request,
    actor: &str,
) -> Result<Response, ApiError> {
    let new: NewClient = parse_json(req)?;
    let catalogue = expect_scopes(ctx.command(actor, Command::ListScopes).await?)?;
    let (record, client_secret) =
        ClientRecord::register(new, &catalogue, ctx.secrets, ctx.rng, ctx.clock.now())?;
    let record = expect_client(ctx.command(actor, Command::CreateClient { record }).await?)?;
    ctx.caches.forget_client(&record.client.client_id);
    let version = record.client.version;
    Ok(with_etag(
        created(&ClientCreated {
            client: record.client,
            client_secret,
        }),
        version,
    ))
}
