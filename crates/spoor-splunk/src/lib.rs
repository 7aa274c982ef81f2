//! Thin drivers that move [`spoor_proto`]'s Splunk requests over the network: a blocking one
//! on ureq ([`blocking::Client`], feature `blocking`) and an async one on hyper and tokio
//! ([`tokio::Client`], feature `tokio`). Both features are on by default and may be on
//! together.
//!
//! Each driver is one loop over a [`Machine`]: poll it, send the request it asks for, sleep
//! when it says wait, stream a body into it when it asks for that, and hand it what happened.
//! Everything above the socket — retries, re-login on a 401, job polling, paging, the export
//! decoder — is `spoor-proto`'s, and so written once; what the two drivers share besides
//! (TLS settings, time limits, session carry-over, error mapping, the convenience methods) is
//! written once here too.
//!
//! # In scope
//!
//! - Sending `http::Request<Vec<u8>>` and reading `http::Response`s over HTTP/1.1, with one
//!   pooled, keep-alive connection set per client.
//! - TLS with rustls (ring): the web PKI roots by default, a custom CA ([`Config`]'s
//!   `ca_pem`, e.g. Splunk's own `cacert.pem`), or the explicit insecure switch.
//! - Time limits from [`Config`]: connecting, a whole exchange, and, for streamed export
//!   bodies, the wait for the response head and for each read.
//! - Reading the environment and `.splunkrc` at the edge of a program ([`load_config`]).
//!
//! # Out of scope
//!
//! - Any knowledge of Splunk's REST shapes: that is `spoor-proto`'s.
//! - HTTP/2, proxies, client certificates, cookies, compression.
//! - A blocking façade over the async driver, or the reverse: each stands alone.
//!
//! # Example
//!
//! ```no_run
//! use spoor_proto::ConfigBuilder;
//! use spoor_proto::search::{ExportItem, SearchParams};
//!
//! # fn main() -> Result<(), spoor_proto::Error> {
//! // SPLUNK_* variables and ~/.splunkrc, under what the program sets itself.
//! let config = spoor_splunk::load_config(ConfigBuilder::new().app("search"))?;
//! let client = spoor_splunk::blocking::Client::new(&config)?;
//!
//! println!("splunk {}", client.server_info()?.version);
//! for item in client.export("search index=spoor event=login", &SearchParams::window("-7d@d", "now"))? {
//!     if let ExportItem::Row(row) = item? {
//!         println!("{:?}", row.get_str("distinct_id"));
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The async driver reads the same, with `.await`:
//!
//! ```no_run
//! # async fn example(config: spoor_proto::Config) -> Result<(), spoor_proto::Error> {
//! let client = spoor_splunk::tokio::Client::new(&config)?;
//! let indexes = client.indexes().await?;
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "blocking")]
pub mod blocking;
mod env;
#[cfg(any(feature = "blocking", feature = "tokio"))]
mod shared;
#[cfg(any(feature = "blocking", feature = "tokio"))]
mod tls;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use env::load_config;
#[cfg(any(feature = "blocking", feature = "tokio"))]
pub use shared::SearchResults;
pub use spoor_proto::{self as proto, Config, Error, Machine};

/// The README's examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
