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
//!
//! OpenID Connect (OIDC Core §3.1.2.1), when the scopes hold `openid`: `nonce` goes into the
//! code and from there into the ID token; `prompt=none` answers `login_required` or
//! `consent_required` to the client instead of a page, `prompt=login` and `max_age` send a
//! person whose sign-in is too old (or not made for this request) to sign in again,
//! `prompt=consent` shows the consent page even when consent is remembered, `login_hint`
//! prefills the username, and `id_token_hint` must name the signed-in person. Parameters
//! Portcullis does not know are ignored.

use crate::api::GrantType;
use crate::clients::ClientRecord;
use crate::context::Context;
use crate::crypto::{is_sha256_b64, token_hash};
use crate::error::{only, OAuthError};
use crate::form::{request_params, Form, FormError};
use crate::grants::{
    new_token, shard_of, CodeRecord, GrantCommand, GrantEvent, GrantReply, SignIn,
};
use crate::http::{see_other, Method, Request, Response};
use crate::id_token;
use crate::issue::{audience, granted_scope, plan, sign_access, user_claims};
use crate::lifetimes::CODE_TTL;
use crate::pages;
use crate::people::apply_event;
use crate::ports::StoreError;
use crate::scope::{builtin_description, OPENID};
use crate::session::{Session, SessionUser};
use crate::uri::{origin_of, redirect_uri_matches, split_http_uri, with_params};

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
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
];

/// Longest `nonce` accepted.
const MAX_NONCE_LEN: usize = 512;

/// The OpenID Connect `prompt` values of a request (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Prompt {
    none: bool,
    login: bool,
    consent: bool,
}

impl Prompt {
    /// Parses `prompt`: a space-delimited set of `none`, `login`, `consent` and
    /// `select_account` (a no-op: a browser holds one session); `none` stands alone.
    fn parse(value: Option<&str>) -> Result<Self, &'static str> {
        let mut prompt = Self::default();
        for v in value
            .unwrap_or_default()
            .split(' ')
            .filter(|v| !v.is_empty())
        {
            match v {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => {}
                _ => return Err("prompt holds an unknown value"),
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err("prompt=none cannot be combined with other values");
        }
        Ok(prompt)
    }
}

/// What an OpenID Connect request asks of the sign-in.
#[derive(Debug, Default)]
struct OpenId<'r> {
    nonce: Option<&'r str>,
    prompt: Prompt,
    max_age: Option<u64>,
    id_token_hint: Option<&'r str>,
}

impl<'r> OpenId<'r> {
    /// Reads the OpenID Connect parameters of an `openid` request.
    fn parse(form: &'r Form) -> Result<Self, &'static str> {
        let nonce = form.get("nonce");
        if nonce.is_some_and(|n| n.is_empty() || n.len() > MAX_NONCE_LEN) {
            return Err("nonce must be 1 to 512 characters");
        }
        let max_age = form
            .get("max_age")
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| "max_age must be a whole number of seconds")
            })
            .transpose()?;
        Ok(Self {
            nonce,
            prompt: Prompt::parse(form.get("prompt"))?,
            max_age,
            id_token_hint: form.get("id_token_hint"),
        })
    }
}

/// The answer to the client: a redirect with `params` in the query (code) or fragment
/// (implicit), plus `iss` (RFC 9207).
fn redirect(uri: &str, fragment: bool, params: &[(&str, &str)], issuer: &str) -> Response {
    let mut all = params.to_vec();
    all.push(("iss", issuer));
    Response::empty(302)
        .header("location", with_params(uri, fragment, &all))
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
    /// Present when the scopes hold `openid` (and the response type is `code`).
    openid: Option<OpenId<'r>>,
}

impl Authz<'_> {
    fn error(&self, code: &str, description: &str) -> Response {
        let mut params = vec![("error", code), ("error_description", description)];
        if let Some(state) = self.state {
            params.push(("state", state));
        }
        redirect(&self.redirect_uri, self.implicit, &params, &self.issuer)
    }

    /// The request's own parameters, to carry through login and consent. `prompt` loses
    /// `login` and `max_age` goes: the sign-in they ask for happens on the way, so the request
    /// that comes back must not ask for it again.
    fn carried(&self) -> Vec<(String, String)> {
        REQUEST_PARAMS
            .iter()
            .filter_map(|k| {
                let v = self.form.get(k)?;
                // `max_age` is met by the sign-in on the way (and `max_age=0` would ask again).
                if *k == "max_age" {
                    return None;
                }
                let v = if *k == "prompt" {
                    v.split(' ')
                        .filter(|p| !p.is_empty() && *p != "login")
                        .collect::<Vec<_>>()
                        .join(" ")
                } else {
                    v.to_owned()
                };
                (!v.is_empty()).then(|| ((*k).to_owned(), v))
            })
            .collect()
    }

    /// Whether `prompt=none` forbids showing a page.
    fn silent(&self) -> bool {
        self.openid.as_ref().is_some_and(|o| o.prompt.none)
    }

    fn targets(&self) -> Vec<String> {
        origin_of(&self.redirect_uri).into_iter().collect()
    }
}

