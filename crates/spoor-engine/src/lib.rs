//! spoor's embedded engine: a durable, Splunk-compatible store of events, so that spoor runs,
//! and its tests run, with no Splunk installed.
//!
//! In scope:
//! - [`Store`]: a data folder with one append-only, checksummed log per index; writes that
//!   return only once durable, with group commit; recovery that skips damage (losing only the
//!   records it touches) and cuts a torn tail; indexes and `props.conf` stanzas created at run
//!   time, persisted; one process per folder (an exclusive lock), files readable by their owner
//!   only ([`files`]);
//! - ingest as Splunk does it: text cut into events by the sourcetype's `LINE_BREAKER` and
//!   `TRUNCATE`, timestamps recognised at the start of each event (spoor's, the original Python
//!   tracker's, epoch seconds; else the time of arrival);
//! - [`Engine`]: the store with an in-memory columnar index rebuilt on open, evaluating the
//!   `spoor-spl` subset with Splunk's semantics ([`search`]);
//! - [`server`]: Splunk's REST API and HTTP Event Collector in front of an engine, so Splunk's
//!   clients use it as they would use Splunk (also as the `spoor-engine` binary);
//! - [`generate`]: realistic events for benchmarks and demos;
//! - [`cli`]: what spoor's programs share: errors printed with their causes, logging coloured
//!   only on a terminal.
//!
//! Out of scope: clustering and replication — past one machine, use Splunk; the SPL outside
//! `spoor-spl`'s subset.

mod catalog;
pub mod cli;
mod columns;
mod engine;
pub mod files;
pub mod generate;
mod hash;
mod ingest;
mod log;
mod record;
mod retention;
mod sealed;
pub mod search;
pub mod server;
mod store;

pub use engine::{Engine, IndexSummary};
pub use ingest::PropsError;
pub use log::{Damage, DamageKind, Location};
pub use record::{Record, RecordError, RecordRef};
pub use retention::{Retention, RetentionError};
pub use search::{Level, Message, Results, SearchError, Window};
pub use store::{EventMeta, OpenReport, Repair, Retired, Store, StoreError, StoreOptions, Stored};
