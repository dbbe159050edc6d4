//! Unit tests of `end_session`.

use super::*;

fn claims(aud: &str) -> IdClaims {
    IdClaims {
        iss: "https://auth.test".into(),
        sub: "u1".into(),
        aud: Audience::One(aud.into()),
        auth_time: 0,
        nonce: None,
        at_hash: None,
        sid: None,
    }
}

#[test]
fn the_client_is_the_hints_audience_and_client_id_must_agree() {
    assert_eq!(client_of(None, None), Ok(None));
    assert_eq!(client_of(None, Some("c1")), Ok(Some("c1".into())));
    assert_eq!(client_of(Some(&claims("c1")), None), Ok(Some("c1".into())));
    assert_eq!(
        client_of(Some(&claims("c1")), Some("c1")),
        Ok(Some("c1".into()))
    );
    assert!(client_of(Some(&claims("c1")), Some("c2")).is_err());
}
