//! Client ID metadata documents: a `client_id` that is an https URL with a path names a JSON
//! document of RFC 7591 client metadata that the client's owner serves there (MCP
//! authorization, 2025-11-25). While the registration policy has them on, Portcullis fetches
//! the document through the [`crate::ports::HttpClient`] port (at most
//! [`MAX_DOCUMENT_LEN`] bytes, within [`FETCH_TIMEOUT_MS`], never following a redirect), takes
//! it only if it names itself as `client_id`, and builds a public client under the policy
//! ([`ClientMetadata::into_client`]) whose redirect URIs then match exactly.
//!
//! A document is kept in the isolate for its `Cache-Control` `max-age`, bounded to
//! [`MIN_CACHE_SECS`]..[`MAX_CACHE_SECS`] (default [`DEFAULT_CACHE_SECS`]); a failed fetch or
//! a refused document is remembered for [`MIN_CACHE_SECS`], so strangers cannot make the
//! worker fetch on every request. The client is stored through the authority (marked
//! `metadata_document`) so operators see it, its last use, and can disable or delete it; a
//! disabled one stays disabled whatever its document says. http URLs on loopback are accepted
//! only while the issuer is itself an http loopback URL ([`is_local_issuer`]).

use std::rc::Rc;

use crate::api::Registration;
use crate::authority::{Command, Reply};
use crate::clients::dynamic::ClientMetadata;
use crate::clients::ClientRecord;
use crate::context::Context;
use crate::ports::StoreError;
use crate::uri::{check_client_id_url, is_local_issuer};

/// Largest document fetched, in bytes.
pub const MAX_DOCUMENT_LEN: usize = 5 * 1024;
/// How long a fetch may take.
pub const FETCH_TIMEOUT_MS: u32 = 3_000;
/// Least time a document (or a failure to get one) is kept in an isolate.
pub const MIN_CACHE_SECS: u64 = 60;
/// Longest time a document is kept in an isolate, whatever its `max-age`.
pub const MAX_CACHE_SECS: u64 = 3_600;
/// How long a document without `max-age` is kept.
pub const DEFAULT_CACHE_SECS: u64 = 300;
/// Longest URL taken as a client id (it is also a storage key).
const MAX_URL_LEN: usize = 256;

/// Whether `client_id` is meant as a metadata document's URL.
pub fn is_document_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// The seconds a document is kept: its `max-age` (`no-store`/`no-cache` = none) within the
/// bounds.
pub fn cache_secs(cache_control: Option<&str>) -> u64 {
    let Some(value) = cache_control else {
        return DEFAULT_CACHE_SECS;
    };
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return MIN_CACHE_SECS;
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse::<u64>().ok();
        }
    }
    max_age.map_or(DEFAULT_CACHE_SECS, |s| {
        s.clamp(MIN_CACHE_SECS, MAX_CACHE_SECS)
    })
}

/// The client `client_id` names: a stored client, or, for a URL, the client its metadata
/// document describes (`None` when the policy has documents off, or the URL or its document is
/// not acceptable).
pub async fn client(
    ctx: &Context<'_>,
    client_id: &str,
) -> Result<Option<Rc<ClientRecord>>, StoreError> {
    if !is_document_url(client_id) {
        return ctx.client(client_id).await;
    }
    let policy = ctx.registration_policy().await?;
    let local = is_local_issuer(&ctx.caller.issuer);
    if !policy.metadata_documents()
        || client_id.len() > MAX_URL_LEN
        || check_client_id_url(client_id, local).is_err()
    {
        return Ok(None);
    }
    let now_ms = ctx.clock.now_ms();
    match ctx.caches.document(client_id, now_ms) {
        // Fetched recently: the stored client, whose disabled or deleted state is the
        // operator's.
        Some(true) => return ctx.client(client_id).await,
        Some(false) => return Ok(None),
        None => {}
    }
    let (found, secs) = fetch(ctx, client_id).await?;
    let stored = match found {
        Some(fresh) => Some(store(ctx, fresh).await?),
        None => None,
    };
    ctx.caches
        .set_document(client_id, now_ms + secs * 1000, stored.is_some());
    Ok(stored)
}

/// Fetches and checks the document; answers the client it describes (not yet stored) and how
/// long to keep the answer.
async fn fetch(ctx: &Context<'_>, url: &str) -> Result<(Option<ClientRecord>, u64), StoreError> {
    let fetched = match ctx
        .http
        .get_document(url, MAX_DOCUMENT_LEN, FETCH_TIMEOUT_MS)
        .await
    {
        Ok(f) if f.status == 200 => f,
        Ok(f) => {
            ctx.report(crate::ports::Failure::new(
                "fetch",
                &format!("client metadata document answered {}", f.status),
            ));
            return Ok((None, MIN_CACHE_SECS));
        }
        Err(e) => {
            ctx.report(crate::ports::Failure::new("fetch", &e.to_string()));
            return Ok((None, MIN_CACHE_SECS));
        }
    };
    let secs = cache_secs(fetched.cache_control.as_deref());
    let Ok(meta) = serde_json::from_str::<ClientMetadata>(&fetched.body) else {
        return Ok((None, MIN_CACHE_SECS));
    };
    Ok((describe(ctx, url, meta).await?, secs))
}

/// The public client a document describes, if it names itself and fits the policy.
async fn describe(
    ctx: &Context<'_>,
    url: &str,
    meta: ClientMetadata,
) -> Result<Option<ClientRecord>, StoreError> {
    // The document must name itself: a copy of another client's document served elsewhere
    // (or a document that lies) identifies nobody.
    if meta.client_id.as_deref() != Some(url) {
        return Ok(None);
    }
    if meta.token_endpoint_auth_method.as_deref().unwrap_or("none") != "none" {
        return Ok(None);
    }
    let meta = ClientMetadata {
        token_endpoint_auth_method: Some("none".into()),
        ..meta
    };
    let policy = ctx.registration_policy().await?;
    let catalogue = ctx.scopes().await?;
    Ok(meta
        .into_client(
            Registration::MetadataDocument,
            &policy,
            &catalogue,
            (ctx.secrets, ctx.rng),
            ctx.clock.now(),
        )
        .ok()
        .map(|(record, _)| record))
}

/// Stores the client a document describes through the authority (created, or changed when the
/// document changed), unless an operator disabled it; answers the stored client.
async fn store(ctx: &Context<'_>, fresh: ClientRecord) -> Result<Rc<ClientRecord>, StoreError> {
    let id = fresh.client.client_id.clone();
    match ctx
        .command("system", Command::PutDocumentClient { record: fresh })
        .await?
    {
        Reply::Client(stored) => {
            ctx.caches.forget_client(&id);
            Ok(Rc::new(*stored))
        }
        other => Err(StoreError(format!("unexpected reply {other:?}"))),
    }
}
