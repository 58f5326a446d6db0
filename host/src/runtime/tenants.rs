//! Per-tenant quotas and fair share: each tenant has its own share of invocation slots
//! (`max-concurrent`, with a bounded line of waiters), its own request rate, and its own
//! counters. A tenant that floods the host fills only its own share; another tenant's
//! invocations find their slots free and the CPU shared among few running guests.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::rate::{Bucket, Rate};
use crate::config::{HostConfig, TenantConfig};

/// Why a tenant's invocation was not admitted.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TenantRefusal {
    /// Every slot of the tenant is taken and its line of waiters is full, or the wait
    /// outlasted the invocation's deadline.
    #[error(
        "tenant '{tenant}' has {max_concurrent} invocations running and {waiting} waiting, its \
         quota (host.toml tenants.{tenant}.max-concurrent / max-waiting); retry shortly"
    )]
    Busy {
        /// The tenant.
        tenant: String,
        /// Its slots.
        max_concurrent: usize,
        /// Its waiters when refused.
        waiting: usize,
    },
    /// The tenant's request rate is exceeded.
    #[error(
        "tenant '{tenant}' is over its rate of {per_second} requests per second \
         (host.toml tenants.{tenant}.requests-per-second); retry after {retry_after_s} s"
    )]
    RateLimited {
        /// The tenant.
        tenant: String,
        /// Its rate.
        per_second: u32,
        /// Whole seconds until a request would be admitted.
        retry_after_s: u64,
    },
}

impl TenantRefusal {
    /// The shared error code: `tenant_busy` or `rate_limited`.
    pub fn code(&self) -> &'static str {
        match self {
            TenantRefusal::Busy { .. } => "tenant_busy",
            TenantRefusal::RateLimited { .. } => "rate_limited",
        }
    }

    /// Seconds the caller should wait before retrying.
    pub fn retry_after_s(&self) -> u64 {
        match self {
            TenantRefusal::Busy { .. } => 1,
            TenantRefusal::RateLimited { retry_after_s, .. } => *retry_after_s,
        }
    }
}

/// Counters of one tenant.
#[derive(Debug, Default, Serialize)]
pub struct TenantMetrics {
    /// Invocations admitted.
    pub admitted: AtomicU64,
    /// Invocations refused because the tenant's slots and line were full.
    pub refused_busy: AtomicU64,
    /// Requests refused by the tenant's rate limit.
    pub refused_rate: AtomicU64,
}

/// One tenant's share of the host.
pub struct TenantGate {
    name: String,
    slots: Arc<Semaphore>,
    max_concurrent: usize,
    waiting: AtomicUsize,
    max_waiting: usize,
    rate: Option<(u32, Mutex<Bucket>)>,
    /// Jobs the tenant's queue may hold.
    pub max_queued_jobs: u64,
    /// The tenant's counters.
    pub metrics: TenantMetrics,
}

/// Held while an invocation runs; frees the tenant's slot when dropped.
pub struct Admission {
    _permit: OwnedSemaphorePermit,
}

impl TenantGate {
    fn new(name: &str, config: &TenantConfig) -> TenantGate {
        let rate = (config.requests_per_second > 0).then(|| {
            let per_second = config.requests_per_second;
            let burst = config.burst.unwrap_or(per_second).max(1);
            let bucket = Bucket::new(Rate {
                per_second: f64::from(per_second),
                burst: f64::from(burst),
            });
            (per_second, Mutex::new(bucket))
        });
        TenantGate {
            name: name.to_string(),
            slots: Arc::new(Semaphore::new(config.max_concurrent)),
            max_concurrent: config.max_concurrent,
            waiting: AtomicUsize::new(0),
            max_waiting: config.max_waiting,
            rate,
            max_queued_jobs: config.max_queued_jobs,
            metrics: TenantMetrics::default(),
        }
    }

    /// Spends one request of the tenant's rate, or says when to retry.
    pub fn take_request(&self) -> Result<(), TenantRefusal> {
        let Some((per_second, bucket)) = &self.rate else {
            return Ok(());
        };
        let outcome = bucket.lock().unwrap_or_else(|e| e.into_inner()).try_take();
        outcome.map_err(|wait| {
            self.metrics.refused_rate.fetch_add(1, Ordering::Relaxed);
            TenantRefusal::RateLimited {
                tenant: self.name.clone(),
                per_second: *per_second,
                retry_after_s: wait.as_secs_f64().ceil().max(1.0) as u64,
            }
        })
    }

