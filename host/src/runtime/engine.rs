//! The shared runtime: one wasmtime engine (component model, pooling allocator, epoch
//! interruption), one linker holding WASI and every capability, the started
//! capabilities, the tenants' gates and the compile cache.

use std::sync::{Arc, Weak};

use anyhow::Context as _;
use sha2::Digest as _;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::capability::{Capabilities, CapabilityDescriptor, RuntimeHandle};
use super::compile_cache::{CompileCache, FunctionCache};
use super::limits::EPOCH_TICK;
use super::state::InvocationState;
use super::tenants::Tenants;
use super::warm::WarmPools;
use crate::config::HostConfig;

/// Engines, linkers and compile caches shared by every module, the started capabilities,
/// the tenants' gates and the warm pools.
pub struct Runtime {
    /// Every module, unless it needs `concurrent`: no concurrency support, so creating a
    /// store (once per request with fresh instances) skips the concurrent state (half the
    /// throughput of a fresh hello when it was on).
    plain: Flavor,
    /// WASI 0.3 components: the component model's async ABI and `run_concurrent`.
    concurrent: Flavor,
    config: Arc<HostConfig>,
    descriptors: &'static [CapabilityDescriptor],
    capabilities: Capabilities,
    tenants: Tenants,
    warm: WarmPools,
}

impl Runtime {
    /// Builds the engine from the host's limits, links WASI and every capability of
    /// `list`, starts them in order, and starts the epoch ticker that enforces deadlines.
    pub fn new(
        config: Arc<HostConfig>,
        list: &'static [CapabilityDescriptor],
    ) -> anyhow::Result<Arc<Runtime>> {
        let plain = Flavor::new(&config, list, false)?;
        let concurrent = Flavor::new(&config, list, true)?;
        let capabilities = Capabilities::start(&config, list)?;
        start_epoch_ticker(vec![plain.engine.weak(), concurrent.engine.weak()]);
        let runtime = Arc::new(Runtime {
            plain,
            concurrent,
            descriptors: list,
            capabilities,
            tenants: Tenants::new(&config),
            warm: WarmPools::default(),
            config,
        });
        let handle: RuntimeHandle = Arc::downgrade(&runtime) as _;
        for (_, capability) in runtime.capabilities.iter() {
            capability.bind(&handle);
        }
        Ok(runtime)
    }

    /// Every module's idle warm instances.
    pub fn warm_pools(&self) -> &WarmPools {
        &self.warm
    }

    /// The runtime a capability's *bind* was handed.
    pub fn from_handle(handle: &RuntimeHandle) -> Weak<Runtime> {
        handle
            .upgrade()
            .and_then(|any| any.downcast::<Runtime>().ok())
            .map(|runtime| Arc::downgrade(&runtime))
            .unwrap_or_default()
    }

    /// The started capabilities, in list order.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// The started capability of type `T`.
    pub fn capability<T: std::any::Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.capabilities.get::<T>()
    }

    /// Every capability this host provides, started or not.
    pub fn descriptors(&self) -> &'static [CapabilityDescriptor] {
        self.descriptors
    }

    /// Per-tenant quotas and counters.
    pub fn tenants(&self) -> &Tenants {
        &self.tenants
    }

    /// The linker (WASI and every capability) for a component compiled by one of the engines.
    pub fn linker_for(&self, component: &Component) -> &Linker<InvocationState> {
        if Engine::same(component.engine(), &self.concurrent.engine) {
            &self.concurrent.linker
        } else {
            &self.plain.linker
        }
    }

    /// The host configuration.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// Compiles module `name`'s component `bytes`, or loads the cached compilation;
    /// blocking (run it off the request path).
    /// A component that uses the component model's async ABI (a WASI 0.3 component) is
    /// compiled by the concurrent engine; every other by the plain one.
    pub fn compile(&self, name: &str, bytes: &[u8]) -> anyhow::Result<Component> {
        // A cached compilation already says which engine: skip the validation passes.
        let digest = sha2::Sha256::digest(bytes);
        for flavor in [&self.plain, &self.concurrent] {
            if let Some(component) = flavor.cache.load(&flavor.engine, &digest) {
                return Ok(component);
            }
        }
        let flavor = match uses_async_abi(bytes) {
            true => {
                tracing::info!(
                    module = name,
                    "the component uses the async ABI (WASI 0.3): it runs on the concurrent engine"
                );
                &self.concurrent
            }
            false => &self.plain,
        };
        flavor.cache.compile(&flavor.engine, name, bytes, &digest)
    }
}

/// One engine with the linker and compile cache that go with it.
struct Flavor {
    engine: Engine,
    linker: Linker<InvocationState>,
    cache: CompileCache,
}

