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
//!   (applications, events of an application, properties of an event or of all its events,
//!   values of a property in one event or in all, events over time split by event or by a
//!   property, unique users over time, and a summary: events, users and events per user beside
//!   the window of the same length before), funnels ([`Funnel`]: ordered steps within a
//!   conversion window, with an optional breakdown) and retention cohorts ([`Retention`]),
//!   over an explicit [`Window`], with typed answers ([`answer`]); every row is read, none cut.
//!
//! # The index
//!
//! Both sides use the index `spoor` ([`DEFAULT_INDEX`]) unless told otherwise: the tracker
//! with [`TrackerBuilder::index`], the retrievers with [`Retriever::with_index`] and
//! [`AsyncRetriever::with_index`], e.g. to read what the original Python tracker logged in
//! `sample_analytics`. Here against spoor's embedded engine, started in this process on a free
//! loopback port; against Splunk only the configuration differs.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use spoor::{Retriever, Tracker, Window};
//! use spoor_engine::Engine;
//! use spoor_engine::server::{Credentials, Server, ServerOptions};
//!
//! let data = std::env::temp_dir().join(format!("spoor-doc-index-{}", std::process::id()));
//! let (engine, _) = Engine::open(&data)?;
//! let options = ServerOptions::new(Credentials::generate()?).listen("127.0.0.1:0".parse()?);
//! let running = Server::start(Arc::new(engine), options)?;
//! let config = running.config().build()?;
//!
//! let tracker = Tracker::builder(&config, "shop").index("sample_analytics").build()?;
//! tracker.setup()?; // creates the index `sample_analytics` and spoor's sourcetype
//! tracker.track("purchase", Some("u42"), [("plan", "pro")])?;
//! tracker.shutdown(Duration::from_secs(10))?;
//!
//! let retriever = Retriever::with_index(&config, "sample_analytics")?;
//! let apps = retriever.applications(&[], &Window::Last24Hours)?;
//! assert_eq!((apps[0].name.as_str(), apps[0].events), ("shop", 1));
//! let values = retriever.values("shop", None, "plan", None, &[], &Window::Last24Hours)?;
//! assert_eq!((values[0].value.as_str(), values[0].count), ("pro", 1));
//! // Filters on properties narrow any question.
//! let free: spoor::Filter = "plan=free".parse()?;
//! assert!(retriever.events("shop", &[free], &Window::Last24Hours)?.is_empty());
//! // The default index holds none of it.
//! assert!(Retriever::new(&config)?.applications(&[], &Window::Last24Hours)?.is_empty());
//! # drop(running);
//! # std::fs::remove_dir_all(&data)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Out of scope
//!
//! - Wire formats and the HTTP drivers (`spoor-proto`, `spoor-splunk`), the SPL text
//!   (`spoor-spl`), encoding events (`spoor-event`).
//! - Charts and pages: the dashboard's (beside [`csv`], the tables both it and the command
//!   line write as CSV).

pub mod answer;
pub mod csv;
mod error;
mod retriever;
mod tracker;
mod window;

pub use error::Error;
pub use retriever::{AsyncRetriever, DEFAULT_INDEX, DEFAULT_TOP_USERS, Retriever};
pub use spoor_event::{Event, Key, Value};
pub use spoor_spl::ast::Span;
pub use spoor_spl::build::{
    Funnel, FunnelError, MAX_STEPS as MAX_FUNNEL_STEPS, OTHER, OverTime, Period, Retention, Split,
    Stat, Step,
};
pub use spoor_spl::filter::{Filter, FilterError, Test};
pub use tracker::{AsyncTracker, DEFAULT_SOURCETYPE, OnFull, Stats, Tracker, TrackerBuilder};
pub use window::{Page, Window};

/// The README's examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
