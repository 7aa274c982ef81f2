//! Who may call: the admin's password, session keys, bearer tokens and HEC tokens.
//!
//! Secrets are compared in constant time (for their length). Session keys are 256 random bits
//! and looked up by value; they expire after [`Limits::session_ttl`](super::Limits) without use.

use std::collections::HashMap;
use std::io;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::HeaderMap;
use spoor_proto::Secret;
use spoor_proto::hec::HecCode;
use subtle::ConstantTimeEq;

/// The credentials a server accepts. `Debug` shows no secret.
#[derive(Clone)]
#[non_exhaustive]
pub struct Credentials {
    /// The admin's user name (`auth/login`, Basic).
    pub username: String,
    /// The admin's password.
    pub password: Secret,
    /// Bearer tokens (`Authorization: Bearer …`), Splunk's authentication tokens.
    pub tokens: Vec<Secret>,
    /// HEC tokens (`Authorization: Splunk …` on the collector endpoints).
    pub hec_tokens: Vec<Secret>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("tokens", &self.tokens.len())
            .field("hec_tokens", &self.hec_tokens.len())
            .finish()
    }
}

impl Credentials {
    /// The admin `username` with `password`, and no tokens.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: Secret::new(password),
            tokens: Vec::new(),
            hec_tokens: Vec::new(),
        }
    }

    /// Adds a bearer token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.tokens.push(Secret::new(token));
        self
    }

    /// Adds an HEC token.
    pub fn hec_token(mut self, token: impl Into<String>) -> Self {
        self.hec_tokens.push(Secret::new(token));
        self
    }

    /// `admin` with a fresh random password and a fresh HEC token (a GUID, as Splunk's are).
    ///
    /// # Errors
    ///
    /// When the system's random source fails.
    pub fn generate() -> io::Result<Self> {
        let password = super::random_hex(16)?;
        let g = super::random_hex(16)?.to_uppercase();
        let guid = format!(
            "{}-{}-{}-{}-{}",
            &g[0..8],
            &g[8..12],
            &g[12..16],
            &g[16..20],
            &g[20..32]
        );
        Ok(Self::new("admin", password).hec_token(guid))
    }
}

/// Why a REST call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denied {
    /// No credentials at all.
    Missing,
    /// Credentials that are wrong or expired.
    Invalid,
}

/// The server's view of credentials and sessions.
#[derive(Debug)]
pub(crate) struct Auth {
    credentials: Credentials,
    sessions: Mutex<HashMap<String, Instant>>,
    ttl: Duration,
}

/// Sessions kept at most; past this the least recently used go first.
const MAX_SESSIONS: usize = 10_000;

fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

impl Auth {
    pub(crate) fn new(credentials: &Credentials, ttl: Duration) -> Self {
        Self {
            credentials: credentials.clone(),
            sessions: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    fn password_ok(&self, username: &str, password: &str) -> bool {
        // Both compared, always, so the time does not tell which one was wrong.
        let user = same(username, &self.credentials.username);
        let pass = same(password, self.credentials.password.expose());
        user & pass
    }

    /// A new session key for a correct username and password.
    pub(crate) fn login(&self, username: &str, password: &str) -> Option<io::Result<String>> {
        if !self.password_ok(username, password) {
            return None;
        }
        let key = match super::random_hex(32) {
            Ok(key) => key,
            Err(err) => return Some(Err(err)),
        };
        let now = Instant::now();
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, used| now.duration_since(*used) < self.ttl);
            if sessions.len() >= MAX_SESSIONS
                && let Some(oldest) = sessions
                    .iter()
                    .min_by_key(|(_, t)| **t)
                    .map(|(k, _)| k.clone())
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(key.clone(), now);
        Some(Ok(key))
    }

    /// Whether a session key is valid; using it keeps it alive.
    fn session_ok(&self, key: &str) -> bool {
        let now = Instant::now();
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        match sessions.get_mut(key) {
            Some(used) if now.duration_since(*used) < self.ttl => {
                *used = now;
                true
            }
            Some(_) => {
                sessions.remove(key);
                false
            }
            None => false,
        }
    }

    fn token_ok(&self, token: &str) -> bool {
        let mut ok = false;
        for t in &self.credentials.tokens {
            ok |= same(token, t.expose());
        }
        ok || self.session_ok(token)
    }

    /// Checks a REST call's credentials, in the order Splunk's SDKs send them: a
    /// `splunkd_*` session cookie, else the `Authorization` header (`Splunk <session key>`,
    /// `Bearer <token>`, `Basic <user:password>`).
    pub(crate) fn check_rest(&self, headers: &HeaderMap) -> Result<(), Denied> {
        if let Some(key) = session_cookie(headers) {
            return if self.session_ok(&key) {
                Ok(())
            } else {
                Err(Denied::Invalid)
            };
        }
        let Some(value) = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return Err(Denied::Missing);
        };
        let ok = match split_scheme(value) {
            Some(("splunk", key)) => self.session_ok(key),
            Some(("bearer", token)) => self.token_ok(token),
            Some(("basic", encoded)) => {
                basic(encoded).is_some_and(|(user, pass)| self.password_ok(&user, &pass))
            }
            _ => false,
        };
        if ok { Ok(()) } else { Err(Denied::Invalid) }
    }

