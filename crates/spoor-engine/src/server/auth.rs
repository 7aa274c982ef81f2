//! Who may call: the admin's password, session keys, bearer tokens and HEC tokens.
//!
//! Secrets are compared in constant time (for their length). Session keys are 256 random bits
//! and looked up by value; they expire after [`Limits::session_ttl`](super::Limits) without use.
//!
//! Failed attempts are counted as Splunk's `authentication.conf` does
//! ([`Limits::lockout_attempts`](super::Limits) within `lockout_window` lock out for
//! `lockout_duration`), for the user (a wrong password, by login or Basic) and for the client
//! address (a wrong password, bearer token or HEC token, each kind apart; an IPv6 client counted
//! by its /64). While locked out even the right secret is refused, unchecked. Session keys are
//! not counted: they cannot be guessed, and clients send expired ones in good faith. Only the
//! admin is a user, so failures for other names count against their address alone; the
//! addresses remembered are bounded ([`MAX_TRACKED`]).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::HeaderMap;
use spoor_proto::Secret;
use spoor_proto::hec::HecCode;
use subtle::ConstantTimeEq;

use super::Limits;

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

/// Where a data folder keeps its server's credentials (the `spoor-engine` binary's and the
/// dashboard's embedded engine's): `username`, `password`, `hec_token`, readable by the owner
/// only.
pub const CREDENTIALS_FILE: &str = "credentials.json";

/// Credentials kept in a data folder ([`Credentials::kept_in`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct Kept {
    /// The credentials.
    pub credentials: Credentials,
    /// The file they are kept in.
    pub path: std::path::PathBuf,
    /// Whether they were made now (the file did not exist).
    pub made: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    username: String,
    password: String,
    hec_token: String,
}

impl Credentials {
    /// The credentials kept in the data folder `folder` ([`CREDENTIALS_FILE`]), made and kept
    /// (atomically, owner-only) the first time. Call it while the folder's engine is open, so
    /// that no other process makes them at the same time.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or written, or is empty or damaged: the message names the
    /// file and what to do, and never quotes a secret.
    pub fn kept_in(folder: &std::path::Path) -> io::Result<Kept> {
        let path = folder.join(CREDENTIALS_FILE);
        let invalid = |problem: String| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the credentials file {} {problem}: delete it to make new credentials \
                     (clients then need the new password and HEC token), or give --password",
                    path.display()
                ),
            )
        };
        match std::fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => {
                Err(invalid("is empty".into()))
            }
            Ok(bytes) => {
                // Where, not what: the error's text could quote a secret.
                let stored: Stored = serde_json::from_slice(&bytes).map_err(|e| {
                    invalid(format!(
                        "is not valid (at line {}, column {})",
                        e.line(),
                        e.column()
                    ))
                })?;
                tracing::info!(file = %path.display(), "credentials read");
                Ok(Kept {
                    credentials: Self::new(stored.username, stored.password)
                        .hec_token(stored.hec_token),
                    path,
                    made: false,
                })
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                let made = Self::generate()?;
                let stored = Stored {
                    username: made.username.clone(),
                    password: made.password.expose().to_owned(),
                    hec_token: made.hec_tokens[0].expose().to_owned(),
                };
                // Whole or not at all, and readable by its owner only.
                crate::files::write_atomic(
                    &path,
                    &serde_json::to_vec_pretty(&stored).map_err(io::Error::other)?,
                )?;
                Ok(Kept {
                    credentials: made,
                    path,
                    made: true,
                })
            }
            Err(err) => Err(io::Error::new(
                err.kind(),
                format!(
                    "cannot read the credentials file {} ({err}): make it readable by this \
                     user, or delete it to make new credentials",
                    path.display()
                ),
            )),
        }
    }
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
    /// Too many failures: the user or the client is locked out for this long yet.
    Locked(Duration),
}

/// Why an HEC call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HecDenied {
    /// HEC's answer for the credentials given.
    Code(HecCode),
    /// Too many wrong tokens from the client: locked out for this long yet.
    Locked(Duration),
}

/// What a login came to.
#[derive(Debug)]
pub(crate) enum Login {
    /// A new session key.
    Key(String),
    /// Wrong username or password.
    Failed,
    /// Too many failures: the user or the client is locked out for this long yet.
    Locked(Duration),
}

