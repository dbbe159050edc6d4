//! Every rule Portcullis applies to a URI, in one place: absolute `http(s)` URIs (RFC 3986),
//! redirect URIs and their exact matching with the loopback port exception (RFC 6749 §3.1.2,
//! RFC 8252 §7.3), audiences (RFC 8707 §2), origins, trusted issuers' JWKS URIs, and what
//! counts as loopback; resource URIs and their RFC 9728 metadata address; client ID metadata
//! document URLs; the private-use URI schemes of native apps (RFC 8252 §7.1).

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
/// points at loopback (RFC 8252 §7.3), or be a native app's private-use scheme URI
/// ([`is_private_use_uri`], RFC 8252 §7.1).
pub fn check_redirect_uri(uri: &str) -> Result<(), &'static str> {
    if uri.contains('#') {
        return Err("must not contain a fragment");
    }
    if is_private_use_uri(uri) {
        return Ok(());
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

/// Whether `uri` uses a private-use scheme of a native app (RFC 8252 §7.1): a reverse domain
/// name (at least one `.`), letters, digits, `+`, `-` and `.` (RFC 3986 §3.1), followed by
/// `:` and a path, without whitespace, control characters or a fragment.
pub fn is_private_use_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    scheme.contains('.')
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && !rest.is_empty()
        && uri.len() <= 2000
        && !uri.contains('#')
        && !uri.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Whether `issuer` is a local run's: `http://` on a loopback IP literal. Only then are
/// `http://` resource URIs and client ID URLs on loopback accepted, so that a whole flow can be
/// tested offline while a deployed worker, whose issuer is https, never accepts them.
pub fn is_local_issuer(issuer: &str) -> bool {
    issuer
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
        && split_http_uri(issuer).is_ok_and(|(_, host)| is_loopback_ip(host))
}

/// An https URL, or on a local run ([`is_local_issuer`]) an http URL on a loopback IP
/// literal; never a fragment.
fn check_https_url(uri: &str, local: bool) -> Result<(), &'static str> {
    if uri.contains('#') {
        return Err("must not contain a fragment");
    }
    if uri.contains(['"', '\\', '<', '>']) {
        return Err("must not contain quotes, backslashes or angle brackets");
    }
    let (scheme, host) = split_http_uri(uri)?;
    if scheme.eq_ignore_ascii_case("http") && !(local && is_loopback_ip(host)) {
        return Err("must be https (http only on loopback when the issuer itself is)");
    }
    Ok(())
}

/// A route's resource URI (RFC 8707 §2, RFC 9728 §1.2): https (see [`check_https_url`]), no
/// fragment, no query.
pub fn check_resource_uri(uri: &str, local: bool) -> Result<(), &'static str> {
    check_https_url(uri, local)?;
    if uri.contains('?') {
        return Err("must not contain a query");
    }
    Ok(())
}

/// A client ID metadata document URL: https (see [`check_https_url`]) with a path that is not
/// just `/`, no query, and no `.` or `..` segments.
pub fn check_client_id_url(uri: &str, local: bool) -> Result<(), &'static str> {
    check_resource_uri(uri, local)?;
    let path = path_of(uri);
    if path.is_empty() || path == "/" {
        return Err("must have a path");
    }
    if path.split('/').any(|seg| seg == "." || seg == "..") {
        return Err("must not contain dot segments");
    }
    Ok(())
}

/// The path of an absolute URI (from the first `/` after the authority; empty when none).
pub fn path_of(uri: &str) -> &str {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    rest.find('/').map_or("", |i| &rest[i..])
}

/// Where RFC 9728 §3.1 puts the metadata of `resource`: its origin, then
/// `/.well-known/oauth-protected-resource`, then its path (a lone `/` path is left out).
pub fn resource_metadata_url(resource: &str) -> Option<String> {
    let origin = origin_of(resource)?;
    Some(format!(
        "{origin}{}",
        resource_metadata_path(path_of(resource))
    ))
}

