//! The fuzz harness shared by every target: one function per parser that takes outside input,
//! each calling only public `portcullis-core` functions and asserting the properties that must
//! hold for any input (no panic; answers that are consistent with one another).
//!
//! Parsers covered: RFC 7617 Basic credentials with RFC 6749 §2.3.1 form-decoding, RFC 6749
//! §3.2 form bodies, the admin API's JSON bodies, RFC 7519/9068 access tokens, trusted
//! issuers' RFC 7517 JWKS documents and tokens, the gateway's RFC 3986 §3.3 path matching, RFC
//! 6749 §3.1.2 / RFC 8252 §7.3 redirect URIs, the login page's `next` (no open redirect, RFC
//! 9700 §4.11), and the headers every endpoint reads (RFC 6750 §2.1 bearer, `Content-Type`,
//! our opaque tokens' shard prefix).
//!
//! [`TARGETS`] names them all; each `fuzz_targets/<name>.rs` calls one, and the inputs kept in
//! `regressions/<name>/` (seeds, and every crash `cargo xtask fuzz` found) replay through it
//! in this crate's tests, on stable: `cargo test --manifest-path fuzz/Cargo.toml`.

#![forbid(unsafe_code)]

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis_core::admin::io::parse_json;
use portcullis_core::api::KeyAlg;
use portcullis_core::api::{
    Algorithm, ClientPatch, IssuersBody, KeyRotation, NewClient, NewScope, NewUser, Route,
    RoutesBody, SecretRotation, TrustedIssuer, UserPatch,
};
use portcullis_core::form::{parse_basic, Form};
use portcullis_core::gateway::issuers::{self, ExternalToken};
use portcullis_core::gateway::routes;
use portcullis_core::gateway::routes::{CanonicalPath, RouteIndex};
use portcullis_core::grants::{shard_of_token, SHARDS};
use portcullis_core::http::{Method, Request};
use portcullis_core::keys::LoadedKeys;
use portcullis_core::login::{next_form_targets, safe_next};
use portcullis_core::testing::{loaded_keys, NativeSignatures};
use portcullis_core::tokens::{self, AccessClaims, Audience, Expectations};
use portcullis_core::uri::{
    check_absolute_uri, check_redirect_uri, origin_of, redirect_uri_matches,
};

/// `Authorization: Basic …` (RFC 7617, RFC 6749 §2.3.1).
pub fn basic_header(data: &[u8]) {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(creds) = parse_basic(header) {
        assert!(
            !creds.client_id.is_empty(),
            "an empty client id was accepted"
        );
    }
}

/// A token-endpoint form body (RFC 6749 §3.2): no repeats, empty counts as absent.
pub fn form_body(data: &[u8]) {
    let Ok(form) = Form::parse(data) else {
        return;
    };
    for name in [
        "grant_type",
        "scope",
        "client_id",
        "client_secret",
        "code",
        "",
    ] {
        if let Some(v) = form.get(name) {
            assert!(!v.is_empty(), "an empty value counted as present");
            assert!(form.contains(name));
        }
    }
}

/// Every JSON body the admin API parses.
pub fn admin_json(data: &[u8]) {
    let req = Request::new(Method::Post, "https://as.example", "/admin/v1/clients")
        .with_header("content-type", "application/json")
        .with_body(data.to_vec());
    let _ = parse_json::<NewClient>(&req);
    let _ = parse_json::<ClientPatch>(&req);
    let _ = parse_json::<NewScope>(&req);
    let _ = parse_json::<NewUser>(&req);
    let _ = parse_json::<UserPatch>(&req);
    let _ = parse_json::<SecretRotation>(&req);
    let _ = parse_json::<KeyRotation>(&req);
    if let Ok(body) = parse_json::<RoutesBody>(&req) {
        if routes::validate(&body.routes, body.case_sensitive, false).is_ok() {
            let _ = RouteIndex::compile(1, &body.routes, body.case_sensitive);
        }
    }
    if let Ok(body) = parse_json::<IssuersBody>(&req) {
        let _ = issuers::validate(&body.issuers);
    }
}

