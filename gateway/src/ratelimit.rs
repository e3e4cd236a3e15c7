//! Per-principal rate limiting: a token bucket per subject, refilled
//! continuously. A refused call learns how long to wait.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::RateLimit;
use crate::error::Refusal;

/// Buckets kept before idle ones (full again) are dropped.
const PRUNE_AT: usize = 65_536;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets keyed by principal.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether no call is ever refused.
    pub(crate) fn is_unlimited(&self) -> bool {
        self.limit.is_unlimited()
    }

    /// Takes one token from `key`'s bucket, or says how long until one is there.
    pub(crate) fn check(&self, key: &str, now: Instant) -> Result<(), Refusal> {
        if self.limit.is_unlimited() {
            return Ok(());
        }
        let RateLimit { per_second, burst } = self.limit;
        let burst = f64::from(burst);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = match buckets.get_mut(key) {
            Some(b) => {
                let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
                b.tokens = (b.tokens + elapsed * per_second).min(burst);
                b.last = now;
                b
            }
            None => {
                if buckets.len() >= PRUNE_AT {
                    let full_after = Duration::from_secs_f64(burst / per_second);
                    buckets.retain(|_, b| now.saturating_duration_since(b.last) < full_after);
                }
                buckets.entry(key.to_string()).or_insert(Bucket {
                    tokens: burst,
                    last: now,
                })
            }
        };
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - bucket.tokens) / per_second;
        Err(Refusal::RateLimited {
            per_second,
            burst: self.limit.burst,
            retry_after: Duration::from_secs_f64(wait).max(Duration::from_millis(1)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_bucket_refills_at_the_rate() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: 10.0,
            burst: 3,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.check("alice", t0).unwrap();
        }
        let Err(Refusal::RateLimited { retry_after, .. }) = limiter.check("alice", t0) else {
            panic!("fourth call passed")
        };
        assert!(
            retry_after <= Duration::from_millis(100) && retry_after > Duration::from_millis(50)
        );
        // Someone else has their own bucket.
        limiter.check("bob", t0).unwrap();
        // One token is back after 100 ms.
        limiter
            .check("alice", t0 + Duration::from_millis(101))
            .unwrap();
        assert!(
            limiter
                .check("alice", t0 + Duration::from_millis(101))
                .is_err()
        );
    }

    #[test]
    fn unlimited_never_refuses() {
        let limiter = RateLimiter::new(RateLimit::UNLIMITED);
        for _ in 0..10_000 {
            limiter.check("x", Instant::now()).unwrap();
        }
    }
}
