//! Per-event rules a module declares for its namespaces, checked by the host before the
//! module runs: a JSON Schema for the payload, a rate limit (token bucket), and required
//! token claims (a guard). Refusals go back as error frames; the handler is not called.
//!
//! ```toml
//! [ws.events.message]
//! schema = { type = "object", required = ["room", "text"], properties = { text = { type = "string", maxLength = 2000 } } }
//! rate-per-second = 5      # sustained
//! burst = 10               # at once
//! claims = { role = "member" }
//! ```

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// One event's rules as written in plugin.toml.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EventRuleSpec {
    /// JSON Schema the payload must satisfy.
    pub schema: Option<toml::Value>,
    /// Messages per second one connection may send with this event.
    pub rate_per_second: Option<f64>,
    /// How many may come at once (default: one second's worth).
    pub burst: Option<f64>,
    /// Claims the token must carry, e.g. `{ role = "admin" }`.
    #[serde(default)]
    pub claims: BTreeMap<String, toml::Value>,
}

/// A refused message: its error code and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `invalid_payload`, `rate_limited` or `forbidden`.
    pub code: &'static str,
    /// What to change.
    pub message: String,
}

/// An event's compiled rules.
pub struct EventRule {
    schema: Option<jsonschema::Validator>,
    rate: Option<Rate>,
    claims: BTreeMap<String, serde_json::Value>,
}

pub use crate::runtime::rate::{Bucket, Rate};

/// The rules of every declared event of a module.
#[derive(Default)]
pub struct EventRules {
    rules: HashMap<String, EventRule>,
}

impl EventRules {
    /// Compiles the manifest's `[ws.events]`; the error names the event.
    pub fn compile(specs: &BTreeMap<String, EventRuleSpec>) -> Result<EventRules, String> {
        let mut rules = HashMap::new();
        for (event, spec) in specs {
            let fail = |e: String| format!("ws.events.{event}: {e}");
            let schema = match &spec.schema {
                None => None,
                Some(value) => {
                    let json = serde_json::to_value(value).map_err(|e| fail(e.to_string()))?;
                    Some(
                        jsonschema::validator_for(&json)
                            .map_err(|e| fail(format!("schema: {e}")))?,
                    )
                }
            };
            let rate = match spec.rate_per_second {
                None => None,
                Some(r) if r > 0.0 => Some(Rate {
                    per_second: r,
                    burst: spec.burst.unwrap_or(r).max(1.0),
                }),
                Some(_) => return Err(fail("rate-per-second must be above 0".into())),
            };
            let claims = spec
                .claims
                .iter()
                .map(|(k, v)| {
                    Ok((
                        k.clone(),
                        serde_json::to_value(v).map_err(|e| fail(e.to_string()))?,
                    ))
                })
                .collect::<Result<_, String>>()?;
            rules.insert(
                event.clone(),
                EventRule {
                    schema,
                    rate,
                    claims,
                },
            );
        }
        Ok(EventRules { rules })
    }

    /// Whether `event` has a rule (so its payload must be parsed to be checked).
    pub fn declares(&self, event: &str) -> bool {
        self.rules.contains_key(event)
    }

    /// The rate limit of `event`, if it has one.
    pub fn rate(&self, event: &str) -> Option<Rate> {
        self.rules.get(event)?.rate
    }

    /// Checks the guard and the payload of `event`.
    pub fn check(
        &self,
        event: &str,
        data: &serde_json::Value,
        claims: &serde_json::Value,
    ) -> Result<(), Refusal> {
        let Some(rule) = self.rules.get(event) else {
            return Ok(());
        };
        for (claim, wanted) in &rule.claims {
            if claims.get(claim) != Some(wanted) {
                return Err(Refusal {
                    code: "forbidden",
                    message: format!("'{event}' needs the token claim {claim} = {wanted}"),
                });
            }
        }
        if let Some(schema) = &rule.schema
            && let Err(error) = schema.validate(data)
        {
            let at = error.instance_path().to_string();
            let place = if at.is_empty() {
                "the data".to_string()
            } else {
                format!("data{at}")
            };
            return Err(Refusal {
                code: "invalid_payload",
                message: format!("'{event}': {place}: {error}"),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rules(text: &str) -> Result<EventRules, String> {
        let specs: BTreeMap<String, EventRuleSpec> =
            toml::from_str(text).map_err(|e| e.to_string())?;
        EventRules::compile(&specs)
    }

    #[test]
    fn payloads_are_checked_against_the_declared_schema() {
        let r = rules("[message]\nschema = { type = \"object\", required = [\"text\"], properties = { text = { type = \"string\", maxLength = 3 } } }").unwrap();
        assert!(
            r.check("message", &json!({"text": "hi"}), &json!({}))
                .is_ok()
        );
        let refusal = r
            .check("message", &json!({"text": "hello"}), &json!({}))
            .unwrap_err();
        assert_eq!(refusal.code, "invalid_payload");
        assert!(refusal.message.contains("/text"), "{}", refusal.message);
        assert!(r.check("message", &json!({}), &json!({})).is_err());
        assert!(
            r.check("other", &json!(1), &json!({})).is_ok(),
            "undeclared events pass"
        );
        let Err(error) = rules("[bad]\nschema = { type = 5 }") else {
            panic!("a bad schema compiled")
        };
        assert!(error.contains("ws.events.bad"), "{error}");
    }

    #[test]
    fn guards_require_the_declared_claims() {
        let r = rules("[ban]\nclaims = { role = \"admin\" }").unwrap();
        assert!(
            r.check("ban", &json!(null), &json!({"role": "admin"}))
                .is_ok()
        );
        assert_eq!(
            r.check("ban", &json!(null), &json!({"role": "user"}))
                .unwrap_err()
                .code,
            "forbidden"
        );
    }

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let mut b = Bucket::new(Rate {
            per_second: 1000.0,
            burst: 3.0,
        });
        assert!(b.take() && b.take() && b.take());
        assert!(!b.take());
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(b.take());
    }
}