/// What a target calls with each input.
pub type Target = fn(&[u8]);

/// Every target: its name (its `fuzz_targets/<name>.rs` binary and its `regressions/<name>/`
/// folder) and the function it calls.
pub const TARGETS: &[(&str, Target)] = &[
    ("basic_header", basic_header),
    ("form_body", form_body),
    ("admin_json", admin_json),
    ("jwt_verify", jwt_verify),
    ("issuer_token", issuer_token),
    ("route_match", route_match),
    ("redirect_uri", redirect_uri),
    ("login_next", login_next),
    ("request_headers", request_headers),
];

/// The token an input stands for: its first byte picks what the rest replaces in `valid` (the
/// whole token, or the base64url of its header, claims or signature), so the JSON and
/// signature paths are reached, not only the outer split. Answers the token and whether it
/// must be refused: a changed header or claims must be, whatever else changed.
fn mutate(valid: &str, data: &[u8]) -> Option<(String, bool)> {
    let (&mode, rest) = data.split_first()?;
    let parts: Vec<&str> = valid.split('.').collect();
    let encoded = URL_SAFE_NO_PAD.encode(rest);
    let token = match mode % 4 {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => format!("{encoded}.{}.{}", parts[1], parts[2]),
        2 => format!("{}.{encoded}.{}", parts[0], parts[2]),
        _ => format!("{}.{}.{encoded}", parts[0], parts[1]),
    };
    let signed = |t: &str| t.rsplit_once('.').map(|(s, _)| s.to_owned());
    let must_fail = mode % 4 != 0 && signed(&token) != signed(valid);
    Some((token, must_fail))
}

/// An access token at `/verify` (RFC 7519, RFC 9068), mutated from a valid one by [`mutate`].
pub fn jwt_verify(data: &[u8]) {
    let fixture = fixture();
    let Some((token, must_fail)) = mutate(&fixture.token, data) else {
        return;
    };
    let verified = futures::executor::block_on(tokens::verify_signature(
        &token,
        &fixture.keys,
        &NativeSignatures::default(),
    ));
    if must_fail {
        assert!(verified.is_err(), "a modified token verified: {token}");
    }
}

/// A trusted issuer's JWKS and token at the gateway (RFC 7517, RFC 7519, RFC 8725). A first
/// byte with its high bit set makes the rest the issuer's JWKS document, against which its
/// valid token is checked: only a JWKS holding the issuer's key may verify it. Otherwise the
/// input mutates that token by [`mutate`], checked against the issuer's real JWKS.
pub fn issuer_token(data: &[u8]) {
    let fixture = fixture();
    let verify = |token: &str, jwks: &str| {
        let keys = issuers::parse_jwks(jwks).unwrap_or_default();
        let parsed = ExternalToken::parse(&fixture.issuer, token)?;
        futures::executor::block_on(parsed.verify(&keys, &NativeSignatures::default(), &fixture.expect()))
    };
    match data.split_first() {
        Some((&mode, rest)) if mode & 0x80 != 0 => {
            let Ok(jwks) = std::str::from_utf8(rest) else {
                return;
            };
            if verify(&fixture.token, jwks).is_ok() {
                // Escapes could spell the key's `x` otherwise.
                assert!(
                    jwks.contains(&fixture.x) || jwks.contains('\\'),
                    "a JWKS without the issuer's key verified its token: {jwks}"
                );
            }
        }
        _ => {
            let Some((token, must_fail)) = mutate(&fixture.token, data) else {
                return;
            };
            let verified = verify(&token, &fixture.keys.jwks);
            if must_fail {
                assert!(
                    verified.is_err(),
                    "a modified issuer token verified: {token}"
                );
            }
        }
    }
}

