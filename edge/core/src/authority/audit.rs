//! The audit log, kept by the authority: appending entries, coalescing repeated failed admin
//! authentications, the retention that bounds the log, and reading it back a page at a time.
//!
//! Entries live under `audit:<ms, 13 digits>-<seq, 10 digits>`, so key order is time order.
//! Bounds:
//! - **Retention.** An entry older than the retention (`AUDIT_RETENTION_DAYS`, default 400) is
//!   never served, and every append first deletes a batch of such entries, oldest first (more
//!   than it adds, so a backlog, e.g. after the retention was shortened, drains).
//! - **Coalescing.** Failed admin authentications from one source network (an IPv4 address or
//!   an IPv6 /64) within one clock hour ([`AUTH_FAILURE_WINDOW`]) are one `admin.auth_failed`
//!   entry whose `count` grows, found again through a mark `audit-window:<hour>:<network>`;
//!   marks of past hours are swept the same way. So a guessing caller adds one entry an hour,
//!   not one an attempt.

use super::{Envelope, Reply, Run};
use crate::api::{AuditEvent, AuditPage, AuditQuery};
use crate::ports::StoreError;

/// Default and largest audit page.
pub const AUDIT_PAGE_DEFAULT: usize = 50;
pub const AUDIT_PAGE_MAX: usize = 200;
/// Default retention of audit entries, seconds (400 days: a year and a margin, so a question
/// about the same time last year can still be answered).
pub const DEFAULT_AUDIT_RETENTION_SECS: u64 = 400 * 86_400;
/// Failed admin authentications from one network within one window of this many seconds
/// (aligned to the clock) share one audit entry.
pub const AUTH_FAILURE_WINDOW: u64 = 3600;
/// Most audit entries one page request examines (filters may skip many).
const AUDIT_SCAN_LIMIT: usize = 1000;
/// Expired entries (or marks) one write deletes at most.
const SWEEP_BATCH: usize = 16;
const ENTRY_PREFIX: &str = "audit:";
const MARK_PREFIX: &str = "audit-window:";
/// Longest retention `AUDIT_RETENTION_DAYS` may set (100 years).
const MAX_RETENTION_DAYS: f64 = 36_500.0;

/// Parses `AUDIT_RETENTION_DAYS`: a positive number of days, fractions allowed (`0.5` is 12
/// hours), at most 100 years. Answers seconds (at least one).
pub fn parse_retention_days(value: &str) -> Option<u64> {
    let days: f64 = value.trim().parse().ok()?;
    // In range, so the product is a finite, positive number of seconds well within u64.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    (days > 0.0 && days <= MAX_RETENTION_DAYS).then(|| ((days * 86_400.0).round() as u64).max(1))
}

/// Who an audit entry is about: the actor and the request that acted.
#[derive(Debug, Clone, Copy)]
pub(super) struct Origin<'a> {
    pub actor: &'a str,
    pub request_id: &'a str,
}

impl<'a> From<&'a Envelope> for Origin<'a> {
    fn from(envelope: &'a Envelope) -> Self {
        Self {
            actor: &envelope.actor,
            request_id: &envelope.request_id,
        }
    }
}

