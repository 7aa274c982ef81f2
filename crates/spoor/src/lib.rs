//! spoor's façades: the [`Tracker`] an application embeds to log events, and the
//! [`Retriever`] that asks questions about them, against Splunk or spoor's own engine (they
//! speak the same REST API).
//!
//! # In scope
//!
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
mod window;

pub use error::Error;
pub use retriever::{AsyncRetriever, DEFAULT_INDEX, Retriever};
pub use spoor_spl::ast::Span;
pub use spoor_spl::build::{OverTime, Split};
pub use window::Window;
