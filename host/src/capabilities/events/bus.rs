//! The in-process event bus: who subscribes to what (rebound at every swap), fan-out of
//! published events to each matching subscriber of the same tenant in its own task, and a
//! short history per topic for the admin API.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};

use super::Event;
use super::settings::EventsConfig;
use super::topic::matches;
use crate::backplane::Backplane;
use crate::runtime::bindings::{GuestError, GuestEvent};
use crate::runtime::{InvocationError, LoadedModule, Runtime};

/// Backplane channels of events: one per tenant, `plughost.events.TENANT`.
const CHANNEL_PREFIX: &str = "plughost.events.";

/// Events of one invocation as they travel between hosts.
#[derive(Serialize, Deserialize)]
struct Batch {
    origin: String,
    tenant: String,
    events: Vec<Event>,
}

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
    /// Recent events with their sequence numbers, oldest first.
    recent: VecDeque<(u64, Event)>,
}

type TopicKey = (String, String);

/// The recent events of every topic, bounded per topic, in total bytes and in topics, so
/// that no tenant can grow host memory by publishing on ever new topics.
#[derive(Default)]
struct History {
    topics: HashMap<TopicKey, TopicState>,
    /// Sequence number of each topic's oldest kept event → its topic.
    oldest: BTreeMap<u64, TopicKey>,
    bytes: usize,
    next: u64,
}

/// Bytes an event holds in the history.
fn footprint(event: &Event) -> usize {
    event.payload.len() + event.topic.len() + event.id.len() + event.source.len() + 64
}

impl History {
    fn record(&mut self, key: TopicKey, event: Event, limits: &EventsConfig) {
        let seq = self.next;
        self.next += 1;
        self.bytes += footprint(&event);
        let state = self.topics.entry(key.clone()).or_default();
        state.published += 1;
        if state.recent.is_empty() {
            self.oldest.insert(seq, key.clone());
        }
        state.recent.push_back((seq, event));
        while self
            .topics
            .get(&key)
            .is_some_and(|s| s.recent.len() > limits.history)
        {
            self.forget_oldest_of(&key);
        }
        while self.bytes > limits.history_bytes || self.topics.len() > limits.history_topics {
            let Some((_, key)) = self.oldest.first_key_value() else {
                break;
            };
            let key = key.clone();
            self.forget_oldest_of(&key);
        }
    }

    /// Drops the topic's oldest kept event, and the topic itself when none is left.
    fn forget_oldest_of(&mut self, key: &TopicKey) {
        let Some(state) = self.topics.get_mut(key) else {
            return;
        };
        if let Some((seq, event)) = state.recent.pop_front() {
            self.oldest.remove(&seq);
            self.bytes -= footprint(&event);
        }
        match state.recent.front() {
            Some((seq, _)) => {
                self.oldest.insert(*seq, key.clone());
            }
            None => {
                self.topics.remove(key);
            }
        }
    }
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
    runtime: OnceLock<Weak<Runtime>>,
    /// The backplane and this host's id on it, when there is one.
    backplane: OnceLock<(Arc<dyn Backplane>, String)>,
    subscribers: ArcSwap<Vec<Subscriber>>,
    history: Mutex<History>,
    limits: EventsConfig,
    metrics: Arc<BusMetrics>,
}

impl EventBus {
    /// A bus keeping the recent events `limits` allow; it delivers once bound to the runtime.
    pub fn new(limits: EventsConfig) -> EventBus {
        EventBus {
            runtime: OnceLock::new(),
            backplane: OnceLock::new(),
            subscribers: ArcSwap::default(),
            history: Mutex::default(),
            limits,
            metrics: Arc::default(),
        }
    }

    /// Delivers through `runtime` from now on.
    pub fn bind(&self, runtime: Weak<Runtime>) {
        let _ = self.runtime.set(runtime);
    }

