//! The operator API under `/admin/v1` (JSON over HTTPS, `Authorization: Bearer <ADMIN_TOKEN>`),
//! described by the `OpenAPI` 3.1 document served at `/admin/v1/openapi.json`.
//!
//! Requests are validated here; every change is then sent to the authority, which enforces
//! uniqueness, versions the record, audits it and writes it through to KV. Reads come from the
//! authority too, so an operator always sees the latest state. No answer ever holds a secret's
//! hash; a client secret appears once, in the creation or rotation answer.
//!
//! Concurrency (RFC 9110 §13.1.1): every record read answers `ETag: "<version>"`. `PATCH` and
//! `DELETE` (and secret or key rotation) accept `If-Match` with that tag and answer 412 when the
//! record has changed since; the authority checks the version atomically. Without `If-Match`
//! the change applies to the newest version (last writer wins).

use crate::admin::io::{
    created, expect_client, expect_keys, expect_scopes, expect_user, if_match, not_allowed,
    parse_json, parse_optional_json, read_modify_write, unexpected, with_etag,
};
use crate::api::{
    AuditQuery, Client, ClientCreated, ClientList, ClientPatch, KeyInfo, KeyList, KeyRotation,
    NewClient, NewScope, NewUser, Scope, ScopeList, SecretRotation, User, UserList, UserPatch,
};
use crate::authority::{Command, Reply, AUDIT_PAGE_MAX};
use crate::clients::{new_secret, ClientRecord};
use crate::context::Context;
use crate::error::{check_version, ApiError};
use crate::http::{Method, Request, Response};
use crate::keys::KeySet;
use crate::lifetimes::{DEFAULT_PREVIOUS_SECRET_TTL, MAX_PREVIOUS_SECRET_TTL};
use crate::scope::is_scope_token;
use crate::users::UserRecord;

/// The `OpenAPI` 3.1 description of this API (`admin/openapi.json`, minified by the build
/// script), served as is.
pub const OPENAPI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

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

/// Records a failed admin authentication: the request id and the caller's address, never
/// what was presented. The refusal does not depend on the audit log being reachable.
async fn audit_refusal(ctx: &Context<'_>) {
    let source_ip = ctx.caller.network.clone();
    let audited = ctx
        .command("anonymous", Command::AdminAuthFailed { source_ip })
        .await;
    ctx.logged("auditing a refused admin call", audited);
}

async fn route(ctx: &Context<'_>, req: &Request) -> Result<Response, ApiError> {
    let decoded: Vec<String> = req
        .path
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let method = req.method;
    // The API description is public: it holds no data.
    if segments == ["admin", "v1", "openapi.json"] {
        return match method {
            Method::Get => Ok(Response::raw_json(200, OPENAPI_JSON)),
            _ => Ok(not_allowed("GET")),
        };
    }
    if !authorized(ctx, req) {
        // Failed attempts count against the caller's address, so that guessing the token,
        // or flooding the audit log with refusals, stops at the address's limit.
        if crate::ratelimit::check_ip(ctx).await.is_err() {
            return Err(ApiError::rate_limited());
        }
        audit_refusal(ctx).await;
        return Err(ApiError::unauthorized());
    }
    let Some(resource) = segments.strip_prefix(&["admin", "v1"]) else {
        return Err(ApiError::not_found("admin resource"));
    };
    Admin {
        ctx,
        req,
        actor: ctx.secrets.admin_fingerprint(),
    }
    .dispatch(resource)
    .await
}

