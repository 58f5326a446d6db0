//! Authentication at the handshake: a JWT from `Authorization: Bearer …` or `?token=`,
//! checked with host.toml's HS256 secret or RS256 public key before any module code runs.
//! The user id is the token's `sub` claim and nothing else, so a client cannot claim
//! another user's id.

use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// `[ws]` in host.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct WsConfig {
    /// HS256 secret for tokens.
    pub jwt_secret: Option<String>,
    /// RS256 public key (PEM text) for tokens.
    pub jwt_public_key: Option<String>,
    /// Refuse clients without a token (default: required when a key is configured).
    pub require_auth: Option<bool>,
    /// Seconds a token's `exp` and `nbf` may be off, for clocks that differ a little.
    #[serde(default = "default_leeway")]
    pub jwt_leeway_seconds: u64,
    /// Frames queued per socket before the client counts as too slow and is dropped.
    #[serde(default = "default_queue")]
    pub send_queue: usize,
    /// Largest frame a client may send, in bytes.
    #[serde(default = "default_max_frame")]
    pub max_frame_bytes: usize,
    /// Seconds between pings.
    #[serde(default = "default_ping")]
    pub ping_secs: u64,
    /// Seconds without any frame (pongs included) before the socket is closed.
    #[serde(default = "default_idle")]
    pub idle_secs: u64,
    /// Messages per second one connection may send, all events together.
    #[serde(default = "default_rate")]
    pub rate_per_second: f64,
    /// Messages one connection may send at once.
    #[serde(default = "default_burst")]
    pub burst: f64,
}

fn default_rate() -> f64 {
    50.0
}
fn default_burst() -> f64 {
    100.0
}

fn default_leeway() -> u64 {
    60
}

fn default_queue() -> usize {
    256
}
fn default_max_frame() -> usize {
    64 * 1024
}
fn default_ping() -> u64 {
    20
}
fn default_idle() -> u64 {
    60
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            jwt_secret: None,
            jwt_public_key: None,
            require_auth: None,
            jwt_leeway_seconds: default_leeway(),
            send_queue: default_queue(),
            max_frame_bytes: default_max_frame(),
            ping_secs: default_ping(),
            idle_secs: default_idle(),
            rate_per_second: default_rate(),
            burst: default_burst(),
        }
    }
}

/// Who a client is: the token's subject and claims, or nobody.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// The `sub` claim.
    pub user: Option<String>,
    /// Every claim, as JSON.
    pub claims: serde_json::Value,
}

impl WsConfig {
    fn key(&self) -> Result<Option<(DecodingKey, Algorithm)>, String> {
        if let Some(secret) = &self.jwt_secret {
            return Ok(Some((
                DecodingKey::from_secret(secret.as_bytes()),
                Algorithm::HS256,
            )));
        }
        if let Some(pem) = &self.jwt_public_key {
            let key = DecodingKey::from_rsa_pem(pem.as_bytes())
                .map_err(|e| format!("[ws] jwt-public-key is not an RSA public key in PEM: {e}"))?;
            return Ok(Some((key, Algorithm::RS256)));
        }
        Ok(None)
    }

    fn auth_required(&self) -> bool {
        self.require_auth
            .unwrap_or(self.jwt_secret.is_some() || self.jwt_public_key.is_some())
    }

    /// Checks the handshake's token; the error says why the client is refused.
    pub fn authenticate(&self, parts: &Parts) -> Result<Identity, String> {
        let anonymous = Identity {
            user: None,
            claims: serde_json::json!({}),
        };
        let Some(token) = token(parts) else {
            if self.auth_required() {
                return Err(
                    "a token is required: send Authorization: Bearer TOKEN or ?token=TOKEN".into(),
                );
            }
            return Ok(anonymous);
        };
        let Some((key, algorithm)) = self.key()? else {
            return Err(
                "this host has no [ws] jwt-secret or jwt-public-key to check tokens with".into(),
            );
        };
        let mut validation = Validation::new(algorithm);
        validation.required_spec_claims.clear();
        validation.validate_aud = false;
        // A token whose `nbf` is still ahead is not valid yet (jsonwebtoken skips it unless asked).
        validation.validate_nbf = true;
        validation.leeway = self.jwt_leeway_seconds;
        let data = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation)
            .map_err(|e| format!("the token was refused: {e}"))?;
        let user = match &data.claims["sub"] {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => return Err("the token has no `sub` claim naming the user".into()),
        };
        Ok(Identity {
            user,
            claims: data.claims,
        })
    }
}

fn token(parts: &Parts) -> Option<String> {
    if let Some(bearer) = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim().to_string());
    }
    let query = parts.uri.query()?;
    url_pairs(query).find(|(k, _)| k == "token").map(|(_, v)| v)
}

fn url_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        Some((decode(k), decode(v)))
    })
}

#[cfg(test)]
mod tests {
    use axum::http::Request;
    use jsonwebtoken::{EncodingKey, Header};

    use super::*;

    fn parts(uri: &str, bearer: Option<&str>) -> Parts {
        let mut request = Request::builder().uri(uri);
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.body(()).unwrap().into_parts().0
    }

    fn token(secret: &str, claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    fn config() -> WsConfig {
        WsConfig {
            jwt_secret: Some("dev-secret".into()),
            ..WsConfig::default()
        }
    }

    #[test]
    fn the_user_is_the_token_subject_from_header_or_query() {
        let t = token(
            "dev-secret",
            serde_json::json!({"sub": "ada", "role": "admin"}),
        );
        let who = config().authenticate(&parts("/chat", Some(&t))).unwrap();
        assert_eq!(who.user.as_deref(), Some("ada"));
        assert_eq!(who.claims["role"], "admin");
        let who = config()
            .authenticate(&parts(&format!("/chat?token={t}"), None))
            .unwrap();
        assert_eq!(who.user.as_deref(), Some("ada"));
    }

    #[test]
    fn forged_tampered_expired_or_missing_tokens_are_refused() {
        let forged = token("other-secret", serde_json::json!({"sub": "ada"}));
        assert!(
            config()
                .authenticate(&parts("/chat", Some(&forged)))
                .is_err()
        );
        let good = token("dev-secret", serde_json::json!({"sub": "ada"}));
        let mut pieces: Vec<String> = good.split('.').map(str::to_string).collect();
        pieces[1] = token("dev-secret", serde_json::json!({"sub": "bob"}))
            .split('.')
            .nth(1)
            .unwrap()
            .into();
        assert!(
            config()
                .authenticate(&parts("/chat", Some(&pieces.join("."))))
                .is_err()
        );
        let expired = token("dev-secret", serde_json::json!({"sub": "ada", "exp": 1}));
        assert!(
            config()
                .authenticate(&parts("/chat", Some(&expired)))
                .is_err()
        );
        let err = config().authenticate(&parts("/chat", None)).unwrap_err();
        assert!(err.contains("token is required"), "{err}");
        let anonymous = WsConfig::default()
            .authenticate(&parts("/chat", None))
            .unwrap();
        assert_eq!(anonymous.user, None);
    }
}
