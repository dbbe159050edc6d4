//! The authority's half of the deny-list ([`crate::denylist`]): it stores one small record per
//! revoked token (`denied/<jti>`, storage only, so a repeat is recognised without reading a
//! list), keeps the head and the sealed pages, copies both to KV, and sweeps what expired.

use super::Run;
use crate::denylist::{page_key, DenyHead, DenyPage, HEAD_KEY};
use crate::ports::StoreError;

fn denied_key(jti: &str) -> String {
    format!("denied/{jti}")
}

impl Run<'_, '_> {
    /// The stored head with everything expired swept away (recent entries, rules, and whole
    /// pages oldest first, their `denied/` records with them).
    async fn swept_head(&self) -> Result<(DenyHead, bool), StoreError> {
        let now = self.env.clock.now();
        let mut head: DenyHead = self.read(HEAD_KEY).await?.unwrap_or_default();
        let before = head.clone();
        for jti in head.prune(now) {
            self.env.storage.delete(&denied_key(&jti)).await?;
        }
        while head.first_page_expired(now) {
            let key = page_key(head.first_page);
            if let Some(page) = self.read::<DenyPage>(&key).await? {
                for jti in page.entries.keys() {
                    self.env.storage.delete(&denied_key(jti)).await?;
                }
            }
            self.env.storage.delete(&key).await?;
            self.publish::<DenyPage>(&key, None)?;
            let following = page_key(head.first_page + 1);
            let next_expires = self
                .read::<DenyPage>(&following)
                .await?
                .map(|page| page.expires);
            head.drop_first(next_expires);
        }
        let changed = head != before;
        Ok((head, changed))
    }

    /// Denies tokens (`jti`, kept until) and returns the head; answers which were new.
    pub(super) async fn deny_tokens<'t>(
        &self,
        tokens: impl IntoIterator<Item = (&'t str, u64)>,
    ) -> Result<(DenyHead, Vec<&'t str>), StoreError> {
        let now = self.env.clock.now();
        let (mut head, mut changed) = self.swept_head().await?;
        let mut added = Vec::new();
        for (jti, until) in tokens {
            let key = denied_key(jti);
            if until <= now || self.env.storage.get(&key).await?.is_some() {
                continue;
            }
            self.store(&key, &until).await?;
            head.add(jti, until, now);
            added.push(jti);
            changed = true;
        }
        while let Some((n, page)) = head.seal() {
            self.write(&page_key(n), &page).await?;
        }
        if changed {
            self.write(HEAD_KEY, &head).await?;
        }
        Ok((head, added))
    }

    /// Changes the head's client and key rules with `change`, then stores and publishes it.
    pub(super) async fn change_rules(
        &self,
        change: impl FnOnce(&mut DenyHead, u64),
    ) -> Result<DenyHead, StoreError> {
        let (mut head, _) = self.swept_head().await?;
        change(&mut head, self.env.clock.now());
        self.write(HEAD_KEY, &head).await?;
        Ok(head)
    }
}
