//! The gateway's route table: validation of what the operator sends, the canonical form of a
//! request path, and the compiled matcher.
//!
//! A request path is made canonical before it is matched, and the canonical form is what the
//! origin receives, so the route that is checked is the route of the path the origin serves
//! ([`CanonicalPath`]; the rules are in the README under "Canonical paths"). A pattern is a path
//! of segments: a literal segment, `*` for exactly one segment, and a trailing `/*` for a whole
//! subtree, its root included (`/p/*` covers `/p`, `/p/` and everything under it). Literals
//! match regardless of ASCII and Unicode letter case unless the table is `case_sensitive`. The
//! table is compiled once per version into a segment trie, so a lookup walks the request's
//! segments (literal child first, then `*`, then a subtree ending at that node) instead of
//! scanning every route. That order is also the specificity rule: at the first segment where
//! two matching patterns differ, a literal beats `*`, which beats a subtree. Routes sharing the
//! most specific pattern are told apart by method; a method none of them allows answers 405
//! (never a less specific route).

use std::borrow::Cow;
use std::collections::HashMap;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

use crate::api::{DpopPolicy, Route};
use crate::error::ApiError;
use crate::http::Method;
use crate::scope::is_scope_token;
use crate::uri::{check_resource_uri, is_origin, path_of, resource_metadata_path};

/// KV and storage key of the route table.
pub const ROUTES_KEY: &str = "config:routes";
/// How long the route table, the issuer list and the registration policy are trusted in an
/// isolate.
pub const CONFIG_TTL_MS: u64 = 30_000;

/// Most routes in a table.
pub const MAX_ROUTES: usize = 2000;
/// Most segments in a pattern or a request path.
const MAX_SEGMENTS: usize = 64;
/// Longest pattern, origin, audience or issuer.
const MAX_FIELD_LEN: usize = 2048;

/// What a canonical segment keeps percent-encoded: everything but RFC 3986's unreserved
/// characters, its sub-delimiters other than `;`, and `:` and `@` (§3.3 `pchar`).
const SEGMENT_ENCODE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b';')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Why a request path has no canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadPath {
    #[error("the request path must start with `/`")]
    NotAbsolute,
    #[error("the request path has too many segments")]
    TooLong,
    #[error("the request path is not percent-encoded UTF-8")]
    Encoding,
    #[error(
        "the request path holds `;`: path parameters are read differently by different origins"
    )]
    Parameters,
    #[error("the request path encodes `/` or `\\` or a control character inside a segment")]
    Separator,
    #[error("the request path is encoded twice (`%25` followed by hex digits)")]
    DoubleEncoded,
    #[error("the request path climbs above the root with `..`")]
    AboveRoot,
}

/// A request path in the gateway's canonical form: what the route table matches and exactly
/// what the origin is sent.
///
/// From the raw path: every segment is percent-decoded once (it must be UTF-8); a segment that
/// then holds `/`, `\`, a control character or another percent-escape, or a raw `;` (a path
/// parameter, which servlet containers strip and other servers keep), is refused; empty
/// segments (`//`) are merged; `.` and `..` are resolved (RFC 3986 §5.2.4), `..` above the root
/// refused. The forwarded form re-encodes each segment (upper-case hex, only where RFC 3986
/// requires it) and keeps one trailing `/` when the request had one; matching ignores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalPath {
    segments: Vec<String>,
    encoded: String,
}