    /// Checks an HEC call: `Authorization: Splunk <token>` or Basic with the token as the
    /// password; a `token` in the query string is refused (code 16), as Splunk does unless told.
    pub(crate) fn check_hec(&self, headers: &HeaderMap, query_token: bool) -> Result<(), HecCode> {
        let value = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let token = match value.and_then(split_scheme) {
            Some(("splunk", token)) => token.to_owned(),
            Some(("basic", encoded)) => match basic(encoded) {
                Some((_, token)) => token,
                None => return Err(HecCode::InvalidAuthorization),
            },
            Some(_) => return Err(HecCode::InvalidAuthorization),
            None if query_token => return Err(HecCode::QueryStringAuthorizationDisabled),
            None => return Err(HecCode::TokenRequired),
        };
        let mut ok = false;
        for t in &self.credentials.hec_tokens {
            ok |= same(&token, t.expose());
        }
        if ok {
            Ok(())
        } else {
            Err(HecCode::InvalidToken)
        }
    }
}

/// `Splunk abc` → `("splunk", "abc")`; the scheme lower-cased.
fn split_scheme(value: &str) -> Option<(&'static str, &str)> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "splunk" => "splunk",
        "bearer" => "bearer",
        "basic" => "basic",
        _ => return None,
    };
    Some((scheme, rest.trim()))
}

/// The user and password of a Basic credential.
fn basic(encoded: &str) -> Option<(String, String)> {
    let bytes = spoor_proto::form::base64_decode(encoded)?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

/// The value of a `splunkd_<port>` cookie, if the request carries one.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| name.starts_with("splunkd_"))
        .map(|(_, value)| value.trim_matches('"').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn auth() -> Auth {
        let creds = Credentials::new("admin", "s3cret")
            .token("tok")
            .hec_token("hec-1");
        Auth::new(&creds, Duration::from_secs(60))
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn every_scheme_the_sdks_send() {
        let a = auth();
        assert!(a.login("admin", "wrong").is_none());
        assert!(a.login("Admin", "s3cret").is_none());
        let key = a.login("admin", "s3cret").unwrap().unwrap();
        assert_eq!(a.check_rest(&headers(&[])), Err(Denied::Missing));
        for ok in [
            format!("Splunk {key}"),
            "Bearer tok".to_owned(),
            format!("Bearer {key}"),
            "Basic YWRtaW46czNjcmV0".to_owned(),
        ] {
            assert_eq!(
                a.check_rest(&headers(&[("authorization", &ok)])),
                Ok(()),
                "{ok}"
            );
        }
        let cookie = format!("other=1; splunkd_8089={key}");
        assert_eq!(a.check_rest(&headers(&[("cookie", &cookie)])), Ok(()));
        for bad in [
            "Splunk nope",
            "Bearer nope",
            "Basic YWRtaW46bm8=",
            "Digest x",
            "Splunk",
        ] {
            assert_eq!(
                a.check_rest(&headers(&[("authorization", bad)])),
                Err(Denied::Invalid),
                "{bad}"
            );
        }
        assert_eq!(
            a.check_rest(&headers(&[("cookie", "splunkd_8089=nope")])),
            Err(Denied::Invalid)
        );
    }

    #[test]
    fn sessions_expire() {
        let creds = Credentials::new("admin", "p");
        let a = Auth::new(&creds, Duration::ZERO);
        let key = a.login("admin", "p").unwrap().unwrap();
        assert!(!a.session_ok(&key));
    }

    #[test]
    fn hec_tokens() {
        let a = auth();
        let h = |v: &str| headers(&[("authorization", v)]);
        assert_eq!(a.check_hec(&h("Splunk hec-1"), false), Ok(()));
        assert_eq!(a.check_hec(&h("Basic eDpoZWMtMQ=="), false), Ok(()));
        assert_eq!(
            a.check_hec(&h("Splunk tok"), false),
            Err(HecCode::InvalidToken)
        );
        assert_eq!(
            a.check_hec(&headers(&[]), false),
            Err(HecCode::TokenRequired)
        );
        assert_eq!(
            a.check_hec(&headers(&[]), true),
            Err(HecCode::QueryStringAuthorizationDisabled)
        );
        assert_eq!(
            a.check_hec(&h("Basic !!"), false),
            Err(HecCode::InvalidAuthorization)
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let shown = format!(
            "{:?}",
            Credentials::new("admin", "s3cret").hec_token("t0ken")
        );
        assert!(
            !shown.contains("s3cret") && !shown.contains("t0ken"),
            "{shown}"
        );
    }

    #[test]
    fn generated_credentials_differ() {
        let (a, b) = (
            Credentials::generate().unwrap(),
            Credentials::generate().unwrap(),
        );
        assert_ne!(a.password.expose(), b.password.expose());
        assert_eq!(a.hec_tokens[0].expose().len(), 36);
    }
}
