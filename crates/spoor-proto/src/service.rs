//! [`Service`]: where requests go and how they authenticate; plus error-body decoding.

use http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{HeaderValue, Method, Request, Response, StatusCode};

use crate::config::{Config, Credentials, Secret};
use crate::error::{Error, Level, Message};
use crate::form::{Form, base64, encode_component};
use crate::retry::{Jitter, RetryPolicy};
use crate::xml;

/// Which search REST API to use: `search/jobs` (v1) or `search/v2/jobs` (Splunk ≥ 9.0.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchApi {
    /// `search/jobs…`; results with `GET`. Works on every Splunk version.
    #[default]
    V1,
    /// `search/v2/jobs…`; results with `POST`. See [`ServerInfo::search_api`](crate::rest::ServerInfo::search_api).
    V2,
}

/// The management endpoint as configured: base URL, namespace and current authentication.
///
/// Every `*_request` method (here and in [`rest`](crate::rest), [`search`](crate::search))
/// returns an `http::Request<Vec<u8>>` with an absolute URI, the `Authorization` header (marked
/// sensitive) and, for form bodies, `Content-Type: application/x-www-form-urlencoded`.
///
/// ```
/// use spoor_proto::{Config, Service};
///
/// let config = Config::builder().host("splunk.example").token("t0k").app("search").build()?;
/// let service = Service::new(&config)?;
/// let req = service.server_info_request()?;
/// assert_eq!(req.uri(), "https://splunk.example:8089/servicesNS/nobody/search/server/info?output_mode=json");
/// assert_eq!(req.headers()["authorization"], "Bearer t0k");
/// # Ok::<(), spoor_proto::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Service {
    base_url: String,
    prefix: String,
    credentials: Credentials,
    authorization: Option<HeaderValue>,
    search_api: SearchApi,
    retry_policy: RetryPolicy,
    jitter: Jitter,
}

impl Service {
    /// A service for the configured management endpoint.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when a credential cannot be sent in an HTTP header.
    pub fn new(config: &Config) -> Result<Self, Error> {
        let prefix = match config.namespace() {
            Some(ns) => format!(
                "/servicesNS/{}/{}",
                encode_component(&ns.owner),
                encode_component(&ns.app)
            ),
            None => "/services".to_owned(),
        };
        let authorization = match config.credentials() {
            Credentials::None | Credentials::Password { .. } => None,
            Credentials::Basic { username, password } => {
                let pair = format!("{username}:{}", password.expose());
                Some(header_value(&format!("Basic {}", base64(pair.as_bytes())))?)
            }
            Credentials::SessionKey(key) => Some(session_header(key)?),
            Credentials::Bearer(token) => {
                Some(header_value(&format!("Bearer {}", token.expose()))?)
            }
        };
        Ok(Self {
            prefix,
            credentials: config.credentials().clone(),
            authorization,
            ..Self::bare(config.base_url())
        })
    }

    /// A service at `base_url` with no credentials and no namespace: the holder of retry
    /// policy and jitter for endpoints that carry their own authentication (HEC).
    pub(crate) fn bare(base_url: String) -> Self {
        Self {
            base_url,
            prefix: "/services".to_owned(),
            credentials: Credentials::None,
            authorization: None,
            search_api: SearchApi::default(),
            retry_policy: RetryPolicy::default(),
            jitter: Jitter::new(0x5EED),
        }
    }

    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The credentials this service was configured with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Whether a login is needed before other calls: password credentials and no session yet.
    pub fn needs_login(&self) -> bool {
        matches!(self.credentials, Credentials::Password { .. }) && self.authorization.is_none()
    }

    /// Whether a 401 should be answered by logging in again (password credentials).
    pub fn can_relogin(&self) -> bool {
        matches!(self.credentials, Credentials::Password { .. })
    }

    /// Uses a session key (from [`parse_login`](crate::rest::parse_login)) from now on.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the key cannot be sent in an HTTP header.
    pub fn set_session_key(&mut self, key: &Secret) -> Result<(), Error> {
        self.authorization = Some(session_header(key)?);
        Ok(())
    }

    /// The search API in use (default [`SearchApi::V1`]).
    pub fn search_api(&self) -> SearchApi {
        self.search_api
    }

    /// Chooses the search API, e.g. from [`ServerInfo::search_api`](crate::rest::ServerInfo::search_api).
    pub fn set_search_api(&mut self, api: SearchApi) {
        self.search_api = api;
    }