/// The server's view of credentials and sessions.
#[derive(Debug)]
pub(crate) struct Auth {
    credentials: Credentials,
    sessions: Mutex<HashMap<String, Instant>>,
    ttl: Duration,
    lockouts: Lockouts,
}

/// Sessions kept at most; past this the least recently used go first.
const MAX_SESSIONS: usize = 10_000;

fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

impl Auth {
    pub(crate) fn new(credentials: &Credentials, limits: &Limits) -> Self {
        Self {
            credentials: credentials.clone(),
            sessions: Mutex::new(HashMap::new()),
            ttl: limits.session_ttl,
            lockouts: Lockouts::new(limits),
        }
    }

    /// Checks a username and password, unless the user or the client is locked out; a
    /// failure is counted against both.
    fn check_password(&self, username: &str, password: &str, client: IpAddr) -> Result<(), Denied> {
        // Both compared, always, so the time does not tell which one was wrong.
        let user = same(username, &self.credentials.username);
        let pass = same(password, self.credentials.password.expose());
        let subjects = [
            Some(Subject::Client(Kind::Password, client_key(client))),
            user.then_some(Subject::Admin),
        ];
        if let Some(left) = self.lockouts.locked(&subjects) {
            return Err(Denied::Locked(left));
        }
        if user & pass {
            Ok(())
        } else {
            self.lockouts.failed(&subjects);
            Err(Denied::Invalid)
        }
    }

    /// Whether password logins from `client` are locked out, and for how long yet: a login is
    /// refused on this before its body is read.
    pub(crate) fn client_locked(&self, client: IpAddr) -> Option<Duration> {
        let subject = Subject::Client(Kind::Password, client_key(client));
        self.lockouts.locked(&[Some(subject)])
    }

    /// A new session key for a correct username and password from `client`.
    pub(crate) fn login(
        &self,
        username: &str,
        password: &str,
        client: IpAddr,
    ) -> io::Result<Login> {
        match self.check_password(username, password, client) {
            Ok(()) => {}
            Err(Denied::Locked(left)) => return Ok(Login::Locked(left)),
            Err(_) => return Ok(Login::Failed),
        }
        let key = super::random_hex(32)?;
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
        Ok(Login::Key(key))
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

    /// Checks a bearer token (or a session key sent as one), unless the client is locked out;
    /// a failure is counted against the client.
    fn check_token(&self, token: &str, client: IpAddr) -> Result<(), Denied> {
        let subjects = [Some(Subject::Client(Kind::Bearer, client_key(client)))];
        if let Some(left) = self.lockouts.locked(&subjects) {
            return Err(Denied::Locked(left));
        }
        let mut ok = false;
        for t in &self.credentials.tokens {
            ok |= same(token, t.expose());
        }
        if ok || self.session_ok(token) {
            Ok(())
        } else {
            self.lockouts.failed(&subjects);
            Err(Denied::Invalid)
        }
    }

    /// Checks a REST call's credentials from `client`, in the order Splunk's SDKs send them: a
    /// `splunkd_*` session cookie, else the `Authorization` header (`Splunk <session key>`,
    /// `Bearer <token>`, `Basic <user:password>`).
    pub(crate) fn check_rest(&self, headers: &HeaderMap, client: IpAddr) -> Result<(), Denied> {
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
        match split_scheme(value) {
            Some(("splunk", key)) if self.session_ok(key) => Ok(()),
            Some(("bearer", token)) => self.check_token(token, client),
            Some(("basic", encoded)) => match basic(encoded) {
                Some((user, pass)) => self.check_password(&user, &pass, client),
                None => Err(Denied::Invalid),
            },
            _ => Err(Denied::Invalid),
        }
    }

    /// Checks an HEC call from `client`: `Authorization: Splunk <token>` or Basic with the
    /// token as the password; a `token` in the query string is refused (code 16), as Splunk
    /// does unless told. A wrong token is counted against the client.
    pub(crate) fn check_hec(
        &self,
        headers: &HeaderMap,
        query_token: bool,
        client: IpAddr,
    ) -> Result<(), HecDenied> {
        let value = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let refuse = |code| Err(HecDenied::Code(code));
        let token = match value.and_then(split_scheme) {
            Some(("splunk", token)) => token.to_owned(),
            Some(("basic", encoded)) => match basic(encoded) {
                Some((_, token)) => token,
                None => return refuse(HecCode::InvalidAuthorization),
            },
            Some(_) => return refuse(HecCode::InvalidAuthorization),
            None if query_token => return refuse(HecCode::QueryStringAuthorizationDisabled),
            None => return refuse(HecCode::TokenRequired),
        };
        let subjects = [Some(Subject::Client(Kind::Hec, client_key(client)))];
        if let Some(left) = self.lockouts.locked(&subjects) {
            return Err(HecDenied::Locked(left));
        }
        let mut ok = false;
        for t in &self.credentials.hec_tokens {
            ok |= same(&token, t.expose());
        }
        if ok {
            Ok(())
        } else {
            self.lockouts.failed(&subjects);
            refuse(HecCode::InvalidToken)
        }
    }
}

/// Client addresses (with the kind of secret) remembered at most for lockouts; past this the
/// ones whose window has passed are forgotten, then the eighth with the oldest failures.
pub(crate) const MAX_TRACKED: usize = 10_000;

/// The kinds of secret whose failures are counted apart per client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// The admin's password, by login or Basic.
    Password,
    /// Bearer tokens.
    Bearer,
    /// HEC tokens.
    Hec,
}