/// The request's parameters, or why they cannot be read (shown on an error page).
pub(crate) fn read_params(req: &Request) -> Result<Form, &'static str> {
    request_params(req).map_err(|e| match e {
        FormError::TooLarge => "The request is too large.",
        FormError::NotAForm => "The form was not understood.",
        FormError::Malformed(_) => "A parameter is repeated or malformed.",
    })
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
        openid: None,
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
    if !authz.implicit && authz.scopes.iter().any(|s| s == OPENID) {
        match OpenId::parse(form) {
            Ok(o) => authz.openid = Some(o),
            Err(why) => return Ok(Err(authz.error("invalid_request", why))),
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
    let signed_in = Session::signed_in(ctx, req).await?;
    let (session, user) = match signed_in {
        Some((session, user)) if req.method == Method::Post => (session, user),
        Some((session, user)) => match sign_in_again(ctx, authz, &user).await {
            None => (session, user),
            Some(why) => return Ok(to_login(authz, why)),
        },
        None => return Ok(to_login(authz, "login_required")),
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
        let ask = authz.openid.as_ref().is_some_and(|o| o.prompt.consent);
        match remembered {
            Some(id) if !ask => id,
            _ if authz.silent() => {
                return Ok(authz.error("consent_required", "the user has not consented"))
            }
            _ => return consent_page(ctx, &session, &user, authz).await,
        }
    };
    if authz.implicit {
        implicit(ctx, authz, &user, shard, grant_id).await
    } else {
        code(ctx, authz, &session, &user, shard, grant_id).await
    }
}

/// `response_type=code`: stores the code (with the sign-in of an OpenID Connect request) in the
/// person's shard and sends it to the client.
async fn code(
    ctx: &Context<'_>,
    authz: &Authz<'_>,
    session: &Session,
    user: &SessionUser,
    shard: u32,
    grant_id: String,
) -> Result<Response, StoreError> {
    let code = new_token(ctx.rng, shard);
    let record = CodeRecord {
        grant_id,
        client_id: authz.client.client.client_id.clone(),
        redirect_uri: authz.redirect_uri.clone(),
        redirect_uri_sent: authz.redirect_uri_sent,
        challenge: authz.challenge.unwrap_or_default().to_owned(),
        user: user.id.clone(),
        scopes: authz.scopes.clone(),
        exp: ctx.clock.now() + CODE_TTL,
        sign_in: authz.openid.as_ref().map(|o| SignIn {
            auth_time: user.auth_time,
            sid: session.sid.clone(),
            nonce: o.nonce.map(str::to_owned),
        }),
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

/// Why the person must sign in (again) before this OpenID Connect request goes on, if they
/// must: `prompt=login`, a sign-in older than `max_age`, or an `id_token_hint` naming
/// someone else. A hint that is not one of our ID tokens also sends them to sign in.
async fn sign_in_again(
    ctx: &Context<'_>,
    authz: &Authz<'_>,
    user: &SessionUser,
) -> Option<&'static str> {
    let openid = authz.openid.as_ref()?;
    if openid.prompt.login {
        return Some("login_required");
    }
    let age = ctx.clock.now().saturating_sub(user.auth_time);
    // OIDC Core §3.1.2.1: `max_age=0` is `prompt=login`.
    if openid.max_age.is_some_and(|max| max == 0 || age > max) {
        return Some("login_required");
    }
    if let Some(token) = openid.id_token_hint {
        let named = id_token::hint(ctx, token).await.ok().map(|c| c.sub);
        if named.as_deref() != Some(user.id.as_str()) {
            return Some("login_required");
        }
    }
    None
}

/// Sends the person to the sign-in page, which returns to this request; under
/// `prompt=none`, answers `error` (`login_required`) to the client instead.
fn to_login(authz: &Authz<'_>, error: &str) -> Response {
    if authz.silent() {
        return authz.error(error, "the user must sign in");
    }
    let mut ser = form_urlencoded::Serializer::new(String::from("/oauth/authorize?"));
    for (k, v) in authz.carried() {
        ser.append_pair(&k, &v);
    }
    let next = ser.finish();
    let mut login = form_urlencoded::Serializer::new(String::from("/login?"));
    login.append_pair("next", &next);
    see_other(&login.finish())
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
                .map(|c| c.description.as_str())
                .or_else(|| builtin_description(s))
                .unwrap_or_default()
                .to_owned();
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