impl CanonicalPath {
    /// The canonical form of the raw (still percent-encoded) `path`.
    pub fn parse(path: &str) -> Result<Self, BadPath> {
        let rest = path.strip_prefix('/').ok_or(BadPath::NotAbsolute)?;
        let mut segments: Vec<String> = Vec::new();
        let mut trailing = false;
        for (i, raw) in rest.split('/').enumerate() {
            if i >= 4 * MAX_SEGMENTS {
                return Err(BadPath::TooLong);
            }
            if raw.contains(';') {
                return Err(BadPath::Parameters);
            }
            let seg = percent_decode_str(raw)
                .decode_utf8()
                .map_err(|_| BadPath::Encoding)?;
            if seg.contains(['/', '\\']) || seg.chars().any(char::is_control) {
                return Err(BadPath::Separator);
            }
            if is_escaped(&seg) {
                return Err(BadPath::DoubleEncoded);
            }
            trailing = matches!(seg.as_ref(), "" | "." | "..");
            match seg.as_ref() {
                "" | "." => {}
                ".." => {
                    segments.pop().ok_or(BadPath::AboveRoot)?;
                }
                _ => segments.push(seg.into_owned()),
            }
        }
        if segments.len() > MAX_SEGMENTS {
            return Err(BadPath::TooLong);
        }
        let mut encoded = String::with_capacity(path.len());
        for seg in &segments {
            encoded.push('/');
            encoded.extend(utf8_percent_encode(seg, SEGMENT_ENCODE));
        }
        if trailing || segments.is_empty() {
            encoded.push('/');
        }
        Ok(Self { segments, encoded })
    }

    /// The decoded segments the route table matches (no empty segment: `/` has none).
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The path the origin is sent.
    pub fn as_str(&self) -> &str {
        &self.encoded
    }
}

/// Whether a decoded segment still holds a percent-escape (`%` and two hex digits).
fn is_escaped(seg: &str) -> bool {
    seg.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

/// A literal as the matcher compares it: as written, or folded to lower case (without a copy
/// when it is ASCII with no capital, as most paths are).
fn fold(literal: &str, case_sensitive: bool) -> Cow<'_, str> {
    if case_sensitive
        || literal
            .bytes()
            .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        Cow::Borrowed(literal)
    } else {
        Cow::Owned(literal.to_lowercase())
    }
}

/// One segment of a pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Part {
    Literal(String),
    Any,
}

/// A parsed pattern: its segments and whether it ends in a subtree `/*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Pattern {
    parts: Vec<Part>,
    subtree: bool,
}

impl Pattern {
    /// Parses a pattern; literals are folded to lower case unless `case_sensitive`.
    fn parse(path: &str, case_sensitive: bool) -> Result<Self, &'static str> {
        if path.len() > MAX_FIELD_LEN {
            return Err("at most 2048 characters");
        }
        let rest = path.strip_prefix('/').ok_or("must start with `/`")?;
        if rest.is_empty() {
            return Ok(Self {
                parts: Vec::new(),
                subtree: false,
            });
        }
        let mut raw: Vec<&str> = rest.split('/').collect();
        let subtree = raw.last() == Some(&"*");
        if subtree {
            raw.pop();
        }
        if raw.len() > MAX_SEGMENTS {
            return Err("too many segments");
        }
        let parts = raw
            .into_iter()
            .map(|seg| match seg {
                "*" => Ok(Part::Any),
                "" => Err("empty segment (`//` or a trailing `/`)"),
                "." | ".." => Err("dot segments are not allowed"),
                s if s.contains(['*', '%', '?', '#', '\\']) || s.chars().any(char::is_control) => {
                    Err("a segment is a literal, or `*` alone; no `%`, `?`, `#` or `\\`")
                }
                s => Ok(Part::Literal(fold(s, case_sensitive).into_owned())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { parts, subtree })
    }
}

fn field(i: usize, name: &str) -> String {
    format!("routes[{i}].{name}")
}

fn invalid(i: usize, name: &str, reason: impl Into<String>) -> ApiError {
    ApiError::invalid(&field(i, name), reason)
}

fn check_text(i: usize, name: &str, value: Option<&String>) -> Result<(), ApiError> {
    match value {
        Some(v) if v.is_empty() || v.len() > MAX_FIELD_LEN => {
            Err(invalid(i, name, "1 to 2048 characters"))
        }
        _ => Ok(()),
    }
}

fn parse_methods(i: usize, methods: Option<&Vec<String>>) -> Result<Option<Vec<Method>>, ApiError> {
    let Some(names) = methods else {
        return Ok(None);
    };
    if names.is_empty() {
        return Err(invalid(i, "methods", "leave it out to allow every method"));
    }
    let mut out = Vec::with_capacity(names.len());
    for (j, name) in names.iter().enumerate() {
        let m = Method::parse(name);
        if m == Method::Other {
            return Err(ApiError::invalid(
                &format!("routes[{i}].methods[{j}]"),
                "one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS (upper case)",
            ));
        }
        if !out.contains(&m) {
            out.push(m);
        }
    }
    Ok(Some(out))
}

/// A route's `resource` (with `resource_name`): a resource URI, never together with
/// `audience`, which it replaces.
fn check_resource(i: usize, route: &Route, local: bool) -> Result<(), ApiError> {
    if let Some(resource) = &route.resource {
        check_resource_uri(resource, local).map_err(|why| invalid(i, "resource", why))?;
        if route.audience.is_some() {
            return Err(invalid(
                i,
                "audience",
                "a route with a resource takes no audience: its tokens' aud must hold the resource",
            ));
        }
    }
    match &route.resource_name {
        Some(_) if route.resource.is_none() => Err(invalid(
            i,
            "resource_name",
            "names a resource: set resource too",
        )),
        Some(name) if name.trim().is_empty() || name.len() > 200 => {
            Err(invalid(i, "resource_name", "1 to 200 characters"))
        }
        _ => Ok(()),
    }
}

/// A protected resource as its RFC 9728 metadata describes it: every route naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedResource {
    pub resource: String,
    pub name: Option<String>,
    /// The scopes its routes require, each once, in table order.
    pub scopes: Vec<String>,
    /// The issuer its routes accept tokens of (absent = Portcullis's own).
    pub issuer: Option<String>,
    /// Every route naming it requires DPoP (RFC 9728 §2 `dpop_bound_access_tokens_required`).
    pub dpop_required: bool,
}

