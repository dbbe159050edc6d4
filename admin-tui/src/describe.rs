//! How each admin record reads to a person: its table row and its labelled fields. Shared by the
//! terminal screens and the CLI's human output, so both say the same thing.

use portcullis_core::api::{
    Algorithm, AuditEvent, Client, GrantType, GrantView, KeyAlg, KeyInfo, RegistrationPolicy,
    Route, Scope, TrustedIssuer, User,
};

/// A record shown as a table row and as a detail view.
pub trait Describe {
    /// Column titles, matching [`Describe::row`].
    const HEADERS: &'static [&'static str];
    fn row(&self) -> Vec<String>;
    fn fields(&self) -> Vec<(&'static str, String)>;
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn time(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map_or_else(
            || secs.to_string(),
            |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
        )
}

/// A list as `a, b, c`, or `—` when empty.
pub fn joined(items: &[String]) -> String {
    if items.is_empty() {
        "—".into()
    } else {
        items.join(", ")
    }
}

fn state(disabled: bool) -> String {
    if disabled { "disabled" } else { "enabled" }.into()
}

/// `public` or `confidential`, and for a client nobody registered in advance how it came
/// (`dynamic`, `metadata document`).
fn kind(client: &Client) -> String {
    let kind = if client.public {
        "public"
    } else {
        "confidential"
    };
    match client.registration {
        Some(how) => format!("{kind}, {}", how.as_str().replace('_', " ")),
        None => kind.into(),
    }
}

/// How a client authenticates and, for `private_key_jwt`, where its keys are: its `jwks_uri`,
/// or the `kid`s of its inline JWK Set.
fn auth(client: &Client) -> String {
    let method = client.auth_method().as_str();
    if let Some(uri) = &client.jwks_uri {
        return format!("{method} · {uri}");
    }
    let Some(keys) = client.jwks.as_ref().and_then(|j| j["keys"].as_array()) else {
        return method.into();
    };
    let kids: Vec<&str> = keys
        .iter()
        .map(|k| k["kid"].as_str().unwrap_or("(no kid)"))
        .collect();
    format!("{method} · {} inline keys: {}", kids.len(), kids.join(", "))
}

impl Describe for Client {
    const HEADERS: &'static [&'static str] = &["NAME", "CLIENT ID", "TYPE", "STATE"];

    fn row(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.client_id.clone(),
            kind(self),
            state(self.disabled),
        ]
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        let secrets: Vec<String> = self
            .secrets
            .iter()
            .map(|s| match s.expires_at {
                Some(exp) => format!("issued {} (expires {})", time(s.created_at), time(exp)),
                None => format!("issued {}", time(s.created_at)),
            })
            .collect();
        let mut fields = vec![
            ("Name", self.name.clone()),
            ("Client ID", self.client_id.clone()),
            ("Type", kind(self)),
            ("State", state(self.disabled)),
            ("Grant types", grant_names(&self.grant_types)),
            ("Scopes", joined(&self.scopes)),
            ("Redirect URIs", joined(&self.redirect_uris)),
            ("Audiences", joined(&self.audiences)),
            ("Token TTL", format!("{} s", self.access_token_ttl)),
            ("Secrets", joined(&secrets)),
            ("Auth method", auth(self)),
            (
                "DPoP",
                if self.dpop_bound_access_tokens {
                    "required"
                } else {
                    "optional"
                }
                .into(),
            ),
            ("Logout URIs", joined(&self.post_logout_redirect_uris)),
            (
                "ID token alg",
                self.id_token_signed_response_alg
                    .unwrap_or(KeyAlg::RS256)
                    .as_str()
                    .into(),
            ),
            ("Created", time(self.created_at)),
            ("Updated", time(self.updated_at)),
            ("Version", self.version.to_string()),
        ];
        if self.registration.is_some() {
            let used = self.last_used_at.map_or_else(|| "never".into(), time);
            fields.push(("Last used", used));
        }
        fields
    }
}

impl Describe for Scope {
    const HEADERS: &'static [&'static str] = &["NAME", "DESCRIPTION"];

    fn row(&self) -> Vec<String> {
        vec![self.name.clone(), self.description.clone()]
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Name", self.name.clone()),
            ("Description", self.description.clone()),
            ("Created", time(self.created_at)),
            ("Version", self.version.to_string()),
        ]
    }
}

