// The crate's documentation is its README. The README's API links point to docs.rs, so that
// they work where it is read alone (crates.io, a repository); the definitions below come first,
// and in Markdown the first definition of a label wins, so here they are intra-doc links.
//! [`cli`]: crate::cli
//! [`Engine`]: crate::Engine
//! [`files`]: crate::files
//! [`generate`]: crate::generate
//! [`search`]: crate::search
//! [`server`]: crate::server
//! [`Store`]: crate::Store
//! [`Retention`]: crate::Retention
#![doc = include_str!("../README.md")]

mod catalog;
pub mod cli;
mod codec;
mod columns;
mod dictionary;
mod engine;
pub mod files;
pub mod generate;
mod hash;
mod ingest;
mod log;
mod postings;
mod record;
mod retention;
mod sealed;
pub mod search;
pub mod server;
mod store;
mod template;

pub use engine::{Engine, IndexSummary, Received};
pub use ingest::PropsError;
pub use log::{Damage, DamageKind, Location};
pub use record::{Record, RecordError, RecordRef};
pub use retention::{Retention, RetentionError};
pub use search::{Level, Message, Results, SearchError, Window};
pub use store::{EventMeta, OpenReport, Repair, Retired, Store, StoreError, StoreOptions, Stored};