/// Per pattern: the routes seen so far, with their methods.
type Seen = HashMap<Pattern, Vec<(usize, Option<Vec<Method>>)>>;

/// Checks a whole table; the error names the first field at fault. Two routes whose patterns
/// differ only in letter case overlap unless the table is `case_sensitive`. `local` says the
/// issuer is a local run's ([`crate::uri::is_local_issuer`]), whose resources may be
/// `http://` on loopback.
pub fn validate(routes: &[Route], case_sensitive: bool, local: bool) -> Result<(), ApiError> {
    if routes.len() > MAX_ROUTES {
        return Err(ApiError::invalid("routes", "at most 2000 routes"));
    }
    let mut seen = Seen::new();
    for (i, route) in routes.iter().enumerate() {
        let pattern =
            Pattern::parse(&route.path, case_sensitive).map_err(|why| invalid(i, "path", why))?;
        let methods = parse_methods(i, route.methods.as_ref())?;
        if let Some(origin) = &route.origin {
            if !is_origin(origin) {
                return Err(invalid(
                    i,
                    "origin",
                    "must be http(s)://host[:port] with no path, query or trailing `/`",
                ));
            }
        }
        for (j, scope) in route.scopes.iter().enumerate() {
            if !is_scope_token(scope) {
                return Err(ApiError::invalid(
                    &format!("routes[{i}].scopes[{j}]"),
                    "must be a scope token (RFC 6749 §3.3)",
                ));
            }
        }
        check_text(i, "audience", route.audience.as_ref())?;
        check_text(i, "issuer", route.issuer.as_ref())?;
        check_resource(i, route, local)?;
        if route.public
            && (!route.scopes.is_empty()
                || route.audience.is_some()
                || route.issuer.is_some()
                || route.resource.is_some())
        {
            return Err(invalid(
                i,
                "public",
                "a public route takes no scopes, audience, issuer or resource",
            ));
        }
        let same = seen.entry(pattern).or_default();
        for (j, other) in same.iter() {
            let overlap = match (&methods, other) {
                (Some(a), Some(b)) => a.iter().any(|m| b.contains(m)),
                _ => true,
            };
            if overlap {
                return Err(invalid(
                    i,
                    "methods",
                    format!("overlaps routes[{j}], which has the same path"),
                ));
            }
        }
        same.push((i, methods));
    }
    Ok(())
}

/// A trie node: children by literal segment and by `*`, and the routes whose pattern ends here.
#[derive(Debug, Default)]
struct Node {
    literal: HashMap<String, Node>,
    any: Option<Box<Node>>,
    /// Routes whose pattern ends exactly here.
    exact: Vec<usize>,
    /// Routes whose pattern is this node's path plus a trailing `/*`.
    subtree: Vec<usize>,
}

