//! `GET/PUT /admin/v1/routes` and `GET/PUT /admin/v1/issuers`: the gateway's configuration,
//! each one versioned document replaced whole.
//!
//! A `PUT` is validated here (every error names its field), then sent to the authority, which
//! checks `If-Match` (RFC 9110 §13.1.1) against the stored version (412 when it moved on), bumps
//! the version, audits the change and writes the document through to KV. Reads and writes
//! answer the version as a strong `ETag` (RFC 9110 §8.8.3).

use std::rc::Rc;

use crate::admin::io::{if_match, not_allowed, parse_json, unexpected, with_etag};
use crate::api::{IssuerTable, IssuersBody, RouteTable, RoutesBody};
use crate::authority::{Command, Reply, Table};
use crate::context::Context;
use crate::error::ApiError;
use crate::gateway::{issuers, routes, CONFIG_TTL_MS, ISSUERS_KEY, ROUTES_KEY};
use crate::http::{Method, Request, Response};
use crate::uri::is_local_issuer;

impl Table for RouteTable {
    const KEY: &'static str = ROUTES_KEY;
    const ACTION: &'static str = "routes.replace";

    fn version(&self) -> u64 {
        self.version
    }

    fn stamp(&mut self, version: u64, now: u64) {
        self.version = version;
        self.updated_at = now;
    }
}

impl Table for IssuerTable {
    const KEY: &'static str = ISSUERS_KEY;
    const ACTION: &'static str = "issuers.replace";

    fn version(&self) -> u64 {
        self.version
    }

    fn stamp(&mut self, version: u64, now: u64) {
        self.version = version;
        self.updated_at = now;
    }
}

/// The table as a versioned answer.
fn answer<T: Table>(table: &T) -> Response {
    with_etag(Response::json(200, table), table.version())
}

/// `GET/PUT /admin/v1/routes`.
pub async fn routes(ctx: &Context<'_>, req: &Request, actor: &str) -> Result<Response, ApiError> {
    let command = match req.method {
        Method::Get => Command::GetRoutes,
        Method::Put => {
            let body: RoutesBody = parse_json(req)?;
            let local = is_local_issuer(&ctx.caller.issuer);
            routes::validate(&body.routes, body.case_sensitive, local)?;
            Command::PutRoutes {
                table: RouteTable {
                    routes: body.routes,
                    case_sensitive: body.case_sensitive,
                    ..RouteTable::default()
                },
                if_match: if_match(req)?,
            }
        }
        _ => return Ok(not_allowed("GET, PUT")),
    };
    match ctx.command(actor, command).await? {
        Reply::Routes(table) => {
            ctx.install_routes(&table);
            Ok(answer(&table))
        }
        other => Err(unexpected(other)),
    }
}

/// `GET/PUT /admin/v1/issuers`.
pub async fn issuers(ctx: &Context<'_>, req: &Request, actor: &str) -> Result<Response, ApiError> {
    let command = match req.method {
        Method::Get => Command::GetIssuers,
        Method::Put => {
            let body: IssuersBody = parse_json(req)?;
            issuers::validate(&body.issuers)?;
            Command::PutIssuers {
                table: IssuerTable {
                    issuers: body.issuers,
                    ..IssuerTable::default()
                },
                if_match: if_match(req)?,
            }
        }
        _ => return Ok(not_allowed("GET, PUT")),
    };
    match ctx.command(actor, command).await? {
        Reply::Issuers(table) => {
            let answer = answer(&table);
            ctx.caches
                .gateway
                .issuers
                .set(ctx.clock.now_ms(), CONFIG_TTL_MS, Rc::new(table));
            Ok(answer)
        }
        other => Err(unexpected(other)),
    }
}
