//! Topic names and subscription patterns.
//!
//! A topic is 2 to 4 dot-separated segments of `a-z`, `0-9`, `_` and `-`, the last of which
//! may be a version (`v1`): `order.created`, `order.item.added.v2`. A pattern is a topic in
//! which `*` stands for any run of characters (`order.*`, `*.created.v1`, `*`).

use crate::config::ScopeSet;

/// Longest topic, in bytes.
const MAX_TOPIC: usize = 200;

/// Checks a topic a module emits on.
pub fn check_topic(topic: &str) -> Result<(), String> {
    let segments: Vec<&str> = topic.split('.').collect();
    let versioned = segments.len() > 2 && is_version(segments[segments.len() - 1]);
    let names = if versioned {
        segments.len() - 1
    } else {
        segments.len()
    };
    let well_formed = topic.len() <= MAX_TOPIC
        && (2..=3).contains(&names)
        && segments.iter().all(|s| is_segment(s))
        && !segments[..names].iter().any(|s| is_version(s));
    if !well_formed {
        return Err(format!(
            "topic '{topic}' must look like module.action or module.entity.action, optionally \
             versioned (order.created.v1): 2 or 3 lower-case segments of a-z, 0-9, '_' or '-', \
             then an optional vN"
        ));
    }
    Ok(())
}

/// Checks a subscription pattern.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    let ok = !pattern.is_empty()
        && pattern.len() <= MAX_TOPIC
        && pattern
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-*".contains(c));
    if !ok {
        return Err(format!(
            "subscription '{pattern}' must be a topic, or a topic with '*' for any run of \
             characters (order.*, *.created.v1)"
        ));
    }
    Ok(())
}

/// Whether `pattern` matches `topic`.
pub fn matches(pattern: &str, topic: &str) -> bool {
    ScopeSet::of([pattern]).covers(topic)
}

fn is_segment(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn is_version(s: &str) -> bool {
    s.strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_have_two_or_three_segments_and_an_optional_version() {
        for good in [
            "order.created",
            "order.created.v1",
            "order.item.added",
            "order.item.added.v12",
        ] {
            assert!(check_topic(good).is_ok(), "{good}");
        }
        for bad in [
            "order",
            "Order.created",
            "order..created",
            "a.b.c.d",
            "order.created.v1.v2",
            "order.*",
            "",
        ] {
            assert!(check_topic(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn patterns_match_by_glob() {
        assert!(matches("order.*", "order.created.v1"));
        assert!(matches("*.created.v1", "order.created.v1"));
        assert!(matches("order.created.v1", "order.created.v1"));
        assert!(!matches("order.created.v1", "order.created.v2"));
        assert!(!matches("order.*", "orders.created"));
        assert!(check_pattern("order.*").is_ok());
        assert!(check_pattern("order.{x}").is_err());
    }
}
