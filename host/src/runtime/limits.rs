//! Per-invocation limits: a wall-clock deadline (epoch interruption) and a memory cap
//! (a resource limiter that remembers when it refused).

use std::time::Duration;

use crate::config::{ModuleLimits, host_config::LimitsConfig};

/// Time between two epoch ticks: deadlines are checked, and a running guest yields its
/// worker thread, at this grain. 1 ms keeps a spinning guest from holding a core long
/// enough to delay another tenant's request noticeably (BENCHMARKS.md, noisy neighbour);
/// the ticker's cost is one thread waking 1,000 times a second.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Elements any one table may hold.
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// The limits one invocation of a module runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvocationLimits {
    /// Wall-clock time an invocation may take.
    pub deadline: Duration,
    /// Bytes of linear memory all of an instance's memories may hold together.
    pub memory_bytes: u64,
}

impl InvocationLimits {
    /// The host's defaults overridden by a manifest; refuses values above the host's ceilings.
    pub fn resolve(host: &LimitsConfig, module: &ModuleLimits) -> Result<Self, String> {
        let deadline_ms = module.deadline_ms.unwrap_or(host.deadline_ms);
        let memory_mib = module.memory_mib.unwrap_or(host.memory_mib);
        if deadline_ms == 0 || deadline_ms > host.max_deadline_ms {
            return Err(format!(
                "limits.deadline-ms = {deadline_ms} must be between 1 and {} (host.toml limits.max-deadline-ms)",
                host.max_deadline_ms
            ));
        }
        if memory_mib == 0 || memory_mib > host.max_memory_mib {
            return Err(format!(
                "limits.memory-mib = {memory_mib} must be between 1 and {} (host.toml limits.max-memory-mib)",
                host.max_memory_mib
            ));
        }
        Ok(InvocationLimits {
            deadline: Duration::from_millis(deadline_ms),
            memory_bytes: memory_mib << 20,
        })
    }

    /// The memory cap in MiB, for messages.
    pub fn memory_mib(&self) -> u64 {
        self.memory_bytes >> 20
    }
}

/// Enforces the memory cap across all memories of one instance.
#[derive(Debug)]
pub struct MemoryLimiter {
    cap: u64,
    used: u64,
    refused: bool,
}

impl MemoryLimiter {
    /// A limiter allowing `cap` bytes in total.
    pub fn new(cap: u64) -> Self {
        MemoryLimiter {
            cap,
            used: 0,
            refused: false,
        }
    }

    /// Whether a growth was refused: the guest hit its cap.
    pub fn refused(&self) -> bool {
        self.refused
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let grown = self.used + (desired - current) as u64;
        if grown > self.cap {
            self.refused = true;
            return Ok(false);
        }
        self.used = grown;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn manifests_override_defaults_within_the_ceilings() {
        let host = LimitsConfig::default();
        let l = InvocationLimits::resolve(
            &host,
            &ModuleLimits {
                deadline_ms: Some(250),
                memory_mib: None,
            },
        )
        .unwrap();
        assert_eq!(l.deadline, Duration::from_millis(250));
        assert_eq!(l.memory_mib(), 64);
        let err = InvocationLimits::resolve(
            &host,
            &ModuleLimits {
                deadline_ms: None,
                memory_mib: Some(4096),
            },
        );
        assert!(err.unwrap_err().contains("max-memory-mib"));
    }

    #[test]
    fn the_limiter_counts_all_memories_and_remembers_a_refusal() {
        let mut l = MemoryLimiter::new(10);
        assert!(l.memory_growing(0, 6, None).unwrap());
        assert!(!l.memory_growing(0, 6, None).unwrap());
        assert!(l.refused());
        assert!(l.memory_growing(6, 10, None).unwrap());
    }
}
