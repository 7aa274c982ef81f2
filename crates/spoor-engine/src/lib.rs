//! spoor's embedded engine: a durable, Splunk-compatible store of events, so that spoor runs,
//! and its tests run, with no Splunk installed.
//!
//! In scope so far:
//! - [`Store`]: a data folder with one append-only, checksummed log per index; writes that
//!   return only once durable, with group commit; recovery that cuts a torn tail and replays
//!   the rest; indexes and `props.conf` stanzas created at run time, persisted;
//! - ingest as Splunk does it: text cut into events by the sourcetype's `LINE_BREAKER` and
//!   `TRUNCATE`, timestamps recognised at the start of each event (spoor's, the original Python
//!   tracker's, epoch seconds; else the time of arrival).
//!
//! Still to come (their issues are open): the in-memory columnar index, the SPL evaluator and the
//! REST server. Out of scope: clustering and replication — past one machine, use Splunk.

mod catalog;
mod columns;
mod engine;
pub mod generate;
mod hash;
mod ingest;
mod log;
mod record;
pub mod search;
pub mod server;
mod store;

pub use engine::{Engine, IndexSummary};
pub use ingest::PropsError;
pub use log::{CutTail, Location};
pub use record::{Record, RecordError, RecordRef};
pub use search::{Level, Message, Results, SearchError, Window};
pub use store::{EventMeta, OpenReport, Store, StoreError, StoreOptions, Stored};
