//! Connection configuration: builder, `SPLUNK_*` variables, `.splunkrc` text, precedence.
//!
//! A [`ConfigBuilder`] is one *layer* of settings, every field optional. Layers come from
//! code (the setters), from environment variables ([`ConfigBuilder::from_env`], given as a map
//! so this crate never reads the process environment) and from `.splunkrc` text
//! ([`ConfigBuilder::from_splunkrc`], given as a string so this crate never reads files).
//! [`ConfigBuilder::or`] fills the unset fields of one layer from a lower one, and
//! [`ConfigBuilder::build`] applies the defaults and checks the result:
//!
//! ```
//! use spoor_proto::config::{ConfigBuilder, Credentials};
//!
//! let env = [("SPLUNK_HOST", "splunk.example"), ("SPLUNK_PASSWORD", "from-env")];
//! let rc = "# my splunk\nhost=localhost\n--username=admin\npassword=from-rc\n";
//! let config = ConfigBuilder::new()
//!     .port(18089)
//!     .or(ConfigBuilder::from_env(env)?)
//!     .or(ConfigBuilder::from_splunkrc(rc)?)
//!     .build()?;
//! assert_eq!(config.base_url(), "https://splunk.example:18089");
//! assert!(matches!(config.credentials(), Credentials::Password { username, .. } if username == "admin"));
//! assert!(!format!("{config:?}").contains("from-env"));
//! # Ok::<(), spoor_proto::Error>(())
//! ```
//!
//! Precedence is explicit setters, then environment, then rc text, then defaults
//! (`https`, port `8089`, host `localhost`, TLS verification on).
//! Credentials are chosen from the merged fields in a fixed order: bearer token, then
//! session key, then username and password (logged in, or sent as HTTP Basic when
//! [`ConfigBuilder::basic_auth`] is on).

use std::fmt;
use std::time::Duration;

use crate::error::Error;

/// A secret string (password, session key, token). `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for building a header; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS (the default; splunkd listens with TLS out of the box).
    #[default]
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "http" => Some(Self::Http),
            "https" => Some(Self::Https),
            _ => None,
        }
    }
}

/// How requests to the management port authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// No credentials (only `auth/login` and `server/info` style calls can work).
    None,
    /// Log in at `auth/login` for a session key; on a 401 log in once more.
    Password {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// Send `Authorization: Basic …` with every request; no login.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// A session key obtained elsewhere: `Authorization: Splunk <key>`.
    SessionKey(Secret),
    /// An authentication token: `Authorization: Bearer <token>`.
    Bearer(Secret),
}

/// The `/servicesNS/{owner}/{app}` namespace; unset parts are `nobody` and `system`, as the
/// Splunk SDKs do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// The owner (user) part, or `-` for all.
    pub owner: String,
    /// The app part, or `-` for all.
    pub app: String,
}

/// The HTTP Event Collector endpoint and its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HecConfig {
    /// `scheme://host:port` of the collector (default port 8088), without a path.
    pub base_url: String,
    /// The HEC token, sent as `Authorization: Splunk <token>`.
    pub token: Secret,
}

/// TLS settings for the drivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// Verify the server's certificate and name (default `true`); `false` is the explicit
    /// insecure switch.
    pub verify: bool,
    /// Extra trusted roots in PEM, e.g. Splunk's own CA (`$SPLUNK_HOME/etc/auth/cacert.pem`).
    pub ca_pem: Option<String>,
}

/// Time limits for the drivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection (default 10 s).
    pub connect: Duration,
    /// One whole request and response (default 60 s; streaming exports are not bounded by it).
    pub request: Duration,
}

/// A resolved, checked connection configuration. Build it with [`ConfigBuilder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    scheme: Scheme,
    host: String,
    port: u16,
    namespace: Option<Namespace>,
    credentials: Credentials,
    hec: Option<HecConfig>,
    tls: TlsConfig,
    timeouts: Timeouts,
}

