//! The OAuth side of the CLI, for trying an API by hand: `portcullis token` asks the token
//! endpoint for a client-credentials token, and `portcullis decode` shows a token's header and
//! claims, checks its signature against the server's JWKS and says when it expires, in words.
//!
//! Neither needs the admin token. The client secret comes from `PORTCULLIS_CLIENT_SECRET` or
//! stdin (a hidden prompt on a terminal), never an argument; the token request and the JWKS
//! fetch go over the same [`Transport`] as the admin calls.

use std::io::{self, BufRead, IsTerminal};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jwt_compact::alg::{Ed25519, Es256, Rsa};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{Algorithm, AlgorithmExt, UntrustedToken};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::client::{failure_from, segment, Outgoing, Transport};

/// What `portcullis token` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub client_id: String,
    /// `None` for a public client, which names itself in the body instead.
    pub secret: Option<String>,
    pub scope: Option<String>,
    /// RFC 8707 resource indicators.
    pub resources: Vec<String>,
}

impl TokenRequest {
    /// The form body of the client-credentials request, and its `Authorization` header
    /// (RFC 6749 §2.3.1: both parts form-encoded, then base64).
    fn outgoing(&self) -> Outgoing {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        for resource in &self.resources {
            form.push(("resource", resource));
        }
        let mut headers = vec![
            ("accept", "application/json".to_owned()),
            (
                "content-type",
                "application/x-www-form-urlencoded".to_owned(),
            ),
        ];
        match &self.secret {
            Some(secret) => {
                let pair = format!("{}:{}", segment(&self.client_id), segment(secret));
                headers.push(("authorization", format!("Basic {}", STANDARD.encode(pair))));
            }
            None => form.push(("client_id", &self.client_id)),
        }
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", segment(v)))
            .collect();
        Outgoing {
            method: "POST",
            path: "/oauth/token".into(),
            headers,
            body: Some(body.join("&")),
        }
    }
}

/// Asks the token endpoint; answers its JSON (with `access_token`), or its OAuth error as one
/// line.
pub fn request_token(transport: &dyn Transport, request: &TokenRequest) -> Result<Value, String> {
    let reply = transport.exchange(request.outgoing())?;
    if reply.status != 200 {
        return Err(failure_from(reply.status, &reply.body).to_string());
    }
    let answer: Value = serde_json::from_str(&reply.body)
        .map_err(|e| format!("the token endpoint's answer does not parse: {e}"))?;
    if answer.get("access_token").and_then(Value::as_str).is_none() {
        return Err("the token endpoint answered without an access_token".into());
    }
    Ok(answer)
}

/// The client secret: `PORTCULLIS_CLIENT_SECRET`, else one line of stdin (a hidden prompt on a
/// terminal).
pub fn client_secret() -> Result<String, String> {
    if let Ok(secret) = std::env::var("PORTCULLIS_CLIENT_SECRET") {
        if !secret.trim().is_empty() {
            return Ok(secret.trim().to_owned());
        }
    }
    let secret = if io::stdin().is_terminal() {
        rpassword::prompt_password("Client secret: ").map_err(|e| e.to_string())?
    } else {
        let mut line = String::new();
        io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        line
    };
    let secret = secret.trim().to_owned();
    if secret.is_empty() {
        return Err(
            "no client secret: set PORTCULLIS_CLIENT_SECRET or give it on stdin (or pass \
             --public for a public client)"
                .into(),
        );
    }
    Ok(secret)
}

/// What the signature check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// Verified with this key of the server's JWKS.
    Valid { kid: String },
    /// No key of the JWKS has the token's `kid` (another issuer's token, or a revoked or
    /// long-retired key).
    UnknownKey { kid: Option<String> },
    /// The key was found but the signature does not verify with it.
    Invalid { kid: String, why: String },
    /// An algorithm Portcullis never signs with.
    Unsupported { alg: String },
}

impl Signature {
    pub fn is_valid(&self) -> bool {
        matches!(self, Self::Valid { .. })
    }

    fn describe(&self) -> String {
        match self {
            Self::Valid { kid } => format!("valid (key {kid} of the server's JWKS)"),
            Self::UnknownKey { kid: Some(kid) } => {
                format!("not checked: the server's JWKS has no key {kid}")
            }
            Self::UnknownKey { kid: None } => "not checked: the token names no key (kid)".into(),
            Self::Invalid { kid, why } => format!("INVALID with key {kid}: {why}"),
            Self::Unsupported { alg } => format!("not checked: unsupported algorithm {alg}"),
        }
    }
}

/// A token taken apart.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub header: Value,
    pub claims: Map<String, Value>,
    pub signature: Signature,
}

impl Decoded {
    /// Seconds until `exp` (negative once expired), if the token has one.
    pub fn expires_in(&self, now: i64) -> Option<i64> {
        self.claims
            .get("exp")
            .and_then(Value::as_i64)
            .map(|exp| exp - now)
    }