impl Admin<'_, '_> {
    /// Answers the resource at `/admin/v1/<resource…>` by its method.
    async fn dispatch(&self, resource: &[&str]) -> Result<Response, ApiError> {
        let (ctx, req, method) = (self.ctx, self.req, self.req.method);
        match resource {
            ["scopes"] => match method {
                Method::Get => self.list_scopes().await,
                Method::Post => self.create_scope().await,
                _ => Ok(not_allowed("GET, POST")),
            },
            ["scopes", name] => match method {
                Method::Get => self.get_scope(name).await,
                Method::Delete => self.delete_scope(name).await,
                _ => Ok(not_allowed("GET, DELETE")),
            },
            ["clients"] => match method {
                Method::Get => self.list_clients().await,
                Method::Post => self.create_client().await,
                _ => Ok(not_allowed("GET, POST")),
            },
            ["clients", id] => match method {
                Method::Get => self.get_client(id).await,
                Method::Patch => self.patch_client(id).await,
                Method::Delete => self.delete_client(id).await,
                _ => Ok(not_allowed("GET, PATCH, DELETE")),
            },
            ["clients", id, "secrets"] => match method {
                Method::Post => self.rotate_secret(id).await,
                _ => Ok(not_allowed("POST")),
            },
            ["keys"] => match method {
                Method::Get => self.list_keys().await,
                _ => Ok(not_allowed("GET")),
            },
            ["keys", "rotate"] => match method {
                Method::Post => self.rotate_keys().await,
                _ => Ok(not_allowed("POST")),
            },
            ["keys", kid, "revoke"] => match method {
                Method::Post => self.revoke_key(kid).await,
                _ => Ok(not_allowed("POST")),
            },
            ["audit"] => match method {
                Method::Get => self.audit().await,
                _ => Ok(not_allowed("GET")),
            },
            ["users"] => match method {
                Method::Get => self.list_users().await,
                Method::Post => self.create_user().await,
                _ => Ok(not_allowed("GET, POST")),
            },
            ["users", id] => match method {
                Method::Get => self.get_user(id).await,
                Method::Patch => self.patch_user(id).await,
                Method::Delete => self.delete_user(id).await,
                _ => Ok(not_allowed("GET, PATCH, DELETE")),
            },
            ["users", id, "sessions", "revoke"] => match method {
                Method::Post => self.end_sessions(id).await,
                _ => Ok(not_allowed("POST")),
            },
            ["routes"] => crate::admin::gateway_config::routes(ctx, req, self.actor).await,
            ["issuers"] => crate::admin::gateway_config::issuers(ctx, req, self.actor).await,
            ["registration"] => crate::admin::registration::policy(ctx, req, self.actor).await,
            ["grants"] => match method {
                Method::Get => crate::admin::grants::admin_list(ctx, req).await,
                _ => Ok(not_allowed("GET")),
            },
            ["grants", id] => match method {
                Method::Delete => crate::admin::grants::admin_revoke(ctx, id, self.actor).await,
                _ => Ok(not_allowed("DELETE")),
            },
            _ => Err(ApiError::not_found("admin resource")),
        }
    }
}

/// One authenticated admin request.
struct Admin<'c, 'a> {
    ctx: &'c Context<'a>,
    req: &'c Request,
    /// The admin token's fingerprint, recorded in the audit log.
    actor: &'c str,
}

impl Admin<'_, '_> {
    async fn command(&self, command: Command) -> Result<Reply, ApiError> {
        match self.ctx.command(self.actor, command).await? {
            Reply::Error(e) => Err(e),
            reply => Ok(reply),
        }
    }

    async fn list_scopes(&self) -> Result<Response, ApiError> {
        let scopes = expect_scopes(self.command(Command::ListScopes).await?)?;
        Ok(Response::json(200, &ScopeList { scopes }).no_store())
    }

    async fn list_clients(&self) -> Result<Response, ApiError> {
        let mut clients: Vec<Client> = match self.command(Command::ListClients).await? {
            Reply::Clients(all) => all.into_iter().map(|r| r.client).collect(),
            other => return Err(unexpected(other)),
        };
        clients.sort_by_cached_key(|c| c.name.to_lowercase());
        Ok(Response::json(200, &ClientList { clients }).no_store())
    }

