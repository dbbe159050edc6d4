//! `GET /admin/v1/grants` and `DELETE /admin/v1/grants/{id}`: the operator's view of the
//! grants people gave, read from every grant shard, and their revocation.

use crate::account::{list_grants, revoke_grant};
use crate::api::GrantList;
use crate::context::Context;
use crate::error::ApiError;
use crate::form::Form;
use crate::http::{Request, Response};

/// `GET /admin/v1/grants?user=&client=`.
pub async fn admin_list(ctx: &Context<'_>, req: &Request) -> Result<Response, ApiError> {
    let query = req.query.as_deref().unwrap_or_default();
    let params = Form::parse(query.as_bytes())
        .map_err(|_| ApiError::bad_request(None, "a query parameter is repeated"))?;
    let grants = list_grants(ctx, params.get("user"), params.get("client")).await?;
    Ok(Response::json(200, &GrantList { grants }).no_store())
}

/// `DELETE /admin/v1/grants/{id}`.
pub async fn admin_revoke(ctx: &Context<'_>, id: &str, actor: &str) -> Result<Response, ApiError> {
    if revoke_grant(ctx, actor, id, None).await? {
        Ok(Response::empty(204).no_store())
    } else {
        Err(ApiError::not_found("grant"))
    }
}
