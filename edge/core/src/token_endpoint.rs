//! `POST /oauth/token` (RFC 6749 §3.2, §4.4, §5; RFC 8707; RFC 9068).
//!
//! Client authentication by `client_secret_basic`, `client_secret_post` (never both, never in
//! the query string) or `private_key_jwt` ([`client_auth`](crate::client_auth)); unknown
//! clients and wrong credentials answer the same `invalid_client`. A `DPoP` proof (RFC 9449
//! §5) binds the access token to its key (`cnf.jkt`, `token_type: DPoP`), and a public
//! client's new refresh tokens too; the proof must carry the server's nonce unless
//! `DPOP_NONCE` is `off` (§8), and its `jti` is used once ([`crate::replay`]).
//! Every answer carries `Cache-Control: no-store`. A confidential client's requests count
//! against its token budget once it authenticated; a public client's only when its grant
//! succeeded, as anyone can name it ([`ratelimit`]).

use crate::api::GrantType;
use crate::client_auth::{authenticate_client, read_form};
use crate::clients::ClientRecord;
use crate::context::Context;
use crate::crypto::random_token;
use crate::dpop::{self, Expected, ProofError};
use crate::error::{only, OAuthError};
use crate::form::Form;
use crate::http::{Method, Request, Response};
use crate::issue::{access_token_response, audience, granted_scope};
use crate::ratelimit::{self, Budget};
use crate::replay::first_use;
use crate::tokens::{AccessClaims, Audience, Confirmation};
use crate::user_grants;

/// Handles the token endpoint. A call without a client secret (a public client's, `none`)
/// may come from a page on any origin (CORS); one with a secret never: a secret has no place
/// in a browser.
pub async fn token(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Post]) {
        return refusal.no_store();
    }
    let form = read_form(req);
    let secretless = !req.headers.iter().any(|(n, _)| n == "authorization")
        && form
            .as_ref()
            .is_ok_and(|form| !form.contains("client_secret"));
    let resp = match issue(ctx, req, form).await {
        Ok(resp) => resp,
        Err(err) => err.into_response(),
    };
    if secretless {
        resp.cors()
    } else {
        resp
    }
}

/// Answers a token request whose form `form` was read from `req` (its error is answered
/// after the address's rate limit, like every other refusal).
async fn issue(
    ctx: &Context<'_>,
    req: &Request,
    form: Result<Form, OAuthError>,
) -> Result<Response, OAuthError> {
    ratelimit::check_ip(ctx)
        .await
        .map_err(|_| OAuthError::RateLimited)?;
    let form = form?;
    let grant_type = form
        .get("grant_type")
        .ok_or_else(|| OAuthError::InvalidRequest("grant_type is required".into()))?;
    let client = authenticate_client(ctx, req, &form).await?;
    let id = &client.client.client_id;
    if !client.client.public {
        ratelimit::spend(ctx, Budget::Token, id)
            .await
            .map_err(|_| OAuthError::RateLimited)?;
        let granted = grant(ctx, req, &form, &client, grant_type).await;
        if granted.is_ok() {
            ctx.note_use(&client).await;
        }
        return granted;
    }
    // Anyone can name a public client: its failed grants must not spend its budget, so a
    // grant is counted once it succeeded, and a spent budget refuses the grants after it.
    if ratelimit::tripped_recently(ctx, Budget::Token, id) {
        return Err(OAuthError::RateLimited);
    }
    let granted = grant(ctx, req, &form, &client, grant_type).await;
    if granted.is_ok() {
        ctx.note_use(&client).await;
        // Over the limit, this grant is still answered (its code or refresh token is spent).
        let _ = ratelimit::spend(ctx, Budget::Token, id).await;
    }
    granted
}

