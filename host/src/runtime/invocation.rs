//! One invocation: a fresh store and instance from the module's `InstancePre` (or a warm
//! one, when the module opts in to reuse, see `warm`), each capability's part prepared,
//! the export called under the deadline and memory cap, each capability's part finished
//! in list order, and failures classified for the caller.

use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::Instant;

use wasmtime::{Store, UpdateDeadline};

use wasmtime::component::Instance;

use super::bindings::{GuestError, GuestRequest, GuestResponse};
use super::engine::Runtime;
use super::module::LoadedModule;
use super::state::InvocationState;
use super::tenants::TenantRefusal;

/// Why an invocation ended without the module's answer.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    /// The module ran past its deadline and was interrupted.
    #[error("module '{module}' ran past its deadline of {deadline_ms} ms and was stopped")]
    Deadline {
        /// Module name.
        module: String,
        /// The deadline.
        deadline_ms: u128,
    },
    /// The module tried to grow memory past its cap.
    #[error("module '{module}' exceeded its memory cap of {cap_mib} MiB and was stopped")]
    MemoryCap {
        /// Module name.
        module: String,
        /// The cap.
        cap_mib: u64,
    },
    /// Every instance slot is in use.
    #[error("the host is at its instance capacity; retry shortly")]
    AtCapacity,
    /// The module's tenant is at its quota (slots or request rate).
    #[error("{0}")]
    TenantQuota(#[from] TenantRefusal),
    /// The module trapped (a bug in the module, e.g. a panic).
    #[error("module '{module}' trapped: {message}")]
    Trap {
        /// Module name.
        module: String,
        /// The trap and its wasm backtrace.
        message: String,
    },
}

impl InvocationError {
    /// The stable short code every front end uses (HTTP bodies, WebSocket error frames,
    /// job and event failures): `deadline_exceeded`, `memory_cap_exceeded`, `at_capacity`,
    /// `tenant_busy`, `rate_limited` or `module_trapped`.
    pub fn code(&self) -> &'static str {
        match self {
            InvocationError::Deadline { .. } => "deadline_exceeded",
            InvocationError::MemoryCap { .. } => "memory_cap_exceeded",
            InvocationError::AtCapacity => "at_capacity",
            InvocationError::TenantQuota(refusal) => refusal.code(),
            InvocationError::Trap { .. } => "module_trapped",
        }
    }

    /// What a caller is told. A trap's details (its backtrace) go to the host log only.
    pub fn message(&self) -> String {
        match self {
            InvocationError::Trap { module, .. } => format!(
                "module '{module}' failed while handling the request; the host log has the \
                 details under this request id"
            ),
            other => other.to_string(),
        }
    }

    /// Seconds a caller should wait before retrying, when retrying soon may succeed.
    pub fn retry_after_s(&self) -> Option<u64> {
        match self {
            InvocationError::AtCapacity => Some(1),
            InvocationError::TenantQuota(refusal) => Some(refusal.retry_after_s()),
            _ => None,
        }
    }
}

/// Runs `work` until `deadline`, `None` past it. Most invocations finish in their first
/// poll (a guest that never waits on a host call, like a hello), so the timer, whose set-up
/// and removal each take a lock in tokio's time driver, is made only once the work waits.
/// Running wasm is bounded by the epoch callback either way; the timer bounds the waits.
async fn within<F: Future>(deadline: Instant, work: F) -> Option<F::Output> {
    let mut work = std::pin::pin!(work);
    let first = std::future::poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx))).await;
    if let Poll::Ready(output) = first {
        return Some(output);
    }
    tokio::time::timeout_at(deadline.into(), work).await.ok()
}

/// Checks the clock at every epoch tick and yields to tokio meanwhile, so a spinning guest
/// never holds a worker thread for longer than one tick. tokio's own yield puts the task
/// behind the others (a plain self-wake would run it again first).
fn arm_deadline(store: &mut Store<InvocationState>, deadline: Instant) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if Instant::now() >= deadline {
            return Err(DeadlineReached.into());
        }
        Ok(UpdateDeadline::YieldCustom(
            1,
            Box::pin(tokio::task::yield_now()),
        ))
    });
}

/// Raised by the epoch callback when the deadline has passed.
#[derive(Debug, thiserror::Error)]
#[error("deadline reached")]
struct DeadlineReached;