impl Node {
    /// The most specific routes matching `segs` (all sharing one pattern); literals are
    /// compared after `fold`.
    fn find(&self, segs: &[String], case_sensitive: bool) -> Option<&[usize]> {
        let subtree = || non_empty(&self.subtree);
        match segs.split_first() {
            None => non_empty(&self.exact).or_else(subtree),
            Some((first, rest)) => self
                .literal
                .get(fold(first, case_sensitive).as_ref())
                .and_then(|n| n.find(rest, case_sensitive))
                .or_else(|| {
                    self.any
                        .as_deref()
                        .and_then(|n| n.find(rest, case_sensitive))
                })
                .or_else(subtree),
        }
    }
}

/// The routes of `v`, if there are any.
fn non_empty(v: &[usize]) -> Option<&[usize]> {
    (!v.is_empty()).then_some(v)
}

/// A route ready for matching.
#[derive(Debug)]
struct Compiled {
    route: Route,
    methods: Option<Vec<Method>>,
}

/// The route table compiled for lookups; built once per stored version.
#[derive(Debug)]
pub struct RouteIndex {
    pub version: u64,
    case_sensitive: bool,
    routes: Vec<Compiled>,
    root: Node,
}

/// What a lookup found.
#[derive(Debug, PartialEq, Eq)]
pub enum Match<'a> {
    Route(&'a Route),
    /// The path is routed, not for this method; `Allow` lists the methods that are.
    MethodNotAllowed(String),
    None,
}

impl RouteIndex {
    /// Compiles a table. Routes that do not parse (only possible for a table stored by an
    /// older version) are left out, so they match nothing: default deny.
    pub fn compile(version: u64, routes: &[Route], case_sensitive: bool) -> Self {
        let mut root = Node::default();
        let mut compiled = Vec::with_capacity(routes.len());
        for (i, route) in routes.iter().enumerate() {
            let (Ok(pattern), Ok(methods)) = (
                Pattern::parse(&route.path, case_sensitive),
                parse_methods(i, route.methods.as_ref()),
            ) else {
                continue;
            };
            let mut node = &mut root;
            for part in pattern.parts {
                node = match part {
                    Part::Literal(s) => node.literal.entry(s).or_default(),
                    Part::Any => node.any.get_or_insert_with(Box::default),
                };
            }
            let slot = if pattern.subtree {
                &mut node.subtree
            } else {
                &mut node.exact
            };
            slot.push(compiled.len());
            compiled.push(Compiled {
                route: route.clone(),
                methods,
            });
        }
        Self {
            version,
            case_sensitive,
            routes: compiled,
            root,
        }
    }

    /// Whether a route names `uri` as its `resource`.
    pub fn names_resource(&self, uri: &str) -> bool {
        self.routes
            .iter()
            .any(|c| c.route.resource.as_deref() == Some(uri))
    }

    /// The resource whose RFC 9728 metadata is served at `path`, gathered from every route
    /// naming it.
    pub fn resource_at(&self, path: &str) -> Option<ProtectedResource> {
        let mut found: Option<ProtectedResource> = None;
        for route in self.routes.iter().map(|c| &c.route) {
            let Some(uri) = &route.resource else {
                continue;
            };
            if resource_metadata_path(path_of(uri)) != path {
                continue;
            }
            let entry = found.get_or_insert_with(|| ProtectedResource {
                resource: uri.clone(),
                name: None,
                scopes: Vec::new(),
                issuer: route.issuer.clone(),
                dpop_required: true,
            });
            if entry.resource != *uri {
                continue;
            }
            entry.dpop_required &= route.dpop == Some(DpopPolicy::Required);
            if entry.name.is_none() {
                entry.name.clone_from(&route.resource_name);
            }
            for scope in &route.scopes {
                if !entry.scopes.contains(scope) {
                    entry.scopes.push(scope.clone());
                }
            }
        }
        found
    }