/// Whose failures a record counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Subject {
    /// The admin, the one user.
    Admin,
    /// A client address (see [`client_key`]), for one kind of secret.
    Client(Kind, IpAddr),
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Admin => f.write_str("the admin user"),
            Self::Client(kind, addr) => {
                let kind = match kind {
                    Kind::Password => "passwords",
                    Kind::Bearer => "bearer tokens",
                    Kind::Hec => "HEC tokens",
                };
                write!(f, "{kind} from client {addr}")
            }
        }
    }
}

/// Failures of one subject in its current window, and its lockout.
#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    since: Instant,
    locked_until: Option<Instant>,
}

impl Record {
    /// Whether the record still means anything at `now`: a lockout running, or failures in
    /// their window.
    fn live(&self, now: Instant, window: Duration) -> bool {
        self.locked_until.is_some_and(|until| now < until)
            || (self.failures > 0 && now.duration_since(self.since) < window)
    }
}

/// Failed attempts and lockouts (see the module's documentation).
#[derive(Debug)]
struct Lockouts {
    attempts: u32,
    window: Duration,
    duration: Duration,
    records: Mutex<HashMap<Subject, Record>>,
}

impl Lockouts {
    fn new(limits: &Limits) -> Self {
        Self {
            attempts: limits.lockout_attempts,
            window: limits.lockout_window,
            duration: limits.lockout_duration,
            records: Mutex::new(HashMap::new()),
        }
    }

    /// The longest lockout running for any of `subjects`, as the time left.
    fn locked(&self, subjects: &[Option<Subject>]) -> Option<Duration> {
        if self.attempts == 0 {
            return None;
        }
        let now = Instant::now();
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        subjects
            .iter()
            .flatten()
            .filter_map(|s| records.get(s)?.locked_until)
            .filter(|until| now < *until)
            .map(|until| until - now)
            .max()
    }

    /// Counts a failure against each of `subjects`, locking out those that reach the limit.
    fn failed(&self, subjects: &[Option<Subject>]) {
        if self.attempts == 0 {
            return;
        }
        let now = Instant::now();
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        for subject in subjects.iter().flatten() {
            if !records.contains_key(subject) && records.len() >= MAX_TRACKED {
                self.make_room(&mut records, now);
            }
            let record = records.entry(*subject).or_insert(Record {
                failures: 0,
                since: now,
                locked_until: None,
            });
            if now.duration_since(record.since) >= self.window {
                record.failures = 0;
                record.since = now;
            }
            record.failures = record.failures.saturating_add(1);
            if record.failures >= self.attempts {
                record.failures = 0;
                record.since = now;
                record.locked_until = now.checked_add(self.duration);
                tracing::warn!(
                    "{subject} locked out for {}s after {} failed authentication attempts \
                     within {}s",
                    self.duration.as_secs(),
                    self.attempts,
                    self.window.as_secs()
                );
            }
        }
    }