    /// The retry policy the state machines built on this service use.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry_policy
    }

    /// Sets the retry policy (default [`RetryPolicy::default`]).
    pub fn set_retry_policy(&mut self, policy: RetryPolicy) {
        self.retry_policy = policy;
    }

    /// Seeds the jitter of retry backoff. Machines take a copy of the service, so a driver
    /// seeds it (from anything that varies) before starting each one.
    pub fn set_jitter_seed(&mut self, seed: u64) {
        self.jitter = Jitter::new(seed);
    }

    pub(crate) fn next_jitter(&mut self) -> f64 {
        self.jitter.next_f64()
    }

    /// Puts the current `Authorization` header on a request (after a re-login).
    pub fn authorize(&self, request: &mut Request<Vec<u8>>) {
        match &self.authorization {
            Some(v) => request.headers_mut().insert(AUTHORIZATION, v.clone()),
            None => request.headers_mut().remove(AUTHORIZATION),
        };
    }

    /// A request to `path` below the namespace prefix (`/services` or `/servicesNS/o/a`),
    /// or to `path` itself when it starts with `/` (e.g. `/services/auth/login`, which is
    /// never namespaced). `path` must already be percent-encoded (see [`encode_component`]).
    pub(crate) fn request(
        &self,
        method: Method,
        path: &str,
        query: &Form,
        body: Option<Body>,
    ) -> Result<Request<Vec<u8>>, Error> {
        let mut uri = if path.starts_with('/') {
            format!("{}{path}", self.base_url)
        } else {
            format!("{}{}/{path}", self.base_url, self.prefix)
        };
        if !query.is_empty() {
            uri.push('?');
            uri.push_str(&query.encode());
        }
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(USER_AGENT, USER_AGENT_VALUE);
        if let Some(auth) = &self.authorization {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        let body = match body {
            None => Vec::new(),
            Some(Body::Form(form)) => {
                builder = builder.header(CONTENT_TYPE, FORM_CONTENT_TYPE);
                form.encode().into_bytes()
            }
            Some(Body::Raw(bytes, content_type)) => {
                builder = builder.header(CONTENT_TYPE, content_type);
                bytes
            }
        };
        builder
            .body(body)
            .map_err(|e| Error::config(format!("cannot build request: {e}")))
    }

    /// `POST path?output_mode=json` with a form body.
    pub(crate) fn post_form(&self, path: &str, form: Form) -> Result<Request<Vec<u8>>, Error> {
        let mut query = Form::new();
        query.push("output_mode", "json");
        self.request(Method::POST, path, &query, Some(Body::Form(form)))
    }
}

/// `User-Agent` of every request, so Splunk's access log names the client.
pub(crate) const USER_AGENT_VALUE: &str = concat!("spoor/", env!("CARGO_PKG_VERSION"));

/// The form body content type.
pub(crate) const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// The body of a request built by [`Service::request`].
#[derive(Debug)]
pub(crate) enum Body {
    Form(Form),
    Raw(Vec<u8>, &'static str),
}

fn header_value(s: &str) -> Result<HeaderValue, Error> {
    let mut v = HeaderValue::from_str(s)
        .map_err(|_| Error::config("a credential contains characters not allowed in a header"))?;
    v.set_sensitive(true);
    Ok(v)
}

fn session_header(key: &Secret) -> Result<HeaderValue, Error> {
    let key = key.expose();
    // A key already carrying its scheme is used as is, as the Splunk SDKs do.
    if key.starts_with("Splunk ") {
        header_value(key)
    } else {
        header_value(&format!("Splunk {key}"))
    }
}

/// The shape of a response body, told by its first non-blank byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Json,
    Xml,
    Empty,
    Text,
}

pub(crate) fn shape(body: &[u8]) -> Shape {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Shape::Empty,
        Some(b'{' | b'[') => Shape::Json,
        Some(b'<') => Shape::Xml,
        Some(_) => Shape::Text,
    }
}

/// Reads one top-level string: a JSON key (`{"sid":"…"}`) or the first XML element of that
/// name (`<response><sid>…</sid></response>`).
pub(crate) fn scalar(body: &[u8], name: &str, what: &'static str) -> Result<String, Error> {
    let value = match shape(body) {
        Shape::Json => {
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(body).map_err(|e| Error::parse_with(what, e))?;
            map.get(name)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        }
        Shape::Xml => xml::parse(body)?
            .find(name)
            .map(|e| e.text.trim().to_owned())
            .unwrap_or_default(),
        Shape::Empty | Shape::Text => String::new(),
    };
    if value.is_empty() {
        Err(Error::parse(what))
    } else {
        Ok(value)
    }
}

/// Returns the response body when the status is a success, else [`Error::Api`] with
/// Splunk's messages read from a JSON, XML or plain-text error body.
///
/// ```
/// let resp = http::Response::builder()
///     .status(404)
///     .body(br#"{"messages":[{"type":"FATAL","text":"Unknown sid."}]}"#.to_vec())?;
/// let err = spoor_proto::check(&resp).unwrap_err();
/// assert!(err.is_not_found());
/// assert_eq!(err.messages()[0].text, "Unknown sid.");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Api`] for any status outside 2xx.
pub fn check<B: AsRef<[u8]>>(response: &Response<B>) -> Result<&[u8], Error> {
    let body = response.body().as_ref();
    if response.status().is_success() {
        Ok(body)
    } else {
        Err(api_error(response.status(), body))
    }
}

/// Builds [`Error::Api`] from an error status and body (JSON, XML or text).
pub fn api_error(status: StatusCode, body: &[u8]) -> Error {
    Error::Api {
        status,
        messages: messages_of(body),
    }
}