    /// The route for `method` on `path`.
    pub fn lookup(&self, method: Method, path: &CanonicalPath) -> Match<'_> {
        let Some(candidates) = self.root.find(path.segments(), self.case_sensitive) else {
            return Match::None;
        };
        let routes = candidates.iter().map(|&i| &self.routes[i]);
        if let Some(hit) = routes
            .clone()
            .find(|r| r.methods.as_ref().is_none_or(|m| m.contains(&method)))
        {
            return Match::Route(&hit.route);
        }
        let allow: Vec<&str> = routes
            .flat_map(|r| r.methods.iter().flatten().map(|m| m.as_str()))
            .collect();
        Match::MethodNotAllowed(allow.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str) -> Route {
        Route {
            path: path.into(),
            methods: None,
            origin: None,
            scopes: Vec::new(),
            scope_mode: crate::api::ScopeMode::All,
            audience: None,
            public: false,
            forward_token: false,
            issuer: None,
            resource: None,
            resource_name: None,
            dpop: None,
        }
    }

    fn with_methods(path: &str, methods: &[&str]) -> Route {
        Route {
            methods: Some(methods.iter().map(|&m| m.to_owned()).collect()),
            ..route(path)
        }
    }

    fn hit(index: &RouteIndex, method: Method, path: &str) -> Option<String> {
        match index.lookup(method, &CanonicalPath::parse(path).unwrap()) {
            Match::Route(r) => Some(r.path.clone()),
            _ => None,
        }
    }

    #[test]
    fn most_specific_pattern_wins() {
        let table = vec![
            route("/*"),
            route("/api/*"),
            route("/api/*/profile"),
            route("/api/users/me"),
            route("/api/users/*"),
            route("/"),
        ];
        validate(&table, false, false).unwrap();
        let index = RouteIndex::compile(1, &table, false);
        let cases = [
            ("/", "/"),
            ("/other", "/*"),
            ("/api/x", "/api/*"),
            ("/api/x/y/z", "/api/*"),
            ("/api/bob/profile", "/api/*/profile"),
            ("/api/users/me", "/api/users/me"),
            ("/api/users/me/more", "/api/users/*"),
            ("/api/users/profile", "/api/users/*"),
            ("/api", "/api/*"),
            ("/API/Users/ME", "/api/users/me"),
            ("/api//users/./me/", "/api/users/me"),
        ];
        for (path, want) in cases {
            assert_eq!(
                hit(&index, Method::Get, path).as_deref(),
                Some(want),
                "{path}"
            );
        }
    }

    #[test]
    fn subtree_protects_its_root_and_unmatched_paths_are_denied() {
        let table = vec![route("/api/*"), route("/health")];
        let index = RouteIndex::compile(1, &table, false);
        for root in ["/api", "/api/", "/api//", "/API", "/api/x/.."] {
            assert_eq!(
                hit(&index, Method::Get, root).as_deref(),
                Some("/api/*"),
                "{root}"
            );
        }
        assert_eq!(
            hit(&index, Method::Get, "/health/").as_deref(),
            Some("/health")
        );
        assert_eq!(hit(&index, Method::Get, "/health/x"), None);
        assert_eq!(hit(&index, Method::Get, "/nothing"), None);
        assert_eq!(hit(&index, Method::Get, "/"), None);
    }

    #[test]
    fn letter_case_is_the_tables_choice() {
        let table = vec![route("/*"), route("/Admin/*")];
        let loose = RouteIndex::compile(1, &table, false);
        let strict = RouteIndex::compile(1, &table, true);
        assert_eq!(
            hit(&loose, Method::Get, "/aDMIN/x").as_deref(),
            Some("/Admin/*")
        );
        assert_eq!(hit(&strict, Method::Get, "/aDMIN/x").as_deref(), Some("/*"));
        assert_eq!(
            hit(&strict, Method::Get, "/Admin/x").as_deref(),
            Some("/Admin/*")
        );
        let twins = vec![route("/a"), route("/A")];
        assert_eq!(
            validate(&twins, false, false).unwrap_err().field.as_deref(),
            Some("routes[1].methods")
        );
        validate(&twins, true, false).unwrap();
    }