    async fn create_scope(&self) -> Result<Response, ApiError> {
        let new: NewScope = parse_json(self.req)?;
        if !is_scope_token(&new.name) {
            return Err(ApiError::invalid(
                "name",
                "must be a scope token (RFC 6749 §3.3), at most 128 characters",
            ));
        }
        if new.description.chars().count() > 500 {
            return Err(ApiError::invalid("description", "at most 500 characters"));
        }
        let scope = Scope {
            name: new.name,
            description: new.description,
            created_at: self.ctx.clock.now(),
            version: 1,
        };
        match self.command(Command::CreateScope { scope }).await? {
            Reply::Scope(s) => {
                self.ctx.caches.scopes.invalidate();
                let version = s.version;
                Ok(with_etag(created(&s), version))
            }
            other => Err(unexpected(other)),
        }
    }

    async fn get_scope(&self, name: &str) -> Result<Response, ApiError> {
        let scopes = expect_scopes(self.command(Command::ListScopes).await?)?;
        let scope = scopes
            .into_iter()
            .find(|s| s.name == name)
            .ok_or_else(|| ApiError::not_found("scope"))?;
        let version = scope.version;
        Ok(with_etag(Response::json(200, &scope), version))
    }

    async fn delete_scope(&self, name: &str) -> Result<Response, ApiError> {
        let expected_version = if_match(self.req)?;
        self.command(Command::DeleteScope {
            name: name.to_owned(),
            expected_version,
        })
        .await?;
        self.ctx.caches.scopes.invalidate();
        Ok(Response::empty(204).no_store())
    }

    async fn create_client(&self) -> Result<Response, ApiError> {
        let new: NewClient = parse_json(self.req)?;
        let catalogue = expect_scopes(self.command(Command::ListScopes).await?)?;
        let (record, client_secret) = ClientRecord::register(
            new,
            &catalogue,
            self.ctx.secrets,
            self.ctx.rng,
            self.ctx.clock.now(),
        )?;
        let record = expect_client(self.command(Command::CreateClient { record }).await?)?;
        self.ctx.caches.forget_client(&record.client.client_id);
        let version = record.client.version;
        Ok(with_etag(
            created(&ClientCreated {
                client: record.client,
                client_secret,
            }),
            version,
        ))
    }

    async fn read_client(&self, id: &str) -> Result<ClientRecord, ApiError> {
        expect_client(
            self.command(Command::GetClient {
                client_id: id.to_owned(),
            })
            .await?,
        )
    }

    async fn get_client(&self, id: &str) -> Result<Response, ApiError> {
        let client = self.read_client(id).await?.client;
        let version = client.version;
        Ok(with_etag(Response::json(200, &client), version))
    }

    async fn patch_client(&self, id: &str) -> Result<Response, ApiError> {
        let patch: ClientPatch = parse_json(self.req)?;
        let if_match = if_match(self.req)?;
        let record = read_modify_write(if_match, || async {
            let current = self.read_client(id).await?;
            check_version(current.client.version, if_match)?;
            let catalogue = expect_scopes(self.command(Command::ListScopes).await?)?;
            let record = current.patched(patch.clone(), &catalogue, self.ctx.clock.now())?;
            let reply = self
                .command(Command::UpdateClient {
                    record,
                    expected_version: current.client.version,
                })
                .await?;
            expect_client(reply)
        })
        .await?;
        self.ctx.caches.forget_client(id);
        // Disabling or deleting changes the deny-list's client rules: read them afresh.
        self.ctx.caches.expire_denylist();
        let version = record.client.version;
        Ok(with_etag(Response::json(200, &record.client), version))
    }

    async fn delete_client(&self, id: &str) -> Result<Response, ApiError> {
        let expected_version = if_match(self.req)?;
        self.command(Command::DeleteClient {
            client_id: id.to_owned(),
            expected_version,
        })
        .await?;
        self.ctx.caches.forget_client(id);
        // Disabling or deleting changes the deny-list's client rules: read them afresh.
        self.ctx.caches.expire_denylist();
        Ok(Response::empty(204).no_store())
    }

