//! A small map from type to value: where each capability keeps its part of an invocation's
//! state, so the store's data names no capability. A handful of entries, found by
//! comparing type ids.

use std::any::{Any, TypeId};

/// Values by type, at most one of each.
#[derive(Default)]
pub struct Extensions {
    entries: Vec<Box<dyn Any + Send>>,
}

impl Extensions {
    /// An empty map with room for `capacity` values.
    pub fn with_capacity(capacity: usize) -> Self {
        Extensions {
            entries: Vec::with_capacity(capacity),
        }
    }

    /// Puts `value` in, replacing the value of its type.
    pub fn insert<T: Any + Send>(&mut self, value: T) {
        match self.get_mut::<T>() {
            Some(slot) => *slot = value,
            None => self.entries.push(Box::new(value)),
        }
    }

    /// The value of type `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.entries.iter().find_map(|e| e.downcast_ref::<T>())
    }

    /// The value of type `T`, mutably.
    pub fn get_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.entries.iter_mut().find_map(|e| e.downcast_mut::<T>())
    }

    /// The values of two different types at once, mutably (e.g. the outbox beside the
    /// ORM session that tells which transaction is open).
    pub fn pair_mut<A: Any, B: Any>(&mut self) -> (Option<&mut A>, Option<&mut B>) {
        assert_ne!(TypeId::of::<A>(), TypeId::of::<B>(), "two different types");
        let (mut a, mut b) = (None, None);
        for entry in self.entries.iter_mut() {
            let entry: &mut dyn Any = entry.as_mut();
            if entry.is::<A>() {
                a = entry.downcast_mut::<A>();
            } else if entry.is::<B>() {
                b = entry.downcast_mut::<B>();
            }
        }
        (a, b)
    }
}

/// Values by type that every instance of a module version shares (its capabilities'
/// parts of the module: ORM schema, subscriptions, namespaces…), set when it loads.
#[derive(Default)]
pub struct ModuleParts {
    entries: Vec<Box<dyn Any + Send + Sync>>,
}

impl ModuleParts {
    /// Puts `value` in, replacing the value of its type.
    pub fn insert<T: Any + Send + Sync>(&mut self, value: T) {
        self.entries.retain(|e| !e.is::<T>());
        self.entries.push(Box::new(value));
    }

    /// The value of type `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.entries.iter().find_map(|e| e.downcast_ref::<T>())
    }
}

impl std::fmt::Debug for ModuleParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ModuleParts({} parts)", self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_found_by_type_and_two_are_borrowed_at_once() {
        let mut map = Extensions::default();
        map.insert(1u32);
        map.insert(String::from("a"));
        map.insert(2u32);
        assert_eq!(map.get::<u32>(), Some(&2));
        let (n, s) = map.pair_mut::<u32, String>();
        *n.unwrap() += 1;
        s.unwrap().push('b');
        assert_eq!(map.get::<u32>(), Some(&3));
        assert_eq!(map.get::<String>().map(String::as_str), Some("ab"));
        assert!(map.get::<u8>().is_none());
    }
}