    #[test]
    fn methods_split_one_pattern_and_never_fall_back_to_a_wider_route() {
        let table = vec![
            route("/*"),
            with_methods("/api/*", &["GET", "HEAD"]),
            with_methods("/api/*", &["POST"]),
        ];
        validate(&table, false, false).unwrap();
        let index = RouteIndex::compile(1, &table, false);
        let segs = CanonicalPath::parse("/api/x").unwrap();
        match index.lookup(Method::Post, &segs) {
            Match::Route(r) => assert_eq!(r.methods.as_deref(), Some(&["POST".to_owned()][..])),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            index.lookup(Method::Delete, &segs),
            Match::MethodNotAllowed("GET, HEAD, POST".into())
        );
    }

    #[test]
    fn paths_without_one_meaning_are_refused() {
        let cases = [
            ("/a/%2F/b", BadPath::Separator),
            ("/a%2fb", BadPath::Separator),
            ("/a/%5C", BadPath::Separator),
            ("/a/%00", BadPath::Separator),
            ("/a/%0d%0aX:1", BadPath::Separator),
            ("/public/..;/api/x", BadPath::Parameters),
            ("/public/%2e%2e;jsessionid=1/api", BadPath::Parameters),
            ("/admin;x=y/secret", BadPath::Parameters),
            ("/a/.;x/b", BadPath::Parameters),
            ("/a/%252e%252e/b", BadPath::DoubleEncoded),
            ("/a/%2541", BadPath::DoubleEncoded),
            ("/..", BadPath::AboveRoot),
            ("/a/../../b", BadPath::AboveRoot),
            ("/%ff", BadPath::Encoding),
            ("x", BadPath::NotAbsolute),
        ];
        for (bad, why) in cases {
            assert_eq!(CanonicalPath::parse(bad), Err(why), "{bad}");
        }
        let long = "/a".repeat(MAX_SEGMENTS + 1);
        assert_eq!(CanonicalPath::parse(&long), Err(BadPath::TooLong));
    }

    #[test]
    fn canonical_paths_merge_resolve_and_reencode() {
        let cases = [
            ("/", "/", &[][..]),
            ("//", "/", &[]),
            ("/a//b", "/a/b", &["a", "b"]),
            ("/a/b/", "/a/b/", &["a", "b"]),
            ("/a/./b/.", "/a/b/", &["a", "b"]),
            ("/a/%2e/b/%2E%2e/c", "/a/c", &["a", "c"]),
            ("/a/b/..", "/a/", &["a"]),
            (
                "//evil.example/x",
                "/evil.example/x",
                &["evil.example", "x"],
            ),
            ("/%61%62c", "/abc", &["abc"]),
            ("/a%20b/caf%c3%a9", "/a%20b/caf%C3%A9", &["a b", "café"]),
            ("/a%3Bb/x%3Fy%23z", "/a%3Bb/x%3Fy%23z", &["a;b", "x?y#z"]),
            (
                "/100%25/~u/:@!$&'()*+,=",
                "/100%25/~u/:@!$&'()*+,=",
                &["100%", "~u", ":@!$&'()*+,="],
            ),
        ];
        for (raw, forwarded, segs) in cases {
            let path = CanonicalPath::parse(raw).unwrap();
            assert_eq!(path.as_str(), forwarded, "{raw}");
            assert_eq!(path.segments(), segs, "{raw}");
            assert_eq!(
                CanonicalPath::parse(forwarded).as_ref(),
                Ok(&path),
                "{raw} is stable"
            );
        }
    }

