//! Login lockouts: failed sign-ins counted per username and per caller network, in the grant
//! shard that the key hashes to (RFC 9700 §4.15, NIST SP 800-63B §5.2.2).
//!
//! - **Counting.** An attempt counts as a failure the moment it is admitted, before any
//!   password is checked, so concurrent guesses cannot all pass one check together; a right
//!   password then forgives it ([`Attempts::forgive`]).
//! - **Back-off.** After [`Policy::free_failures`] failures (5 for a username, 20 for a network)
//!   each further failure locks the key for [`LOCKOUT_BASE`] seconds, doubling up to
//!   [`LOCKOUT_MAX`]. Failures are forgotten only after [`FAILURE_MEMORY`] without one, which
//!   outlasts the longest lockout, so waiting a lockout out never starts the doubling over.
//! - **Cap.** A username takes at most [`MAX_GUESSES`] failed guesses in any [`GUESS_WINDOW`]:
//!   the hundredth locks it until the oldest of them leaves the window. A right password resets
//!   the back-off but not this tally, so the bound holds however guesses and sign-ins mix.
//! - **Expiry.** A record lives only while something in it can still matter
//!   ([`Attempts::expires_at`]): every write moves its entry in the shard's expiry index, and the
//!   shard's sweep (run by every sign-in attempt, among others) deletes what has expired, a
//!   bounded batch at a time. So usernames made up by the thousand cost storage for 30 days at
//!   most, and an address locked out creates none, as its own key is checked first
//!   (`login`).

use serde::{Deserialize, Serialize};

use super::{shard_of, GrantReply, Shard};
use crate::crypto::sha256_b64;
use crate::ports::StoreError;

/// First lockout, seconds; each further failure doubles it.
const LOCKOUT_BASE: u64 = 30;
/// Longest lockout, seconds.
const LOCKOUT_MAX: u64 = 3600;
/// A key's failures are forgotten this long after the last one, seconds.
const FAILURE_MEMORY: u64 = 86_400;
/// The window of the guess cap, seconds.
const GUESS_WINDOW: u64 = 30 * 86_400;
/// Most failed guesses a username takes in any [`GUESS_WINDOW`].
const MAX_GUESSES: usize = 100;

const _: () = assert!(
    FAILURE_MEMORY > LOCKOUT_MAX,
    "waiting out the longest lockout must not reset the back-off"
);

/// What sign-in attempts are counted under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockKey {
    /// A username, as the SHA-256 of its lower-cased form (so a name of any length makes a
    /// storage key of one size, and the lockout store holds no names).
    Username(String),
    /// A caller's network ([`crate::http::Request::client_network`]), or `unknown`.
    Network(String),
}

impl LockKey {
    /// The key of a username as typed (case-insensitive, like the user store).
    pub fn username(name: &str) -> Self {
        Self::Username(sha256_b64(name.to_lowercase().as_bytes()))
    }

    /// The shard that counts this key.
    pub fn shard(&self) -> u32 {
        shard_of(&self.storage_key())
    }

    fn storage_key(&self) -> String {
        match self {
            Self::Username(hash) => format!("lock:user:{hash}"),
            Self::Network(network) => format!("lock:ip:{network}"),
        }
    }

    fn policy(&self) -> Policy {
        match self {
            Self::Username(_) => Policy {
                free_failures: 5,
                success_resets_back_off: true,
                caps_guesses: true,
            },
            Self::Network(_) => Policy {
                free_failures: 20,
                success_resets_back_off: false,
                caps_guesses: false,
            },
        }
    }
}

/// How one kind of key is counted.
#[derive(Debug, Clone, Copy)]
struct Policy {
    /// Failures admitted before the back-off starts.
    free_failures: u32,
    /// Whether a right password clears the back-off (a username's own) or only forgives its
    /// own attempt (a network's, which many people may share: one valid sign-in must not
    /// launder the failures of others).
    success_resets_back_off: bool,
    /// Whether the key has the [`MAX_GUESSES`] cap (a username).
    caps_guesses: bool,
}

/// Failed sign-ins under one key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Attempts {
    /// Failures the back-off counts: since the last right password (for a username) or the
    /// last [`FAILURE_MEMORY`] of quiet.
    failures: u32,
    last_failure: u64,
    locked_until: u64,
    /// When each failed guess of the last [`GUESS_WINDOW`] was admitted, oldest first (a
    /// username's only; never more than [`MAX_GUESSES`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    guesses: Vec<u64>,
}

impl Attempts {
    /// Admits an attempt at `now`, counting it as a failure, unless the key is locked out.
    /// Answers the seconds until the key may try again (0 = admitted).
    fn admit(&mut self, policy: Policy, now: u64) -> u64 {
        if self.locked_until > now {
            return self.locked_until - now;
        }
        if now.saturating_sub(self.last_failure) >= FAILURE_MEMORY {
            self.failures = 0;
        }
        self.failures = self.failures.saturating_add(1);
        self.last_failure = now;
        if policy.caps_guesses {
            self.guesses.retain(|&at| at + GUESS_WINDOW > now);
            self.guesses.push(now);
        }
        let back_off = self
            .failures
            .checked_sub(policy.free_failures)
            .map_or(0, |n| now + (LOCKOUT_BASE << n.min(16)).min(LOCKOUT_MAX));
        self.locked_until = back_off.max(self.cap_end());
        0
    }

