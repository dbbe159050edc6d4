//! The gateway's route table: validation of what the operator sends, and the compiled matcher.
//!
//! Paths are compared as RFC 3986 §3.3 segments, each percent-decoded; a request path whose
//! decoding could mean another path to the origin (an encoded `/` or `\`, a dot segment) is
//! refused. A pattern is a path of segments: a literal segment, `*` for exactly one segment, and a
//! trailing `/*` for a whole subtree (one or more further segments). The table is compiled once
//! per version into a segment trie, so a lookup walks the request's segments (literal child
//! first, then `*`, then a subtree ending at that node) instead of scanning every route. That
//! order is also the specificity rule: at the first segment where two matching patterns differ,
//! a literal beats `*`, which beats a subtree. Routes sharing the most specific pattern are told
//! apart by method; a method none of them allows answers 405 (never a less specific route).

use std::borrow::Cow;
use std::collections::HashMap;

use percent_encoding::percent_decode_str;

use crate::api::Route;
use crate::clients::is_scope_token;
use crate::error::ApiError;
use crate::http::Method;

/// Most routes in a table.
pub const MAX_ROUTES: usize = 2000;
/// Most segments in a pattern or a request path.
const MAX_SEGMENTS: usize = 64;
/// Longest pattern, origin, audience or issuer.
const MAX_FIELD_LEN: usize = 2048;

/// A request path that must not be routed: an encoded `/` or `\`, a dot segment, bad UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request path is not acceptable")]
pub struct BadPath;