impl LoadedModule {
    /// Creates the store for one invocation ending at `deadline`, with limits armed.
    pub fn new_store(&self, runtime: &Runtime, deadline: Instant) -> Store<InvocationState> {
        let mut state = InvocationState::new(
            self.context.clone(),
            deadline,
            &runtime.config().limits,
            runtime.capabilities().len(),
        );
        self.prepare_parts(runtime, &mut state);
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|state| &mut state.limiter);
        arm_deadline(&mut store, deadline);
        store
    }

    /// A warm instance's store made ready for one more invocation ending at `deadline`:
    /// its per-invocation state afresh, each capability's part prepared again, the
    /// deadline armed.
    fn renew_store(
        &self,
        runtime: &Runtime,
        store: &mut Store<InvocationState>,
        deadline: Instant,
    ) {
        let state = store.data_mut();
        state.renew(deadline, runtime.capabilities().len());
        self.prepare_parts(runtime, state);
        arm_deadline(store, deadline);
    }

    /// Each capability's part of one invocation.
    fn prepare_parts(&self, runtime: &Runtime, state: &mut InvocationState) {
        for (_, capability) in runtime.capabilities().iter() {
            capability.prepare(&self.context, state);
        }
    }

    /// Instantiates the module afresh and calls its HTTP handler.
    pub async fn handle_http(
        &self,
        runtime: &Runtime,
        request: &GuestRequest,
    ) -> Result<Result<GuestResponse, GuestError>, InvocationError> {
        let Some(indices) = &self.exports.http else {
            return Err(self.missing_export("http-handler"));
        };
        self.invoke(
            runtime,
            |_| {},
            async |store, instance| {
                let handler = indices.load(&mut *store, &instance)?;
                handler.call_handle(&mut *store, request).await
            },
        )
        .await
    }

    /// One invocation, the helper behind every export: a slot of the tenant, a fresh
    /// store (each capability's part prepared, then `setup`, e.g. the socket being
    /// handled), `call` under the deadline, then each capability's *finish* in list order
    /// (ORM commit, then jobs, then events), the first failure ending it.
    pub async fn invoke<R>(
        &self,
        runtime: &Runtime,
        setup: impl FnOnce(&mut InvocationState),
        call: impl AsyncFnOnce(
            &mut Store<InvocationState>,
            Instance,
        ) -> wasmtime::Result<Result<R, GuestError>>,
    ) -> Result<Result<R, GuestError>, InvocationError> {
        let metrics = &self.context.metrics;
        metrics.invocations.fetch_add(1, Ordering::Relaxed);
        // The deadline covers the whole invocation: the wait for a slot of the tenant,
        // running wasm (epoch checks) and host calls (the timeout below drops a blocked
        // call, its instance and its slot).
        let deadline = Instant::now() + self.context.limits.deadline;
        let _admission = match runtime.tenants().gate(&self.context.tenant) {
            Some(gate) => Some(gate.admit(deadline).await?),
            None => None,
        };
        let warm = self.warm.as_ref().and_then(|pool| pool.take());
        let (mut store, warm_instance, served) = match warm {
            Some(mut warm) => {
                self.renew_store(runtime, &mut warm.store, deadline);
                (warm.store, Some(warm.instance), warm.served)
            }
            None => (self.new_store(runtime, deadline), None, 0),
        };
        setup(store.data_mut());
        let outcome = within(deadline, async {
            let instance = match warm_instance {
                Some(instance) => instance,
                None => match self.pre.instantiate_async(&mut store).await {
                    // Out of slots while warm instances sit idle: they give way.
                    Err(error)
                        if error.is::<wasmtime::PoolConcurrencyLimitError>()
                            && runtime.warm_pools().release_idle() > 0 =>
                    {
                        self.pre.instantiate_async(&mut store).await?
                    }
                    instantiated => instantiated?,
                },
            };
            let result = call(&mut store, instance).await?;
            Ok::<_, wasmtime::Error>((result, instance))
        })
        .await;
        // Past the deadline, or trapped: the store, its instance (never reused) and an open
        // transaction with it are dropped.
        let Some(outcome) = outcome else {
            return Err(self.deadline_passed());
        };
        let (result, instance) = outcome.map_err(|error| self.classify(error, &store))?;
        let succeeded = result.is_ok();
        for (_, capability) in runtime.capabilities().iter() {
            let Some(work) = capability.finish(store.data_mut(), succeeded) else {
                continue;
            };
            if let Err(error) = work.await {
                return Ok(Err(error));
            }
        }
        // An instance that was refused memory may be in a state its code did not expect.
        if let Some(pool) = &self.warm
            && !store.data().limiter.refused()
        {
            pool.put_back(store, instance, served + 1);
        }
        Ok(result)
    }

    /// Instantiates once, to validate a new version before it serves.
    pub async fn validate(&self, runtime: &Runtime) -> Result<(), InvocationError> {
        let mut store = self.new_store(runtime, Instant::now() + self.context.limits.deadline);
        self.pre
            .instantiate_async(&mut store)
            .await
            .map(drop)
            .map_err(|e| self.classify(e, &store))
    }

    fn deadline_passed(&self) -> InvocationError {
        let context = &self.context;
        context.metrics.timeouts.fetch_add(1, Ordering::Relaxed);
        InvocationError::Deadline {
            module: context.name.clone(),
            deadline_ms: context.limits.deadline.as_millis(),
        }
    }

    /// The failure of calling an export the component does not have.
    pub fn missing_export(&self, export: &str) -> InvocationError {
        InvocationError::Trap {
            module: self.context.name.clone(),
            message: format!("the component does not export {export}"),
        }
    }

    fn classify(&self, error: wasmtime::Error, store: &Store<InvocationState>) -> InvocationError {
        let context = &self.context;
        let module = context.name.clone();
        if error.is::<DeadlineReached>()
            || matches!(
                error.downcast_ref::<wasmtime::Trap>(),
                Some(wasmtime::Trap::Interrupt)
            )
        {
            return self.deadline_passed();
        }
        if store.data().limiter.refused() {
            context
                .metrics
                .memory_cap_hits
                .fetch_add(1, Ordering::Relaxed);
            return InvocationError::MemoryCap {
                module,
                cap_mib: context.limits.memory_mib(),
            };
        }
        if error.is::<wasmtime::PoolConcurrencyLimitError>() {
            return InvocationError::AtCapacity;
        }
        context.metrics.traps.fetch_add(1, Ordering::Relaxed);
        InvocationError::Trap {
            module,
            message: format!("{error:?}"),
        }
    }
}