/// The gateway's route matching (RFC 3986 §3.3): the first line is the request path, every
/// further line a route pattern.
pub fn route_match(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let path = lines.next().unwrap_or_default();
    let table: Vec<Route> = lines.take(64).map(route).collect();
    let case_sensitive = path.len() % 2 == 0;
    let _ = routes::validate(&table, case_sensitive, false);
    let index = RouteIndex::compile(1, &table, case_sensitive);
    if let Ok(canonical) = CanonicalPath::parse(path) {
        for seg in canonical.segments() {
            assert!(
                !seg.is_empty()
                    && !seg.contains(['/', '\\'])
                    && !seg.chars().any(char::is_control)
                    && seg != "."
                    && seg != "..",
                "a dangerous segment passed: {path:?}"
            );
        }
        let again = CanonicalPath::parse(canonical.as_str());
        assert_eq!(again.as_ref(), Ok(&canonical), "not stable: {path:?}");
        for method in [Method::Get, Method::Post, Method::Other] {
            let _ = index.lookup(method, &canonical);
        }
    }
}

/// Redirect URIs: registration checks (RFC 6749 §3.1.2, RFC 8252 §7.3) and the authorization
/// request's matcher. Input is `registered\ngiven`.
pub fn redirect_uri(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (registered, given) = text.split_once('\n').unwrap_or((text, text));
    let _ = check_redirect_uri(registered);
    let _ = check_absolute_uri(registered);
    let _ = origin_of(registered);
    assert!(redirect_uri_matches(registered, registered));
    let forward = redirect_uri_matches(registered, given);
    assert_eq!(
        forward,
        redirect_uri_matches(given, registered),
        "match is not symmetric"
    );
    if forward && registered != given {
        assert!(
            registered.starts_with("http://") && given.starts_with("http://"),
            "a non-loopback URI matched another: {registered:?} {given:?}"
        );
    }
}

/// The login page's `next` parameter: whatever is sent, a sign-in returns only to the
/// authorization endpoint or the account page, on our own origin.
pub fn login_next(data: &[u8]) {
    let Ok(next) = std::str::from_utf8(data) else {
        return;
    };
    let target = safe_next(Some(next));
    assert!(
        target.starts_with("/oauth/authorize?") || target == safe_next(None),
        "next escaped: {target:?}"
    );
    assert!(!target.starts_with("//") && !target.contains(['\\', '\r', '\n', '#']));
    for origin in next_form_targets(&target) {
        assert!(origin.starts_with("http://") || origin.starts_with("https://"));
    }
}

/// The headers every endpoint reads: `Authorization: Bearer` (RFC 6750 §2.1), `Content-Type`,
/// and the shard prefix of our opaque codes and refresh tokens. Input is `name: value` lines.
pub fn request_headers(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut req = Request::new(Method::Post, "https://as.example", "/oauth/token");
    for line in text.lines().take(16) {
        let (name, value) = line.split_once(':').unwrap_or(("authorization", line));
        req = req.with_header(&name.to_ascii_lowercase(), value);
    }
    let _ = req.media_type();
    if let Some(token) = req.bearer() {
        assert!(!token.is_empty() && token.trim() == token);
        if let Some(shard) = shard_of_token(token) {
            assert!(shard < SHARDS, "shard {shard} out of range");
        }
    }
    let _ = shard_of_token(text);
}

fn route(path: &str) -> Route {
    Route {
        path: path.to_owned(),
        methods: None,
        origin: None,
        scopes: Vec::new(),
        scope_mode: portcullis_core::api::ScopeMode::All,
        audience: None,
        public: true,
        forward_token: false,
        issuer: None,
        resource: None,
        resource_name: None,
        dpop: None,
    }
}

/// A key set and one valid token for it, built once per process. The same key set, published
/// as its JWKS, also stands for a trusted external issuer.
struct Fixture {
    keys: LoadedKeys,
    token: String,
    /// The trusted issuer whose JWKS is `keys.jwks` and whose token is `token`.
    issuer: TrustedIssuer,
    /// The signing key's public `x` in the JWKS.
    x: String,
}