    async fn rotate_secret(&self, id: &str) -> Result<Response, ApiError> {
        let rotation: SecretRotation = parse_optional_json(self.req)?;
        let keep = rotation
            .previous_expires_in
            .unwrap_or(DEFAULT_PREVIOUS_SECRET_TTL);
        if keep > MAX_PREVIOUS_SECRET_TTL {
            return Err(ApiError::invalid(
                "previous_expires_in",
                format!("at most {MAX_PREVIOUS_SECRET_TTL} seconds (30 days)"),
            ));
        }
        let expected_version = if_match(self.req)?;
        let secret = new_secret(self.ctx.rng);
        let reply = self
            .command(Command::RotateClientSecret {
                client_id: id.to_owned(),
                secret_hash: self.ctx.secrets.hash_client_secret(&secret).to_stored(),
                previous_expires_at: self.ctx.clock.now() + keep,
                expected_version,
            })
            .await?;
        let record = expect_client(reply)?;
        self.ctx.caches.forget_client(id);
        let version = record.client.version;
        Ok(with_etag(
            created(&ClientCreated {
                client: record.client,
                client_secret: Some(secret),
            }),
            version,
        ))
    }

    async fn list_keys(&self) -> Result<Response, ApiError> {
        let alg = self.ctx.settings.signing_alg;
        let set = expect_keys(self.command(Command::EnsureKeys { alg }).await?)?;
        Ok(key_list(&set))
    }

    async fn rotate_keys(&self) -> Result<Response, ApiError> {
        let rotation: KeyRotation = parse_optional_json(self.req)?;
        let expected_version = if_match(self.req)?;
        let set = expect_keys(
            self.command(Command::RotateKeys {
                alg: rotation.alg,
                expected_version,
            })
            .await?,
        )?;
        self.ctx.install_keys(&set)?;
        Ok(key_list(&set))
    }

    /// Revokes a signing key outright: it leaves the JWKS and every token it signed is denied.
    async fn revoke_key(&self, kid: &str) -> Result<Response, ApiError> {
        let expected_version = if_match(self.req)?;
        let set = expect_keys(
            self.command(Command::RevokeKey {
                kid: kid.to_owned(),
                expected_version,
            })
            .await?,
        )?;
        self.ctx.install_keys(&set)?;
        self.ctx.caches.expire_denylist();
        Ok(key_list(&set))
    }

    async fn audit(&self) -> Result<Response, ApiError> {
        let query = audit_query(self.req.query.as_deref().unwrap_or_default())?;
        match self.command(Command::ListAudit { query }).await? {
            Reply::Audit(page) => Ok(Response::json(200, &page).no_store()),
            other => Err(unexpected(other)),
        }
    }

    async fn list_users(&self) -> Result<Response, ApiError> {
        let mut users: Vec<User> = match self.command(Command::ListUsers).await? {
            Reply::Users(all) => all.into_iter().map(|r| r.user).collect(),
            other => return Err(unexpected(other)),
        };
        users.sort_by_cached_key(|u| u.username.to_lowercase());
        Ok(Response::json(200, &UserList { users }).no_store())
    }

    async fn create_user(&self) -> Result<Response, ApiError> {
        let new: NewUser = parse_json(self.req)?;
        let record = UserRecord::create(new, self.ctx.rng, self.ctx.clock.now())?;
        let user = expect_user(self.command(Command::CreateUser { record }).await?)?.user;
        let version = user.version;
        Ok(with_etag(created(&user), version))
    }

    async fn get_user(&self, id: &str) -> Result<Response, ApiError> {
        let user = self.read_user(id).await?.user;
        let version = user.version;
        Ok(with_etag(Response::json(200, &user), version))
    }

    async fn read_user(&self, id: &str) -> Result<UserRecord, ApiError> {
        expect_user(self.command(Command::GetUser { id: id.to_owned() }).await?)
    }