/// Splunk's messages in a body of any shape; text bodies become one `ERROR` message.
pub(crate) fn messages_of(body: &[u8]) -> Vec<Message> {
    let parsed = match shape(body) {
        Shape::Json => serde_json::from_slice::<JsonMessages>(body)
            .ok()
            .and_then(|m| m.messages)
            .map(|m| m.into_iter().map(Message::from).collect()),
        // A proxy's HTML page parses too, but has no <msg>: keep its text instead.
        Shape::Xml => xml::parse(body)
            .ok()
            .map(|root| xml::messages(&root))
            .filter(|m| !m.is_empty()),
        Shape::Text => None,
        Shape::Empty => return Vec::new(),
    };
    parsed.unwrap_or_else(|| text_message(body))
}

fn text_message(body: &[u8]) -> Vec<Message> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let cut = text.char_indices().nth(1024).map_or(text.len(), |(i, _)| i);
    vec![Message::new(Level::Error, &text[..cut])]
}

/// `{"messages":[{"type":…,"code":…,"text":…}]}`, the JSON error and message shape.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct JsonMessages {
    pub(crate) messages: Option<Vec<JsonMessage>>,
}

/// One element of a JSON `messages` array.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct JsonMessage {
    #[serde(default, rename = "type")]
    level: String,
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    text: String,
}

impl From<JsonMessage> for Message {
    fn from(m: JsonMessage) -> Self {
        let code = match m.code {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Self {
            level: Level::parse(&m.level),
            code,
            text: m.text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigBuilder;

    #[test]
    fn namespaces_and_auth_headers() {
        let c = ConfigBuilder::new()
            .owner("a b")
            .session_key("k")
            .build()
            .unwrap();
        let s = Service::new(&c).unwrap();
        let r = s
            .request(Method::GET, "data/indexes", &Form::new(), None)
            .unwrap();
        assert_eq!(
            r.uri(),
            "https://localhost:8089/servicesNS/a%20b/system/data/indexes"
        );
        assert_eq!(r.headers()[AUTHORIZATION], "Splunk k");
        assert!(r.headers()[AUTHORIZATION].is_sensitive());

        let c = ConfigBuilder::new()
            .username("admin")
            .password("changeme")
            .basic_auth(true)
            .build()
            .unwrap();
        let r = Service::new(&c)
            .unwrap()
            .request(Method::GET, "x", &Form::new(), None)
            .unwrap();
        assert_eq!(r.headers()[AUTHORIZATION], "Basic YWRtaW46Y2hhbmdlbWU=");

        let c = ConfigBuilder::new()
            .username("admin")
            .password("changeme")
            .build()
            .unwrap();
        let mut s = Service::new(&c).unwrap();
        assert!(s.needs_login());
        s.set_session_key(&Secret::new("Splunk abc")).unwrap();
        assert!(!s.needs_login() && s.can_relogin());
        let r = s.request(Method::GET, "x", &Form::new(), None).unwrap();
        assert_eq!(r.headers()[AUTHORIZATION], "Splunk abc");
        assert!(s.set_session_key(&Secret::new("bad\nkey")).is_err());
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let c = ConfigBuilder::new()
            .username("u")
            .password("pw-1")
            .hec_token("hec-2")
            .build()
            .unwrap();
        let mut s = Service::new(&c).unwrap();
        s.set_session_key(&Secret::new("key-3")).unwrap();
        let hec = crate::hec::Hec::new(c.hec().unwrap()).unwrap();
        let req = s.server_info_request().unwrap();
        let shown = format!("{c:?} {s:?} {hec:?} {req:?}");
        for secret in ["pw-1", "hec-2", "key-3"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn error_bodies_of_every_shape() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<response>
  <messages>
    <msg type="WARN" code="incorrect_username_or_password">Login failed</msg>
  </messages>
</response>"#;
        let e = api_error(StatusCode::UNAUTHORIZED, xml);
        assert_eq!(
            e.messages(),
            &[Message {
                level: Level::Warn,
                code: Some("incorrect_username_or_password".into()),
                text: "Login failed".into()
            }]
        );
        let e = api_error(StatusCode::BAD_GATEWAY, b"  upstream down\n");
        assert_eq!(e.to_string(), "splunk answered 502: ERROR upstream down");
        let e = api_error(StatusCode::BAD_GATEWAY, b"{not json");
        assert_eq!(e.messages()[0].text, "{not json");
        assert!(api_error(StatusCode::NOT_FOUND, b"").messages().is_empty());
        let proxy = api_error(
            StatusCode::BAD_GATEWAY,
            b"<html><body>502 Bad Gateway</body></html>",
        );
        assert_eq!(
            proxy.messages()[0].text,
            "<html><body>502 Bad Gateway</body></html>"
        );
        let other = api_error(StatusCode::BAD_REQUEST, br#"{"error":"nope"}"#);
        assert_eq!(other.messages()[0].text, r#"{"error":"nope"}"#);
        let none = api_error(StatusCode::NOT_FOUND, br#"{"messages":[]}"#);
        assert!(none.messages().is_empty());
    }
}
