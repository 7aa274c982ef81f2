// The crate's documentation is its README. The README's API links point to docs.rs, so that
// they work where it is read alone (crates.io, a repository); the definitions below come first,
// and in Markdown the first definition of a label wins, so here they are intra-doc links.
//! [`blocking::Client`]: crate::blocking::Client
//! [`Config`]: crate::Config
//! [`load_config`]: crate::load_config
//! [`Machine`]: crate::Machine
//! [`spoor-proto`]: spoor_proto
//! [`tokio::Client`]: crate::tokio::Client
#![doc = include_str!("../README.md")]

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
