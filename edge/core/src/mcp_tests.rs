//! The front door for MCP servers on the in-memory ports: a route's resource (RFC 8707,
//! RFC 9728 metadata and challenges), the registration policy, RFC 7591 registration, and
//! which endpoints answer browsers of other origins (CORS).
#![allow(clippy::needless_pass_by_value)]

use serde_json::{json, Value};

use crate::flow_tests::{admin, basic, body, form, setup, token};
use crate::gateway::{decide, Decision};
use crate::http::{Method, Request, Response};
use crate::testing::Harness;

const ORIGIN: &str = "https://auth.test";
const RESOURCE: &str = "https://auth.test/mcp";
const UPSTREAM: &str = "http://127.0.0.1:9000";

/// The standard harness with an `mcp` route for [`RESOURCE`] needing `read`, and one for
/// another resource.
fn with_mcp_route() -> (Harness, String, String) {
    let (h, id, secret) = setup();
    let r = admin(
        &h,
        Method::Put,
        "/admin/v1/routes",
        Some(json!({"routes": [
            {"path": "/mcp", "methods": ["GET", "POST"], "scopes": ["read"], "origin": UPSTREAM,
             "resource": RESOURCE, "resource_name": "Tools"},
            {"path": "/mcp", "methods": ["DELETE"], "scopes": ["write"], "origin": UPSTREAM,
             "resource": RESOURCE},
            {"path": "/other", "scopes": ["read"], "origin": UPSTREAM,
             "resource": "https://auth.test/other"},
        ]})),
    );
    assert_eq!(r.status, 200, "{:?}", body(&r));
    (h, id, secret)
}

fn gateway(h: &Harness, req: &Request) -> Decision {
    futures::executor::block_on(decide(&h.context_for(req), req))
}

fn refusal(d: Decision) -> Response {
    match d {
        Decision::Respond(r) => r,
        Decision::Forward(f) => panic!("forwarded: {f:?}"),
    }
}

fn access_token(r: &Response) -> String {
    assert_eq!(r.status, 200, "{:?}", body(r));
    body(r)["access_token"].as_str().unwrap().to_owned()
}

fn get(path: &str) -> Request {
    Request::new(Method::Get, ORIGIN, path)
}

#[test]
fn protected_resource_metadata_follows_rfc_9728_field_by_field() {
    let (h, ..) = with_mcp_route();
    let r = h.send(get("/.well-known/oauth-protected-resource/mcp"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header_value("content-type"), Some("application/json"));
    let doc = body(&r);
    let fields: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        [
            "authorization_servers",
            "bearer_methods_supported",
            "dpop_signing_alg_values_supported",
            "resource",
            "resource_name",
            "scopes_supported"
        ]
    );
    assert_eq!(doc["resource"], RESOURCE);
    assert_eq!(doc["authorization_servers"], json!([ORIGIN]));
    assert_eq!(doc["scopes_supported"], json!(["read", "write"]));
    assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    assert_eq!(doc["resource_name"], "Tools");
    let other = body(&h.send(get("/.well-known/oauth-protected-resource/other")));
    assert_eq!(other["resource"], "https://auth.test/other");
    assert!(other.get("resource_name").is_none());
    for missing in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/nothing",
    ] {
        assert_eq!(h.send(get(missing)).status, 404, "{missing}");
    }
}

#[test]
fn a_resource_routes_challenges_point_at_its_metadata_and_scopes() {
    let (h, id, secret) = with_mcp_route();
    let metadata =
        "resource_metadata=\"https://auth.test/.well-known/oauth-protected-resource/mcp\"";
    let none = refusal(gateway(&h, &get("/mcp")));
    assert_eq!(none.status, 401);
    let challenge = none.header_value("www-authenticate").unwrap();
    assert!(challenge.contains(metadata), "{challenge}");
    assert!(challenge.contains("scope=\"read\""), "{challenge}");
    assert!(!challenge.contains("error="), "{challenge}");
    // A token for the resource without the route's scope: 403 with the same pointers.
    let t = access_token(&token(
        &h,
        &id,
        &secret,
        &format!("&scope=read&resource={RESOURCE}"),
    ));
    let del = Request::new(Method::Delete, ORIGIN, "/mcp")
        .with_header("authorization", &format!("Bearer {t}"));
    let r = refusal(gateway(&h, &del));
    assert_eq!(r.status, 403);
    let challenge = r.header_value("www-authenticate").unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains(metadata), "{challenge}");
    assert!(challenge.contains("scope=\"write\""), "{challenge}");
}

