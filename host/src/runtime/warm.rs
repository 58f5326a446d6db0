//! Warm instances (SPEC §3, manifest `[instances] reuse = N`): an instance that served an
//! invocation well is kept for the next one of the same module version, up to N
//! invocations, then dropped. Off by default (a fresh instance per invocation).
//!
//! What holds: a pool belongs to one loaded version of one module, so an instance is never
//! shared across modules, tenants or versions (a swap drops the old pool with its version);
//! one invocation at a time per instance (taken out of the pool while it runs); an
//! instance that trapped, hit its deadline or its memory cap is dropped, never put back;
//! an idle instance is dropped after `idle-seconds`; the host's per-invocation state (the
//! capabilities' parts, the budget, the deadline) is made afresh for every invocation.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use wasmtime::Store;
use wasmtime::component::Instance;

use super::state::InvocationState;
use crate::config::manifest::InstanceSettings;

/// An instance kept between invocations, with its store.
pub struct WarmInstance {
    /// The store (the instance's memory and the host state it carries).
    pub store: Store<InvocationState>,
    /// The instance.
    pub instance: Instance,
    /// Invocations it has served.
    pub served: u32,
    idle_since: Instant,
}

/// The idle instances of one module version.
pub struct WarmPool {
    settings: InstanceSettings,
    idle: Mutex<Vec<WarmInstance>>,
}

impl WarmPool {
    /// A pool for a module whose manifest opts in (`reuse` above 1), else none, known to
    /// `pools`. Its idle instances are swept by a task that ends with the pool.
    pub fn for_settings(settings: &InstanceSettings, pools: &WarmPools) -> Option<Arc<WarmPool>> {
        if settings.reuse <= 1 {
            return None;
        }
        let pool = Arc::new(WarmPool {
            settings: settings.clone(),
            idle: Mutex::new(Vec::new()),
        });
        pools.register(&pool);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(sweep(Arc::downgrade(&pool), pool.idle_limit()));
        }
        Some(pool)
    }

    fn idle_limit(&self) -> Duration {
        Duration::from_secs(self.settings.idle_seconds)
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<WarmInstance>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most recently used idle instance still within its idle time, if any.
    pub fn take(&self) -> Option<WarmInstance> {
        let limit = self.idle_limit();
        let mut idle = self.idle();
        while let Some(warm) = idle.pop() {
            if warm.idle_since.elapsed() < limit {
                return Some(warm);
            }
        }
        None
    }

    /// Keeps an instance that served an invocation well, unless it has served its share
    /// or enough instances are idle already (then it is dropped).
    pub fn put_back(&self, store: Store<InvocationState>, instance: Instance, served: u32) {
        if served >= self.settings.reuse {
            return;
        }
        let mut idle = self.idle();
        if idle.len() >= self.settings.max_idle as usize {
            return;
        }
        idle.push(WarmInstance {
            store,
            instance,
            served,
            idle_since: Instant::now(),
        });
    }

    /// Instances idle now.
    pub fn idle_count(&self) -> usize {
        self.idle().len()
    }

    /// Every idle instance, taken out.
    fn take_all(&self) -> Vec<WarmInstance> {
        std::mem::take(&mut *self.idle())
    }

    /// Drops the instances idle for longer than the limit.
    fn drop_expired(&self) {
        let limit = self.idle_limit();
        // Out of the lock first: dropping a store frees its memory slot.
        let expired: Vec<WarmInstance> = {
            let mut idle = self.idle();
            let (keep, expired) = idle
                .drain(..)
                .partition(|warm| warm.idle_since.elapsed() < limit);
            *idle = keep;
            expired
        };
        drop(expired);
    }
}

/// Every module's pool, so that idle instances give way when the host runs out of
/// instance slots: an idle instance holds a slot, and one tenant's idle instances must
/// never leave another tenant's requests without one.
#[derive(Default)]
pub struct WarmPools {
    pools: Mutex<Vec<Weak<WarmPool>>>,
}

impl WarmPools {
    fn register(&self, pool: &Arc<WarmPool>) {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        pools.retain(|pool| pool.strong_count() > 0);
        pools.push(Arc::downgrade(pool));
    }

    /// Drops every idle instance of every module; how many there were.
    pub fn release_idle(&self) -> usize {
        let pools: Vec<Arc<WarmPool>> = {
            let pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
            pools.iter().filter_map(Weak::upgrade).collect()
        };
        // Out of every lock: dropping a store frees its slot.
        let idle: Vec<WarmInstance> = pools.iter().flat_map(|pool| pool.take_all()).collect();
        let released = idle.len();
        drop(idle);
        if released > 0 {
            tracing::info!(
                released,
                "idle warm instances dropped: the host is out of instance slots"
            );
        }
        released
    }
}

/// Every half idle time, drops the pool's expired instances; ends with the pool.
async fn sweep(pool: Weak<WarmPool>, idle: Duration) {
    let mut tick = tokio::time::interval((idle / 2).max(Duration::from_millis(100)));
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(pool) = pool.upgrade() else { return };
        pool.drop_expired();
    }
}
