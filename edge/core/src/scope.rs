//! Scopes (RFC 6749 §3.3): the scope-token grammar and [`ScopeSet`], a request's or a token's
//! scopes parsed once, in the order first given and without repeats.

use std::fmt;

/// Longest `scope` parameter accepted.
pub const MAX_SCOPE_LEN: usize = 2048;

/// Why a `scope` parameter is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeError {
    TooLong,
    /// A part that is not a scope token.
    NotAToken(String),
}

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong => f.write_str("scope is too long"),
            Self::NotAToken(s) => write!(f, "`{s}` is not a scope token"),
        }
    }
}

/// A set of scopes, in the order first given, each once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeSet(Vec<String>);

impl ScopeSet {
    /// Parses a space-delimited `scope` parameter, checking every token.
    pub fn parse(value: &str) -> Result<Self, ScopeError> {
        if value.len() > MAX_SCOPE_LEN {
            return Err(ScopeError::TooLong);
        }
        let mut set = Self::default();
        for s in value.split(' ').filter(|s| !s.is_empty()) {
            if !is_scope_token(s) {
                return Err(ScopeError::NotAToken(s.to_owned()));
            }
            set.insert(s);
        }
        Ok(set)
    }

    /// The scopes of a verified token's `scope` claim (already checked by its issuer).
    pub fn of_claim(value: &str) -> Self {
        let mut set = Self::default();
        for s in value.split(' ').filter(|s| !s.is_empty()) {
            set.insert(s);
        }
        set
    }

    fn insert(&mut self, scope: &str) {
        if !self.contains(scope) {
            self.0.push(scope.to_owned());
        }
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The first scope not among `allowed`, if any.
    pub fn first_outside(&self, allowed: &[String]) -> Option<&str> {
        self.iter().find(|s| !allowed.iter().any(|a| a == s))
    }

    /// The scopes, for a record.
    pub fn into_vec(self) -> Vec<String> {
        self.0
    }
}

impl From<&[String]> for ScopeSet {
    fn from(scopes: &[String]) -> Self {
        let mut set = Self::default();
        for s in scopes {
            set.insert(s);
        }
        set
    }
}

/// Space-delimited, as the `scope` parameter and claim carry it.
impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

/// The OpenID Connect scopes (OIDC Core §3.1.2.1, §5.4), built in: every client may be given
/// them without a catalogue entry, and the consent page describes them with these words unless
/// the catalogue holds an entry of the same name. `openid` asks for an ID token; `profile` and
/// `email` release the user's profile claims at the UserInfo endpoint.
pub const BUILTIN_SCOPES: &[(&str, &str)] = &[
    ("openid", "Know who you are (your user id)"),
    ("profile", "See your name, locale and picture"),
    ("email", "See your email address"),
];

/// The scope that makes an authorization request an OpenID Connect request.
pub const OPENID: &str = "openid";

/// The consent page's words for `s` when it is one of the [`BUILTIN_SCOPES`].
pub fn builtin_description(s: &str) -> Option<&'static str> {
    BUILTIN_SCOPES
        .iter()
        .find(|(name, _)| *name == s)
        .map(|(_, description)| *description)
}

/// Whether `s` is one of the [`BUILTIN_SCOPES`].
pub fn is_builtin_scope(s: &str) -> bool {
    builtin_description(s).is_some()
}

/// Whether `s` is a valid scope token (RFC 6749 §3.3: `%x21 / %x23-5B / %x5D-7E`).
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_parameter_is_parsed_once_in_order_without_repeats() {
        let set = ScopeSet::parse(" read  write read ").unwrap();
        assert_eq!(set.to_string(), "read write");
        assert!(set.contains("write") && !set.contains("admin"));
        assert_eq!(set.first_outside(&["read".into()]), Some("write"));
        assert_eq!(
            ScopeSet::parse("read b\"ad"),
            Err(ScopeError::NotAToken("b\"ad".into()))
        );
        assert_eq!(
            ScopeSet::parse(&"a".repeat(MAX_SCOPE_LEN + 1)),
            Err(ScopeError::TooLong)
        );
        assert!(ScopeSet::parse("").unwrap().is_empty());
    }
}
