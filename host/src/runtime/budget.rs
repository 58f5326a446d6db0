//! What one invocation may hand the host: log lines and bytes, events, jobs and the bytes
//! they hold pending until the invocation ends. A module cannot grow host memory, disk or
//! the log without bound from one invocation; each refusal is a clear error (events,
//! jobs) or a dropped, counted line (logs), and a counter.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use super::context::ModuleContext;
use crate::config::host_config::LimitsConfig;

/// One invocation's allowance and what it used.
pub struct InvocationBudget {
    module: Arc<ModuleContext>,
    limits: Allowance,
    used: Mutex<Used>,
}

#[derive(Debug, Clone, Copy)]
struct Allowance {
    log_lines: u32,
    log_bytes: usize,
    jobs: usize,
    events: usize,
    pending_bytes: usize,
}

#[derive(Debug, Default)]
struct Used {
    log_lines: u32,
    log_bytes: usize,
    logs_dropped: u64,
    jobs: usize,
    events: usize,
    pending_bytes: usize,
    /// Jobs the tenant's queue may still take, counted at the first dispatch.
    job_headroom: Option<u64>,
}

impl InvocationBudget {
    /// Jobs the tenant's queue could still take when this invocation first looked.
    pub fn job_headroom(&self) -> Option<u64> {
        self.used().job_headroom
    }

    /// Records how many jobs the tenant's queue may still take.
    pub fn set_job_headroom(&self, headroom: u64) {
        self.used().job_headroom = Some(headroom);
    }

    /// The allowance of host.toml's `[limits]` for one invocation of `module`.
    pub fn new(module: Arc<ModuleContext>, limits: &LimitsConfig) -> Arc<InvocationBudget> {
        Arc::new(InvocationBudget {
            module,
            limits: Allowance {
                log_lines: limits.log_lines_per_invocation,
                log_bytes: limits.log_bytes_per_invocation,
                jobs: limits.jobs_per_invocation,
                events: limits.events_per_invocation,
                pending_bytes: limits.pending_bytes_per_invocation,
            },
            used: Mutex::default(),
        })
    }

    /// A full allowance again, for the next invocation of a warm instance (whose WASI
    /// output streams hold this very budget).
    pub fn renew(&self) {
        *self.used() = Used::default();
    }

    fn used(&self) -> std::sync::MutexGuard<'_, Used> {
        self.used.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a log line of `bytes` may be written. The first line over the allowance
    /// is replaced by one warning; every dropped line is counted.
    pub fn log_line(&self, bytes: usize) -> bool {
        let mut used = self.used();
        if used.log_lines < self.limits.log_lines && used.log_bytes + bytes <= self.limits.log_bytes
        {
            used.log_lines += 1;
            used.log_bytes += bytes;
            return true;
        }
        used.logs_dropped += 1;
        let first = used.logs_dropped == 1;
        drop(used);
        self.module
            .metrics
            .log_lines_dropped
            .fetch_add(1, Ordering::Relaxed);
        if first {
            tracing::warn!(
                module = %self.module.name, tenant = %self.module.tenant,
                "the invocation wrote more than {} log lines or {} bytes (host.toml \
                 limits.log-lines-per-invocation / log-bytes-per-invocation); the rest of its \
                 log is dropped and counted",
                self.limits.log_lines, self.limits.log_bytes
            );
        }
        false
    }

    /// Takes one job of `bytes` from the allowance, or says which bound it would exceed.
    pub fn job(&self, bytes: usize) -> Result<(), String> {
        let mut used = self.used();
        if used.jobs >= self.limits.jobs {
            return Err(self.over(format!(
                "one invocation may dispatch at most {} jobs (host.toml limits.jobs-per-invocation)",
                self.limits.jobs
            )));
        }
        if used.job_headroom == Some(0) {
            return Err(self.over(format!(
                "the queue of tenant '{}' holds its quota of {} jobs (host.toml \
                 tenants.{}.max-queued-jobs); retry when its jobs have run",
                self.module.tenant, self.module.max_queued_jobs, self.module.tenant
            )));
        }
        self.take_pending(&mut used, bytes)?;
        used.jobs += 1;
        if let Some(headroom) = &mut used.job_headroom {
            *headroom -= 1;
        }
        Ok(())
    }

    /// Takes one event of `bytes` from the allowance, or says which bound it would exceed.
    pub fn event(&self, bytes: usize) -> Result<(), String> {
        let mut used = self.used();
        if used.events >= self.limits.events {
            return Err(self.over(format!(
                "one invocation may emit at most {} events (host.toml limits.events-per-invocation)",
                self.limits.events
            )));
        }
        self.take_pending(&mut used, bytes)?;
        used.events += 1;
        Ok(())
    }

    fn take_pending(&self, used: &mut Used, bytes: usize) -> Result<(), String> {
        if used.pending_bytes + bytes > self.limits.pending_bytes {
            return Err(self.over(format!(
                "one invocation may hold at most {} bytes of event and job payloads \
                 (host.toml limits.pending-bytes-per-invocation); send ids, not data",
                self.limits.pending_bytes
            )));
        }
        used.pending_bytes += bytes;
        Ok(())
    }

    fn over(&self, message: String) -> String {
        self.module
            .metrics
            .over_limit
            .fetch_add(1, Ordering::Relaxed);
        tracing::warn!(module = %self.module.name, tenant = %self.module.tenant, "{message}");
        message
    }
}