/// The path at which the metadata of a resource with path `path` is served.
pub fn resource_metadata_path(path: &str) -> String {
    format!("{PROTECTED_RESOURCE_PREFIX}{}", path.trim_end_matches('/'))
}

/// `uri` with `params` form-encoded onto its query (or, with `fragment`, as its fragment);
/// `uri` as it is when there are none.
pub fn with_params(uri: &str, fragment: bool, params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        return uri.to_owned();
    }
    let mut ser = form_urlencoded::Serializer::new(String::new());
    ser.extend_pairs(params);
    let sep = if fragment {
        '#'
    } else if uri.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{uri}{sep}{}", ser.finish())
}

/// The well-known prefix of RFC 9728 metadata.
pub const PROTECTED_RESOURCE_PREFIX: &str = "/.well-known/oauth-protected-resource";

#[cfg(test)]
mod resource_tests {
    use super::*;

    #[test]
    fn resource_uris_are_https_or_loopback_http_on_a_local_run() {
        assert!(check_resource_uri("https://api.example.com/mcp", false).is_ok());
        assert!(check_resource_uri("https://api.example.com", false).is_ok());
        for bad in [
            "http://127.0.0.1:8787/mcp",
            "https://api.example.com/mcp#x",
            "https://api.example.com/mcp?x=1",
            "https://u@api.example.com/mcp",
            "ftp://api.example.com/mcp",
            "/mcp",
        ] {
            assert!(check_resource_uri(bad, false).is_err(), "{bad}");
        }
        assert!(check_resource_uri("http://127.0.0.1:8787/mcp", true).is_ok());
        assert!(check_resource_uri("http://[::1]:8787/mcp", true).is_ok());
        assert!(check_resource_uri("http://localhost:8787/mcp", true).is_err());
        assert!(check_resource_uri("http://example.com/mcp", true).is_err());
    }

    #[test]
    fn only_an_http_loopback_issuer_is_local() {
        assert!(is_local_issuer("http://127.0.0.1:8787"));
        assert!(is_local_issuer("HTTP://127.0.0.1"));
        assert!(!is_local_issuer("https://127.0.0.1:8787"));
        assert!(!is_local_issuer("http://localhost:8787"));
        assert!(!is_local_issuer("http://example.com"));
        assert!(!is_local_issuer("http://127.0.0.1.example.com"));
    }

    #[test]
    fn client_id_urls_need_a_path_and_no_dot_segments() {
        assert!(check_client_id_url("https://app.example.com/client.json", false).is_ok());
        for bad in [
            "https://app.example.com",
            "https://app.example.com/",
            "https://app.example.com/a/../b",
            "https://app.example.com/./b",
            "https://app.example.com/c?x=1",
            "http://127.0.0.1:9/c",
        ] {
            assert!(check_client_id_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_client_id_url("http://127.0.0.1:9/c", true).is_ok());
    }

    #[test]
    fn metadata_is_served_at_the_well_known_prefix_plus_the_resource_path() {
        assert_eq!(
            resource_metadata_url("https://api.example.com/mcp").as_deref(),
            Some("https://api.example.com/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(
            resource_metadata_url("https://api.example.com").as_deref(),
            Some("https://api.example.com/.well-known/oauth-protected-resource")
        );
        assert_eq!(
            resource_metadata_url("https://api.example.com/").as_deref(),
            Some("https://api.example.com/.well-known/oauth-protected-resource")
        );
    }

    #[test]
    fn private_use_schemes_need_a_reverse_domain_name() {
        assert!(check_redirect_uri("com.example.app:/oauth/cb").is_ok());
        assert!(check_redirect_uri("com.example.app:/cb#f").is_err());
        for bad in [
            "myapp:/cb",
            "javascript:alert(1)",
            "data:text/html,x",
            "com.example:",
        ] {
            assert!(!is_private_use_uri(bad), "{bad}");
        }
    }
}