/// The request path as decoded segments (`/` → one empty segment).
pub fn segments(path: &str) -> Result<Vec<Cow<'_, str>>, BadPath> {
    let rest = path.strip_prefix('/').ok_or(BadPath)?;
    let mut out = Vec::new();
    for raw in rest.split('/') {
        if out.len() == MAX_SEGMENTS {
            return Err(BadPath);
        }
        let seg = percent_decode_str(raw).decode_utf8().map_err(|_| BadPath)?;
        // What the origin might decode into a different path than the one we matched: a
        // separator, or a dot segment, also one carrying path parameters (`..;x`, which
        // servlet containers resolve as `..`).
        let bare = seg.split(';').next().unwrap_or_default();
        if seg.contains(['/', '\\', '\0']) || bare == "." || bare == ".." {
            return Err(BadPath);
        }
        out.push(seg);
    }
    Ok(out)
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
    fn parse(path: &str) -> Result<Self, &'static str> {
        if path.len() > MAX_FIELD_LEN {
            return Err("at most 2048 characters");
        }
        let rest = path.strip_prefix('/').ok_or("must start with `/`")?;
        if rest.is_empty() {
            return Ok(Self {
                parts: vec![Part::Literal(String::new())],
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
                s => Ok(Part::Literal(s.to_owned())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { parts, subtree })
    }
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
        && origin.len() <= MAX_FIELD_LEN
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
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

/// Per pattern: the routes seen so far, with their methods.
type Seen = HashMap<Pattern, Vec<(usize, Option<Vec<Method>>)>>;

/// Checks a whole table; the error names the first field at fault.
pub fn validate(routes: &[Route]) -> Result<(), ApiError> {
    if routes.len() > MAX_ROUTES {
        return Err(ApiError::invalid("routes", "at most 2000 routes"));
    }
    let mut seen = Seen::new();
    for (i, route) in routes.iter().enumerate() {
        let pattern = Pattern::parse(&route.path).map_err(|why| invalid(i, "path", why))?;
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
        if route.public
            && (!route.scopes.is_empty() || route.audience.is_some() || route.issuer.is_some())
        {
            return Err(invalid(
                i,
                "public",
                "a public route takes no scopes, audience or issuer",
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
    /// The most specific routes matching `segs` (all sharing one pattern).
    fn find(&self, segs: &[Cow<'_, str>]) -> Option<&[usize]> {
        let non_empty = |v: &'_ Vec<usize>| (!v.is_empty()).then_some(());
        match segs.split_first() {
            None => non_empty(&self.exact).map(|()| self.exact.as_slice()),
            Some((first, rest)) => self
                .literal
                .get(first.as_ref())
                .and_then(|n| n.find(rest))
                .or_else(|| self.any.as_deref().and_then(|n| n.find(rest)))
                .or_else(|| non_empty(&self.subtree).map(|()| self.subtree.as_slice())),
        }
    }
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
    pub fn compile(version: u64, routes: &[Route]) -> Self {
        let mut root = Node::default();
        let mut compiled = Vec::with_capacity(routes.len());
        for (i, route) in routes.iter().enumerate() {
            let (Ok(pattern), Ok(methods)) = (
                Pattern::parse(&route.path),
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
            routes: compiled,
            root,
        }
    }

    /// The route for `method` on the decoded path `segs`.
    pub fn lookup(&self, method: Method, segs: &[Cow<'_, str>]) -> Match<'_> {
        let Some(candidates) = self.root.find(segs) else {
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
        }
    }

    fn with_methods(path: &str, methods: &[&str]) -> Route {
        Route {
            methods: Some(methods.iter().map(|&m| m.to_owned()).collect()),
            ..route(path)
        }
    }

    fn hit(index: &RouteIndex, method: Method, path: &str) -> Option<String> {
        match index.lookup(method, &segments(path).unwrap()) {
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
        validate(&table).unwrap();
        let index = RouteIndex::compile(1, &table);
        let cases = [
            ("/", "/"),
            ("/other", "/*"),
            ("/api/x", "/api/*"),
            ("/api/x/y/z", "/api/*"),
            ("/api/bob/profile", "/api/*/profile"),
            ("/api/users/me", "/api/users/me"),
            ("/api/users/me/more", "/api/users/*"),
            ("/api/users/profile", "/api/users/*"),
            ("/api", "/*"),
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
    fn subtree_needs_a_further_segment_and_unmatched_paths_are_denied() {
        let table = vec![route("/api/*"), route("/health")];
        let index = RouteIndex::compile(1, &table);
        assert_eq!(hit(&index, Method::Get, "/api"), None);
        assert_eq!(hit(&index, Method::Get, "/api/").as_deref(), Some("/api/*"));
        assert_eq!(hit(&index, Method::Get, "/health/x"), None);
        assert_eq!(hit(&index, Method::Get, "/nothing"), None);
    }

    #[test]
    fn methods_split_one_pattern_and_never_fall_back_to_a_wider_route() {
        let table = vec![
            route("/*"),
            with_methods("/api/*", &["GET", "HEAD"]),
            with_methods("/api/*", &["POST"]),
        ];
        validate(&table).unwrap();
        let index = RouteIndex::compile(1, &table);
        let segs = segments("/api/x").unwrap();
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
    fn encoded_separators_and_dot_segments_are_refused() {
        for bad in [
            "/a/%2F/b",
            "/a%2fb",
            "/a/%5C",
            "/a/%2e%2e/b",
            "/a/./b",
            "/a/%00",
            "/public/..;/api/x",
            "/public/%2e%2e;jsessionid=1/api",
            "/a/.;x/b",
            "/%ff",
            "x",
        ] {
            assert_eq!(segments(bad), Err(BadPath), "{bad}");
        }
        assert_eq!(segments("/a/b%20c").unwrap()[1], "b c");
        assert_eq!(
            segments("/a/b;v=1").unwrap()[1],
            "b;v=1",
            "other parameters pass"
        );
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
            let err = validate(&table).unwrap_err();
            assert_eq!(err.field.as_deref(), Some(want), "{table:?}");
            assert_eq!(err.status, 422);
        }
    }

    #[test]
    fn thousands_of_routes_resolve_through_the_index() {
        let table: Vec<Route> = (0..MAX_ROUTES)
            .map(|i| route(&format!("/svc{i}/v1/*")))
            .collect();
        validate(&table).unwrap();
        let index = RouteIndex::compile(1, &table);
        assert_eq!(
            hit(&index, Method::Get, "/svc1999/v1/items/7").as_deref(),
            Some("/svc1999/v1/*")
        );
        assert_eq!(hit(&index, Method::Get, "/svc2000/v1/items"), None);
    }
}