    /// Forgets the records that mean nothing any more; if that is not enough, the eighth with
    /// the oldest windows (the admin's record is always kept).
    fn make_room(&self, records: &mut HashMap<Subject, Record>, now: Instant) {
        records.retain(|s, r| *s == Subject::Admin || r.live(now, self.window));
        if records.len() < MAX_TRACKED {
            return;
        }
        let mut oldest: Vec<(Instant, Subject)> = records
            .iter()
            .filter(|(s, _)| **s != Subject::Admin)
            .map(|(s, r)| (r.locked_until.map_or(r.since, |u| u.max(r.since)), *s))
            .collect();
        let cut = (MAX_TRACKED / 8).max(1).min(oldest.len());
        if cut == 0 {
            return;
        }
        oldest.select_nth_unstable_by_key(cut - 1, |(t, _)| *t);
        for (_, subject) in &oldest[..cut] {
            records.remove(subject);
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.records.lock().map_or(0, |r| r.len())
    }
}

/// The address a client is counted by (failures, connections, requests): an IPv4 address (also one mapped into IPv6) as it is,
/// an IPv6 address by its /64 (one host can hold a whole /64).
pub fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(
                u128::from(v6) & 0xffff_ffff_ffff_ffff_0000_0000_0000_0000,
            )),
        },
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
    use std::net::Ipv4Addr;

    const HERE: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn limits(attempts: u32, lockout: Duration) -> Limits {
        Limits {
            session_ttl: Duration::from_secs(60),
            lockout_attempts: attempts,
            lockout_duration: lockout,
            ..Limits::default()
        }
    }

    fn auth_with(limits: &Limits) -> Auth {
        let creds = Credentials::new("admin", "s3cret")
            .token("tok")
            .hec_token("hec-1");
        Auth::new(&creds, limits)
    }

    fn auth() -> Auth {
        auth_with(&limits(0, Duration::ZERO))
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

    fn key(login: io::Result<Login>) -> String {
        match login.unwrap() {
            Login::Key(key) => key,
            other => panic!("no key: {other:?}"),
        }
    }

    #[test]
    fn every_scheme_the_sdks_send() {
        let a = auth();
        assert!(matches!(a.login("admin", "wrong", HERE), Ok(Login::Failed)));
        assert!(matches!(
            a.login("Admin", "s3cret", HERE),
            Ok(Login::Failed)
        ));
        let key = key(a.login("admin", "s3cret", HERE));
        assert_eq!(a.check_rest(&headers(&[]), HERE), Err(Denied::Missing));
        for ok in [
            format!("Splunk {key}"),
            "Bearer tok".to_owned(),
            format!("Bearer {key}"),
            "Basic YWRtaW46czNjcmV0".to_owned(),
        ] {
            assert_eq!(
                a.check_rest(&headers(&[("authorization", &ok)]), HERE),
                Ok(()),
                "{ok}"
            );
        }
        let cookie = format!("other=1; splunkd_8089={key}");
        assert_eq!(a.check_rest(&headers(&[("cookie", &cookie)]), HERE), Ok(()));
        for bad in [
            "Splunk nope",
            "Bearer nope",
            "Basic YWRtaW46bm8=",
            "Basic !!",
            "Digest x",
            "Splunk",
        ] {
            assert_eq!(
                a.check_rest(&headers(&[("authorization", bad)]), HERE),
                Err(Denied::Invalid),
                "{bad}"
            );
        }
        assert_eq!(
            a.check_rest(&headers(&[("cookie", "splunkd_8089=nope")]), HERE),
            Err(Denied::Invalid)
        );
    }

    #[test]
    fn sessions_expire() {
        let creds = Credentials::new("admin", "p");
        let mut l = limits(5, Duration::from_secs(60));
        l.session_ttl = Duration::ZERO;
        let a = Auth::new(&creds, &l);
        let key = key(a.login("admin", "p", HERE));
        assert!(!a.session_ok(&key));
    }

    #[test]
    fn hec_tokens() {
        let a = auth();
        let h = |v: &str| headers(&[("authorization", v)]);
        let code = |c| Err(HecDenied::Code(c));
        assert_eq!(a.check_hec(&h("Splunk hec-1"), false, HERE), Ok(()));
        assert_eq!(a.check_hec(&h("Basic eDpoZWMtMQ=="), false, HERE), Ok(()));
        assert_eq!(
            a.check_hec(&h("Splunk tok"), false, HERE),
            code(HecCode::InvalidToken)
        );
        assert_eq!(
            a.check_hec(&headers(&[]), false, HERE),
            code(HecCode::TokenRequired)
        );
        assert_eq!(
            a.check_hec(&headers(&[]), true, HERE),
            code(HecCode::QueryStringAuthorizationDisabled)
        );
        assert_eq!(
            a.check_hec(&h("Basic !!"), false, HERE),
            code(HecCode::InvalidAuthorization)
        );
    }

    #[test]
    fn failures_lock_out_the_admin_and_the_address() {
        let a = auth_with(&limits(3, Duration::from_secs(60)));
        let there = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        for _ in 0..3 {
            assert!(matches!(a.login("admin", "no", HERE), Ok(Login::Failed)));
        }
        // The admin is locked out from anywhere, right password or not, by login and Basic.
        assert!(matches!(
            a.login("admin", "s3cret", there),
            Ok(Login::Locked(_))
        ));
        let basic = headers(&[("authorization", "Basic YWRtaW46czNjcmV0")]);
        assert!(matches!(
            a.check_rest(&basic, there),
            Err(Denied::Locked(_))
        ));
        // Tokens and sessions are other kinds of secret: still taken from that address.
        let bearer = headers(&[("authorization", "Bearer tok")]);
        assert_eq!(a.check_rest(&bearer, HERE), Ok(()));
        assert!(a.client_locked(HERE).is_some() && a.client_locked(there).is_none());

        // Failures for names that are not a user lock out their address alone.
        let b = auth_with(&limits(2, Duration::from_secs(60)));
        for name in ["x", "y"] {
            assert!(matches!(b.login(name, "no", there), Ok(Login::Failed)));
        }
        assert!(matches!(
            b.login("admin", "s3cret", there),
            Ok(Login::Locked(_))
        ));
        assert!(matches!(
            b.login("admin", "s3cret", HERE),
            Ok(Login::Key(_))
        ));

        // HEC tokens and bearer tokens per address too.
        let h = |v: &str| headers(&[("authorization", v)]);
        for _ in 0..2 {
            assert_eq!(
                b.check_hec(&h("Splunk guess"), false, there),
                Err(HecDenied::Code(HecCode::InvalidToken))
            );
            assert_eq!(
                b.check_rest(&h("Bearer guess"), there),
                Err(Denied::Invalid)
            );
        }
        assert!(matches!(
            b.check_hec(&h("Splunk hec-1"), false, there),
            Err(HecDenied::Locked(_))
        ));
        assert!(matches!(
            b.check_rest(&h("Bearer tok"), there),
            Err(Denied::Locked(_))
        ));
        assert_eq!(b.check_hec(&h("Splunk hec-1"), false, HERE), Ok(()));
    }

    #[test]
    fn lockouts_end_and_can_be_turned_off() {
        let a = auth_with(&limits(1, Duration::from_millis(50)));
        assert!(matches!(a.login("admin", "no", HERE), Ok(Login::Failed)));
        assert!(
            matches!(a.login("admin", "s3cret", HERE), Ok(Login::Locked(left)) if left <= Duration::from_millis(50))
        );
        std::thread::sleep(Duration::from_millis(60));
        assert!(matches!(
            a.login("admin", "s3cret", HERE),
            Ok(Login::Key(_))
        ));

        let off = auth();
        for _ in 0..100 {
            assert!(matches!(off.login("admin", "no", HERE), Ok(Login::Failed)));
        }
        assert!(matches!(
            off.login("admin", "s3cret", HERE),
            Ok(Login::Key(_))
        ));
        assert_eq!(off.lockouts.tracked(), 0);
    }

    #[test]
    fn a_flood_of_addresses_stays_bounded() {
        let a = auth_with(&limits(2, Duration::from_secs(60)));
        // The admin locked out first, then failures from many more addresses than are kept.
        for _ in 0..2 {
            assert!(matches!(a.login("admin", "no", HERE), Ok(Login::Failed)));
        }
        for i in 0..(MAX_TRACKED as u32 * 3) {
            let addr = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            let _ = a.login("someone", "no", addr);
            assert!(a.lockouts.tracked() <= MAX_TRACKED + 1);
        }
        // The admin's lockout was never forgotten to make room.
        assert!(matches!(
            a.login("admin", "s3cret", IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
            Ok(Login::Locked(_))
        ));
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(client_key(mapped), "10.1.2.3".parse::<IpAddr>().unwrap());
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
