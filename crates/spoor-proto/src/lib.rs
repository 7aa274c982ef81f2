//! Splunk's REST and HEC wire formats as pure code: it builds `http::Request`s, reads
//! `http::Response`s, and steps search jobs, retries and re-logins as state machines that
//! are told the time. It contains no networking code and reads no clock, environment or
//! file; the drivers in `spoor-splunk` move the requests and sleep when told.
//!
//! # In scope
//!
//! - Connection configuration: builder, `SPLUNK_*` variables (given as pairs), `.splunkrc`
//!   text, precedence explicit > env > rc > defaults ([`Config::load`]), secrets redacted
//!   ([`config`]).
//! - Requests and reply parsers for `auth/login`, `server/info`, `data/indexes`,
//!   `configs/conf-*`, `receivers/simple` ([`rest`]), search jobs, results and export
//!   ([`search`]), and the HTTP Event Collector ([`hec`]). JSON output mode on the wire; XML
//!   (with `quick-xml`) only where Splunk gives nothing else: login, error bodies, and Atom
//!   feeds from servers that answer in XML anyway.
//! - State machines a driver steps with one loop ([`Machine`]): the search job
//!   ([`search::SearchJob`]), the export ([`search::ExportSearch`]) and any single call
//!   ([`Call`], [`hec::Hec::call`]), all with the retry policy
//!   ([`RetryPolicy`]) and one re-login on a 401. They are told the time and answer
//!   [`Action::Wait`]; they never sleep.
//! - Export searches streamed as they run ([`search::ExportSearch`], a machine whose 2xx
//!   body the driver feeds in chunks) over an incremental decoder that keeps final rows
//!   only and holds no more than a line ([`search::ExportDecoder`]).
//! - One error type with Splunk's messages kept ([`Error`]).
//! - The server's side: the bodies Splunk writes back, in both output modes ([`reply`]), for a
//!   server that stands in for Splunk (spoor's engine).
//!
//! # Out of scope
//!
//! - Sockets, TLS, DNS, timers, sleeping, threads: the drivers' job.
//! - Encoding events (`spoor-event`) and writing SPL (`spoor-spl`): this crate takes
//!   envelopes and query strings as given.
//! - Reading the XML results output mode (the [`reply`] writers write it), saved searches, KV store, and other endpoints spoor does not use.
//!
//! # Example
//!
//! Log in, then read the server version, by hand (a driver would use [`Call`]):
//!
//! ```
//! use spoor_proto::{Config, Service, rest};
//!
//! let config = Config::builder().host("splunk.example").username("admin").password("changeme").build()?;
//! let mut service = Service::new(&config)?;
//!
//! let login = service.login_request()?;
//! assert_eq!(login.uri(), "https://splunk.example:8089/services/auth/login");
//! assert_eq!(login.body(), b"username=admin&password=changeme");
//!
//! // What Splunk answers (the crate's tests/fixtures/login.xml):
//! let reply = http::Response::new("<response>\n  <sessionKey>6b347a02a1ef527c3e55e23cb1a3e3a0</sessionKey>\n</response>\n");
//! let key = rest::parse_login(&reply)?;
//! service.set_session_key(&key)?;
//! assert_eq!(format!("{key:?}"), "<redacted>");
//!
//! let info = service.server_info_request()?;
//! assert_eq!(info.headers()["authorization"], "Splunk 6b347a02a1ef527c3e55e23cb1a3e3a0");
//!
//! // A wrong password: Splunk's own text is kept.
//! let denied = http::Response::builder().status(401).body(
//!     r#"<response><messages><msg type="WARN" code="incorrect_username_or_password">Login failed</msg></messages></response>"#,
//! )?;
//! let err = rest::parse_login(&denied).unwrap_err();
//! assert!(err.is_unauthorized());
//! assert_eq!(err.to_string(), "splunk answered 401: WARN Login failed");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use http;

pub mod call;
pub mod config;
pub mod eai;
mod error;
pub mod form;
pub mod hec;
pub mod reply;
pub mod rest;
pub mod retry;
pub mod search;
mod service;
mod xml;

pub use call::{Action, Call, Machine};
pub use config::{Config, ConfigBuilder, Credentials, Secret};
pub use error::{BoxError, Error, Level, Message};
pub use retry::RetryPolicy;
pub use service::{SearchApi, Service, api_error, check};

#[cfg(test)]
mod test_util {
    use std::time::Instant;

    /// One opaque origin for a test's virtual clock; every later time is an offset from it.
    #[allow(clippy::disallowed_methods)]
    pub(crate) fn t0() -> Instant {
        Instant::now()
    }

    /// A service with password credentials (`u` / `p`) and, when given, a session already.
    pub(crate) fn password_service(session_key: Option<&str>) -> crate::Service {
        let config = crate::Config::builder()
            .username("u")
            .password("p")
            .build()
            .unwrap();
        let mut service = crate::Service::new(&config).unwrap();
        if let Some(key) = session_key {
            service.set_session_key(&crate::Secret::new(key)).unwrap();
        }
        service
    }

    /// A response with this status and body.
    pub(crate) fn reply(status: u16, body: &str) -> http::Response<Vec<u8>> {
        http::Response::builder()
            .status(status)
            .body(body.as_bytes().to_vec())
            .unwrap()
    }
}

/// The README's examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