    /// Replaces the subscriptions with those of the modules serving now.
    pub fn rebind<'a>(&self, modules: impl Iterator<Item = &'a Arc<LoadedModule>>) {
        let subscribers = modules
            .flat_map(|module| {
                let patterns = module.context.part::<super::Subscriptions>();
                patterns
                    .into_iter()
                    .flat_map(|p| &p.0)
                    .map(|pattern| Subscriber {
                        tenant: module.context.tenant.clone(),
                        pattern: pattern.clone(),
                        module: module.clone(),
                    })
            })
            .collect();
        self.subscribers.store(Arc::new(subscribers));
    }

    /// Joins the backplane: events published here go to every host, and events from other
    /// hosts are delivered here.
    pub async fn attach(self: &Arc<Self>, backplane: Arc<dyn Backplane>) -> Result<(), String> {
        let host_id = uuid::Uuid::new_v4().to_string();
        let mut incoming = backplane.subscribe(CHANNEL_PREFIX.to_string()).await?;
        let bus = Arc::downgrade(self);
        let me = host_id.clone();
        tokio::spawn(async move {
            while let Some((channel, payload)) = incoming.recv().await {
                let Some(bus) = bus.upgrade() else {
                    return;
                };
                match serde_json::from_slice::<Batch>(&payload) {
                    Ok(batch) if batch.origin == me => {}
                    Ok(batch) => bus.deliver(&batch.tenant, batch.events),
                    Err(e) => tracing::warn!(
                        channel,
                        "ignored a backplane message that is not an event batch: {e}"
                    ),
                }
            }
        });
        tracing::info!(backplane = %backplane.describe(), host_id, "events go through the backplane");
        let _ = self.backplane.set((backplane, host_id));
        Ok(())
    }

    /// Publishes events of `tenant`: delivers them here and, through the backplane, on
    /// every other host.
    pub fn publish(&self, tenant: &str, events: Vec<Event>) {
        if let Some((backplane, origin)) = self.backplane.get() {
            let batch = Batch {
                origin: origin.clone(),
                tenant: tenant.to_string(),
                events: events.clone(),
            };
            let channel = format!("{CHANNEL_PREFIX}{tenant}");
            crate::backplane::publish_json(backplane, channel, batch, "events");
        }
        self.deliver(tenant, events);
    }

    /// Records events of `tenant` and delivers each to every matching subscriber of the
    /// tenant on this host, in its own task (the emitter never waits).
    fn deliver(&self, tenant: &str, events: Vec<Event>) {
        let Some(runtime) = self.runtime.get().and_then(Weak::upgrade) else {
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
                tokio::spawn(deliver(
                    runtime.clone(),
                    self.metrics.clone(),
                    s.module.clone(),
                    event.clone(),
                ));
            }
        }
    }

    fn record(&self, tenant: &str, event: &Event) {
        let key = (tenant.to_string(), event.topic.clone());
        self.history
            .lock()
            .unwrap()
            .record(key, event.clone(), &self.limits);
    }

    /// Every topic seen, with subscriber counts and recent events.
    pub fn report(&self) -> Vec<TopicReport> {
        let subscribers = self.subscribers.load();
        let history = self.history.lock().unwrap();
        let topics = &history.topics;
        let mut report: BTreeMap<(String, String), TopicReport> = BTreeMap::new();
        for ((tenant, topic), state) in topics.iter() {
            report.insert(
                (tenant.clone(), topic.clone()),
                TopicReport {
                    tenant: tenant.clone(),
                    topic: topic.clone(),
                    subscribers: count_subscribers(&subscribers, tenant, topic),
                    published: state.published,
                    recent: state.recent.iter().map(|(_, e)| e.clone()).collect(),
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

/// Instantiates `module` afresh and calls its `on-event`.
async fn call(
    module: &LoadedModule,
    runtime: &Runtime,
    event: &GuestEvent,
) -> Result<Result<(), GuestError>, InvocationError> {
    let Some(indices) = &module.exports.events else {
        return Err(module.missing_export("event-handler"));
    };
    module
        .invoke(
            runtime,
            |_| {},
            async |store, instance| {
                let handler = indices.load(&mut *store, &instance)?;
                handler.call_on_event(&mut *store, event).await
            },
        )
        .await
}

/// Calls one subscriber; a failure is logged and counted, and touches no one else.
async fn deliver(
    runtime: Arc<Runtime>,
    metrics: Arc<BusMetrics>,
    module: Arc<LoadedModule>,
    event: Arc<Event>,
) {
    let outcome = call(&module, &runtime, &event.to_guest()).await;
    let failure = match outcome {
        Ok(Ok(())) => {
            metrics.delivered.fetch_add(1, Ordering::Relaxed);
            return;
        }
        Ok(Err(error)) => format!("returned an error: {}", error.summary()),
        Err(error) => error.to_string(),
    };
    metrics.failed.fetch_add(1, Ordering::Relaxed);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn event(topic: &str, bytes: usize) -> Event {
        Event {
            id: uuid::Uuid::new_v4().to_string(),
            topic: topic.into(),
            payload: "x".repeat(bytes),
            source: "m".into(),
            time: String::new(),
        }
    }

    #[test]
    fn history_is_bounded_in_total_bytes_and_topics_whatever_the_topics() {
        let limits = EventsConfig {
            history: 100,
            history_bytes: 100_000,
            history_topics: 50,
        };
        let mut history = History::default();
        for round in 0..5 {
            for i in 0..2_000 {
                let key = ("t".to_string(), format!("fresh.{round}.{i}"));
                history.record(key, event(&format!("fresh.{round}.{i}"), 1_000), &limits);
                assert!(history.bytes <= limits.history_bytes);
                assert!(history.topics.len() <= limits.history_topics);
            }
        }
        assert_eq!(history.oldest.len(), history.topics.len());
        let newest = ("t".to_string(), "fresh.4.1999".to_string());
        assert!(
            history.topics.contains_key(&newest),
            "the newest topic is kept"
        );
    }

    #[test]
    fn each_topic_keeps_its_latest_events() {
        let limits = EventsConfig {
            history: 3,
            ..EventsConfig::default()
        };
        let mut history = History::default();
        let key = ("t".to_string(), "a".to_string());
        for _ in 0..10 {
            history.record(key.clone(), event("a", 10), &limits);
        }
        let state = &history.topics[&key];
        assert_eq!(state.recent.len(), 3);
        assert_eq!(state.published, 10);
        assert_eq!(history.bytes, 3 * footprint(&event("a", 10)));
    }
}
