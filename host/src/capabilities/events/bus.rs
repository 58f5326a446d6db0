//! The in-process event bus: who subscribes to what (rebound at every swap), fan-out of
//! published events to each matching subscriber of the same tenant in its own task, and a
//! short history per topic for the admin API.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use arc_swap::ArcSwap;
use serde::Serialize;

use super::Event;
use super::topic::matches;
use crate::runtime::{LoadedModule, Runtime};

/// Events kept per topic when host.toml does not say.
pub const DEFAULT_HISTORY: usize = 100;

/// One module's subscription.
struct Subscriber {
    tenant: String,
    pattern: String,
    module: Arc<LoadedModule>,
}

/// What the admin API shows of one topic.
#[derive(Debug, Clone, Serialize)]
pub struct TopicReport {
    /// Tenant the topic belongs to.
    pub tenant: String,
    /// The topic.
    pub topic: String,
    /// Modules whose subscriptions match it now.
    pub subscribers: usize,
    /// Events published on it since the host started.
    pub published: u64,
    /// The latest events, newest last.
    pub recent: Vec<Event>,
}

#[derive(Default)]
struct TopicState {
    published: u64,
    recent: VecDeque<Event>,
}

/// Counters of the bus.
#[derive(Debug, Default, Serialize)]
pub struct BusMetrics {
    /// Events published.
    pub published: AtomicU64,
    /// Deliveries that the subscriber handled.
    pub delivered: AtomicU64,
    /// Deliveries that failed (error, trap, timeout).
    pub failed: AtomicU64,
}

/// The bus of one host.
pub struct EventBus {
    runtime: Weak<Runtime>,
    subscribers: ArcSwap<Vec<Subscriber>>,
    topics: Mutex<HashMap<(String, String), TopicState>>,
    history: usize,
    metrics: BusMetrics,
}

impl EventBus {
    /// A bus delivering through `runtime`, keeping `history` events per topic.
    pub fn new(runtime: Weak<Runtime>, history: usize) -> EventBus {
        EventBus {
            runtime,
            subscribers: ArcSwap::default(),
            topics: Mutex::default(),
            history,
            metrics: BusMetrics::default(),
        }
    }

    /// Replaces the subscriptions with those of the modules serving now.
    pub fn rebind<'a>(&self, modules: impl Iterator<Item = &'a Arc<LoadedModule>>) {
        let subscribers = modules
            .flat_map(|module| {
                module.subscriptions.iter().map(|pattern| Subscriber {
                    tenant: module.context.tenant.clone(),
                    pattern: pattern.clone(),
                    module: module.clone(),
                })
            })
            .collect();
        self.subscribers.store(Arc::new(subscribers));
    }

    /// Publishes events of `tenant`: records them and delivers each to every matching
    /// subscriber of the tenant, in its own task (the emitter never waits).
    pub fn publish(&self, tenant: &str, events: Vec<Event>) {
        let Some(runtime) = self.runtime.upgrade() else {
            return;
        };
        let subscribers = self.subscribers.load();
        for event in events {
            self.metrics.published.fetch_add(1, Ordering::Relaxed);
            self.record(tenant, &event);
            let event = Arc::new(event);
            let mut seen: Vec<&str> = Vec::new();
            for s in subscribers.iter() {
                // One delivery per module, however many of its patterns match.
                if s.tenant != tenant
                    || !matches(&s.pattern, &event.topic)
                    || seen.contains(&s.module.name())
                {
                    continue;
                }
                seen.push(s.module.name());
                tokio::spawn(deliver(runtime.clone(), s.module.clone(), event.clone()));
            }
        }
    }

    fn record(&self, tenant: &str, event: &Event) {
        let mut topics = self.topics.lock().unwrap();
        let state = topics
            .entry((tenant.to_string(), event.topic.clone()))
            .or_default();
        state.published += 1;
        state.recent.push_back(event.clone());
        while state.recent.len() > self.history {
            state.recent.pop_front();
        }
    }

    /// Every topic seen, with subscriber counts and recent events.
    pub fn report(&self) -> Vec<TopicReport> {
        let subscribers = self.subscribers.load();
        let topics = self.topics.lock().unwrap();
        let mut report: BTreeMap<(String, String), TopicReport> = BTreeMap::new();
        for ((tenant, topic), state) in topics.iter() {
            report.insert(
                (tenant.clone(), topic.clone()),
                TopicReport {
                    tenant: tenant.clone(),
                    topic: topic.clone(),
                    subscribers: count_subscribers(&subscribers, tenant, topic),
                    published: state.published,
                    recent: state.recent.iter().cloned().collect(),
                },
            );
        }
        report.into_values().collect()
    }

    /// The bus counters.
    pub fn metrics(&self) -> &BusMetrics {
        &self.metrics
    }

    /// Subscriptions bound now: (tenant, module, pattern).
    pub fn subscriptions(&self) -> Vec<(String, String, String)> {
        self.subscribers
            .load()
            .iter()
            .map(|s| {
                (
                    s.tenant.clone(),
                    s.module.name().to_string(),
                    s.pattern.clone(),
                )
            })
            .collect()
    }
}

fn count_subscribers(subscribers: &[Subscriber], tenant: &str, topic: &str) -> usize {
    let mut modules: Vec<&str> = subscribers
        .iter()
        .filter(|s| s.tenant == tenant && matches(&s.pattern, topic))
        .map(|s| s.module.name())
        .collect();
    modules.sort();
    modules.dedup();
    modules.len()
}

/// Calls one subscriber; a failure is logged and counted, and touches no one else.
async fn deliver(runtime: Arc<Runtime>, module: Arc<LoadedModule>, event: Arc<Event>) {
    let bus = runtime.events();
    let outcome = module.handle_event(&runtime, &event).await;
    let failure = match outcome {
        Ok(Ok(())) => {
            bus.metrics.delivered.fetch_add(1, Ordering::Relaxed);
            return;
        }
        Ok(Err(error)) => format!(
            "returned an error: {}",
            crate::runtime::bindings::describe(&error)
        ),
        Err(error) => error.to_string(),
    };
    bus.metrics.failed.fetch_add(1, Ordering::Relaxed);
    module
        .context
        .metrics
        .event_failures
        .fetch_add(1, Ordering::Relaxed);
    tracing::warn!(
        module = %module.name(), tenant = %module.context.tenant,
        topic = %event.topic, event_id = %event.id,
        "event delivery failed: {failure}"
    );
}
