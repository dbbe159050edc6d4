//! Server-rendered HTML for people: the login, consent, account-grants, sign-out and error
//! pages.
//!
//! Every page is self-contained (no external asset, no script) and served under a strict
//! Content Security Policy: `default-src 'none'`, inline styles only, `form-action` limited to
//! ourselves (plus, on pages whose form ends in a redirect to a client, that client's redirect
//! origin), `frame-ancestors 'none'` against clickjacking (RFC 6749 §10.13). Every value is
//! HTML-escaped; every form carries the session's CSRF token. Pages are never cached.

use std::fmt::Write;

use crate::http::Response;
use crate::ports::Failure;

/// The stylesheet, inline (allowed by `style-src 'unsafe-inline'`; there is no script at all).
const STYLE: &str = "*{box-sizing:border-box}body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f1f4f8;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1c2430}main{background:#fff;width:100%;max-width:27rem;margin:2rem 1rem;padding:2rem 2.25rem;border-radius:14px;box-shadow:0 1px 3px rgba(16,24,40,.1),0 12px 32px rgba(16,24,40,.08)}main.wide{max-width:44rem}.brand{font-size:.8rem;font-weight:700;letter-spacing:.12em;text-transform:uppercase;color:#3b5bdb;margin:0 0 .75rem}h1{font-size:1.4rem;margin:0 0 1rem}p{margin:.5rem 0 1rem;color:#4a5565}label{display:block;font-weight:600;font-size:.9rem;margin:1rem 0 .35rem}input[type=text],input[type=password]{width:100%;padding:.65rem .75rem;border:1px solid #c5ccd6;border-radius:8px;font:inherit}input:focus,button:focus{outline:3px solid #91a7ff;outline-offset:1px}button{font:inherit;font-weight:600;padding:.65rem 1.2rem;border-radius:8px;border:1px solid #3b5bdb;background:#3b5bdb;color:#fff;cursor:pointer}button.secondary{background:#fff;color:#3b5bdb}.actions{display:flex;gap:.75rem;justify-content:flex-end;margin-top:1.5rem}.full{width:100%;margin-top:1.5rem}.error{background:#fff1f0;border:1px solid #ffc9c4;color:#a8071a;padding:.6rem .8rem;border-radius:8px}ul.scopes{list-style:none;padding:0;margin:1rem 0;border:1px solid #e3e8ef;border-radius:10px}ul.scopes li{padding:.7rem .9rem;border-top:1px solid #e3e8ef}ul.scopes li:first-child{border-top:0}code{font-size:.85rem;background:#eef1f6;padding:.1rem .35rem;border-radius:4px}.muted{color:#6b7685;font-size:.9rem}table{width:100%;border-collapse:collapse;margin:1rem 0}th,td{text-align:left;padding:.6rem .5rem;border-bottom:1px solid #e3e8ef;vertical-align:top}th{font-size:.8rem;text-transform:uppercase;letter-spacing:.05em;color:#6b7685}";

/// HTML-escapes text for element content and quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A whole page with its security headers. `form_targets` are origins (besides ours) a form
/// on the page may end up at through redirects.
pub fn page(status: u16, title: &str, body: &str, wide: bool, form_targets: &[String]) -> Response {
    let mut form_action = String::from("'self'");
    for t in form_targets {
        if !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
        {
            let _ = write!(form_action, " {t}");
        }
    }
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><meta name=\"referrer\" content=\"no-referrer\"><title>{} · Portcullis</title><style>{STYLE}</style></head><body><main{}><p class=\"brand\">Portcullis</p>{body}</main></body></html>",
        esc(title),
        if wide { " class=\"wide\"" } else { "" },
    );
    Response::new(status, "text/html; charset=utf-8", html)
        .header(
            "content-security-policy",
            format!("default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"),
        )
        .header("x-frame-options", "DENY")
        .header("referrer-policy", "no-referrer")
        .no_store()
}

/// An error shown to the person instead of a redirect (RFC 6749 §4.1.2.1: when the client or
/// redirect URI is in doubt, never redirect).
pub fn error(status: u16, title: &str, message: &str) -> Response {
    page(
        status,
        title,
        &format!(
            "<h1>{}</h1><p class=\"error\" role=\"alert\">{}</p>",
            esc(title),
            esc(message)
        ),
        false,
        &[],
    )
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        esc(name),
        esc(value)
    )
}

/// The sign-in form (`username`, `password`).
pub fn login(
    csrf: &str,
    next: &str,
    username: &str,
    problem: Option<&str>,
    status: u16,
    form_targets: &[String],
) -> Response {
    let problem = problem.map_or(String::new(), |p| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", esc(p))
    });
    let body = format!(
        "<h1>Sign in</h1>{problem}<form method=\"post\" action=\"/login\">{}{}<label for=\"username\">Username</label><input type=\"text\" id=\"username\" name=\"username\" value=\"{}\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required autofocus><label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required><button type=\"submit\" class=\"full\">Sign in</button></form>",
        hidden("csrf_token", csrf),
        hidden("next", next),
        esc(username),
    );
    page(status, "Sign in", &body, false, form_targets)
}

