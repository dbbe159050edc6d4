//! `GET/POST /oauth/authorize`: the authorization endpoint (RFC 6749 §3.1, §4.1.1-4.1.2, §4.2).
//!
//! Order matters (RFC 6749 §4.1.2.1, RFC 9700 §4.1): the client and its redirect URI are
//! checked first, and while either is in doubt errors are shown as a page, never redirected.
//! Redirect URIs match a registered one exactly, except that a loopback IP literal may use any
//! port (RFC 8252 §7.3). After that, errors go back to the client with `error`, `state` and
//! `iss` (RFC 9207). `response_type=code` requires PKCE with `S256` (RFC 7636 §4.3; `plain`
//! is refused, RFC 9700 §2.1.1); `response_type=token` (implicit, legacy per RFC 9700 §2.1.2)
//! only for clients that enable it, with the token in the fragment and no refresh token.
//! A person without a session is sent to `/login`; a person who has not yet consented to the
//! requested scopes sees the consent page, which posts back here with `decision`.

use crate::api::GrantType;
use crate::clients::ClientRecord;
use crate::context::Context;
use crate::crypto::{is_sha256_b64, token_hash};
use crate::error::{only, OAuthError};
use crate::form::{posted_form, Form, FormError};
use crate::grants::{new_token, shard_of, CodeRecord, GrantCommand, GrantEvent, GrantReply};
use crate::http::{see_other, Method, Request, Response};
use crate::issue::{audience, granted_scope, plan, sign_access, user_claims};
use crate::lifetimes::CODE_TTL;
use crate::pages;
use crate::people::apply_event;
use crate::ports::StoreError;
use crate::session::{Session, SessionUser};
use crate::uri::{origin_of, redirect_uri_matches, split_http_uri};

/// The parameters of an authorization request carried through login and consent.
const REQUEST_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "resource",
    "dpop_jkt",
];

/// The answer to the client: a redirect with `params` in the query (code) or fragment
/// (implicit), plus `iss` (RFC 9207).
fn redirect(uri: &str, fragment: bool, params: &[(&str, &str)], issuer: &str) -> Response {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    ser.append_pair("iss", issuer);
    let sep = if fragment {
        '#'
    } else if uri.contains('?') {
        '&'
    } else {
        '?'
    };
    Response::empty(302)
        .header("location", format!("{uri}{sep}{}", ser.finish()))
        .no_store()
}

/// A validated authorization request.
struct Authz<'r> {
    client: std::rc::Rc<ClientRecord>,
    /// The redirect URI to answer at.
    redirect_uri: String,
    /// Whether the request named `redirect_uri` (RFC 6749 §4.1.3: the token request must then
    /// repeat it).
    redirect_uri_sent: bool,
    implicit: bool,
    scopes: Vec<String>,
    state: Option<&'r str>,
    challenge: Option<&'r str>,
    /// RFC 9449 §10: the key the code's token request must prove.
    dpop_jkt: Option<&'r str>,
    issuer: String,
    form: &'r Form,
}

impl Authz<'_> {
    fn error(&self, code: &str, description: &str) -> Response {
        let mut params = vec![("error", code), ("error_description", description)];
        if let Some(state) = self.state {
            params.push(("state", state));
        }
        redirect(&self.redirect_uri, self.implicit, &params, &self.issuer)
    }

    /// The request's own parameters, to carry through login and consent.
    fn carried(&self) -> Vec<(String, String)> {
        REQUEST_PARAMS
            .iter()
            .filter_map(|k| self.form.get(k).map(|v| ((*k).to_owned(), v.to_owned())))
            .collect()
    }

    fn targets(&self) -> Vec<String> {
        origin_of(&self.redirect_uri).into_iter().collect()
    }
}

fn read_params(req: &Request) -> Result<Form, &'static str> {
    match req.method {
        Method::Post => posted_form(req).map_err(|e| match e {
            FormError::TooLarge => "The request is too large.",
            FormError::NotAForm => "The form was not understood.",
            FormError::Malformed(_) => "A parameter is repeated or malformed.",
        }),
        _ => Form::parse(req.query.as_deref().unwrap_or_default().as_bytes())
            .map_err(|_| "A parameter is repeated or malformed."),
    }
}