impl Describe for User {
    const HEADERS: &'static [&'static str] = &["USERNAME", "ID", "STATE"];

    fn row(&self) -> Vec<String> {
        vec![self.username.clone(), self.id.clone(), state(self.disabled)]
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        let p = &self.profile;
        let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
        vec![
            ("Username", self.username.clone()),
            ("ID", self.id.clone()),
            ("State", state(self.disabled)),
            ("Name", text(&p.name)),
            ("Given name", text(&p.given_name)),
            ("Family name", text(&p.family_name)),
            (
                "Email",
                match (&p.email, p.email_verified) {
                    (Some(e), Some(true)) => format!("{e} (verified)"),
                    (e, _) => text(e),
                },
            ),
            ("Locale", text(&p.locale)),
            ("Picture", text(&p.picture)),
            ("Created", time(self.created_at)),
            ("Updated", time(self.updated_at)),
            ("Version", self.version.to_string()),
        ]
    }
}

impl Describe for KeyInfo {
    const HEADERS: &'static [&'static str] = &["KID", "ALG", "STATE", "CREATED"];

    fn row(&self) -> Vec<String> {
        vec![
            self.kid.clone(),
            self.alg.as_str().into(),
            wire_name(&self.state),
            time(self.created_at),
        ]
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        let optional = |t: Option<u64>| t.map_or_else(|| "—".into(), time);
        vec![
            ("Key ID", self.kid.clone()),
            ("Algorithm", self.alg.as_str().into()),
            ("State", wire_name(&self.state)),
            ("Created", time(self.created_at)),
            ("Retired", optional(self.retired_at)),
            ("Leaves JWKS", optional(self.expires_at)),
            (
                "JWK",
                match (&self.jwk.crv, &self.jwk.x, &self.jwk.n) {
                    (Some(crv), Some(x), _) => format!("{} {crv} x={x}", self.jwk.kty),
                    (_, _, Some(n)) => format!("{} n={n}", self.jwk.kty),
                    _ => self.jwk.kty.clone(),
                },
            ),
        ]
    }
}

/// An event's action, with how many times it happened when the server coalesced it
/// (`admin.auth_failed ×12`: failed authentications from one network within an hour).
fn action_with_count(event: &AuditEvent) -> String {
    match event.count {
        Some(count) => format!("{} ×{count}", event.action),
        None => event.action.clone(),
    }
}

impl Describe for AuditEvent {
    const HEADERS: &'static [&'static str] = &["TIME", "ACTION", "TARGET", "ACTOR"];

    fn row(&self) -> Vec<String> {
        vec![
            time(self.at),
            action_with_count(self),
            self.target.clone(),
            self.actor.clone(),
        ]
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Time", time(self.at)),
            ("Action", action_with_count(self)),
            ("Target", self.target.clone()),
            ("Actor", self.actor.clone()),
            ("Request ID", self.request_id.clone()),
            ("Event ID", self.id.clone()),
        ]
    }
}

/// A unit enum's JSON name (`"current"`), as the API spells it.
fn wire_name(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(ToOwned::to_owned))
        .unwrap_or_default()
}

impl Describe for Route {
    const HEADERS: &'static [&'static str] = &["PATH", "METHODS", "SCOPES", "ACCESS"];

    fn row(&self) -> Vec<String> {
        vec![
            self.path.clone(),
            self.methods
                .as_ref()
                .map_or_else(|| "any".into(), |m| m.join(",")),
            joined(&self.scopes),
            if self.public { "public" } else { "token" }.into(),
        ]
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        let or_default = |v: &Option<String>, d: &str| v.clone().unwrap_or_else(|| d.into());
        let mut fields = vec![
            ("Path", self.path.clone()),
            (
                "Methods",
                self.methods
                    .as_ref()
                    .map_or_else(|| "any".into(), |m| m.join(", ")),
            ),
            ("Origin", or_default(&self.origin, "ORIGIN_URL")),
            ("Scopes", joined(&self.scopes)),
            ("Scope mode", wire_name(&self.scope_mode)),
            ("Audience", or_default(&self.audience, "not checked")),
            ("Issuer", or_default(&self.issuer, "Portcullis or trusted")),
            ("Public", self.public.to_string()),
            ("Forward token", self.forward_token.to_string()),
        ];
        if let Some(resource) = &self.resource {
            fields.push(("Resource", resource.clone()));
            fields.push(("Resource name", or_default(&self.resource_name, "none")));
        }
        fields
    }
}