/// The RP-Initiated Logout confirmation (OpenID Connect RP-Initiated Logout 1.0 §2): asked
/// when the request does not prove which application and person it is for. The form posts the
/// request's `params` back with the session's CSRF token and `decision=logout`.
pub fn logout_confirm(
    client_name: Option<&str>,
    params: &[(String, String)],
    csrf: &str,
    form_targets: &[String],
) -> Response {
    let from = client_name.map_or(String::new(), |n| {
        format!(" <strong>{}</strong> asks to sign you out.", esc(n))
    });
    let mut fields = hidden("csrf_token", csrf);
    for (k, v) in params {
        fields.push_str(&hidden(k, v));
    }
    let body = format!(
        "<h1>Sign out?</h1><p>{from} Do you want to sign out of Portcullis?</p><form method=\"post\" action=\"/oauth/logout\">{fields}<div class=\"actions\"><button type=\"submit\" name=\"decision\" value=\"logout\">Sign out</button></div></form>"
    );
    page(200, "Sign out", &body, false, form_targets)
}

/// The page after a sign-out that names no application to return to.
pub fn signed_out() -> Response {
    page(
        200,
        "Signed out",
        "<h1>Signed out</h1><p>You are signed out. You may close this window.</p>",
        false,
        &[],
    )
}

/// The consent form: the client's name and each requested scope's description; the original
/// authorization request travels in hidden fields.
pub fn consent(
    client_name: &str,
    user_name: &str,
    scopes: &[(String, String)],
    params: &[(String, String)],
    csrf: &str,
    form_targets: &[String],
    unverified: Option<&str>,
) -> Response {
    let mut items = String::new();
    for (name, description) in scopes {
        let text = if description.is_empty() {
            name
        } else {
            description
        };
        let _ = write!(
            items,
            "<li>{} <span class=\"muted\"><code>{}</code></span></li>",
            esc(text),
            esc(name)
        );
    }
    let mut fields = hidden("csrf_token", csrf);
    for (k, v) in params {
        fields.push_str(&hidden(k, v));
    }
    // A client that registered itself names itself: say so, and where the answer goes.
    let warning = unverified.map_or(String::new(), |host| {
        format!(
            "<p role=\"note\"><strong>This application is not verified.</strong> It registered itself and chose its own name. Your answer goes to <strong>{}</strong>: continue only if you expect that.</p>",
            esc(host)
        )
    });
    let body = format!(
        "<h1><strong>{}</strong> wants to access your account</h1>{warning}<p>Signed in as <strong>{}</strong>. Allowing lets this application:</p><ul class=\"scopes\" aria-label=\"Requested permissions\">{items}</ul><form method=\"post\" action=\"/oauth/authorize\">{fields}<div class=\"actions\"><button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button><button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button></div></form>",
        esc(client_name),
        esc(user_name),
    );
    page(200, "Authorize application", &body, false, form_targets)
}

/// One row of the account-grants page.
pub struct GrantRow {
    pub id: String,
    pub client_name: String,
    pub scopes: String,
    pub created: String,
    pub updated: String,
}

/// The signed-in user's authorised applications, each with a revoke button.
pub fn grants(user_name: &str, rows: &[GrantRow], csrf: &str, notice: Option<&str>) -> Response {
    let notice = notice.map_or(String::new(), |n| {
        format!("<p role=\"status\">{}</p>", esc(n))
    });
    let table = if rows.is_empty() {
        "<p class=\"muted\">You have not authorised any application.</p>".to_owned()
    } else {
        let mut t = String::from("<table><thead><tr><th scope=\"col\">Application</th><th scope=\"col\">Access</th><th scope=\"col\">Granted</th><th scope=\"col\">Last changed</th><th scope=\"col\">Action</th></tr></thead><tbody>");
        for r in rows {
            let _ = write!(
                t,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/account/grants\">{}{}<button type=\"submit\" class=\"secondary\" aria-label=\"Revoke access for {}\">Revoke</button></form></td></tr>",
                esc(&r.client_name),
                esc(&r.scopes),
                esc(&r.created),
                esc(&r.updated),
                hidden("csrf_token", csrf),
                hidden("grant_id", &r.id),
                esc(&r.client_name),
            );
        }
        t.push_str("</tbody></table>");
        t
    };
    let body = format!(
        "<h1>Applications you authorised</h1><p>Signed in as <strong>{}</strong>. Revoking stops an application at once.</p>{notice}{table}<form method=\"post\" action=\"/logout\">{}<button type=\"submit\" class=\"secondary\">Sign out</button></form>",
        esc(user_name),
        hidden("csrf_token", csrf),
    );
    page(200, "Your applications", &body, true, &[])
}

/// Where a sign-in returns when `next` is absent or not allowed.
pub const ACCOUNT_PAGE: &str = "/account/grants";

/// 503: `what` is briefly unavailable; the person may retry, the log gets the `failure`.
pub fn unavailable(what: &str, failure: impl Into<Failure>) -> Response {
    error(
        503,
        "Temporarily unavailable",
        &format!("{what} is briefly unavailable. Please retry."),
    )
    .failed(failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_values_and_carry_a_strict_csp() {
        let r = login("c<s", "/x\"y", "<b>", Some("bad & worse"), 401, &[]);
        let html = String::from_utf8(r.body.clone()).unwrap();
        assert!(html.contains("&lt;b&gt;") && !html.contains("<b>"));
        assert!(html.contains("/x&quot;y") && html.contains("bad &amp; worse"));
        let csp = r.header_value("content-security-policy").unwrap();
        assert!(csp.starts_with("default-src 'none'"));
        assert!(csp.contains("form-action 'self';") && csp.contains("frame-ancestors 'none'"));
        let r = error(400, "x", "y");
        assert_eq!(r.header_value("cache-control"), Some("no-store"));
        let r = page(
            200,
            "t",
            "",
            false,
            &["https://app.test".into(), "bad;x".into()],
        );
        let csp = r.header_value("content-security-policy").unwrap();
        assert!(csp.contains("form-action 'self' https://app.test;"));
    }
}
