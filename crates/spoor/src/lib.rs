// The crate's documentation is its README. The README's API links point to docs.rs, so that
// they work where it is read alone (crates.io, a repository); the definitions below come first,
// and in Markdown the first definition of a label wins, so here they are intra-doc links.
//! [`answer`]: crate::answer
//! [`AsyncRetriever`]: crate::AsyncRetriever
//! [`AsyncRetriever::with_index`]: crate::AsyncRetriever::with_index
//! [`AsyncTracker`]: crate::AsyncTracker
//! [`csv`]: crate::csv
//! [`DEFAULT_INDEX`]: crate::DEFAULT_INDEX
//! [`Filter`]: crate::Filter
//! [`Funnel`]: crate::Funnel
//! [`OnFull`]: crate::OnFull
//! [`OnFull::Block`]: crate::OnFull::Block
//! [`Retention`]: crate::Retention
//! [`Retriever`]: crate::Retriever
//! [`Retriever::with_index`]: crate::Retriever::with_index
//! [`Stats`]: crate::Stats
//! [`Tracker`]: crate::Tracker
//! [`TrackerBuilder::index`]: crate::TrackerBuilder::index
//! [`Window`]: crate::Window
#![doc = include_str!("../README.md")]

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