impl Config {
    /// A builder with nothing set.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::new()
    }

    /// Resolves the three sources in their order of precedence: `explicit` settings, then
    /// the `SPLUNK_*` variables among `env`, then `.splunkrc` text (if the caller read one),
    /// then the defaults. The caller does the reading (`std::env::vars()`, the file named by
    /// `SPLUNKRC` or `~/.splunkrc`); this function only decides.
    ///
    /// ```
    /// use spoor_proto::{Config, ConfigBuilder};
    ///
    /// let mut explicit = ConfigBuilder::new();
    /// explicit.app("search");
    /// let config = Config::load(&explicit, [("SPLUNK_HOST", "splunk.example")], Some("host=ignored\nport=18089"))?;
    /// assert_eq!(config.base_url(), "https://splunk.example:18089");
    /// assert_eq!(config.namespace().map(|ns| ns.app.as_str()), Some("search"));
    /// # Ok::<(), spoor_proto::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] from any source or from [`ConfigBuilder::build`].
    pub fn load<K, V>(
        explicit: &ConfigBuilder,
        env: impl IntoIterator<Item = (K, V)>,
        splunkrc: Option<&str>,
    ) -> Result<Self, Error>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let rc = splunkrc
            .map(ConfigBuilder::from_splunkrc)
            .transpose()?
            .unwrap_or_default();
        explicit.or(ConfigBuilder::from_env(env)?).or(rc).build()
    }

    /// `scheme://host:port` of the management port, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!(
            "{}://{}:{}",
            self.scheme.as_str(),
            bracket_ipv6(&self.host),
            self.port
        )
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The management port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The namespace, when an app or owner was set.
    pub fn namespace(&self) -> Option<&Namespace> {
        self.namespace.as_ref()
    }

    /// The credentials chosen from the merged settings.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The HTTP Event Collector settings, when a HEC token was set.
    pub fn hec(&self) -> Option<&HecConfig> {
        self.hec.as_ref()
    }

    /// The TLS settings.
    pub fn tls(&self) -> &TlsConfig {
        &self.tls
    }

    /// The time limits.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }
}

fn bracket_ipv6(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// One layer of optional settings; see the [module docs](self) for precedence.
///
/// Setters take `&mut self` and return `&mut Self` so they chain; [`ConfigBuilder::or`]
/// and [`ConfigBuilder::build`] take `&self`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigBuilder {
    scheme: Option<Scheme>,
    host: Option<String>,
    port: Option<u16>,
    app: Option<String>,
    owner: Option<String>,
    username: Option<String>,
    password: Option<Secret>,
    session_key: Option<Secret>,
    token: Option<Secret>,
    basic_auth: Option<bool>,
    hec_url: Option<String>,
    hec_token: Option<Secret>,
    verify_tls: Option<bool>,
    ca_pem: Option<String>,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident($arg:ty) => |$v:ident| $conv:expr;)*) => {$(
        $(#[$doc])*
        pub fn $name(&mut self, $v: $arg) -> &mut Self {
            self.$name = Some($conv);
            self
        }
    )*};
}