impl Describe for GrantView {
    const HEADERS: &'static [&'static str] = &["USER", "CLIENT", "SCOPES", "UPDATED"];

    fn row(&self) -> Vec<String> {
        vec![
            self.user.clone(),
            self.client_id.clone(),
            joined(&self.scopes),
            time(self.updated_at),
        ]
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Grant ID", self.id.clone()),
            ("User", self.user.clone()),
            ("Client ID", self.client_id.clone()),
            ("Scopes", joined(&self.scopes)),
            ("Created", time(self.created_at)),
            ("Updated", time(self.updated_at)),
        ]
    }
}

/// Grant types by their OAuth names.
fn grant_names(list: &[GrantType]) -> String {
    let names: Vec<String> = list.iter().map(|g| g.as_str().to_owned()).collect();
    joined(&names)
}

/// Signature algorithms by their JOSE names.
fn algorithms(list: &[Algorithm]) -> String {
    let names: Vec<String> = list.iter().map(|a| a.as_str().to_owned()).collect();
    joined(&names)
}

impl Describe for TrustedIssuer {
    const HEADERS: &'static [&'static str] = &["ISSUER", "AUDIENCES", "ALGORITHMS"];

    fn row(&self) -> Vec<String> {
        vec![
            self.issuer.clone(),
            joined(&self.audiences),
            algorithms(&self.algorithms),
        ]
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Issuer", self.issuer.clone()),
            ("JWKS URI", self.jwks_uri.clone()),
            ("Audiences", joined(&self.audiences)),
            ("Algorithms", algorithms(&self.algorithms)),
            ("Token types", joined(&self.token_types)),
        ]
    }
}

impl Describe for RegistrationPolicy {
    const HEADERS: &'static [&'static str] = &["ENABLED", "SCOPES", "CLIENT TTL"];

    fn row(&self) -> Vec<String> {
        vec![
            self.enabled.to_string(),
            joined(&self.scopes),
            format!("{} s", self.client_ttl),
        ]
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Enabled", self.enabled.to_string()),
            ("Scopes", joined(&self.scopes)),
            (
                "Dynamic registration",
                self.dynamic_registration.to_string(),
            ),
            (
                "Metadata documents",
                self.client_id_metadata_documents.to_string(),
            ),
            ("Grant types", grant_names(&self.grant_types)),
            ("Client TTL", format!("{} s", self.client_ttl)),
            ("Version", self.version.to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_coalesced_event_shows_how_many_times_it_happened() {
        let mut failed = AuditEvent {
            id: "0001795000001-0000000001".into(),
            at: 1_795_000_001,
            actor: "admin:3f9a".into(),
            action: "admin.auth_failed".into(),
            target: "2001:db8::/64".into(),
            request_id: "req-1".into(),
            count: None,
        };
        assert_eq!(failed.row()[1], "admin.auth_failed");
        failed.count = Some(12);
        assert_eq!(failed.row()[1], "admin.auth_failed ×12");
        assert!(failed
            .fields()
            .contains(&("Action", "admin.auth_failed ×12".to_owned())));
    }

    #[test]
    fn a_self_registered_client_is_marked_with_its_last_use() {
        use crate::client::AdminApi;
        use portcullis_core::api::Registration;

        let api = crate::testing::sample();
        let mut client = api.client_named("billing");
        assert_eq!(client.row()[2], "confidential");
        client.registration = Some(Registration::Dynamic);
        client.public = true;
        assert_eq!(client.row()[2], "public, dynamic");
        let fields = client.fields();
        assert_eq!(
            fields.last().map(|(k, v)| (*k, v.as_str())),
            Some(("Last used", "never"))
        );
        client.registration = Some(Registration::MetadataDocument);
        client.last_used_at = Some(0);
        assert_eq!(client.row()[2], "public, metadata document");
        assert_ne!(
            client.fields().last().map(|(_, v)| v.as_str()),
            Some("never")
        );
        assert!(api.get_registration().is_ok());
    }
}
