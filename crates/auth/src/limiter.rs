//! Slowing password guessing: failed sign-ins are counted per user name and per source
//! address over a sliding minute; once either reaches the limit, further attempts for it
//! are refused without checking the password until old failures age out.
//!
//! Only failures count, so that a CI job fetching many tokens with good credentials is
//! never slowed; valid API tokens are accepted before the limits are consulted (see
//! `authenticate.rs`). The keys are `user:NAME` (password sign-ins) and `source:ADDRESS`
//! (every failed sign-in, on every path).
//!
//! The state is in memory, per process: N server processes sharing one database allow N
//! times the limit (and forget it on restart), which still bounds guessing to a few
//! attempts per second overall. Moving the counts into the database, so that they hold
//! across nodes, is left to the multi-node work.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys tracked at most; past this, the oldest are dropped (an attacker rotating names
/// cannot exhaust memory).
const MAX_KEYS: usize = 100_000;

/// The sliding window of the limit.
const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub(crate) struct LoginLimiter {
    /// Failures allowed per key and window; 0 turns the limit off.
    limit: u32,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(retry_after)` if any of `keys` has used up its attempts.
    pub fn check(&self, keys: &[String]) -> Result<(), Duration> {
        if self.limit == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let Ok(mut failures) = self.failures.lock() else {
            return Ok(());
        };
        let mut wait = None;
        for key in keys {
            let Some(times) = failures.get_mut(key) else {
                continue;
            };
            prune(times, now);
            if times.len() >= self.limit as usize
                && let Some(oldest) = times.front()
            {
                let free_at = *oldest + WINDOW;
                let retry = free_at
                    .saturating_duration_since(now)
                    .max(Duration::from_secs(1));
                wait = Some(wait.map_or(retry, |w: Duration| w.max(retry)));
            }
        }
        wait.map_or(Ok(()), Err)
    }

    /// Counts one failed attempt against each of `keys`.
    pub fn record_failure(&self, keys: &[String]) {
        if self.limit == 0 {
            return;
        }
        let now = Instant::now();
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, times| {
                prune(times, now);
                !times.is_empty()
            });
            if failures.len() >= MAX_KEYS {
                failures.clear();
            }
        }
        for key in keys {
            let times = failures.entry(key.clone()).or_default();
            prune(times, now);
            times.push_back(now);
            // Only the newest `limit` failures matter.
            while times.len() > self.limit as usize {
                times.pop_front();
            }
        }
    }
}

fn prune(times: &mut VecDeque<Instant>, now: Instant) {
    while times
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
    {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_per_key_block_after_the_limit() {
        let limiter = LoginLimiter::new(3);
        let alice = ["user:alice".to_owned(), "source:10.0.0.1".to_owned()];
        let bob = ["user:bob".to_owned(), "source:10.0.0.2".to_owned()];
        for _ in 0..3 {
            assert!(limiter.check(&alice).is_ok());
            limiter.record_failure(&alice);
        }
        let wait = limiter.check(&alice).err();
        assert!(
            wait.is_some_and(|w| w > Duration::from_secs(50)),
            "{wait:?}"
        );
        assert!(limiter.check(&bob).is_ok());
        // The same source trying another name is still blocked.
        assert!(
            limiter
                .check(&["user:carol".to_owned(), "source:10.0.0.1".to_owned()])
                .is_err()
        );
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let limiter = LoginLimiter::new(0);
        let keys = ["user:alice".to_owned()];
        for _ in 0..100 {
            limiter.record_failure(&keys);
        }
        assert!(limiter.check(&keys).is_ok());
    }
}