    /// Forgives the latest admitted attempt: its password was right.
    fn forgive(&mut self, policy: Policy) {
        self.guesses.pop();
        self.failures = if policy.success_resets_back_off {
            0
        } else {
            self.failures.saturating_sub(1)
        };
        if self.failures < policy.free_failures {
            // No failure left on record started a back-off.
            self.locked_until = 0;
        }
        self.locked_until = self.locked_until.max(self.cap_end());
    }

    /// When the guess cap lets the key try again (0 = it is not reached).
    fn cap_end(&self) -> u64 {
        match self.guesses.first() {
            Some(oldest) if self.guesses.len() >= MAX_GUESSES => oldest + GUESS_WINDOW,
            _ => 0,
        }
    }

    /// When nothing in the record matters any more: the lockout is over, the back-off
    /// forgotten and every guess out of the window.
    fn expires_at(&self) -> u64 {
        let tally = self.guesses.last().map_or(0, |at| at + GUESS_WINDOW);
        (self.last_failure + FAILURE_MEMORY)
            .max(self.locked_until)
            .max(tally)
    }

    /// Whether the record holds nothing at all (every failure was forgiven).
    fn is_clear(&self) -> bool {
        self.failures == 0 && self.guesses.is_empty()
    }
}

impl Shard<'_, '_> {
    /// [`super::GrantCommand::LoginAttempt`].
    pub(super) async fn login_attempt(&self, key: &LockKey) -> Result<GrantReply, StoreError> {
        self.sweep().await?;
        let stored: Option<Attempts> = self.read(&key.storage_key()).await?;
        let mut attempts = stored.clone().unwrap_or_default();
        let retry_after = attempts.admit(key.policy(), self.now);
        if retry_after == 0 {
            self.save_attempts(key, stored.as_ref(), &attempts).await?;
        }
        Ok(GrantReply::Lockout { retry_after })
    }

    /// [`super::GrantCommand::LoginSucceeded`].
    pub(super) async fn login_succeeded(&self, key: &LockKey) -> Result<GrantReply, StoreError> {
        let Some(stored) = self.read::<Attempts>(&key.storage_key()).await? else {
            return Ok(GrantReply::Done);
        };
        let mut attempts = stored.clone();
        attempts.forgive(key.policy());
        self.save_attempts(key, Some(&stored), &attempts).await?;
        Ok(GrantReply::Done)
    }

