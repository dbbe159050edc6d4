//! How long things live: the default and longest lifetimes of tokens, codes, sessions and
//! secrets, in seconds, and the wait a refused caller is told. One place, read by the records
//! that are issued with them and by the settings that may shorten them.

/// Default access-token lifetime in seconds.
pub const DEFAULT_ACCESS_TOKEN_TTL: u64 = 3600;

/// Longest refresh-token lifetime (idle or absolute) a client may be given (one year).
pub const MAX_REFRESH_TOKEN_TTL: u64 = 365 * 86_400;

/// Longest access-token lifetime a client may be given (one day).
pub const MAX_ACCESS_TOKEN_TTL: u64 = 86_400;

/// Lifetime of an authorization code, seconds (RFC 6749 §4.1.2: "10 minutes maximum").
pub const CODE_TTL: u64 = 60;

/// Default idle lifetime of a refresh token family, seconds.
pub const DEFAULT_REFRESH_IDLE_TTL: u64 = 14 * 86_400;

/// Default absolute lifetime of a refresh token family, seconds.
pub const DEFAULT_REFRESH_ABSOLUTE_TTL: u64 = 90 * 86_400;

/// Longest life of a session, seconds.
pub const SESSION_TTL: u64 = 30 * 60;

/// Default life of a session signed in through the origin's login endpoint, seconds.
pub const UPSTREAM_SESSION_TTL: u64 = 15 * 60;

/// `Retry-After` of a 429: the longest period the binding supports.
pub const RETRY_AFTER_SECS: u64 = 60;

/// How long a rotated-out client secret keeps working by default (24 h).
pub const DEFAULT_PREVIOUS_SECRET_TTL: u64 = 86_400;

/// The longest a rotated-out client secret may keep working (30 days).
pub const MAX_PREVIOUS_SECRET_TTL: u64 = 30 * 86_400;

/// Lifetime of an OpenID Connect ID token, seconds: it is read once, at sign-in, by the
/// application it names. A retired key stays published longer (a day and two minutes), so every
/// ID token it signed still verifies at the JWKS while it lives.
pub const ID_TOKEN_TTL: u64 = 600;
