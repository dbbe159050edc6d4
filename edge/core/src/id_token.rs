//! OpenID Connect ID tokens (OIDC Core §2, §3.1.3.6, §12.2): the claims of the token issued
//! with the access token of a grant whose scopes hold `openid`, its signature, and the check
//! of an `id_token_hint` (§3.1.2.1; RP-Initiated Logout 1.0 §2).
//!
//! Claims: `iss`, `sub` (the user id), `aud` (the client id, alone, so no `azp` is needed),
//! `exp` ([`ID_TOKEN_TTL`]), `iat`, `auth_time` (when the person signed in, carried from the
//! session through the code into the refresh family, so a refreshed ID token repeats it),
//! `nonce` (exactly as the authorization request sent it; only at the code redemption),
//! `at_hash` (§3.1.3.8: the left half of the access token's hash under the signature's hash
//! function) and `sid` (the browser session, for logout). Profile claims are answered at the
//! UserInfo endpoint, not here (§5.4: they go into the ID token only when no access token is
//! issued, which Portcullis never does).
//!
//! The signature is the client's `id_token_signed_response_alg`, `RS256` by default (§15.1),
//! from the key set's `RS256` family; `EdDSA` or `ES256` use the access-token family's current
//! key when it has that algorithm, else `RS256`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

use crate::api::KeyAlg;
use crate::clients::ClientRecord;
use crate::context::Context;
use crate::error::OAuthError;
use crate::grants::SignIn;
use crate::keys::{JwsType, LoadedKeys, Signer};
use crate::lifetimes::ID_TOKEN_TTL;
use crate::ports::Failure;
use crate::tokens::{sign_jws, timed, verify_id_token, Audience, TokenError};

/// The claims of an ID token besides `iat` and `exp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub auth_time: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// The key that signs a client's ID tokens: its `id_token_signed_response_alg` (default
/// `RS256`) when the key set holds a current key of it, else the `RS256` family's.
fn signer(keys: &LoadedKeys, wanted: Option<KeyAlg>) -> Option<&Signer> {
    if wanted.unwrap_or(KeyAlg::RS256) == keys.signer.alg {
        Some(&keys.signer)
    } else {
        keys.id_signer.as_ref()
    }
}

/// `at_hash` (OIDC Core §3.1.3.8): the left half of the access token's hash under the hash of
/// the signature's algorithm (SHA-512 for Ed25519, as RFC 8037 signs with it).
pub fn at_hash(access_token: &str, alg: KeyAlg) -> String {
    let digest = match alg {
        KeyAlg::EdDSA => Sha512::digest(access_token.as_bytes()).to_vec(),
        KeyAlg::ES256 | KeyAlg::RS256 => Sha256::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// Signs the ID token of `user`'s sign-in `sign_in` for `client`, issued with
/// `access_token`.
pub async fn issue(
    ctx: &Context<'_>,
    client: &ClientRecord,
    user: &str,
    sign_in: &SignIn,
    access_token: &str,
) -> Result<String, OAuthError> {
    let keys = ctx.keys().await?;
    let Some(signer) = signer(&keys.loaded, client.client.id_token_signed_response_alg) else {
        return Err(OAuthError::Unavailable(Failure::new(
            "internal",
            "the key set has no ID-token key",
        )));
    };
    let claims = IdClaims {
        iss: ctx.caller.issuer.clone(),
        sub: user.to_owned(),
        aud: Audience::One(client.client.client_id.clone()),
        auth_time: sign_in.auth_time,
        nonce: sign_in.nonce.clone(),
        at_hash: Some(at_hash(access_token, signer.alg)),
        sid: Some(sign_in.sid.clone()),
    };
    let claims = timed(claims, ctx.clock.now(), ID_TOKEN_TTL);
    sign_jws(signer, JwsType::IdToken, &claims, ctx.signatures)
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))
}

/// The claims of an `id_token_hint`: one of our own ID tokens (signed by a published key,
/// issued by this issuer), expired or not.
pub async fn hint(ctx: &Context<'_>, token: &str) -> Result<IdClaims, TokenError> {
    let keys = ctx.keys().await.map_err(|_| TokenError::UnknownKey)?;
    let claims: IdClaims = verify_id_token(token, &keys.loaded, ctx.signatures).await?;
    if claims.iss != ctx.caller.issuer {
        return Err(TokenError::Issuer);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests;