    /// Stores `new` in place of `old` (deleting the record once it is clear) and moves its
    /// entry in the expiry index to the new expiry.
    async fn save_attempts(
        &self,
        key: &LockKey,
        old: Option<&Attempts>,
        new: &Attempts,
    ) -> Result<(), StoreError> {
        let storage_key = key.storage_key();
        if let Some(old) = old {
            self.unexpire(&storage_key, old.expires_at()).await?;
        }
        if new.is_clear() {
            return self.env.storage.delete(&storage_key).await;
        }
        self.write(&storage_key, new).await?;
        self.expire(&storage_key, new.expires_at()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::tests::T;
    use crate::grants::GrantCommand;

    impl T {
        /// An attempt: the seconds to wait (0 = admitted, and counted as a failure).
        fn attempt(&self, key: &LockKey) -> u64 {
            match self.run(&GrantCommand::LoginAttempt { key: key.clone() }) {
                GrantReply::Lockout { retry_after } => retry_after,
                other => panic!("{other:?}"),
            }
        }
        fn succeed(&self, key: &LockKey) {
            self.run(&GrantCommand::LoginSucceeded { key: key.clone() });
        }
        /// Admits failures until the key is locked; answers the wait.
        fn fail_until_locked(&self, key: &LockKey) -> u64 {
            loop {
                let wait = self.attempt(key);
                if wait > 0 {
                    return wait;
                }
            }
        }
    }

    #[test]
    fn back_off_doubles_up_to_the_maximum_and_waiting_it_out_does_not_reset_it() {
        let t = T::new();
        let bob = LockKey::username("bob");
        for _ in 0..5 {
            assert_eq!(t.attempt(&bob), 0);
        }
        let mut waits = Vec::new();
        for _ in 0..9 {
            let wait = t.attempt(&bob);
            waits.push(wait);
            t.advance(wait);
            assert_eq!(t.attempt(&bob), 0, "admitted once the lockout ends");
        }
        assert_eq!(
            waits,
            [30, 60, 120, 240, 480, 960, 1920, 3600, 3600],
            "the lockout doubles to an hour, and stays there"
        );
    }

    #[test]
    fn failures_are_forgotten_only_after_a_day_of_quiet() {
        let t = T::new();
        let bob = LockKey::username("bob");
        assert_eq!(t.fail_until_locked(&bob), 30);
        t.advance(FAILURE_MEMORY - 1);
        assert_eq!(t.attempt(&bob), 0);
        assert_eq!(
            t.attempt(&bob),
            60,
            "a failure within the day still doubles"
        );
        t.advance(FAILURE_MEMORY);
        for _ in 0..5 {
            assert_eq!(t.attempt(&bob), 0, "a day of quiet starts the count over");
        }
        assert_eq!(t.attempt(&bob), 30);
    }

    #[test]
    fn a_right_password_clears_a_usernames_back_off() {
        let t = T::new();
        let bob = LockKey::username("bob");
        assert_eq!(t.fail_until_locked(&bob), 30);
        t.advance(30);
        assert_eq!(t.attempt(&bob), 0);
        t.succeed(&bob);
        for _ in 0..5 {
            assert_eq!(t.attempt(&bob), 0);
        }
        assert_eq!(t.attempt(&bob), 30, "the doubling starts over");
    }

    #[test]
    fn a_username_takes_at_most_100_guesses_in_30_days() {
        let t = T::new();
        let bob = LockKey::username("Bob");
        let start = t.clock.0.get() / 1000;
        // Four wrong guesses and a right password, 25 times: the back-off never starts, but
        // the tally of the 30 days keeps every guess.
        for round in 0..25 {
            for _ in 0..4 {
                assert_eq!(t.attempt(&bob), 0);
            }
            t.advance(3600);
            if round < 24 {
                assert_eq!(t.attempt(&bob), 0);
                t.succeed(&LockKey::username("bob"));
            }
        }
        // The hundredth guess locked the name until the first guess is 30 days old, right
        // password or not.
        let now = t.clock.0.get() / 1000;
        assert_eq!(
            t.attempt(&bob),
            start + GUESS_WINDOW - now,
            "the 101st guess"
        );
        t.advance(start + GUESS_WINDOW - now - 1);
        assert_eq!(t.attempt(&bob), 1);
        t.advance(1);
        // The first round's four guesses left the window together.
        assert_eq!(t.attempt(&bob), 0);
        assert_eq!(t.attempt(&bob), 0);
        assert_eq!(t.attempt(&bob), 0);
        assert_eq!(t.attempt(&bob), 0);
        assert_eq!(
            t.attempt(&bob),
            3600,
            "the next round's guesses are still in it"
        );
    }

    #[test]
    fn a_network_has_no_guess_cap_and_a_valid_sign_in_forgives_only_its_own_attempt() {
        let t = T::new();
        let net = LockKey::Network("192.0.2.1".into());
        for _ in 0..19 {
            assert_eq!(t.attempt(&net), 0);
        }
        t.succeed(&net);
        // 18 failures stand: two more attempts, and the network is locked.
        assert_eq!(t.attempt(&net), 0);
        assert_eq!(t.attempt(&net), 0);
        assert_eq!(t.attempt(&net), 30);
        // Well past a hundred failures, it is still only backed off, never capped.
        for _ in 0..120 {
            let wait = t.attempt(&net);
            assert!(wait <= LOCKOUT_MAX, "{wait}");
            t.advance(wait);
        }
    }

    #[test]
    fn lock_records_expire_so_made_up_usernames_cannot_grow_storage() {
        let t = T::new();
        for i in 0..50 {
            assert_eq!(t.attempt(&LockKey::username(&format!("nobody{i}"))), 0);
        }
        let net = LockKey::Network("192.0.2.1".into());
        assert_eq!(t.fail_until_locked(&net), 30);
        assert_eq!(t.keys_with("lock:user:"), 50);
        assert_eq!(t.keys_with("lock:ip:"), 1);
        // One entry in the expiry index per record, however often the record was written.
        assert_eq!(t.keys_with("expiry:"), 51);
        t.advance(GUESS_WINDOW);
        // Each attempt sweeps a batch; the last of them leaves only its own record.
        let fresh = LockKey::username("fresh");
        for _ in 0..3 {
            t.attempt(&fresh);
        }
        assert_eq!(t.keys_with("lock:"), 1);
        assert_eq!(t.keys_with("expiry:"), 1);
        // A record cleared by a right password is deleted with its index entry at once.
        t.advance(FAILURE_MEMORY);
        t.succeed(&fresh);
        t.succeed(&fresh);
        t.succeed(&fresh);
        assert_eq!((t.keys_with("lock:"), t.keys_with("expiry:")), (0, 0));
    }

    #[test]
    fn usernames_are_counted_case_insensitively_under_a_fixed_size_key() {
        assert_eq!(LockKey::username("Bob"), LockKey::username("bob"));
        let long = LockKey::username(&"x".repeat(60_000));
        assert!(long.storage_key().len() < 64);
    }
}