impl Flavor {
    /// The engine from the host's limits (`concurrent`: with the async ABI), with WASI and
    /// every capability of `list` linked.
    fn new(
        config: &HostConfig,
        list: &'static [CapabilityDescriptor],
        concurrent: bool,
    ) -> anyhow::Result<Flavor> {
        let engine = Engine::new(&engine_config(config, concurrent)?)
            .map_err(anyhow::Error::from)
            .context("cannot create the wasmtime engine")?;
        let mut linker = Linker::new(&engine);
        // Guests built for wasm32-wasip2 import WASI; it is linked with nothing granted:
        // no preopened dirs, no env, no sockets (WasiCtx's defaults).
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(anyhow::Error::from)
            .context("cannot link WASI")?;
        // wasi:http: an unmodified wasi:http component's requests arrive through its types;
        // outgoing requests are refused unless a capability's hooks grant them.
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(anyhow::Error::from)
            .context("cannot link wasi:http")?;
        if concurrent {
            // WASI 0.3 components import its async interfaces, with the same nothing granted.
            wasmtime_wasi::p3::add_to_linker(&mut linker)
                .map_err(anyhow::Error::from)
                .context("cannot link WASI 0.3")?;
            wasmtime_wasi_http::p3::add_to_linker(&mut linker)
                .map_err(anyhow::Error::from)
                .context("cannot link wasi:http 0.3")?;
        }
        for capability in list {
            (capability.link)(&mut linker)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("cannot link the {} capability", capability.name))?;
        }
        let cache = CompileCache::new(&engine, config.cache_dir());
        Ok(Flavor {
            engine,
            linker,
            cache,
        })
    }
}

/// Whether the component uses the component model's async ABI (an `async` lift or lower,
/// a stream, a future, a task builtin): it is valid with that proposal and invalid without.
/// Only the concurrent engine can run it.
fn uses_async_abi(bytes: &[u8]) -> bool {
    use wasmtime::wasmparser::{Validator, WasmFeatures};
    let with = WasmFeatures::default() | WasmFeatures::CM_ASYNC;
    let without = with
        - (WasmFeatures::CM_ASYNC
            | WasmFeatures::CM_ASYNC_STACKFUL
            | WasmFeatures::CM_MORE_ASYNC_BUILTINS);
    Validator::new_with_features(without)
        .validate_all(bytes)
        .is_err()
        && Validator::new_with_features(with)
            .validate_all(bytes)
            .is_ok()
}

fn engine_config(host: &HostConfig, concurrent: bool) -> anyhow::Result<Config> {
    let limits = &host.limits;
    // WASI 0.3 components are few: their engine's pool is an eighth of the main one.
    let instances = match concurrent {
        true => (limits.max_instances / 8).max(16),
        false => limits.max_instances,
    };
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(instances)
        // Python and JS components hold several core instances, memories and tables.
        .total_core_instances(instances * 4)
        .total_memories(instances * 2)
        .total_tables(instances * 2)
        .total_stacks(instances)
        .max_core_instances_per_component(64)
        .max_memories_per_component(8)
        .max_tables_per_component(16)
        .max_component_instance_size(4 << 20)
        .max_core_instance_size(4 << 20)
        .table_elements(100_000)
        .max_memory_size((limits.max_memory_mib << 20) as usize)
        .table_keep_resident(64 << 10)
        .async_stack_keep_resident(64 << 10);
    tune_memory_reset(&mut pool);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        // WASI 0.3 components (`wasi:http/handler@0.3.0`) use the component model's async
        // ABI; a store of an engine with concurrency support carries the state for it.
        .concurrency_support(concurrent)
        .wasm_component_model_async(concurrent)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let functions = FunctionCache::new(host.cache_dir().join("functions"));
    config
        .enable_incremental_compilation(Arc::new(functions))
        .map_err(anyhow::Error::from)
        .context("cannot enable the compiled-function cache")?;
    Ok(config)
}

/// How a returned instance's memory is made clean for the next one: the main cost of a
/// fresh instance per request. Measured with wrk on the hello module (BENCHMARKS.md):
/// `madvise` per instance costs TLB shootdowns on every core (17k requests/s);
/// with Linux's PAGEMAP_SCAN (6.7+) only the pages the guest dirtied are reset, in
/// place, up to 4 MiB (59–62k requests/s). Without it, reset 64 KiB in place and batch
/// the rest's `madvise` calls (31k requests/s).
fn tune_memory_reset(pool: &mut PoolingAllocationConfig) {
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(wasmtime::Enabled::Yes)
            .linear_memory_keep_resident(4 << 20);
    } else {
        pool.linear_memory_keep_resident(64 << 10)
            .decommit_batch_size(64);
    }
}

/// Advances the engines' epochs every tick for as long as they live.
fn start_epoch_ticker(engines: Vec<wasmtime::EngineWeak>) {
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            loop {
                let live: Vec<Engine> = engines.iter().filter_map(|e| e.upgrade()).collect();
                if live.is_empty() {
                    return;
                }
                live.iter().for_each(Engine::increment_epoch);
                drop(live);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("cannot spawn the epoch ticker thread");
}