async fn grant(
    ctx: &Context<'_>,
    req: &Request,
    form: &Form,
    client: &ClientRecord,
    grant_type: &str,
) -> Result<Response, OAuthError> {
    if !matches!(
        grant_type,
        "client_credentials" | "authorization_code" | "refresh_token" | "password"
    ) {
        return Err(OAuthError::UnsupportedGrantType);
    }
    let jkt = proof_key(ctx, req, client).await?;
    let jkt = jkt.as_deref();
    match grant_type {
        "client_credentials" => client_credentials(ctx, form, client, jkt).await,
        "authorization_code" => user_grants::authorization_code(ctx, form, client, jkt).await,
        "refresh_token" => user_grants::refresh_token(ctx, form, client, jkt).await,
        _ => user_grants::password(ctx, form, client, jkt).await,
    }
}

/// The key of the request's DPoP proof (RFC 9449 §4.3, §5), checked for this endpoint, with
/// the server nonce when required and a `jti` not seen before; `None` without a proof, which a
/// client registered with `dpop_bound_access_tokens` may not omit.
async fn proof_key(
    ctx: &Context<'_>,
    req: &Request,
    client: &ClientRecord,
) -> Result<Option<String>, OAuthError> {
    let refused = |e: ProofError| OAuthError::InvalidDpopProof(e.reason().into());
    let Some(proof) = req
        .header("dpop")
        .map_err(|_| refused(ProofError::Repeated))?
    else {
        if client.client.dpop_bound_access_tokens {
            return Err(OAuthError::InvalidDpopProof(
                "this client must send a DPoP proof".into(),
            ));
        }
        return Ok(None);
    };
    let now = ctx.clock.now();
    let leeway = ctx.settings.leeway;
    let url = format!("{}{}", req.origin, req.path);
    let expect = Expected {
        method: req.method,
        url: &url,
        token: None,
        now,
        leeway,
    };
    let proof = dpop::verify(proof, &expect, ctx.signatures)
        .await
        .map_err(refused)?;
    let fresh_nonce = proof
        .nonce
        .as_deref()
        .is_some_and(|n| dpop::nonce_is_fresh(ctx.secrets, n, now));
    if ctx.settings.dpop_nonce && !fresh_nonce {
        return Err(OAuthError::UseDpopNonce(dpop::nonce(ctx.secrets, now)));
    }
    if !first_use(ctx, &proof.replay_key(), proof.remember_until(leeway)).await? {
        return Err(refused(ProofError::Replayed));
    }
    Ok(Some(proof.jkt))
}

async fn client_credentials(
    ctx: &Context<'_>,
    form: &Form,
    client: &ClientRecord,
    jkt: Option<&str>,
) -> Result<Response, OAuthError> {
    if client.client.public || !client.allows(GrantType::ClientCredentials) {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use client_credentials".into(),
        ));
    }
    let scope = granted_scope(form.get("scope"), &client.client.scopes)?;
    let issuer = ctx.caller.issuer.clone();
    let aud = audience(ctx, form.get("resource"), client).await?;
    let claims = AccessClaims {
        iss: issuer,
        sub: client.client.client_id.clone(),
        aud: Audience::One(aud),
        jti: random_token(ctx.rng, 16),
        client_id: client.client.client_id.clone(),
        scope: scope.to_string(),
        extra: client.client.claims.clone(),
        cnf: jkt.map(|jkt| Confirmation {
            jkt: jkt.to_owned(),
        }),
    };
    access_token_response(ctx, claims, client.client.access_token_ttl).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_scope_grants_all_allowed_scopes() {
        let allowed = vec!["read".to_owned(), "write".to_owned()];
        assert_eq!(
            granted_scope(None, &allowed).unwrap().to_string(),
            "read write"
        );
        assert_eq!(
            granted_scope(Some("write"), &allowed).unwrap().to_string(),
            "write"
        );
        assert_eq!(
            granted_scope(Some("read read"), &allowed)
                .unwrap()
                .to_string(),
            "read"
        );
    }

    #[test]
    fn scope_outside_the_client_is_invalid_scope() {
        let allowed = vec!["read".to_owned()];
        for s in ["admin", "read admin", "   ", "a\"b"] {
            assert_eq!(
                granted_scope(Some(s), &allowed).unwrap_err().code(),
                "invalid_scope",
                "{s}"
            );
        }
        let long = "read ".repeat(1000);
        assert_eq!(
            granted_scope(Some(&long), &allowed).unwrap_err().code(),
            "invalid_scope"
        );
    }
}