impl Run<'_, '_> {
    /// Appends an entry for what `origin`'s actor did.
    pub(super) async fn audit<'o>(
        &self,
        origin: impl Into<Origin<'o>>,
        action: &str,
        target: &str,
    ) -> Result<(), StoreError> {
        self.append(origin.into(), action, target, None)
            .await
            .map(drop)
    }

    /// Records a failed admin authentication from `source` (a network): counted into the
    /// entry of the current window when it has one, else a new entry.
    pub(super) async fn audit_auth_failure(
        &self,
        envelope: &Envelope,
        source: &str,
    ) -> Result<(), StoreError> {
        let window = self.env.clock.now() / AUTH_FAILURE_WINDOW;
        self.delete_before(MARK_PREFIX, &format!("{MARK_PREFIX}{window:011}"))
            .await?;
        let mark = format!("{MARK_PREFIX}{window:011}:{source}");
        if let Some(id) = self.env.storage.get(&mark).await? {
            let key = format!("{ENTRY_PREFIX}{id}");
            if let Some(mut event) = self.read::<AuditEvent>(&key).await? {
                event.count = Some(event.count.unwrap_or(1) + 1);
                return self.store(&key, &event).await;
            }
        }
        let id = self
            .append(envelope.into(), "admin.auth_failed", source, Some(1))
            .await?;
        self.env.storage.put(&mark, &id).await
    }

    /// Appends an entry (after sweeping expired ones); answers its id.
    async fn append(
        &self,
        origin: Origin<'_>,
        action: &str,
        target: &str,
        count: Option<u64>,
    ) -> Result<String, StoreError> {
        self.delete_before(ENTRY_PREFIX, &self.oldest_kept())
            .await?;
        let at = self.env.clock.now_ms();
        let seq: u64 = self.read("audit-seq").await?.unwrap_or(0) + 1;
        self.env.storage.put("audit-seq", &seq.to_string()).await?;
        let id = format!("{at:013}-{seq:010}");
        let event = AuditEvent {
            id: id.clone(),
            at: at / 1000,
            actor: origin.actor.to_owned(),
            action: action.into(),
            target: target.into(),
            request_id: origin.request_id.to_owned(),
            count,
        };
        self.store(&format!("{ENTRY_PREFIX}{id}"), &event).await?;
        Ok(id)
    }

    /// The smallest key an entry inside the retention can have.
    fn oldest_kept(&self) -> String {
        let retention_ms = self.env.audit_retention_secs.saturating_mul(1000);
        let cutoff = self.env.clock.now_ms().saturating_sub(retention_ms);
        format!("{ENTRY_PREFIX}{cutoff:013}")
    }

    /// Deletes up to [`SWEEP_BATCH`] keys under `prefix` that sort before `bound`, oldest
    /// first.
    async fn delete_before(&self, prefix: &str, bound: &str) -> Result<(), StoreError> {
        let oldest = self
            .env
            .storage
            .list(prefix, None, SWEEP_BATCH, false)
            .await?;
        for (key, _) in oldest.iter().take_while(|(key, _)| key.as_str() < bound) {
            self.env.storage.delete(key).await?;
        }
        Ok(())
    }

    /// A page of the audit log, newest first, filtered; see [`AuditQuery`].
    pub(super) async fn list_audit(&self, query: &AuditQuery) -> Result<Reply, StoreError> {
        let limit = query
            .limit
            .unwrap_or(AUDIT_PAGE_DEFAULT)
            .clamp(1, AUDIT_PAGE_MAX);
        let oldest_kept = self.oldest_kept();
        // A bare `audit:<ms>` sorts before every key of that millisecond, so listing backwards
        // from it starts strictly before `ms`.
        let mut cursor = match (&query.cursor, query.until) {
            (Some(c), _) => Some(format!("{ENTRY_PREFIX}{c}")),
            (None, Some(until)) => Some(format!(
                "{ENTRY_PREFIX}{:013}",
                until.saturating_add(1).saturating_mul(1000)
            )),
            (None, None) => None,
        };
        let mut events = Vec::new();
        let mut scanned = 0;
        loop {
            let page = self
                .env
                .storage
                .list(ENTRY_PREFIX, cursor.as_deref(), AUDIT_PAGE_MAX, true)
                .await?;
            let exhausted = page.len() < AUDIT_PAGE_MAX;
            for (key, raw) in page {
                let event: AuditEvent = serde_json::from_str(&raw)
                    .map_err(|e| StoreError(format!("corrupt record {key}: {e}")))?;
                if key < oldest_kept || query.since.is_some_and(|since| event.at < since) {
                    return Ok(Reply::Audit(AuditPage {
                        events,
                        next_cursor: None,
                    }));
                }
                scanned += 1;
                let last_id = event.id.clone();
                let wanted = query.until.is_none_or(|u| event.at <= u)
                    && query.target.as_ref().is_none_or(|t| *t == event.target)
                    && query.action.as_ref().is_none_or(|a| *a == event.action);
                if wanted {
                    events.push(event);
                }
                if events.len() == limit || scanned == AUDIT_SCAN_LIMIT {
                    return Ok(Reply::Audit(AuditPage {
                        events,
                        next_cursor: Some(last_id),
                    }));
                }
                cursor = Some(key);
            }
            if exhausted {
                return Ok(Reply::Audit(AuditPage {
                    events,
                    next_cursor: None,
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests;