#[test]
fn a_resource_route_takes_only_tokens_bound_to_its_resource() {
    let (h, id, secret) = with_mcp_route();
    let bound = access_token(&token(
        &h,
        &id,
        &secret,
        &format!("&scope=read&resource={RESOURCE}"),
    ));
    let req = get("/mcp").with_header("authorization", &format!("Bearer {bound}"));
    assert!(matches!(gateway(&h, &req), Decision::Forward(_)));
    // The client's own audience, another route's resource, or the issuer: refused here.
    for other in [
        token(&h, &id, &secret, "&scope=read&resource=https://api.test"),
        token(
            &h,
            &id,
            &secret,
            "&scope=read&resource=https://auth.test/other",
        ),
    ] {
        let t = access_token(&other);
        let req = get("/mcp").with_header("authorization", &format!("Bearer {t}"));
        let r = refusal(gateway(&h, &req));
        assert_eq!(r.status, 401);
        assert!(r
            .header_value("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\""));
    }
    // A resource no route names and the client does not list: invalid_target.
    let r = token(&h, &id, &secret, "&resource=https://auth.test/unknown");
    assert_eq!(r.status, 400);
    assert_eq!(body(&r)["error"], "invalid_target");
}

#[test]
fn a_route_with_both_resource_and_audience_is_refused() {
    let (h, ..) = setup();
    let r = admin(
        &h,
        Method::Put,
        "/admin/v1/routes",
        Some(json!({"routes": [{"path": "/mcp", "resource": RESOURCE, "audience": RESOURCE}]})),
    );
    assert_eq!(r.status, 422);
    assert_eq!(body(&r)["field"], "routes[0].audience");
    // An https issuer never takes an http resource, loopback or not.
    let r = admin(
        &h,
        Method::Put,
        "/admin/v1/routes",
        Some(json!({"routes": [{"path": "/mcp", "resource": "http://127.0.0.1:9/mcp"}]})),
    );
    assert_eq!(r.status, 422);
    assert_eq!(body(&r)["field"], "routes[0].resource");
}

fn open_registration(h: &Harness, extra: Value) -> Response {
    let mut policy = json!({"enabled": true, "scopes": ["read"]});
    policy
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    admin(h, Method::Put, "/admin/v1/registration", Some(policy))
}

fn register(h: &Harness, metadata: &Value) -> Response {
    h.send(
        Request::new(Method::Post, ORIGIN, "/oauth/register")
            .with_header("content-type", "application/json")
            .with_body(metadata.to_string()),
    )
}