impl ConfigBuilder {
    /// An empty layer.
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        /// `http` or `https` (default `https`).
        scheme(Scheme) => |v| v;
        /// Host name or address (default `localhost`).
        host(impl Into<String>) => |v| v.into();
        /// Management port (default `8089`).
        port(u16) => |v| v;
        /// App of the `/servicesNS/{owner}/{app}` namespace.
        app(impl Into<String>) => |v| v.into();
        /// Owner of the `/servicesNS/{owner}/{app}` namespace.
        owner(impl Into<String>) => |v| v.into();
        /// User name for login or Basic authentication.
        username(impl Into<String>) => |v| v.into();
        /// Password for login or Basic authentication.
        password(impl Into<String>) => |v| Secret::new(v);
        /// A session key obtained elsewhere.
        session_key(impl Into<String>) => |v| Secret::new(v);
        /// A bearer authentication token.
        token(impl Into<String>) => |v| Secret::new(v);
        /// Send username and password as HTTP Basic on every request instead of logging in.
        basic_auth(bool) => |v| v;
        /// HEC URL, e.g. `https://splunk.example:8088` (a `/services/collector…` path is ignored).
        hec_url(impl Into<String>) => |v| v.into();
        /// HEC token.
        hec_token(impl Into<String>) => |v| Secret::new(v);
        /// Verify TLS certificates (default `true`); `false` is the explicit insecure switch.
        verify_tls(bool) => |v| v;
        /// Extra trusted CA certificates, PEM text.
        ca_pem(impl Into<String>) => |v| v.into();
        /// Connect time limit (default 10 s).
        connect_timeout(Duration) => |v| v;
        /// Per-request time limit (default 60 s).
        request_timeout(Duration) => |v| v;
    }

    /// Sets the scheme, host and port from a management URL, `https://splunk.example:8089`
    /// (the port 8089 when left out; a path is ignored).
    ///
    /// ```
    /// let mut builder = spoor_proto::ConfigBuilder::new();
    /// builder.url("http://127.0.0.1:18089/")?;
    /// assert_eq!(builder.build()?.base_url(), "http://127.0.0.1:18089");
    /// assert!(spoor_proto::ConfigBuilder::new().url("splunk.example").is_err());
    /// # Ok::<(), spoor_proto::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for text that is not an `http` or `https` URL with a host and an
    /// optional port.
    pub fn url(&mut self, url: &str) -> Result<&mut Self, Error> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            Error::config(format!(
                "{url:?} is not a URL like https://splunk.example:8089"
            ))
        })?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            other => {
                return Err(Error::config(format!(
                    "unknown scheme {other:?} in {url:?}; use https or http"
                )));
            }
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse::<u16>()
                    .map_err(|_| Error::config(format!("bad port {port:?} in {url:?}")))?,
            ),
            None => (authority, 8089),
        };
        if host.is_empty() {
            return Err(Error::config(format!("{url:?} names no host")));
        }
        self.scheme(scheme).host(host).port(port);
        Ok(self)
    }

    /// Reads the `SPLUNK_*` variables from the pairs given (pass `std::env::vars()` at the
    /// edge of the program). Empty or blank values count as unset; other values are taken
    /// as they are (a password may end in a space); other names are ignored.
    ///
    /// Names: `SPLUNK_HOST`, `SPLUNK_PORT`, `SPLUNK_SCHEME`, `SPLUNK_USERNAME`,
    /// `SPLUNK_PASSWORD`, `SPLUNK_TOKEN` (bearer), `SPLUNK_SESSION_KEY`, `SPLUNK_APP`,
    /// `SPLUNK_OWNER`, `SPLUNK_HEC_URL`, `SPLUNK_HEC_TOKEN`, `SPLUNK_VERIFY_TLS`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the variable when a port, scheme or boolean is malformed.
    pub fn from_env<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Self, Error>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut layer = Self::new();
        for (name, value) in vars {
            let (name, value) = (name.as_ref(), value.as_ref());
            let Some(key) = name.strip_prefix("SPLUNK_") else {
                continue;
            };
            if value.trim().is_empty() {
                continue;
            }
            let key = match key {
                "HOST" => Setting::Host,
                "PORT" => Setting::Port,
                "SCHEME" => Setting::Scheme,
                "USERNAME" => Setting::Username,
                "PASSWORD" => Setting::Password,
                "TOKEN" => Setting::Token,
                "SESSION_KEY" => Setting::SessionKey,
                "APP" => Setting::App,
                "OWNER" => Setting::Owner,
                "HEC_URL" => Setting::HecUrl,
                "HEC_TOKEN" => Setting::HecToken,
                "VERIFY_TLS" => Setting::VerifyTls,
                _ => continue,
            };
            layer
                .set(key, value)
                .map_err(|what| Error::config(format!("{name} {what}")))?;
        }
        Ok(layer)
    }

    /// Parses `.splunkrc` text as the Splunk SDK examples write it: one `key=value` a line,
    /// `#` comments and blank lines skipped, an optional leading `--`, optional quotes around
    /// the value (so a dotenv-style file reads too).
    ///
    /// Keys: `host`, `port`, `scheme`, `username`, `password`, `app`, `owner`, `version`
    /// (accepted and ignored), `token` or `sessionKey` (a session key, as the Python SDK
    /// names it), `splunkToken` or `bearerToken` (a bearer token), `basic`, `hec_url`,
    /// `hec_token`, `verify` or `verify_tls`. Keys are case-insensitive.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the line and key (never the value) for a line without `=`,
    /// an unknown key or a malformed value.
    pub fn from_splunkrc(text: &str) -> Result<Self, Error> {
        let mut layer = Self::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("--").unwrap_or(line);
            let Some((key, value)) = line.split_once('=') else {
                return Err(Error::config(format!(
                    ".splunkrc line {}: expected key=value",
                    n + 1
                )));
            };
            let (key, value) = (key.trim(), unquote(value.trim()));
            let parsed = match key.to_ascii_lowercase().as_str() {
                "host" => Setting::Host,
                "port" => Setting::Port,
                "scheme" => Setting::Scheme,
                "username" => Setting::Username,
                "password" => Setting::Password,
                "app" => Setting::App,
                "owner" => Setting::Owner,
                "version" => continue,
                "token" | "sessionkey" => Setting::SessionKey,
                "splunktoken" | "bearertoken" => Setting::Token,
                "basic" => Setting::Basic,
                "hec_url" | "hecurl" => Setting::HecUrl,
                "hec_token" | "hectoken" => Setting::HecToken,
                "verify" | "verify_tls" => Setting::VerifyTls,
                _ => {
                    return Err(Error::config(format!(
                        ".splunkrc line {}: unknown key {key:?}",
                        n + 1
                    )));
                }
            };
            if value.is_empty() {
                continue;
            }
            layer
                .set(parsed, value)
                .map_err(|what| Error::config(format!(".splunkrc line {}: {key} {what}", n + 1)))?;
        }
        Ok(layer)
    }

    fn set(&mut self, key: Setting, value: &str) -> Result<(), &'static str> {
        let owned = || value.to_owned();
        match key {
            Setting::Host => self.host = Some(owned()),
            Setting::Port => self.port = Some(value.parse().map_err(|_| "is not a port number")?),
            Setting::Scheme => {
                self.scheme = Some(Scheme::parse(value).ok_or("is neither http nor https")?);
            }
            Setting::Username => self.username = Some(owned()),
            Setting::Password => self.password = Some(Secret::new(value)),
            Setting::Token => self.token = Some(Secret::new(value)),
            Setting::SessionKey => self.session_key = Some(Secret::new(value)),
            Setting::App => self.app = Some(owned()),
            Setting::Owner => self.owner = Some(owned()),
            Setting::Basic => self.basic_auth = Some(parse_bool(value)?),
            Setting::HecUrl => self.hec_url = Some(owned()),
            Setting::HecToken => self.hec_token = Some(Secret::new(value)),
            Setting::VerifyTls => self.verify_tls = Some(parse_bool(value)?),
        }
        Ok(())
    }

    /// This layer with every unset field taken from `lower`.
    #[must_use]
    pub fn or(&self, lower: Self) -> Self {
        Self {
            scheme: self.scheme.or(lower.scheme),
            host: self.host.clone().or(lower.host),
            port: self.port.or(lower.port),
            app: self.app.clone().or(lower.app),
            owner: self.owner.clone().or(lower.owner),
            username: self.username.clone().or(lower.username),
            password: self.password.clone().or(lower.password),
            session_key: self.session_key.clone().or(lower.session_key),
            token: self.token.clone().or(lower.token),
            basic_auth: self.basic_auth.or(lower.basic_auth),
            hec_url: self.hec_url.clone().or(lower.hec_url),
            hec_token: self.hec_token.clone().or(lower.hec_token),
            verify_tls: self.verify_tls.or(lower.verify_tls),
            ca_pem: self.ca_pem.clone().or(lower.ca_pem),
            connect_timeout: self.connect_timeout.or(lower.connect_timeout),
            request_timeout: self.request_timeout.or(lower.request_timeout),
        }
    }

    /// Applies the defaults and checks the settings.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the host is not a plain host name, a username comes without
    /// a password (or the reverse) and no token or session key is set, or the HEC URL is
    /// malformed.
    pub fn build(&self) -> Result<Config, Error> {
        let scheme = self.scheme.unwrap_or_default();
        let host = self.host.clone().unwrap_or_else(|| "localhost".to_owned());
        if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
            return Err(Error::config(
                "host must be a host name or address, without scheme or path",
            ));
        }
        let port = self.port.unwrap_or(8089);
        let namespace = (self.app.is_some() || self.owner.is_some()).then(|| Namespace {
            owner: self.owner.clone().unwrap_or_else(|| "nobody".to_owned()),
            app: self.app.clone().unwrap_or_else(|| "system".to_owned()),
        });
        let credentials = match (
            &self.token,
            &self.session_key,
            &self.username,
            &self.password,
        ) {
            (Some(token), ..) => Credentials::Bearer(token.clone()),
            (None, Some(key), ..) => Credentials::SessionKey(key.clone()),
            (None, None, Some(username), Some(password)) => {
                let (username, password) = (username.clone(), password.clone());
                if self.basic_auth == Some(true) {
                    Credentials::Basic { username, password }
                } else {
                    Credentials::Password { username, password }
                }
            }
            (None, None, Some(_), None) => {
                return Err(Error::config("username given without a password"));
            }
            (None, None, None, Some(_)) => {
                return Err(Error::config("password given without a username"));
            }
            (None, None, None, None) => Credentials::None,
        };
        let hec = match (&self.hec_url, &self.hec_token) {
            (url, Some(token)) => {
                let base_url = match url {
                    Some(url) => hec_base_url(url)?,
                    None => format!("{}://{}:8088", scheme.as_str(), bracket_ipv6(&host)),
                };
                Some(HecConfig {
                    base_url,
                    token: token.clone(),
                })
            }
            (Some(_), None) => return Err(Error::config("hec url given without a hec token")),
            (None, None) => None,
        };
        Ok(Config {
            scheme,
            host,
            port,
            namespace,
            credentials,
            hec,
            tls: TlsConfig {
                verify: self.verify_tls.unwrap_or(true),
                ca_pem: self.ca_pem.clone(),
            },
            timeouts: Timeouts {
                connect: self.connect_timeout.unwrap_or(Duration::from_secs(10)),
                request: self.request_timeout.unwrap_or(Duration::from_secs(60)),
            },
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Setting {
    Host,
    Port,
    Scheme,
    Username,
    Password,
    Token,
    SessionKey,
    App,
    Owner,
    Basic,
    HecUrl,
    HecToken,
    VerifyTls,
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

fn parse_bool(v: &str) -> Result<bool, &'static str> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("is not a boolean"),
    }
}

/// `https://h:8088/services/collector/event` → `https://h:8088`; a missing port is 8088.
fn hec_base_url(url: &str) -> Result<String, Error> {
    let bad = || Error::config("hec url must look like https://host:8088");
    let uri: http::Uri = url.parse().map_err(|_| bad())?;
    let scheme = uri.scheme_str().and_then(Scheme::parse).ok_or_else(bad)?;
    let authority = uri.authority().ok_or_else(bad)?;
    if authority.as_str().contains('@') {
        return Err(Error::config("hec url must not carry credentials"));
    }
    let port = authority.port_u16().unwrap_or(8088);
    Ok(format!("{}://{}:{port}", scheme.as_str(), authority.host()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn defaults() {
        let c = ConfigBuilder::new().build().unwrap();
        assert_eq!(c.base_url(), "https://localhost:8089");
        assert_eq!(c.credentials(), &Credentials::None);
        assert!(c.tls().verify);
        assert_eq!(c.namespace(), None);
        assert_eq!(c.timeouts().connect, Duration::from_secs(10));
    }

    #[test]
    fn precedence_is_explicit_env_rc_default() {
        let rc = ConfigBuilder::from_splunkrc("host=rc\nport=1\nscheme=http\napp=rcapp").unwrap();
        let env = ConfigBuilder::from_env([("SPLUNK_HOST", "env"), ("SPLUNK_PORT", "2")]).unwrap();
        let c = ConfigBuilder::new()
            .host("explicit")
            .or(env)
            .or(rc)
            .build()
            .unwrap();
        assert_eq!(c.base_url(), "http://explicit:2");
        assert_eq!(
            c.namespace(),
            Some(&Namespace {
                owner: "nobody".into(),
                app: "rcapp".into()
            })
        );
    }

    #[test]
    fn splunkrc_grammar() {
        let rc = "\n# comment\n  --host = splunk.local \nusername=\"admin\"\npassword='p#w=d'\nversion=9.1\nsplunkToken=\nverify=0\n";
        let c = ConfigBuilder::from_splunkrc(rc).unwrap().build().unwrap();
        assert_eq!(c.host(), "splunk.local");
        assert!(!c.tls().verify);
        match c.credentials() {
            Credentials::Password { username, password } => {
                assert_eq!((username.as_str(), password.expose()), ("admin", "p#w=d"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_key_never_the_value() {
        let e = ConfigBuilder::from_splunkrc("host=a\npasswd=hunter2")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid configuration: .splunkrc line 2: unknown key \"passwd\""
        );
        let e = ConfigBuilder::from_env([("SPLUNK_PORT", "80a")])
            .unwrap_err()
            .to_string();
        assert_eq!(e, "invalid configuration: SPLUNK_PORT is not a port number");
        let e = ConfigBuilder::from_splunkrc("nonsense")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid configuration: .splunkrc line 1: expected key=value"
        );
        let e = ConfigBuilder::new()
            .username("u")
            .build()
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid configuration: username given without a password"
        );
    }

    #[test]
    fn credentials_priority_and_redaction() {
        let mut b = ConfigBuilder::new();
        b.username("u")
            .password("pw-secret")
            .session_key("key-secret");
        assert_eq!(
            b.build().unwrap().credentials(),
            &Credentials::SessionKey(Secret::new("key-secret"))
        );
        b.token("tok-secret");
        assert_eq!(
            b.build().unwrap().credentials(),
            &Credentials::Bearer(Secret::new("tok-secret"))
        );
        let shown = format!("{b:?} {:?}", b.build().unwrap());
        for secret in ["pw-secret", "key-secret", "tok-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let c = ConfigBuilder::new()
            .username("u")
            .password("p")
            .basic_auth(true)
            .build()
            .unwrap();
        assert!(matches!(c.credentials(), Credentials::Basic { .. }));
    }

    #[test]
    fn hec_url_forms() {
        let env = [
            (
                "SPLUNK_HEC_URL",
                "https://hec.example/services/collector/event",
            ),
            ("SPLUNK_HEC_TOKEN", "t"),
        ];
        let c = ConfigBuilder::from_env(env).unwrap().build().unwrap();
        assert_eq!(c.hec().unwrap().base_url, "https://hec.example:8088");
        let c = ConfigBuilder::new()
            .host("::1")
            .hec_token("t")
            .scheme(Scheme::Http)
            .build()
            .unwrap();
        assert_eq!(c.hec().unwrap().base_url, "http://[::1]:8088");
        assert_eq!(c.base_url(), "http://[::1]:8089");
        assert!(
            ConfigBuilder::new()
                .hec_url("nope")
                .hec_token("t")
                .build()
                .is_err()
        );
        assert!(ConfigBuilder::new().hec_url("https://h:1").build().is_err());
    }

    proptest! {
        #[test]
        fn rc_and_env_parsing_never_panic(text in "(\\PC{0,20}(=|\n|#|--)){0,10}", value in "\\PC*") {
            let _ = ConfigBuilder::from_splunkrc(&text).map(|b| b.build());
            let vars = [("SPLUNK_PORT", value.as_str()), ("SPLUNK_VERIFY_TLS", value.as_str()), ("SPLUNK_HOST", value.as_str())];
            let _ = ConfigBuilder::from_env(vars).map(|b| b.build());
        }

        #[test]
        fn rc_values_never_leak_into_errors(secret in "[a-z]{12}") {
            let text = format!("password={secret}\nbogus={secret}\n");
            let err = ConfigBuilder::from_splunkrc(&text).unwrap_err().to_string();
            prop_assert!(!err.contains(&secret));
        }
    }
}
