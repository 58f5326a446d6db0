//! A module's declared routes, compiled into a matcher.

use std::collections::BTreeMap;

use crate::config::manifest::HttpSection;

/// A module's prefix and its routes by pattern, each with the methods it accepts.
pub struct ModuleRoutes {
    prefix: String,
    matcher: matchit::Router<BTreeMap<String, String>>,
    public: Option<String>,
}

/// The result of matching a path (relative to the prefix) and a method.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteMatch {
    /// A declared route: its pattern as written, and the values of its parameters.
    Found {
        /// The method the module sees: the request's, except GET for a HEAD that a GET
        /// route answers (the server then sends the headers without the body).
        method: String,
        /// The route pattern as declared.
        pattern: String,
        /// `{param}` values.
        params: Vec<(String, String)>,
    },
    /// The path matches but not with this method; the allowed methods.
    MethodNotAllowed(Vec<String>),
    /// No declared route matches the path.
    NoRoute,
}

impl ModuleRoutes {
    /// Compiles the routes of an `[http]` section; refuses conflicting patterns.
    pub fn new(http: &HttpSection) -> Result<ModuleRoutes, String> {
        let mut by_pattern: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
        for route in &http.routes {
            by_pattern
                .entry(route.path.as_str())
                .or_default()
                .insert(route.method.clone(), route.path.clone());
        }
        let mut matcher = matchit::Router::new();
        for (pattern, methods) in by_pattern {
            matcher
                .insert(pattern, methods)
                .map_err(|e| format!("route '{pattern}' cannot be added: {e}"))?;
        }
        Ok(ModuleRoutes {
            prefix: http.prefix.clone(),
            matcher,
            public: http.public.clone(),
        })
    }

    /// The mount prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The module's folder of static files, if it has one.
    pub fn public(&self) -> Option<&str> {
        self.public.as_deref()
    }

    /// Matches `path` (below the prefix) and `method`.
    pub fn find(&self, method: &str, path: &str) -> RouteMatch {
        let Ok(matched) = self.matcher.at(path) else {
            return RouteMatch::NoRoute;
        };
        let methods = &matched.value;
        let (method, pattern) = match methods.get(method) {
            Some(pattern) => (method, Some(pattern)),
            None if method == "HEAD" && methods.contains_key("GET") => ("GET", methods.get("GET")),
            None => (method, methods.get("ANY")),
        };
        match pattern {
            Some(pattern) => RouteMatch::Found {
                method: method.to_string(),
                pattern: pattern.clone(),
                params: matched
                    .params
                    .iter()
                    .map(|(k, v)| (k.to_string(), decode(v)))
                    .collect(),
            },
            None => RouteMatch::MethodNotAllowed(allowed(methods)),
        }
    }
}

/// The methods a path accepts, sorted; HEAD wherever GET is.
fn allowed(methods: &BTreeMap<String, String>) -> Vec<String> {
    let mut allowed: Vec<String> = methods.keys().cloned().collect();
    if methods.contains_key("GET") && !methods.contains_key("HEAD") {
        allowed.push("HEAD".into());
        allowed.sort();
    }
    allowed
}

/// Percent-decodes a path segment (`Grace%20Hopper` → `Grace Hopper`).
fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HttpRoute;

    fn routes(list: &[(&str, &str)]) -> ModuleRoutes {
        let routes = list
            .iter()
            .map(|(m, p)| HttpRoute {
                method: m.to_string(),
                path: p.to_string(),
            })
            .collect();
        ModuleRoutes::new(&HttpSection {
            prefix: "/x".into(),
            public: None,
            routes,
        })
        .unwrap()
    }

    #[test]
    fn params_are_extracted_and_the_declared_pattern_returned() {
        let r = routes(&[("GET", "/{name}"), ("GET", "/files/{*rest}")]);
        assert_eq!(
            r.find("GET", "/Ada"),
            RouteMatch::Found {
                method: "GET".into(),
                pattern: "/{name}".into(),
                params: vec![("name".into(), "Ada".into())]
            }
        );
        assert_eq!(
            r.find("GET", "/files/a/b.txt"),
            RouteMatch::Found {
                method: "GET".into(),
                pattern: "/files/{*rest}".into(),
                params: vec![("rest".into(), "a/b.txt".into())]
            }
        );
    }

    #[test]
    fn params_are_percent_decoded() {
        let r = routes(&[("GET", "/{name}")]);
        let RouteMatch::Found { params, .. } = r.find("GET", "/Grace%20Hopper") else {
            panic!()
        };
        assert_eq!(params, vec![("name".into(), "Grace Hopper".into())]);
    }

    #[test]
    fn a_wrong_method_lists_the_allowed_ones() {
        let r = routes(&[("GET", "/{id}"), ("DELETE", "/{id}")]);
        assert_eq!(
            r.find("POST", "/1"),
            RouteMatch::MethodNotAllowed(vec!["DELETE".into(), "GET".into(), "HEAD".into()])
        );
    }

    #[test]
    fn a_get_route_answers_head_as_get() {
        let r = routes(&[("GET", "/{id}"), ("POST", "/")]);
        let RouteMatch::Found { method, .. } = r.find("HEAD", "/1") else {
            panic!("HEAD did not match the GET route")
        };
        assert_eq!(method, "GET");
        assert_eq!(
            r.find("HEAD", "/"),
            RouteMatch::MethodNotAllowed(vec!["POST".into()])
        );
    }

    #[test]
    fn any_accepts_every_method_and_unknown_paths_do_not_match() {
        let r = routes(&[("ANY", "/echo")]);
        assert!(matches!(r.find("PATCH", "/echo"), RouteMatch::Found { .. }));
        assert_eq!(r.find("GET", "/other"), RouteMatch::NoRoute);
    }

    #[test]
    fn conflicting_patterns_are_refused() {
        let routes = vec![
            HttpRoute {
                method: "GET".into(),
                path: "/{a}".into(),
            },
            HttpRoute {
                method: "GET".into(),
                path: "/{b}".into(),
            },
        ];
        assert!(
            ModuleRoutes::new(&HttpSection {
                prefix: "/x".into(),
                public: None,
                routes
            })
            .is_err()
        );
    }
}