    /// Good to use: a valid signature and not expired.
    pub fn usable(&self, now: i64) -> bool {
        self.signature.is_valid() && self.expires_in(now).is_none_or(|left| left > 0)
    }

    /// The text `portcullis decode` prints.
    pub fn report(&self, now: i64) -> String {
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
        let expiry = match self.expires_in(now) {
            None => "never (no exp claim)".to_owned(),
            Some(left) if left > 0 => format!("in {}", duration_in_words(left)),
            Some(left) => format!("EXPIRED {} ago", duration_in_words(-left)),
        };
        format!(
            "header\n{}\nclaims\n{}\nsignature  {}\nexpires    {expiry}\n",
            pretty(&self.header),
            pretty(&Value::Object(self.claims.clone())),
            self.signature.describe(),
        )
    }
}

/// A JWKS as served at `/.well-known/jwks.json`.
#[derive(Debug, Deserialize)]
struct Jwks {
    keys: Vec<Value>,
}

/// Takes `token` apart and checks its signature against the server's JWKS.
pub fn decode(transport: &dyn Transport, token: &str) -> Result<Decoded, String> {
    let untrusted =
        UntrustedToken::new(token.trim()).map_err(|e| format!("not a signed JWT: {e}"))?;
    let header = part_json(token.trim(), 0, "header")?;
    let Value::Object(claims) = part_json(token.trim(), 1, "claims")? else {
        return Err("the claims are not a JSON object".into());
    };
    let reply = transport.exchange(Outgoing {
        method: "GET",
        path: "/.well-known/jwks.json".into(),
        headers: vec![("accept", "application/json".to_owned())],
        body: None,
    })?;
    if reply.status != 200 {
        return Err(failure_from(reply.status, &reply.body).to_string());
    }
    let jwks: Jwks =
        serde_json::from_str(&reply.body).map_err(|e| format!("the JWKS does not parse: {e}"))?;
    let signature = check_signature(&untrusted, &jwks);
    Ok(Decoded {
        header,
        claims,
        signature,
    })
}

/// Part `index` of the token (its header or claims) as the token carries it: every field, in
/// its order, not only those jwt-compact models.
fn part_json(token: &str, index: usize, what: &str) -> Result<Value, String> {
    let part = token.split('.').nth(index).unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| format!("the token's {what}: not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("the token's {what}: not JSON: {e}"))
}

fn check_signature(token: &UntrustedToken<'_>, jwks: &Jwks) -> Signature {
    let kid = token.header().key_id.clone();
    let Some(jwk) = jwks
        .keys
        .iter()
        .find(|k| kid.is_some() && k.get("kid").and_then(Value::as_str) == kid.as_deref())
    else {
        return Signature::UnknownKey { kid };
    };
    let kid = kid.unwrap_or_default();
    let jwk: JsonWebKey<'_> = match serde_json::from_value(jwk.clone()) {
        Ok(jwk) => jwk,
        Err(e) => {
            return Signature::Invalid {
                kid,
                why: format!("the JWKS entry does not parse: {e}"),
            }
        }
    };
    let checked = match token.algorithm() {
        "EdDSA" => verify_with(&Ed25519, &jwk, token),
        "ES256" => verify_with(&Es256, &jwk, token),
        "RS256" => verify_with(&Rsa::rs256(), &jwk, token),
        other => {
            return Signature::Unsupported {
                alg: other.to_owned(),
            }
        }
    };
    match checked {
        Ok(()) => Signature::Valid { kid },
        Err(why) => Signature::Invalid { kid, why },
    }
}

/// Checks `token` with `alg` and the key `jwk` describes.
fn verify_with<A>(alg: &A, jwk: &JsonWebKey<'_>, token: &UntrustedToken<'_>) -> Result<(), String>
where
    A: Algorithm,
    for<'a> A::VerifyingKey: TryFrom<&'a JsonWebKey<'a>>,
    for<'a> <A::VerifyingKey as TryFrom<&'a JsonWebKey<'a>>>::Error: std::fmt::Display,
{
    let key = A::VerifyingKey::try_from(jwk).map_err(|e| format!("bad key: {e}"))?;
    alg.validator::<Map<String, Value>>(&key)
        .validate(token)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A span of seconds in words: its largest unit and, when not zero, the next one (`9 minutes 12
/// seconds`, `2 days 3 hours`, `1 hour`, `1 second`).
pub fn duration_in_words(secs: i64) -> String {
    const UNITS: [(i64, &str); 4] = [
        (86_400, "day"),
        (3_600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    let secs = secs.max(0);
    let words =
        |count: i64, name: &str| format!("{count} {name}{}", if count == 1 { "" } else { "s" });
    let Some(first) = UNITS.iter().position(|(size, _)| secs >= *size) else {
        return "0 seconds".into();
    };
    let (size, name) = UNITS[first];
    let mut text = words(secs / size, name);
    if let Some((next, next_name)) = UNITS.get(first + 1) {
        let count = secs % size / next;
        if count > 0 {
            text = format!("{text} {}", words(count, next_name));
        }
    }
    text
}

#[cfg(test)]
mod tests;