    /// A slot for one invocation: at once when one is free, else after waiting in line
    /// (at most `max-waiting` wait, none past `deadline`).
    pub async fn admit(&self, deadline: Instant) -> Result<Admission, TenantRefusal> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            self.metrics.admitted.fetch_add(1, Ordering::Relaxed);
            return Ok(Admission { _permit: permit });
        }
        let waiting = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _leave = LeaveLine(&self.waiting);
        if waiting >= self.max_waiting {
            return Err(self.busy(waiting));
        }
        let wait = tokio::time::timeout_at(deadline.into(), self.slots.clone().acquire_owned());
        match wait.await {
            Ok(Ok(permit)) => {
                self.metrics.admitted.fetch_add(1, Ordering::Relaxed);
                Ok(Admission { _permit: permit })
            }
            _ => Err(self.busy(self.waiting.load(Ordering::Acquire))),
        }
    }

    fn busy(&self, waiting: usize) -> TenantRefusal {
        self.metrics.refused_busy.fetch_add(1, Ordering::Relaxed);
        TenantRefusal::Busy {
            tenant: self.name.clone(),
            max_concurrent: self.max_concurrent,
            waiting,
        }
    }

    /// Invocations running now.
    pub fn running(&self) -> usize {
        self.max_concurrent - self.slots.available_permits()
    }
}

struct LeaveLine<'a>(&'a AtomicUsize);

impl Drop for LeaveLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The gates of every tenant of host.toml.
pub struct Tenants {
    gates: BTreeMap<String, Arc<TenantGate>>,
}

/// What the admin API shows of a tenant.
#[derive(Serialize)]
pub struct TenantReport<'a> {
    /// The tenant.
    pub name: &'a str,
    /// Its folder globs.
    pub modules: &'a [String],
    /// Invocations running now.
    pub running: usize,
    /// Its slots.
    pub max_concurrent: usize,
    /// Its counters.
    pub metrics: &'a TenantMetrics,
}

impl Tenants {
    /// A gate per tenant of `config`.
    pub fn new(config: &HostConfig) -> Tenants {
        let gates = config
            .tenants
            .iter()
            .map(|(name, t)| (name.clone(), Arc::new(TenantGate::new(name, t))))
            .collect();
        Tenants { gates }
    }

    /// The gate of `tenant` (every loaded module's tenant has one).
    pub fn gate(&self, tenant: &str) -> Option<&Arc<TenantGate>> {
        self.gates.get(tenant)
    }

    /// Every tenant with its counters.
    pub fn report<'a>(&'a self, config: &'a HostConfig) -> Vec<TenantReport<'a>> {
        self.gates
            .iter()
            .map(|(name, gate)| TenantReport {
                name,
                modules: config
                    .tenants
                    .get(name)
                    .map_or(&[], |t| t.modules.as_slice()),
                running: gate.running(),
                max_concurrent: gate.max_concurrent,
                metrics: &gate.metrics,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn gate(max_concurrent: usize, max_waiting: usize, rps: u32) -> TenantGate {
        let config = TenantConfig {
            max_concurrent,
            max_waiting,
            requests_per_second: rps,
            ..TenantConfig::default()
        };
        TenantGate::new("acme", &config)
    }

    #[tokio::test]
    async fn a_tenant_runs_at_most_its_slots_and_refuses_beyond_its_line() {
        let gate = Arc::new(gate(2, 1, 0));
        let far = Instant::now() + Duration::from_secs(5);
        let a = gate.admit(far).await.unwrap();
        let _b = gate.admit(far).await.unwrap();
        assert_eq!(gate.running(), 2);
        let waiter = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.admit(far).await.map(drop) })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let refused = gate.admit(far).await.map(drop).unwrap_err();
        assert!(matches!(refused, TenantRefusal::Busy { .. }), "{refused}");
        drop(a);
        waiter.await.unwrap().unwrap();
        assert_eq!(gate.metrics.refused_busy.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_wait_ends_at_the_deadline() {
        let gate = gate(1, 10, 0);
        let _held = gate
            .admit(Instant::now() + Duration::from_secs(5))
            .await
            .unwrap();
        let started = Instant::now();
        let soon = Instant::now() + Duration::from_millis(50);
        assert!(gate.admit(soon).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn the_request_rate_is_enforced_with_a_retry_after() {
        let gate = gate(1, 1, 2);
        assert!(gate.take_request().is_ok());
        assert!(gate.take_request().is_ok());
        let refused = gate.take_request().unwrap_err();
        assert_eq!(refused.retry_after_s(), 1);
        assert_eq!(gate.metrics.refused_rate.load(Ordering::Relaxed), 1);
    }
}
