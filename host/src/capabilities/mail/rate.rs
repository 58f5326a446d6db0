//! Messages per minute, per tenant, on this host: a token bucket per tenant that holds a
//! minute's worth and refills continuously, so a tenant may send its whole allowance at
//! once, then at the allowed pace.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// The buckets of every tenant that has sent.
#[derive(Default)]
pub struct SendRate {
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl SendRate {
    /// Takes one message from `tenant`'s allowance of `per_minute`; false when it is spent.
    pub fn take(&self, tenant: &str, per_minute: u32) -> bool {
        self.take_at(tenant, per_minute, Instant::now())
    }

    fn take_at(&self, tenant: &str, per_minute: u32, now: Instant) -> bool {
        let capacity = f64::from(per_minute);
        let mut buckets = self.buckets.lock().unwrap();
        let bucket = buckets.entry(tenant.to_string()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * capacity / 60.0;
        bucket.tokens = (bucket.tokens + refill).min(capacity);
        bucket.at = now;
        if bucket.tokens < 1.0 {
            return false;
        }
        bucket.tokens -= 1.0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_tenant_sends_its_minute_at_once_then_at_the_allowed_pace() {
        let rate = SendRate::default();
        let start = Instant::now();
        assert!((0..3).all(|_| rate.take_at("acme", 3, start)));
        assert!(!rate.take_at("acme", 3, start));
        assert!(
            rate.take_at("globex", 3, start),
            "tenants do not share a bucket"
        );
        assert!(rate.take_at("acme", 3, start + Duration::from_secs(20)));
        assert!(!rate.take_at("acme", 3, start + Duration::from_secs(21)));
    }
}