    #[test]
    fn invalid_tables_name_the_field() {
        let cases: Vec<(Vec<Route>, &str)> = vec![
            (vec![route("api")], "routes[0].path"),
            (vec![route("/a//b")], "routes[0].path"),
            (vec![route("/a/b*")], "routes[0].path"),
            (
                vec![route("/ok"), with_methods("/x", &["get"])],
                "routes[1].methods[0]",
            ),
            (vec![with_methods("/x", &[])], "routes[0].methods"),
            (
                vec![Route {
                    origin: Some("http://h/path".into()),
                    ..route("/x")
                }],
                "routes[0].origin",
            ),
            (
                vec![Route {
                    scopes: vec!["bad scope".into()],
                    ..route("/x")
                }],
                "routes[0].scopes[0]",
            ),
            (
                vec![Route {
                    public: true,
                    scopes: vec!["read".into()],
                    ..route("/x")
                }],
                "routes[0].public",
            ),
            (
                vec![Route {
                    resource: Some("http://api.example.com/mcp".into()),
                    ..route("/x")
                }],
                "routes[0].resource",
            ),
            (
                vec![Route {
                    resource: Some("https://api.example.com/mcp".into()),
                    audience: Some("https://api.example.com/mcp".into()),
                    ..route("/x")
                }],
                "routes[0].audience",
            ),
            (
                vec![Route {
                    resource_name: Some("MCP".into()),
                    ..route("/x")
                }],
                "routes[0].resource_name",
            ),
            (
                vec![Route {
                    public: true,
                    resource: Some("https://api.example.com/mcp".into()),
                    ..route("/x")
                }],
                "routes[0].public",
            ),
            (
                vec![
                    with_methods("/x", &["GET"]),
                    with_methods("/x", &["POST", "GET"]),
                ],
                "routes[1].methods",
            ),
            (
                vec![route("/x"), with_methods("/x", &["GET"])],
                "routes[1].methods",
            ),
        ];
        for (table, want) in cases {
            let err = validate(&table, true, false).unwrap_err();
            assert_eq!(err.field.as_deref(), Some(want), "{table:?}");
            assert_eq!(err.status, 422);
        }
    }

    #[test]
    fn a_resource_is_gathered_from_every_route_naming_it() {
        let mcp = |methods: &[&str], scope: &str| Route {
            scopes: vec![scope.into()],
            resource: Some("https://api.example.com/mcp".into()),
            ..with_methods("/mcp", methods)
        };
        let mut named = mcp(&["POST"], "mcp");
        named.resource_name = Some("Tools".into());
        let table = vec![mcp(&["GET"], "mcp"), named, mcp(&["DELETE"], "admin")];
        validate(&table, false, false).unwrap();
        let index = RouteIndex::compile(1, &table, false);
        assert!(index.names_resource("https://api.example.com/mcp"));
        assert!(!index.names_resource("https://api.example.com/mcp/"));
        let found = index
            .resource_at("/.well-known/oauth-protected-resource/mcp")
            .unwrap();
        assert_eq!(found.resource, "https://api.example.com/mcp");
        assert_eq!(found.name.as_deref(), Some("Tools"));
        assert_eq!(found.scopes, ["mcp", "admin"]);
        assert!(!found.dpop_required);
        let bound = |methods: &[&str]| Route {
            dpop: Some(DpopPolicy::Required),
            ..mcp(methods, "mcp")
        };
        let metadata = "/.well-known/oauth-protected-resource/mcp";
        let all = RouteIndex::compile(2, &[bound(&["GET"]), bound(&["POST"])], false);
        assert!(all.resource_at(metadata).unwrap().dpop_required);
        let some = RouteIndex::compile(3, &[bound(&["GET"]), mcp(&["POST"], "mcp")], false);
        assert!(!some.resource_at(metadata).unwrap().dpop_required);
        assert_eq!(
            index.resource_at("/.well-known/oauth-protected-resource"),
            None
        );
        assert_eq!(
            index.resource_at("/.well-known/oauth-protected-resource/x"),
            None
        );
        // http on loopback only on a local run.
        let local = vec![Route {
            resource: Some("http://127.0.0.1:8787/mcp".into()),
            ..route("/mcp")
        }];
        assert!(validate(&local, false, false).is_err());
        validate(&local, false, true).unwrap();
    }

    #[test]
    fn thousands_of_routes_resolve_through_the_index() {
        let table: Vec<Route> = (0..MAX_ROUTES)
            .map(|i| route(&format!("/svc{i}/v1/*")))
            .collect();
        validate(&table, false, false).unwrap();
        let index = RouteIndex::compile(1, &table, false);
        assert_eq!(
            hit(&index, Method::Get, "/svc1999/v1/items/7").as_deref(),
            Some("/svc1999/v1/*")
        );
        assert_eq!(hit(&index, Method::Get, "/svc2000/v1/items"), None);
    }
}
