//! Every rule Portcullis applies to a URI, in one place: absolute `http(s)` URIs (RFC 3986),
//! redirect URIs and their exact matching with the loopback port exception (RFC 6749 §3.1.2,
//! RFC 8252 §7.3), audiences (RFC 8707 §2), origins, trusted issuers' JWKS URIs, and what
//! counts as loopback.

/// Longest origin a route or trusted issuer may name.
const MAX_ORIGIN_LEN: usize = 2048;

/// The scheme and host of an absolute `http(s)` URI, or why it is not one.
pub fn split_http_uri(uri: &str) -> Result<(&str, &str), &'static str> {
    if uri.len() > 2000 {
        return Err("longer than 2000 characters");
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains whitespace or control characters");
    }
    let (scheme, rest) = uri.split_once("://").ok_or("not an absolute URL")?;
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return Err("scheme must be https (or http for loopback)");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not carry user information");
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    if host.is_empty() {
        return Err("has no host");
    }
    Ok((scheme, host))
}

/// Whether `host` names the loopback interface: `localhost` or a loopback IP literal
/// ([`is_loopback_ip`]). A name that merely starts with `127.` is not one.
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || is_loopback_ip(host)
}

/// Whether `host` is a loopback IP literal: `127.0.0.0/8`, or `::1` (bracketed or not).
pub fn is_loopback_ip(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// A redirect URI must be absolute, carry no fragment (RFC 6749 §3.1.2) and use https unless it
/// points at loopback (RFC 8252 §7.3).
pub fn check_redirect_uri(uri: &str) -> Result<(), &'static str> {
    if uri.contains('#') {
        return Err("must not contain a fragment");
    }
    let (scheme, host) = split_http_uri(uri)?;
    if scheme.eq_ignore_ascii_case("http") && !is_loopback_host(host) {
        return Err("http is allowed only for loopback hosts");
    }
    Ok(())
}

/// An audience must be an absolute http(s) URI without fragment (RFC 8707 §2).
pub fn check_absolute_uri(uri: &str) -> Result<(), &'static str> {
    if uri.contains('#') {
        return Err("must not contain a fragment");
    }
    split_http_uri(uri).map(|_| ())
}

/// Whether `given` is `registered`, exactly, or differs from a loopback-IP `registered` only in
/// its port (RFC 8252 §7.3).
pub fn redirect_uri_matches(registered: &str, given: &str) -> bool {
    if registered == given {
        return true;
    }
    match (split_loopback(registered), split_loopback(given)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// `http://` + a loopback IP literal (`127.0.0.0/8` or `[::1]`, not `localhost`: RFC 8252
/// §7.3) and the rest after the port, for a loopback redirect URI.
fn split_loopback(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let close = v6.find(']')?;
            (&authority[..close + 2], &v6[close + 1..])
        }
        None => authority.split_at(authority.find(':').unwrap_or(authority.len())),
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    (is_loopback_ip(host) && port_ok).then_some((host, tail))
}

/// `scheme://host[:port]` of an absolute http(s) URI.
pub fn origin_of(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    (!authority.is_empty() && !authority.contains('@'))
        .then(|| format!("{}://{authority}", scheme.to_ascii_lowercase()))
}

/// An http(s) URI without its query and fragment, normalised for comparison as RFC 3986
/// §6.2.2-6.2.3 allow: scheme and host in lower case, the scheme's default port dropped, an
/// empty path as `/`. `None` when it is not an http(s) URI with a host.
pub fn normalized_target(uri: &str) -> Option<String> {
    let uri = uri.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let mut authority = authority.to_ascii_lowercase();
    if authority.ends_with(default_port) {
        authority.truncate(authority.len() - default_port.len());
    }
    Some(format!("{scheme}://{authority}{path}"))
}

/// Whether `origin` is `http(s)://host[:port]` with nothing after it.
pub fn is_origin(origin: &str) -> bool {
    let Some(authority) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    !authority.is_empty()
        && origin.len() <= MAX_ORIGIN_LEN
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

/// Whether a `scheme://host[:port]` origin is on loopback.
pub fn is_loopback_origin(origin: &str) -> bool {
    split_http_uri(origin).is_ok_and(|(_, host)| is_loopback_host(host))
}

pub fn is_jwks_uri(uri: &str) -> bool {
    let host_end = uri
        .find("://")
        .map(|p| p + 3)
        .and_then(|start| uri[start..].find(['/', '?']).map(|p| start + p))
        .unwrap_or(uri.len());
    uri.len() <= 2048
        && !uri.contains(['#', ' ', '@'])
        && is_origin(&uri[..host_end])
        && (uri.starts_with("https://") || is_loopback_origin(&uri[..host_end]))
}
