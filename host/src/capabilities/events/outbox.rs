//! Events an invocation emitted, held until it ends: published only if it succeeded, and
//! without those emitted inside an ORM transaction that was rolled back.

use super::Event;

/// The invocation's emitted events, each tagged with the ORM transaction open at the time.
#[derive(Debug, Default)]
pub struct Outbox {
    events: Vec<(Option<u64>, Event)>,
}

impl Outbox {
    /// Holds `event`, emitted while ORM transaction `transaction` (if any) was open.
    pub fn push(&mut self, transaction: Option<u64>, event: Event) {
        self.events.push((transaction, event));
    }

    /// The events to publish, leaving out those of rolled-back transactions.
    pub fn take(&mut self, rolled_back: &[u64]) -> Vec<Event> {
        std::mem::take(&mut self.events)
            .into_iter()
            .filter(|(tx, _)| !tx.is_some_and(|t| rolled_back.contains(&t)))
            .map(|(_, event)| event)
            .collect()
    }

    /// How many events are held.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}
