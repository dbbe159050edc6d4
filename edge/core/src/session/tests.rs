//! Unit tests of `session`.

use super::*;
use crate::http::Method;
use crate::testing::Harness;

#[test]
fn session_cookie_round_trips_and_refuses_tampering() {
    let h = Harness::default();
    let ctx = &h.context();
    {
        let req = Request::new(Method::Get, "https://auth.test", "/login");
        let s = Session::start(
            ctx,
            Some(SessionUser {
                id: "u1".into(),
                name: "alice".into(),
                generation: 0,
                auth_time: 0,
            }),
        );
        let cookie = s.cookie(ctx, &req);
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
        assert!(cookie.contains("; Secure"));
        let value = cookie.split(';').next().unwrap();
        let back = Session::from_request(ctx, &req.clone().with_header("cookie", value));
        assert_eq!(back.as_ref(), Some(&s));
        let mac = value.split_once('.').unwrap().1;
        let other = URL_SAFE_NO_PAD.encode(br#"{"sid":"x","user":null,"exp":9999999999}"#);
        let forged = format!("{COOKIE}={other}.{mac}");
        assert!(Session::from_request(ctx, &req.clone().with_header("cookie", &forged)).is_none());
        assert!(s.csrf_matches(ctx, Some(&s.csrf(ctx))));
        assert!(!Session::start(ctx, None).csrf_matches(ctx, Some(&s.csrf(ctx))));
        let local = Request::new(Method::Get, "http://127.0.0.1:8787", "/login");
        assert!(!s.cookie(ctx, &local).contains("Secure"));
    }
}

#[test]
fn https_sessions_use_the_host_prefix_and_only_that_name() {
    let h = Harness::default();
    let ctx = &h.context();
    let s = Session::start(ctx, None);
    for origin in ["https://auth.test", "https://127.0.0.1:8443"] {
        let req = Request::new(Method::Get, origin, "/login");
        let cookie = s.cookie(ctx, &req);
        assert!(cookie.starts_with("__Host-portcullis_session="), "{cookie}");
        assert!(cookie.contains("; Path=/;") && cookie.contains("; Secure"));
        assert!(!cookie.contains("Domain"));
        let pair = cookie.split(';').next().unwrap();
        let back = Session::from_request(ctx, &req.clone().with_header("cookie", pair));
        assert_eq!(back.as_ref(), Some(&s));
        let plain = pair.replacen("__Host-", "", 1);
        assert!(Session::from_request(ctx, &req.with_header("cookie", &plain)).is_none());
    }
}

#[test]
fn own_cookies_are_kept_from_origins_both_ways() {
    assert_eq!(
        without_own_cookies("a=1; portcullis_session=x.y;b=2;__Host-portcullis_session=z"),
        Some("a=1; b=2".into())
    );
    assert_eq!(without_own_cookies("portcullis_session=x"), None);
    assert_eq!(
        without_own_cookies("portcullis_session_other=1"),
        Some("portcullis_session_other=1".into())
    );
    for own in [
        "portcullis_session=evil; Path=/",
        "__Host-portcullis_session=; Max-Age=0",
        " __host-Portcullis_Session =x",
    ] {
        assert!(is_own_set_cookie(own), "{own}");
    }
    assert!(!is_own_set_cookie("app=1; Path=/portcullis_session"));
}
