// The crate's documentation is its README. The README's API links point to docs.rs, so that
// they work where it is read alone (crates.io, a repository); the definitions below come first,
// and in Markdown the first definition of a label wins, so here they are intra-doc links.
//! [`Action::Wait`]: crate::Action::Wait
//! [`Call`]: crate::Call
//! [`config`]: crate::config
//! [`Config::load`]: crate::Config::load
//! [`ConfigBuilder`]: crate::ConfigBuilder
//! [`Error`]: crate::Error
//! [`hec`]: crate::hec
//! [`hec::Hec::call`]: crate::hec::Hec::call
//! [`Machine`]: crate::Machine
//! [`reply`]: crate::reply
//! [`reply::Job`]: crate::reply::Job
//! [`rest`]: crate::rest
//! [`RetryPolicy`]: crate::RetryPolicy
//! [`search`]: crate::search
//! [`search::ExportDecoder`]: crate::search::ExportDecoder
//! [`search::ExportSearch`]: crate::search::ExportSearch
//! [`search::SearchJob`]: crate::search::SearchJob
//! [`Service`]: crate::Service
#![doc = include_str!("../README.md")]

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
