//! spoor's façades: the [`Tracker`] an application embeds to log events, and the
//! [`Retriever`] that asks questions about them, against Splunk or spoor's own engine (they
//! speak the same REST API).
//!
//! # In scope
//!
//! - Tracking ([`Tracker`], [`AsyncTracker`]): events checked and encoded in the caller's
//!   thread without I/O, queued in a bounded queue with a stated policy when full ([`OnFull`]),
//!   and sent in batches by one background worker (HEC, or `receivers/simple`), with retries
//!   that never resend an acknowledged batch and never retry an invalid one forever; `flush`,
//!   `shutdown`, flush on drop, and [`Stats`].
//! - Retrieving ([`Retriever`], [`AsyncRetriever`]): every question of `spoor-spl`'s builders
//!   (applications, events of an application, properties of an event, values of a property,
//!   events over time split by event or by a property, unique users over time), over an
//!   explicit [`Window`], with typed answers ([`answer`]); every row is read, none cut.
//!
//! # Out of scope
//!
//! - Wire formats and the HTTP drivers (`spoor-proto`, `spoor-splunk`), the SPL text
//!   (`spoor-spl`), encoding events (`spoor-event`).
//! - Charts and pages: the dashboard's.

pub mod answer;
mod error;
mod retriever;
mod tracker;
mod window;

pub use error::Error;
pub use retriever::{AsyncRetriever, DEFAULT_INDEX, Retriever};
pub use spoor_event::{Event, Value};
pub use spoor_spl::ast::Span;
pub use spoor_spl::build::{OTHER, OverTime, Split};
pub use tracker::{AsyncTracker, DEFAULT_SOURCETYPE, OnFull, Stats, Tracker, TrackerBuilder};
pub use window::Window;
