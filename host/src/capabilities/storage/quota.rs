//! Quotas: the bytes and objects each module, and each tenant in all, may keep. A ledger
//! per tenant, loaded from the backend the first time the tenant writes, is changed under
//! one lock: a write reserves its bytes before they reach the backend, so concurrent
//! writers cannot together pass a limit, and a write that fails or is abandoned gives its
//! reservation back (on drop).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::settings::{StorageConfig, Usage};

#[derive(Default)]
struct TenantLedger {
    total: Usage,
    modules: HashMap<String, Usage>,
}

/// The ledgers of every tenant that has written since the host started.
pub struct Quotas {
    config: StorageConfig,
    ledgers: Mutex<HashMap<String, TenantLedger>>,
}

impl Quotas {
    /// Quotas from host.toml's `[storage]`.
    pub fn new(config: StorageConfig) -> Quotas {
        Quotas {
            config,
            ledgers: Mutex::default(),
        }
    }

    /// Whether `tenant`'s ledger is loaded.
    pub fn loaded(&self, tenant: &str) -> bool {
        self.ledgers.lock().unwrap().contains_key(tenant)
    }

    /// Loads `tenant`'s ledger from what its modules hold, unless another call did first.
    pub fn load(&self, tenant: &str, modules: Vec<(String, Usage)>) {
        let mut ledgers = self.ledgers.lock().unwrap();
        ledgers.entry(tenant.to_string()).or_insert_with(|| {
            let mut ledger = TenantLedger::default();
            for (module, usage) in modules {
                ledger.total.bytes += usage.bytes;
                ledger.total.objects += usage.objects;
                ledger.modules.insert(module, usage);
            }
            ledger
        });
    }

    /// Reserves `bytes` and `objects` for `module` of `tenant`; refused, with nothing
    /// reserved, when either limit would be passed. The reservation is given back when
    /// dropped unless [`Reservation::keep`] is called.
    pub fn reserve(
        self: &Arc<Self>,
        tenant: &str,
        module: &str,
        bytes: u64,
        objects: u64,
    ) -> Result<Reservation, String> {
        let limits = self.config.limits_of(tenant);
        let mut ledgers = self.ledgers.lock().unwrap();
        let ledger = ledgers.entry(tenant.to_string()).or_default();
        let mine = ledger.modules.entry(module.to_string()).or_default();
        let over =
            |what: &str, now: u64, adding: u64, limit: u64, key: &str| {
                (now.saturating_add(adding) > limit).then(|| {
                format!(
                    "storage quota: {what} holds {now} {unit} and this write needs {adding} more; \
                     its limit is {limit} (host.toml [storage] {key}); delete objects first",
                    unit = if key.ends_with("bytes") { "bytes" } else { "objects" }
                )
            })
            };
        let module_name = format!("module '{module}'");
        let tenant_name = format!("tenant '{tenant}'");
        let refusal = over(
            &module_name,
            mine.bytes,
            bytes,
            limits.module.bytes,
            "module-max-bytes",
        )
        .or_else(|| {
            over(
                &module_name,
                mine.objects,
                objects,
                limits.module.objects,
                "module-max-objects",
            )
        })
        .or_else(|| {
            over(
                &tenant_name,
                ledger.total.bytes,
                bytes,
                limits.tenant.bytes,
                "tenant-max-bytes",
            )
        })
        .or_else(|| {
            over(
                &tenant_name,
                ledger.total.objects,
                objects,
                limits.tenant.objects,
                "tenant-max-objects",
            )
        });
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        mine.bytes += bytes;
        mine.objects += objects;
        ledger.total.bytes += bytes;
        ledger.total.objects += objects;
        Ok(Reservation {
            quotas: self.clone(),
            tenant: tenant.to_string(),
            module: module.to_string(),
            held: Usage { bytes, objects },
        })
    }

    /// Gives back `usage` of `module` (an object replaced or deleted).
    pub fn release(&self, tenant: &str, module: &str, usage: Usage) {
        let mut ledgers = self.ledgers.lock().unwrap();
        let Some(ledger) = ledgers.get_mut(tenant) else {
            return;
        };
        if let Some(mine) = ledger.modules.get_mut(module) {
            mine.bytes = mine.bytes.saturating_sub(usage.bytes);
            mine.objects = mine.objects.saturating_sub(usage.objects);
        }
        ledger.total.bytes = ledger.total.bytes.saturating_sub(usage.bytes);
        ledger.total.objects = ledger.total.objects.saturating_sub(usage.objects);
    }
}

/// Bytes and objects reserved for a write in progress.
pub struct Reservation {
    quotas: Arc<Quotas>,
    tenant: String,
    module: String,
    held: Usage,
}

impl Reservation {
    /// Reserves `bytes` more for the same write.
    pub fn grow(&mut self, bytes: u64) -> Result<(), String> {
        // The new reservation becomes part of this one.
        self.quotas
            .reserve(&self.tenant, &self.module, bytes, 0)?
            .keep();
        self.held.bytes += bytes;
        Ok(())
    }

    /// The write succeeded: what it reserved stays used.
    pub fn keep(mut self) {
        self.held = Usage::default();
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.held != Usage::default() {
            self.quotas.release(&self.tenant, &self.module, self.held);
        }
    }
}