/// `GET/POST /oauth/authorize`.
pub async fn authorize(ctx: &Context<'_>, req: &Request) -> Response {
    if let Some(refusal) = only(req, &[Method::Get, Method::Post]) {
        return refusal;
    }
    let form = match read_params(req) {
        Ok(f) => f,
        Err(why) => return pages::error(400, "Invalid request", why),
    };
    let authz = match validate(ctx, &form).await {
        Ok(Ok(a)) => a,
        Ok(Err(resp)) => return resp,
        Err(e) => return pages::unavailable("The service", e),
    };
    match proceed(ctx, req, &authz).await {
        Ok(resp) => resp,
        Err(e) => pages::unavailable("The service", e),
    }
}

/// Checks the client and redirect URI (errors as pages), then the rest (errors redirected).
async fn validate<'r>(
    ctx: &Context<'_>,
    form: &'r Form,
) -> Result<Result<Authz<'r>, Response>, StoreError> {
    let bad = |msg: &str| Ok(Err(pages::error(400, "Invalid authorization request", msg)));
    let Some(client_id) = form.get("client_id").filter(|id| id.len() <= 256) else {
        return bad("The request names no client (client_id is missing).");
    };
    let client = match crate::client_document::client(ctx, client_id).await? {
        Some(c) if !c.client.disabled => c,
        _ => return bad("The application that sent you here is not registered."),
    };
    let registered = &client.client.redirect_uris;
    let (redirect_uri, sent) = match form.get("redirect_uri") {
        Some(given) if registered.iter().any(|r| redirect_uri_matches(r, given)) => {
            (given.to_owned(), true)
        }
        Some(_) => {
            return bad("The redirect URI is not registered for this application.");
        }
        None => match registered.as_slice() {
            [only] => (only.clone(), false),
            _ => return bad("The request names no redirect URI (redirect_uri is missing)."),
        },
    };
    let mut authz = Authz {
        client,
        redirect_uri,
        redirect_uri_sent: sent,
        implicit: form.get("response_type") == Some("token"),
        scopes: Vec::new(),
        state: form.get("state"),
        challenge: form.get("code_challenge"),
        dpop_jkt: form.get("dpop_jkt"),
        issuer: ctx.caller.issuer.clone(),
        form,
    };
    let grant = match form.get("response_type") {
        Some("code") => GrantType::AuthorizationCode,
        Some("token") => GrantType::Implicit,
        Some(_) => {
            return Ok(Err(
                authz.error("unsupported_response_type", "response_type must be code")
            ))
        }
        None => {
            return Ok(Err(
                authz.error("invalid_request", "response_type is required")
            ))
        }
    };
    if !authz.client.allows(grant) {
        return Ok(Err(authz.error(
            "unauthorized_client",
            "this client may not use this response_type",
        )));
    }
    if authz.implicit && authz.client.client.dpop_bound_access_tokens {
        return Ok(Err(authz.error(
            "unauthorized_client",
            "this client must use DPoP, which response_type=token cannot carry",
        )));
    }
    match granted_scope(form.get("scope"), &authz.client.client.scopes) {
        Ok(s) => authz.scopes = s.into_vec(),
        Err(_) => {
            return Ok(Err(authz.error(
                "invalid_scope",
                "the requested scope is not allowed for this client",
            )))
        }
    }
    if !authz.implicit {
        if let Some(refusal) = code_binding(&authz) {
            return Ok(Err(refusal));
        }
    }
    if let Some(refusal) = check_resource(ctx, &authz).await? {
        return Ok(Err(refusal));
    }
    Ok(Ok(authz))
}

/// RFC 8707 §2: a resource the client may not address is refused at once, in the code flow
/// too (its token request names the resource again); the implicit flow needs an audience
/// even without one.
async fn check_resource(
    ctx: &Context<'_>,
    authz: &Authz<'_>,
) -> Result<Option<Response>, StoreError> {
    let resource = authz.form.get("resource");
    if !authz.implicit && resource.is_none() {
        return Ok(None);
    }
    match audience(ctx, resource, &authz.client).await {
        Ok(_) => Ok(None),
        Err(OAuthError::Unavailable(failure)) => Err(StoreError(failure.detail)),
        Err(_) => Ok(Some(authz.error(
            "invalid_target",
            "resource is neither an audience of this client nor a gateway resource",
        ))),
    }
}

