//! Scope patterns: the resources a capability grant covers (`greeting`, `public.*`, `*`).

use serde::{Deserialize, Serialize};

/// A set of glob patterns; `*` matches any run of characters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ScopeList", into = "Vec<String>")]
pub struct ScopeSet(Vec<String>);

/// In TOML a scope is either a list of patterns or `true` (everything) / `false` (nothing).
#[derive(Deserialize)]
#[serde(untagged)]
enum ScopeList {
    All(bool),
    Patterns(Vec<String>),
}

impl From<ScopeList> for ScopeSet {
    fn from(list: ScopeList) -> Self {
        match list {
            ScopeList::All(true) => ScopeSet::everything(),
            ScopeList::All(false) => ScopeSet::default(),
            ScopeList::Patterns(p) => ScopeSet(p),
        }
    }
}

impl From<ScopeSet> for Vec<String> {
    fn from(set: ScopeSet) -> Self {
        set.0
    }
}

impl ScopeSet {
    /// The set that covers every resource.
    pub fn everything() -> Self {
        ScopeSet(vec!["*".into()])
    }

    /// A set of the given patterns.
    pub fn of<I: IntoIterator<Item = S>, S: Into<String>>(patterns: I) -> Self {
        ScopeSet(patterns.into_iter().map(Into::into).collect())
    }

    /// Whether some pattern matches `resource`.
    pub fn covers(&self, resource: &str) -> bool {
        self.0.iter().any(|p| glob_match(p, resource))
    }

    /// The patterns, as written.
    pub fn patterns(&self) -> &[String] {
        &self.0
    }

    /// Whether no resource can match.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `*` matches any (possibly empty) run of characters; everything else is literal.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    glob_match(pattern, text)
}

fn glob_match(pattern: &str, text: &str) -> bool {
    let Some((head, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut remaining) = text.strip_prefix(head) else {
        return false;
    };
    let mut parts = rest.split('*').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            return remaining.len() >= part.len() && remaining.ends_with(part);
        }
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_patterns_match_only_themselves() {
        assert!(glob_match("greeting", "greeting"));
        assert!(!glob_match("greeting", "greetings"));
    }

    #[test]
    fn stars_match_any_run_including_dots() {
        assert!(glob_match("*", "anything.at.all"));
        assert!(glob_match("public.*", "public.colour"));
        assert!(!glob_match("public.*", "secret"));
        assert!(glob_match("order.*.v1", "order.created.v1"));
        assert!(!glob_match("order.*.v1", "order.created.v2"));
        assert!(glob_match("a*b*c", "abc"));
        assert!(!glob_match("a*b*c", "acb"));
    }

    #[test]
    fn true_means_everything_and_false_nothing() {
        #[derive(Deserialize)]
        struct T {
            a: ScopeSet,
            b: ScopeSet,
        }
        let t: T = toml::from_str("a = true\nb = false").unwrap();
        assert!(t.a.covers("x"));
        assert!(!t.b.covers("x"));
    }
}