    async fn patch_user(&self, id: &str) -> Result<Response, ApiError> {
        let patch: UserPatch = parse_json(self.req)?;
        let if_match = if_match(self.req)?;
        let user = read_modify_write(if_match, || async {
            let current = self.read_user(id).await?;
            check_version(current.user.version, if_match)?;
            let record = current.patched(patch.clone(), self.ctx.rng, self.ctx.clock.now())?;
            let reply = self
                .command(Command::UpdateUser {
                    record,
                    expected_version: current.user.version,
                })
                .await?;
            expect_user(reply)
        })
        .await?
        .user;
        self.finish_signouts().await;
        let version = user.version;
        Ok(with_etag(Response::json(200, &user), version))
    }

    async fn delete_user(&self, id: &str) -> Result<Response, ApiError> {
        let expected_version = if_match(self.req)?;
        self.command(Command::DeleteUser {
            id: id.to_owned(),
            expected_version,
        })
        .await?;
        self.finish_signouts().await;
        Ok(Response::empty(204).no_store())
    }

    /// `POST /admin/v1/users/{id}/sessions/revoke`: signs a person out everywhere. A user of
    /// the store must exist; with `UPSTREAM_LOGIN_URL` set, any well-formed id the origin may
    /// have answered is accepted.
    async fn end_sessions(&self, id: &str) -> Result<Response, ApiError> {
        let upstream = self.ctx.settings.upstream_login_url.is_some();
        if !upstream || !crate::users::is_upstream_user_id(id) {
            self.read_user(id).await?;
        }
        self.command(Command::EndSessions {
            user: id.to_owned(),
        })
        .await?;
        self.finish_signouts().await;
        Ok(Response::empty(204).no_store())
    }

    /// Ends at once the sessions (and grants) that a change just committed asks to end. The
    /// change stands either way: its sign-out task is stored with it, and a failure here is
    /// retried by [`crate::people::resume`] (every minute), so the answer does not wait.
    async fn finish_signouts(&self) {
        let finished = crate::people::finish_signouts(self.ctx).await;
        self.ctx.logged("finishing sign-outs", finished);
    }
}

/// The key set's public view, tagged with its version.
fn key_list(set: &KeySet) -> Response {
    let keys = set
        .keys
        .iter()
        .map(|k| KeyInfo {
            kid: k.kid.clone(),
            alg: k.alg,
            state: k.state,
            created_at: k.created_at,
            retired_at: k.retired_at,
            expires_at: k.expires_at,
            jwk: k.public_jwk(),
        })
        .collect();
    with_etag(
        Response::json(
            200,
            &KeyList {
                keys,
                version: set.version,
            },
        ),
        set.version,
    )
}

/// Parses the query of `GET /admin/v1/audit`, refusing unknown parameters.
fn audit_query(raw: &str) -> Result<AuditQuery, ApiError> {
    let mut query = AuditQuery::default();
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        let seconds = || {
            value
                .parse::<u64>()
                .map_err(|_| ApiError::bad_request(Some(&name), "must be Unix seconds"))
        };
        match &*name {
            "cursor" => {
                let well_formed = value.len() == 24
                    && value.bytes().enumerate().all(|(i, b)| {
                        if i == 13 {
                            b == b'-'
                        } else {
                            b.is_ascii_digit()
                        }
                    });
                if !well_formed {
                    return Err(ApiError::bad_request(
                        Some("cursor"),
                        "must be a next_cursor from a previous page",
                    ));
                }
                query.cursor = Some(value.into_owned());
            }
            "limit" => {
                let limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|l| (1..=AUDIT_PAGE_MAX).contains(l))
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            Some("limit"),
                            format!("must be 1 to {AUDIT_PAGE_MAX}"),
                        )
                    })?;
                query.limit = Some(limit);
            }
            "target" => query.target = Some(value.into_owned()),
            "action" => query.action = Some(value.into_owned()),
            "since" => query.since = Some(seconds()?),
            "until" => query.until = Some(seconds()?),
            other => {
                return Err(ApiError::bad_request(
                    Some(other),
                    "unknown parameter; use cursor, limit, target, action, since, until",
                ))
            }
        }
    }
    Ok(query)
}

pub mod gateway_config;
pub mod grants;
pub mod io;
pub mod registration;

#[cfg(test)]
mod tests;