fn native_app() -> Value {
    json!({
        "client_name": "Editor",
        "redirect_uris": ["http://127.0.0.1:33418/callback", "com.example.editor:/oauth"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "read",
        "logo_uri": "https://example.com/logo.png"
    })
}

#[test]
fn the_registration_policy_is_off_by_default_versioned_and_audited() {
    let (h, ..) = setup();
    let r = admin(&h, Method::Get, "/admin/v1/registration", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header_value("etag"), Some("\"0\""));
    let policy = body(&r);
    assert_eq!(policy["enabled"], false);
    assert_eq!(policy["client_ttl"], 90 * 86_400);
    let meta = body(&h.send(get("/.well-known/oauth-authorization-server")));
    assert!(meta.get("registration_endpoint").is_none());
    assert!(meta.get("client_id_metadata_document_supported").is_none());
    let r = register(&h, &native_app());
    assert_eq!(r.status, 403);
    assert_eq!(body(&r)["error"], "access_denied");
    // Unknown scopes and grant types outside authorization_code/refresh_token are refused.
    for (bad, field) in [
        (json!({"scopes": ["nope"]}), "scopes[0]"),
        (
            json!({"grant_types": ["client_credentials"]}),
            "grant_types[0]",
        ),
        (json!({"client_ttl": 5}), "client_ttl"),
    ] {
        let r = open_registration(&h, bad);
        assert_eq!(r.status, 422);
        assert_eq!(body(&r)["field"], field);
    }
    let r = open_registration(&h, json!({}));
    assert_eq!(r.status, 200);
    assert_eq!(r.header_value("etag"), Some("\"1\""));
    let stale = Request::new(Method::Put, ORIGIN, "/admin/v1/registration")
        .with_header(
            "authorization",
            &format!("Bearer {}", crate::testing::TEST_ADMIN_TOKEN),
        )
        .with_header("content-type", "application/json")
        .with_header("if-match", "\"0\"")
        .with_body(json!({"enabled": false}).to_string());
    assert_eq!(h.send(stale).status, 412);
    let audit = body(&admin(
        &h,
        Method::Get,
        "/admin/v1/audit?action=registration.replace",
        None,
    ));
    assert_eq!(audit["events"].as_array().unwrap().len(), 1);
    let meta = body(&h.send(get("/.well-known/oauth-authorization-server")));
    assert_eq!(
        meta["registration_endpoint"],
        "https://auth.test/oauth/register"
    );
}

#[test]
fn dynamic_registration_follows_rfc_7591_and_the_policy() {
    let (h, ..) = setup();
    assert_eq!(open_registration(&h, json!({})).status, 200);
    let r = register(&h, &native_app());
    assert_eq!(r.status, 201, "{:?}", body(&r));
    assert_eq!(r.header_value("cache-control"), Some("no-store"));
    let doc = body(&r);
    let fields: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        [
            "client_id",
            "client_id_issued_at",
            "client_name",
            "grant_types",
            "redirect_uris",
            "response_types",
            "scope",
            "token_endpoint_auth_method"
        ]
    );
    assert_eq!(doc["client_name"], "Editor");
    assert_eq!(doc["token_endpoint_auth_method"], "none");
    assert_eq!(
        doc["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(doc["response_types"], json!(["code"]));
    assert_eq!(doc["scope"], "read");
    let id = doc["client_id"].as_str().unwrap();
    // The admin API shows it as dynamic; its name takes no operator's name.
    let client = body(&admin(
        &h,
        Method::Get,
        &format!("/admin/v1/clients/{id}"),
        None,
    ));
    assert_eq!(client["registration"], "dynamic");
    assert_eq!(client["public"], true);
    assert_eq!(register(&h, &native_app()).status, 201);

    // A confidential client gets a secret, shown once, that authenticates it.
    let mut web = native_app();
    web["token_endpoint_auth_method"] = json!("client_secret_post");
    web["redirect_uris"] = json!(["https://app.example.com/cb"]);
    let doc = body(&register(&h, &web));
    assert_eq!(doc["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(doc["client_secret_expires_at"], 0);
    let (cid, secret) = (
        doc["client_id"].as_str().unwrap(),
        doc["client_secret"].as_str().unwrap(),
    );
    let r = h.send(
        form("/oauth/token", "grant_type=refresh_token&refresh_token=x")
            .with_header("authorization", &basic(cid, secret)),
    );
    assert_eq!(body(&r)["error"], "invalid_grant");
}

#[test]
fn registrations_outside_the_rules_are_rfc_7591_errors_and_store_nothing() {
    let (h, ..) = setup();
    assert_eq!(open_registration(&h, json!({})).status, 200);
    for (change, error) in [
        (json!({"scope": "read write"}), "invalid_client_metadata"),
        (
            json!({"grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["refresh_token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (json!({"redirect_uris": []}), "invalid_redirect_uri"),
        (
            json!({"redirect_uris": ["http://app.example.com/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["myapp:/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://app.example.com/cb#x"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": "https://app.example.com/cb"}),
            "invalid_client_metadata",
        ),
    ] {
        let mut meta = native_app();
        meta.as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        let r = register(&h, &meta);
        assert_eq!(r.status, 400, "{change}");
        assert_eq!(body(&r)["error"], error, "{change}");
    }
    let clients = body(&admin(&h, Method::Get, "/admin/v1/clients", None));
    assert_eq!(
        clients["clients"].as_array().unwrap().len(),
        1,
        "nothing was stored"
    );
}

#[test]
fn an_unused_dynamic_client_expires_after_client_ttl_and_is_swept() {
    let (h, ..) = setup();
    assert_eq!(
        open_registration(&h, json!({"client_ttl": 86_400 * 2})).status,
        200
    );
    let mut web = native_app();
    web["token_endpoint_auth_method"] = json!("client_secret_basic");
    web["redirect_uris"] = json!(["https://app.example.com/cb"]);
    let doc = body(&register(&h, &web));
    let (id, secret) = (
        doc["client_id"].as_str().unwrap().to_owned(),
        doc["client_secret"].as_str().unwrap().to_owned(),
    );
    let authorize = |h: &Harness| {
        h.send(get(&format!(
            "/oauth/authorize?client_id={id}&response_type=code&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGUSTw-cMq&code_challenge_method=S256"
        )))
        .status
    };
    h.advance(86_400 * 2 - 10);
    assert_eq!(authorize(&h), 303, "still alive: on to sign-in");
    h.advance(20);
    assert_eq!(authorize(&h), 400, "expired: unknown at once");
    let r = h.send(
        form("/oauth/token", "grant_type=refresh_token&refresh_token=x")
            .with_header("authorization", &basic(&id, &secret)),
    );
    assert_eq!(body(&r)["error"], "invalid_client");
    // The sweep deletes it, as an operator's deletion would.
    futures::executor::block_on(crate::registration::sweep(&h.context())).unwrap();
    let r = admin(&h, Method::Get, &format!("/admin/v1/clients/{id}"), None);
    assert_eq!(r.status, 404);
}

#[test]
fn discovery_registration_and_public_token_calls_answer_any_origin_never_admin_or_pages() {
    let (h, id, secret) = with_mcp_route();
    assert_eq!(open_registration(&h, json!({})).status, 200);
    let with_origin = |req: Request| req.with_header("origin", "https://inspector.example");
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let r = h.send(with_origin(get(path)));
        assert_eq!(
            r.header_value("access-control-allow-origin"),
            Some("*"),
            "{path}"
        );
        let pre = h.send(with_origin(Request::new(Method::Options, ORIGIN, path)));
        assert_eq!(pre.status, 204, "{path}");
        assert_eq!(pre.header_value("access-control-allow-origin"), Some("*"));
        assert_eq!(
            pre.header_value("access-control-allow-methods"),
            Some("GET, HEAD")
        );
    }
    let r = register(&h, &native_app());
    assert_eq!(r.header_value("access-control-allow-origin"), Some("*"));
    let pre = h.send(Request::new(Method::Options, ORIGIN, "/oauth/register"));
    assert_eq!(
        pre.header_value("access-control-allow-headers"),
        Some("content-type")
    );
    // The token endpoint: a call without a secret yes, a call with one never.
    let public = h.send(with_origin(form(
        "/oauth/token",
        "grant_type=authorization_code&client_id=x&code=y",
    )));
    assert_eq!(
        public.header_value("access-control-allow-origin"),
        Some("*")
    );
    let secret_call = token(&h, &id, &secret, "");
    assert_eq!(
        secret_call.header_value("access-control-allow-origin"),
        None
    );
    let posted = h.send(form(
        "/oauth/token",
        &format!("grant_type=client_credentials&client_id={id}&client_secret={secret}"),
    ));
    assert_eq!(posted.header_value("access-control-allow-origin"), None);
    for path in [
        "/admin/v1/clients",
        "/login",
        "/account/grants",
        "/oauth/authorize",
    ] {
        let r = h.send(with_origin(get(path)));
        assert_eq!(
            r.header_value("access-control-allow-origin"),
            None,
            "{path}"
        );
        let pre = h.send(with_origin(Request::new(Method::Options, ORIGIN, path)));
        assert_eq!(
            pre.header_value("access-control-allow-origin"),
            None,
            "{path}"
        );
    }
}

const DOC_URL: &str = "https://app.example.com/oauth/client.json";

fn document(client_id: &str) -> String {
    json!({
        "client_id": client_id,
        "client_name": "Doc App",
        "redirect_uris": ["https://app.example.com/cb"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code"],
    })
    .to_string()
}

fn authorize_as(h: &Harness, client_id: &str, redirect: &str) -> Response {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("response_type", "code")
        .append_pair(
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGUSTw-cMq",
        )
        .append_pair("code_challenge_method", "S256");
    h.send(get(&format!("/oauth/authorize?{}", q.finish())))
}

#[test]
fn a_metadata_document_that_names_itself_is_a_public_client_kept_within_its_cache_bounds() {
    let (h, ..) = setup();
    h.http
        .answers
        .borrow_mut()
        .insert(DOC_URL.into(), (200, document(DOC_URL)));
    // Off by default: the URL names nobody, and nothing is fetched.
    assert_eq!(
        authorize_as(&h, DOC_URL, "https://app.example.com/cb").status,
        400
    );
    assert_eq!(h.http.calls.get(), 0);
    assert_eq!(open_registration(&h, json!({})).status, 200);
    let meta = body(&h.send(get("/.well-known/oauth-authorization-server")));
    assert_eq!(meta["client_id_metadata_document_supported"], true);
    *h.http.cache_control.borrow_mut() = Some("public, max-age=120".into());
    let r = authorize_as(&h, DOC_URL, "https://app.example.com/cb");
    assert_eq!(
        r.status,
        303,
        "on to sign-in: {:?}",
        r.header_value("location")
    );
    // Redirect URIs match exactly.
    assert_eq!(
        authorize_as(&h, DOC_URL, "https://app.example.com/cb/x").status,
        400
    );
    assert_eq!(h.http.calls.get(), 1, "kept for its max-age");
    let client = body(&admin(
        &h,
        Method::Get,
        &format!(
            "/admin/v1/clients/{}",
            DOC_URL.replace('/', "%2F").replace(':', "%3A")
        ),
        None,
    ));
    assert_eq!(client["registration"], "metadata_document");
    assert_eq!(client["public"], true);
    assert_eq!(client["scopes"], json!(["read"]));
    h.advance(121);
    assert_eq!(
        authorize_as(&h, DOC_URL, "https://app.example.com/cb").status,
        303
    );
    assert_eq!(h.http.calls.get(), 2, "fetched again after max-age");
}

#[test]
fn a_document_that_lies_about_its_client_id_or_is_too_big_names_nobody() {
    let (h, ..) = setup();
    assert_eq!(open_registration(&h, json!({})).status, 200);
    let liar = "https://evil.example.com/client.json";
    let big = "https://big.example.com/client.json";
    let http_url = "http://127.0.0.1:9/client.json";
    for (url, doc) in [
        (liar, document(DOC_URL)),
        (big, document(big) + &" ".repeat(6000)),
        (http_url, document(http_url)),
    ] {
        h.http.answers.borrow_mut().insert(url.into(), (200, doc));
        let r = authorize_as(&h, url, "https://app.example.com/cb");
        assert_eq!(r.status, 400, "{url}");
    }
    assert_eq!(
        h.http.calls.get(),
        2,
        "an http URL is never fetched for an https issuer"
    );
    // A refusal is remembered too.
    authorize_as(&h, liar, "https://app.example.com/cb");
    assert_eq!(h.http.calls.get(), 2);
}

#[test]
fn document_cache_times_are_bounded() {
    use crate::client_document::{cache_secs, DEFAULT_CACHE_SECS, MAX_CACHE_SECS, MIN_CACHE_SECS};
    assert_eq!(cache_secs(None), DEFAULT_CACHE_SECS);
    assert_eq!(cache_secs(Some("max-age=5")), MIN_CACHE_SECS);
    assert_eq!(cache_secs(Some("public, max-age=600")), 600);
    assert_eq!(cache_secs(Some("max-age=999999")), MAX_CACHE_SECS);
    assert_eq!(cache_secs(Some("no-store")), MIN_CACHE_SECS);
    assert_eq!(cache_secs(Some("max-age=x")), DEFAULT_CACHE_SECS);
}

#[test]
fn the_consent_page_of_a_self_registered_client_says_it_is_not_verified() {
    let pages = crate::pages::consent(
        "Doc App",
        "alice",
        &[],
        &[],
        "csrf",
        &[],
        Some("app.example.com"),
    );
    let html = String::from_utf8(pages.body).unwrap();
    assert!(html.contains("not verified"));
    assert!(html.contains("<strong>app.example.com</strong>"));
    let plain = crate::pages::consent("Doc App", "alice", &[], &[], "csrf", &[], None);
    assert!(!String::from_utf8(plain.body)
        .unwrap()
        .contains("not verified"));
}

#[test]
fn registrations_count_against_the_callers_address() {
    let (h, ..) = setup();
    assert_eq!(open_registration(&h, json!({})).status, 200);
    h.limits.budget.set(Some(2));
    assert_eq!(register(&h, &native_app()).status, 201);
    assert_eq!(register(&h, &native_app()).status, 201);
    let r = register(&h, &native_app());
    assert_eq!(r.status, 429);
    assert_eq!(r.header_value("retry-after"), Some("60"));
    let audit = body(&admin(
        &h,
        Method::Get,
        "/admin/v1/audit?action=ratelimit.trip",
        None,
    ));
    assert_eq!(audit["events"][0]["target"], "ip:register:unknown");
}