impl Fixture {
    /// Within `token`'s lifetime.
    fn expect(&self) -> Expectations<'_> {
        Expectations {
            issuer: &self.issuer.issuer,
            audience: None,
            now: 0,
            leeway: 60,
        }
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let keys = loaded_keys(KeyAlg::EdDSA);
        let claims = AccessClaims {
            iss: "https://as.example".into(),
            sub: "client".into(),
            aud: Audience::One("https://api.example".into()),
            jti: "0123456789abcdef0123456789".into(),
            client_id: "client".into(),
            scope: "read".into(),
            extra: serde_json::Map::new(),
            cnf: None,
        };
        let token =
            futures::executor::block_on(tokens::sign(&keys, claims, 0, 3600, &NativeSignatures::default()))
                .expect("token");
        let jwks: serde_json::Value = serde_json::from_str(&keys.jwks).expect("jwks");
        let x = jwks["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|k| k["kid"] == keys.signer.kid.as_str())
            .and_then(|k| k["x"].as_str())
            .expect("the signing key in the JWKS")
            .to_owned();
        let issuer = TrustedIssuer {
            issuer: "https://as.example".into(),
            jwks_uri: "https://as.example/.well-known/jwks.json".into(),
            audiences: vec!["https://api.example".into()],
            algorithms: vec![Algorithm::EdDSA],
            token_types: portcullis_core::api::default_token_types(),
        };
        Fixture {
            keys,
            token,
            issuer,
            x,
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::fs;
    use std::path::Path;

    use super::*;

    fn crate_dir(sub: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(sub)
    }

    #[test]
    fn fixture_tokens_verify_as_ours_and_as_a_trusted_issuers() {
        let f = fixture();
        assert!(futures::executor::block_on(tokens::verify_signature(
            &f.token,
            &f.keys,
            &NativeSignatures::default()
        ))
        .is_ok());
        let keys = issuers::parse_jwks(&f.keys.jwks).expect("a JWKS");
        let parsed = ExternalToken::parse(&f.issuer, &f.token).expect("parses");
        assert!(
            futures::executor::block_on(parsed.verify(&keys, &NativeSignatures::default(), &f.expect()))
                .is_ok()
        );
    }

    #[test]
    fn every_target_takes_empty_and_simple_inputs() {
        for data in [
            &b""[..],
            b"\n",
            b"/a/b\n/a/*",
            b"Basic YTpi",
            b"{}",
            b"\x00\xff",
            b"\x80{\"keys\":[]}",
        ] {
            for (_, target) in TARGETS {
                target(data);
            }
        }
    }

    #[test]
    fn every_target_has_a_binary_and_every_binary_a_target() {
        let stems = |sub: &str, strip: &str| -> BTreeSet<String> {
            fs::read_dir(crate_dir(sub))
                .expect(sub)
                .map(|e| {
                    e.expect("entry")
                        .file_name()
                        .to_string_lossy()
                        .replace(strip, "")
                })
                .collect()
        };
        let names: BTreeSet<String> = TARGETS.iter().map(|(n, _)| (*n).to_owned()).collect();
        assert_eq!(stems("fuzz_targets", ".rs"), names);
        assert_eq!(
            stems("regressions", ""),
            names,
            "one regressions/<target>/ per target"
        );
    }

    /// Inputs kept in `regressions/<target>/` (seeds and every crash `cargo xtask fuzz` found)
    /// replay through the target's function without a panic.
    #[test]
    fn every_regression_input_replays_through_its_target() {
        for (name, target) in TARGETS {
            let dir = crate_dir("regressions").join(name);
            let mut inputs: Vec<_> = fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.expect("entry").path())
                .collect();
            inputs.sort();
            assert!(!inputs.is_empty(), "{} holds no input", dir.display());
            for path in inputs {
                let data = fs::read(&path).expect("readable");
                eprintln!("replaying {}", path.display());
                target(&data);
            }
        }
    }
}