/// What a code request must carry besides its client: PKCE with S256 (RFC 7636), and a
/// well-formed `dpop_jkt` when it binds the code to a DPoP key (RFC 9449 §10).
fn code_binding(authz: &Authz<'_>) -> Option<Response> {
    let Some(challenge) = authz.challenge else {
        return Some(authz.error(
            "invalid_request",
            "code_challenge is required (PKCE with S256)",
        ));
    };
    if authz.form.get("code_challenge_method") != Some("S256") {
        return Some(authz.error("invalid_request", "code_challenge_method must be S256"));
    }
    if !is_sha256_b64(challenge) {
        return Some(authz.error(
            "invalid_request",
            "code_challenge must be a base64url SHA-256 digest",
        ));
    }
    if authz.dpop_jkt.is_some_and(|jkt| !is_sha256_b64(jkt)) {
        return Some(authz.error(
            "invalid_dpop_proof",
            "dpop_jkt must be a JWK SHA-256 thumbprint (RFC 7638)",
        ));
    }
    None
}

/// Login, consent, then the code or token.
async fn proceed(
    ctx: &Context<'_>,
    req: &Request,
    authz: &Authz<'_>,
) -> Result<Response, StoreError> {
    let Some((session, user)) = Session::signed_in(ctx, req).await? else {
        let mut ser = form_urlencoded::Serializer::new(String::from("/oauth/authorize?"));
        for (k, v) in authz.carried() {
            ser.append_pair(&k, &v);
        }
        let next = ser.finish();
        let mut login = form_urlencoded::Serializer::new(String::from("/login?"));
        login.append_pair("next", &next);
        return Ok(see_other(&login.finish()));
    };
    let shard = shard_of(&user.id);
    let client_id = authz.client.client.client_id.clone();
    let grant_id = if req.method == Method::Post {
        if !session.csrf_matches(ctx, authz.form.get("csrf_token")) {
            return Ok(pages::error(
                403,
                "Form expired",
                "This consent form expired or did not come from this site. Go back to the application and try again.",
            ));
        }
        match authz.form.get("decision") {
            Some("allow") => {}
            Some("deny") => return Ok(authz.error("access_denied", "the user denied the request")),
            _ => {
                return Ok(pages::error(
                    400,
                    "Invalid request",
                    "Choose Allow or Deny.",
                ))
            }
        }
        let consent = GrantCommand::Consent {
            user: user.id.clone(),
            client_id: client_id.clone(),
            scopes: authz.scopes.clone(),
            grant_id: new_token(ctx.rng, shard),
        };
        let GrantReply::Grant { grant } = ctx.grants.call(shard, &consent).await? else {
            return Err(StoreError("unexpected grant reply".into()));
        };
        let event = GrantEvent {
            id: String::new(),
            action: "consent.grant".into(),
            target: grant.id.clone(),
            deny: Vec::new(),
        };
        apply_event(ctx, &format!("user:{}", user.id), event).await?;
        grant.id
    } else {
        let asked = GrantCommand::Consented {
            user: user.id.clone(),
            client_id: client_id.clone(),
        };
        let remembered = match ctx.grants.call(shard, &asked).await? {
            GrantReply::Consented { grant: Some(g) }
                if authz.scopes.iter().all(|s| g.scopes.contains(s)) =>
            {
                Some(g.id)
            }
            _ => None,
        };
        match remembered {
            Some(id) => id,
            None => return consent_page(ctx, &session, &user, authz).await,
        }
    };
    if authz.implicit {
        implicit(ctx, authz, &user, shard, grant_id).await
    } else {
        let code = new_token(ctx.rng, shard);
        let record = CodeRecord {
            grant_id,
            client_id,
            redirect_uri: authz.redirect_uri.clone(),
            redirect_uri_sent: authz.redirect_uri_sent,
            challenge: authz.challenge.unwrap_or_default().to_owned(),
            user: user.id.clone(),
            scopes: authz.scopes.clone(),
            exp: ctx.clock.now() + CODE_TTL,
            redeemed: None,
            resource: authz.form.get("resource").map(str::to_owned),
            dpop_jkt: authz.dpop_jkt.map(str::to_owned),
        };
        ctx.grants
            .call(
                shard,
                &GrantCommand::IssueCode {
                    code_hash: token_hash(&code),
                    code: record,
                },
            )
            .await?;
        let mut params = vec![("code", code.as_str())];
        if let Some(state) = authz.state {
            params.push(("state", state));
        }
        Ok(redirect(&authz.redirect_uri, false, &params, &authz.issuer))
    }
}

