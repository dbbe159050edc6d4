//! The admin API client: the [`AdminApi`] trait the app talks to, and [`Api`], its one
//! implementation (`/admin/v1`, bearer token, JSON bodies from `portcullis_core::api`) over a
//! [`Transport`]: [`Http`] in the app, the real core run in-process in tests.
//!
//! Every failure becomes a [`Failure`] carrying the server's own `{"error", "error_description",
//! "field"}` body, so the interface and the CLI can show it as the server said it. Conditional
//! writes send `If-Match` with the record's version (the server's `ETag`), so two operators never
//! silently overwrite each other (RFC 9110 §13.1.1).

use std::fmt;
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use portcullis_core::api::{
    AuditPage, AuditQuery, Client, ClientCreated, ClientList, ClientPatch, GrantList, GrantView,
    IssuerTable, IssuersBody, KeyList, KeyRotation, NewClient, NewScope, NewUser, RouteTable,
    RoutesBody, Scope, ScopeList, SecretRotation, User, UserList, UserPatch,
};
use portcullis_core::error::ErrorBody;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::server::ServerUrl;

/// Why an admin call failed: the server's error body, or a transport problem (no status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: Option<u16>,
    pub error: String,
    pub description: String,
    pub field: Option<String>,
}

impl Failure {
    /// A failure that never reached the server (or got no usable answer).
    pub fn transport(description: impl Into<String>) -> Self {
        Self {
            status: None,
            error: "unreachable".into(),
            description: description.into(),
            field: None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(status) = self.status {
            write!(f, "{status} ")?;
        }
        write!(f, "{}: {}", self.error, self.description)?;
        if let Some(field) = &self.field {
            write!(f, " (field {field})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {}

/// The CLI reports a failure as its one-line text.
impl From<Failure> for String {
    fn from(f: Failure) -> Self {
        f.to_string()
    }
}

/// The result of every admin call.
pub type ApiResult<T> = Result<T, Failure>;

/// The query of `GET /admin/v1/grants`: only one user's grants, only one client's, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GrantFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

/// Everything the operator app asks of the server: [`Api`] over HTTP, or in tests over the
/// real core run in-process.
pub trait AdminApi: Send + Sync {
    /// `GET /.well-known/oauth-authorization-server`: is the server up? Answers the round trip.
    fn health(&self) -> ApiResult<Duration>;
    fn list_clients(&self) -> ApiResult<Vec<Client>>;
    fn get_client(&self, client_id: &str) -> ApiResult<Client>;
    fn create_client(&self, new: &NewClient) -> ApiResult<ClientCreated>;
    /// `PATCH` guarded by `If-Match: "<version>"`.
    fn update_client(
        &self,
        client_id: &str,
        version: u64,
        patch: &ClientPatch,
    ) -> ApiResult<Client>;
    fn delete_client(&self, client_id: &str, version: u64) -> ApiResult<()>;
    /// A new secret (shown once); the previous one keeps working as `rotation` says.
    fn rotate_secret(&self, client_id: &str, rotation: &SecretRotation)
        -> ApiResult<ClientCreated>;
    fn list_scopes(&self) -> ApiResult<Vec<Scope>>;
    fn get_scope(&self, name: &str) -> ApiResult<Scope>;
    fn create_scope(&self, new: &NewScope) -> ApiResult<Scope>;
    fn delete_scope(&self, name: &str, version: u64) -> ApiResult<()>;
    fn list_users(&self) -> ApiResult<Vec<User>>;
    fn get_user(&self, id: &str) -> ApiResult<User>;
    fn create_user(&self, new: &NewUser) -> ApiResult<User>;
    /// `PATCH` guarded by `If-Match: "<version>"`.
    fn update_user(&self, id: &str, version: u64, patch: &UserPatch) -> ApiResult<User>;
    fn delete_user(&self, id: &str, version: u64) -> ApiResult<()>;
    /// Signs a user out everywhere: every browser session of theirs ends at once.
    fn sign_out_user(&self, id: &str) -> ApiResult<()>;
    fn list_keys(&self) -> ApiResult<KeyList>;
    fn rotate_keys(&self, rotation: KeyRotation) -> ApiResult<KeyList>;
    /// Revokes a signing key outright (a compromise); answers the key set after it.
    fn revoke_key(&self, kid: &str) -> ApiResult<KeyList>;
    /// One page of the audit log, newest first.
    fn audit(&self, query: &AuditQuery) -> ApiResult<AuditPage>;
    /// The gateway's route table.
    fn get_routes(&self) -> ApiResult<RouteTable>;
    /// Replaces the whole route table, guarded by `If-Match: "<version>"`.
    fn put_routes(&self, version: u64, body: &RoutesBody) -> ApiResult<RouteTable>;
    /// The grants users have given clients (all of them, or those `filter` names).
    fn list_grants(&self, filter: &GrantFilter) -> ApiResult<Vec<GrantView>>;
    /// Revokes a grant and every token issued under it.
    fn revoke_grant(&self, id: &str) -> ApiResult<()>;
    /// The external issuers whose tokens the gateway trusts.
    fn get_issuers(&self) -> ApiResult<IssuerTable>;
    /// Replaces the whole issuer list, guarded by `If-Match: "<version>"`.
    fn put_issuers(&self, version: u64, body: &IssuersBody) -> ApiResult<IssuerTable>;
}

/// One admin request as [`Api`] built it; a [`Transport`] only carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub method: &'static str,
    /// The path with its query, e.g. `/admin/v1/audit?limit=50`.
    pub path: String,
    /// Lower-case names: `authorization`, `accept`, `if-match`, `content-type`.
    pub headers: Vec<(&'static str, String)>,
    /// The body text (JSON for the admin API, a form for the token endpoint), when the call
    /// sends one.
    pub body: Option<String>,
}

/// What came back: the status, the body text, and how long the round trip took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub took: Duration,
}

/// Carries an [`Outgoing`] request to a server and its [`Reply`] back. What the reply means is
/// decided by [`Api`], once, whatever carried it.
pub trait Transport: Send + Sync {
    /// Sends one request; a [`Failure`] only when no answer came back at all.
    fn exchange(&self, request: Outgoing) -> ApiResult<Reply>;
}

/// The admin API over a [`Transport`]: builds each request (path, bearer token, `If-Match`,
/// JSON body) and reads each reply (success body, or the server's error as a [`Failure`]).
pub struct Api<T> {
    pub(crate) transport: T,
    token: String,
}

impl<T: fmt::Debug> fmt::Debug for Api<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token.
        f.debug_struct("Api")
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

/// HTTP with `ureq` to the server at `base`.
pub struct Http {
    base: String,
    agent: ureq::Agent,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Http {
    /// HTTP to the server at `base` (e.g. `http://127.0.0.1:8787`), checked for the tokens'
    /// and secrets' sake.
    pub fn new(base: &ServerUrl) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .into();
        Self {
            base: base.as_str().to_owned(),
            agent,
        }
    }
}

impl Transport for Http {
    fn exchange(&self, request: Outgoing) -> ApiResult<Reply> {
        let started = Instant::now();
        let mut req = ureq::http::Request::builder()
            .method(request.method)
            .uri(format!("{}{}", self.base, request.path));
        for (name, value) in &request.headers {
            req = req.header(*name, value);
        }
        let built = req
            .body(request.body.unwrap_or_default())
            .map_err(|e| Failure::transport(e.to_string()))?;
        let resp = self
            .agent
            .run(built)
            .map_err(|e| Failure::transport(format!("{}: {e}", self.base)))?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .read_to_string()
            .map_err(|e| Failure::transport(e.to_string()))?;
        Ok(Reply {
            status,
            body,
            took: started.elapsed(),
        })
    }
}

impl<T: Transport> Api<T> {
    /// The admin API over `transport`, authenticating with `token`.
    pub fn over(transport: T, token: String) -> Self {
        Self { transport, token }
    }

    fn send(
        &self,
        method: &'static str,
        path: &str,
        body: Option<String>,
        if_match: Option<u64>,
    ) -> ApiResult<Reply> {
        let mut headers = vec![
            ("authorization", format!("Bearer {}", self.token)),
            ("accept", "application/json".to_owned()),
        ];
        if let Some(version) = if_match {
            headers.push(("if-match", format!("\"{version}\"")));
        }
        if body.is_some() {
            headers.push(("content-type", "application/json".to_owned()));
        }
        let reply = self.transport.exchange(Outgoing {
            method,
            path: path.to_owned(),
            headers,
            body,
        })?;
        if (200..300).contains(&reply.status) {
            Ok(reply)
        } else {
            Err(failure_from(reply.status, &reply.body))
        }
    }

    fn call<U: DeserializeOwned>(
        &self,
        method: &'static str,
        path: &str,
        body: Option<String>,
        if_match: Option<u64>,
    ) -> ApiResult<U> {
        let reply = self.send(method, path, body, if_match)?;
        serde_json::from_str(&reply.body).map_err(|e| Failure {
            status: Some(reply.status),
            error: "unexpected_answer".into(),
            description: format!("the server's answer does not parse: {e}"),
            field: None,
        })
    }

    fn get<U: DeserializeOwned>(&self, path: &str) -> ApiResult<U> {
        self.call("GET", path, None, None)
    }

    fn post<U: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> ApiResult<U> {
        self.call("POST", path, Some(json(body)?), None)
    }

    fn patch<U: DeserializeOwned>(
        &self,
        path: &str,
        version: u64,
        body: &impl Serialize,
    ) -> ApiResult<U> {
        self.call("PATCH", path, Some(json(body)?), Some(version))
    }

    fn put<U: DeserializeOwned>(
        &self,
        path: &str,
        version: u64,
        body: &impl Serialize,
    ) -> ApiResult<U> {
        self.call("PUT", path, Some(json(body)?), Some(version))
    }

    fn delete(&self, path: &str, version: Option<u64>) -> ApiResult<()> {
        self.send("DELETE", path, None, version).map(|_| ())
    }
}

/// The server's error body as a [`Failure`]; a body that is not one still gives a readable line.
pub(crate) fn failure_from(status: u16, text: &str) -> Failure {
    match serde_json::from_str::<ErrorBody>(text) {
        Ok(body) => Failure {
            status: Some(status),
            error: body.error,
            description: body.error_description.unwrap_or_default(),
            field: body.field,
        },
        Err(_) => Failure {
            status: Some(status),
            error: "http_error".into(),
            description: text.chars().take(200).collect(),
            field: None,
        },
    }
}

/// A request body as JSON text.
fn json(body: &impl Serialize) -> ApiResult<String> {
    serde_json::to_string(body).map_err(|e| Failure::transport(e.to_string()))
}

/// A struct's set fields as `?a=1&b=x` (empty when none is set).
fn query_string(query: &impl Serialize) -> ApiResult<String> {
    let value = serde_json::to_value(query).map_err(|e| Failure::transport(e.to_string()))?;
    let mut pairs: Vec<String> = value
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let text = v.as_str().map_or_else(|| v.to_string(), ToOwned::to_owned);
            format!("{}={}", segment(k), segment(&text))
        })
        .collect();
    pairs.sort();
    Ok(if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    })
}

/// One path segment, percent-encoded.
pub fn segment(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

impl<T: Transport> AdminApi for Api<T> {
    fn health(&self) -> ApiResult<Duration> {
        self.send("GET", "/.well-known/oauth-authorization-server", None, None)
            .map(|reply| reply.took)
    }

    fn list_clients(&self) -> ApiResult<Vec<Client>> {
        self.get::<ClientList>("/admin/v1/clients")
            .map(|l| l.clients)
    }

    fn get_client(&self, client_id: &str) -> ApiResult<Client> {
        self.get(&format!("/admin/v1/clients/{}", segment(client_id)))
    }

    fn create_client(&self, new: &NewClient) -> ApiResult<ClientCreated> {
        self.post("/admin/v1/clients", new)
    }

    fn update_client(
        &self,
        client_id: &str,
        version: u64,
        patch: &ClientPatch,
    ) -> ApiResult<Client> {
        self.patch(
            &format!("/admin/v1/clients/{}", segment(client_id)),
            version,
            patch,
        )
    }

    fn delete_client(&self, client_id: &str, version: u64) -> ApiResult<()> {
        self.delete(
            &format!("/admin/v1/clients/{}", segment(client_id)),
            Some(version),
        )
    }

    fn rotate_secret(
        &self,
        client_id: &str,
        rotation: &SecretRotation,
    ) -> ApiResult<ClientCreated> {
        self.post(
            &format!("/admin/v1/clients/{}/secrets", segment(client_id)),
            rotation,
        )
    }

    fn list_scopes(&self) -> ApiResult<Vec<Scope>> {
        self.get::<ScopeList>("/admin/v1/scopes").map(|l| l.scopes)
    }

    fn get_scope(&self, name: &str) -> ApiResult<Scope> {
        self.get(&format!("/admin/v1/scopes/{}", segment(name)))
    }

    fn create_scope(&self, new: &NewScope) -> ApiResult<Scope> {
        self.post("/admin/v1/scopes", new)
    }

    fn delete_scope(&self, name: &str, version: u64) -> ApiResult<()> {
        self.delete(
            &format!("/admin/v1/scopes/{}", segment(name)),
            Some(version),
        )
    }

    fn list_users(&self) -> ApiResult<Vec<User>> {
        self.get::<UserList>("/admin/v1/users").map(|l| l.users)
    }

    fn get_user(&self, id: &str) -> ApiResult<User> {
        self.get(&format!("/admin/v1/users/{}", segment(id)))
    }

    fn create_user(&self, new: &NewUser) -> ApiResult<User> {
        self.post("/admin/v1/users", new)
    }

    fn update_user(&self, id: &str, version: u64, patch: &UserPatch) -> ApiResult<User> {
        self.patch(&format!("/admin/v1/users/{}", segment(id)), version, patch)
    }

    fn delete_user(&self, id: &str, version: u64) -> ApiResult<()> {
        self.delete(&format!("/admin/v1/users/{}", segment(id)), Some(version))
    }

    fn sign_out_user(&self, id: &str) -> ApiResult<()> {
        let path = format!("/admin/v1/users/{}/sessions/revoke", segment(id));
        self.send("POST", &path, None, None).map(|_| ())
    }

    fn list_keys(&self) -> ApiResult<KeyList> {
        self.get("/admin/v1/keys")
    }

    fn rotate_keys(&self, rotation: KeyRotation) -> ApiResult<KeyList> {
        self.post("/admin/v1/keys/rotate", &rotation)
    }

    fn revoke_key(&self, kid: &str) -> ApiResult<KeyList> {
        self.post(
            &format!("/admin/v1/keys/{}/revoke", segment(kid)),
            &serde_json::Map::new(),
        )
    }

    fn audit(&self, query: &AuditQuery) -> ApiResult<AuditPage> {
        self.get(&format!("/admin/v1/audit{}", query_string(query)?))
    }

    fn get_routes(&self) -> ApiResult<RouteTable> {
        self.get("/admin/v1/routes")
    }

    fn put_routes(&self, version: u64, body: &RoutesBody) -> ApiResult<RouteTable> {
        self.put("/admin/v1/routes", version, body)
    }

    fn list_grants(&self, filter: &GrantFilter) -> ApiResult<Vec<GrantView>> {
        self.get::<GrantList>(&format!("/admin/v1/grants{}", query_string(filter)?))
            .map(|l| l.grants)
    }

    fn revoke_grant(&self, id: &str) -> ApiResult<()> {
        self.delete(&format!("/admin/v1/grants/{}", segment(id)), None)
    }

    fn get_issuers(&self) -> ApiResult<IssuerTable> {
        self.get("/admin/v1/issuers")
    }

    fn put_issuers(&self, version: u64, body: &IssuersBody) -> ApiResult<IssuerTable> {
        self.put("/admin/v1/issuers", version, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_error_body_keeps_code_reason_and_field() {
        let f = failure_from(
            422,
            r#"{"error":"invalid_value","error_description":"must be https","field":"redirect_uris"}"#,
        );
        assert_eq!(f.error, "invalid_value");
        assert_eq!(
            f.to_string(),
            "422 invalid_value: must be https (field redirect_uris)"
        );
    }

    #[test]
    fn non_json_error_still_reads_as_one_line() {
        let f = failure_from(502, "bad gateway");
        assert_eq!(f.to_string(), "502 http_error: bad gateway");
    }

    #[test]
    fn audit_filters_become_an_escaped_query() {
        let q = AuditQuery {
            action: Some("client.create".into()),
            target: Some("a b".into()),
            limit: Some(20),
            ..AuditQuery::default()
        };
        assert_eq!(
            query_string(&q).expect("query"),
            "?action=client%2Ecreate&limit=20&target=a%20b"
        );
        assert_eq!(query_string(&AuditQuery::default()).expect("query"), "");
    }

    #[test]
    fn grant_filters_become_the_user_and_client_parameters() {
        let f = GrantFilter {
            user: Some("u-1".into()),
            client: Some("c 2".into()),
        };
        assert_eq!(query_string(&f).expect("query"), "?client=c%202&user=u%2D1");
        assert_eq!(query_string(&GrantFilter::default()).expect("query"), "");
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }
}
