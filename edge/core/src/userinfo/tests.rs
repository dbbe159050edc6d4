//! Unit tests of `userinfo`.

use super::*;

#[test]
fn scopes_release_their_claims_only() {
    let profile = Profile {
        name: Some("Alice".into()),
        email: Some("a@example.com".into()),
        email_verified: Some(false),
        ..Profile::default()
    };
    let claims = |scope: &str| Value::Object(released("u1", &profile, &ScopeSet::of_claim(scope)));
    assert_eq!(claims("openid"), serde_json::json!({"sub": "u1"}));
    assert_eq!(
        claims("openid profile"),
        serde_json::json!({"sub": "u1", "name": "Alice"})
    );
    assert_eq!(
        claims("openid email"),
        serde_json::json!({"sub": "u1", "email": "a@example.com", "email_verified": false})
    );
}