async fn consent_page(
    ctx: &Context<'_>,
    session: &Session,
    user: &SessionUser,
    authz: &Authz<'_>,
) -> Result<Response, StoreError> {
    let catalogue = ctx.scopes().await?;
    let scopes: Vec<(String, String)> = authz
        .scopes
        .iter()
        .map(|s| {
            let description = catalogue
                .iter()
                .find(|c| &c.name == s)
                .map(|c| c.description.clone())
                .unwrap_or_default();
            (s.clone(), description)
        })
        .collect();
    Ok(pages::consent(
        &authz.client.client.name,
        &user.name,
        &scopes,
        &authz.carried(),
        &session.csrf(ctx),
        &authz.targets(),
        authz
            .client
            .client
            .registration
            .map(|_| redirect_host(&authz.redirect_uri)),
    ))
}

/// The host a redirect URI sends the answer to (a private-use scheme's name for a native app).
fn redirect_host(uri: &str) -> &str {
    split_http_uri(uri).map_or_else(|_| uri.split(':').next().unwrap_or(uri), |(_, host)| host)
}

/// `response_type=token`: the access token in the fragment, never a refresh token.
async fn implicit(
    ctx: &Context<'_>,
    authz: &Authz<'_>,
    user: &SessionUser,
    shard: u32,
    grant_id: String,
) -> Result<Response, StoreError> {
    let client = &authz.client;
    let plan = plan(ctx, client, shard, false, None);
    let command = GrantCommand::IssueDirect {
        user: user.id.clone(),
        client_id: client.client.client_id.clone(),
        scopes: authz.scopes.clone(),
        grant_id,
        issue: plan.issue.clone(),
    };
    ctx.grants.call(shard, &command).await?;
    let aud = audience(ctx, authz.form.get("resource"), client)
        .await
        .unwrap_or_else(|_| authz.issuer.clone());
    let claims = user_claims(
        client,
        authz.issuer.clone(),
        aud,
        &user.id,
        &authz.scopes,
        &plan,
    );
    let ttl = client.client.access_token_ttl;
    let token = sign_access(ctx, claims, ttl)
        .await
        .map_err(|e| StoreError(format!("signing failed: {}", e.code())))?;
    let ttl = ttl.to_string();
    let scope = authz.scopes.join(" ");
    let mut params = vec![
        ("access_token", token.as_str()),
        ("token_type", "Bearer"),
        ("expires_in", ttl.as_str()),
        ("scope", scope.as_str()),
    ];
    if let Some(state) = authz.state {
        params.push(("state", state));
    }
    Ok(redirect(&authz.redirect_uri, true, &params, &authz.issuer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_match_exactly_except_loopback_ports() {
        let reg = "https://app.test/cb";
        assert!(redirect_uri_matches(reg, reg));
        for bad in [
            "https://app.test/cb/",
            "https://APP.test/cb",
            "https://app.test/CB",
            "https://app.test/cb/x",
            "https://app.test/cb?x=1",
            "https://app.test/cb#f",
            "https://app.test@evil.test/cb",
            "https://app.test:444/cb",
            "http://app.test/cb",
        ] {
            assert!(!redirect_uri_matches(reg, bad), "{bad}");
        }
        let lo = "http://127.0.0.1:8080/cb";
        assert!(redirect_uri_matches(lo, "http://127.0.0.1:51234/cb"));
        assert!(redirect_uri_matches(lo, "http://127.0.0.1/cb"));
        assert!(!redirect_uri_matches(lo, "http://127.0.0.1:5/cb/"));
        assert!(!redirect_uri_matches(lo, "http://127.0.0.2:5/cb"));
        assert!(!redirect_uri_matches(lo, "http://127.0.0.1:5@evil.test/cb"));
        assert!(redirect_uri_matches(
            "http://[::1]:1/cb",
            "http://[::1]:2/cb"
        ));
        assert!(!redirect_uri_matches(
            "http://localhost:1/cb",
            "http://localhost:2/cb"
        ));
    }

    #[test]
    fn origin_of_uri() {
        assert_eq!(
            origin_of("https://App.test:8443/cb?x#y").as_deref(),
            Some("https://App.test:8443")
        );
        assert_eq!(origin_of("javascript:alert(1)"), None);
        assert_eq!(origin_of("https://a@b/"), None);
    }
}
