//! Who is calling the token, revocation and introspection endpoints: their form body read
//! under the endpoints' shared rules (RFC 6749 §3.2, one value per parameter) and the client
//! authenticated (RFC 6749 §2.3.1, Basic or form credentials; public clients by `client_id`).

use std::rc::Rc;

use crate::clients::ClientRecord;
use crate::context::Context;
use crate::error::OAuthError;
use crate::form::{parse_basic, posted_form, Form, FormError};
use crate::http::Request;

/// Parses a form body under the endpoint rules shared by token, revocation and introspection.
pub fn read_form(req: &Request) -> Result<Form, OAuthError> {
    let form = posted_form(req);
    let read = !matches!(form, Err(FormError::TooLarge | FormError::NotAForm));
    if let (true, Some(q)) = (read, &req.query) {
        if form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "client_secret") {
            return Err(OAuthError::InvalidRequest(
                "credentials must not be sent in the query string".into(),
            ));
        }
    }
    form.map_err(|e| match e {
        FormError::TooLarge => OAuthError::PayloadTooLarge,
        FormError::NotAForm => {
            OAuthError::InvalidRequest("the body must be application/x-www-form-urlencoded".into())
        }
        FormError::Malformed(e) => e,
    })
}

/// Authenticates the calling client (RFC 6749 §2.3.1). Public clients identify themselves with
/// `client_id` alone.
pub async fn authenticate_client(
    ctx: &Context<'_>,
    req: &Request,
    form: &Form,
) -> Result<Rc<ClientRecord>, OAuthError> {
    let header = req
        .header("authorization")
        .map_err(|_| OAuthError::InvalidRequest("the Authorization header is repeated".into()))?;
    let (client_id, secret) = match header {
        Some(value) => {
            if form.contains("client_secret") {
                return Err(OAuthError::InvalidRequest(
                    "use one client authentication method, not two".into(),
                ));
            }
            let creds = parse_basic(value)?;
            if form
                .get("client_id")
                .is_some_and(|id| id != creds.client_id)
            {
                return Err(OAuthError::InvalidRequest(
                    "client_id differs from the authenticated client".into(),
                ));
            }
            (creds.client_id, Some(creds.client_secret))
        }
        None => (
            form.get("client_id")
                .ok_or(OAuthError::InvalidClient)?
                .to_owned(),
            form.get("client_secret").map(str::to_owned),
        ),
    };
    if client_id.len() > 256 {
        return Err(OAuthError::InvalidClient);
    }
    let client = crate::client_document::client(ctx, &client_id).await?;
    let now = ctx.clock.now();
    let accepted = match (&client, &secret) {
        (Some(c), Some(s)) => !c.client.public && c.secret_matches(ctx.secrets, s, now),
        (Some(c), None) => c.client.public,
        (None, Some(s)) => {
            // Do the same work as for a known client so timing tells nothing.
            let _ = ctx.secrets.hash_client_secret(s);
            false
        }
        (None, None) => false,
    };
    match client {
        Some(c) if accepted && !c.client.disabled => Ok(c),
        _ => Err(OAuthError::InvalidClient),
    }
}
