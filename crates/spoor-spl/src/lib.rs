//! The SPL subset spoor speaks: a syntax tree, a printer that quotes every literal, a parser,
//! time modifiers, and typed builders for every question the retriever asks.
//!
//! The retriever asks Splunk (or spoor's embedded engine) each question as SPL. This crate owns
//! that language, so that the builder prints, the parser reads and the engine evaluates the same
//! tree, and so that no application, event or property name can change a query's meaning.
//!
//! **In scope** (pure: no I/O, no clock, no environment):
//!
//! - [`ast`]: the syntax tree of the subset: `search` terms, `where` (exact comparisons, or any
//!   expression), `eval`, `stats`, `eventstats`, `streamstats`, `timechart`, `bin`, `rename`,
//!   `fields`, `sort`, `dedup`, `head`; the aggregations `count`, `dc`, `sum`, `avg`, `min`,
//!   `max`, `median`, `perc<N>`, `exactperc<N>`, `upperperc<N>`, `values`, `earliest`,
//!   `latest`, `first`, `last`, `range`, `stdev`; the expressions ([`ast::Expr`]) of `eval` and
//!   `where`: numbers, strings, fields, arithmetic, concatenation, comparisons, `AND`, `OR`,
//!   `XOR`, `NOT`, and the functions `abs`, `case`, `ceiling`, `coalesce`, `floor`, `if`, `in`,
//!   `isnotnull`, `isnull`, `len`, `like`, `lower`, `max`, `min`, `null`, `relative_time`,
//!   `round`, `tonumber`, `tostring`, `upper`. Each links the Splunk 9 page it follows.
//! - [`print`](mod@print): `Display` for the tree, quoting and escaping every literal and
//!   every field name that needs it.
//! - [`parse`](mod@parse): text to tree, for what the printer prints and what a Splunk user
//!   types; errors with byte offsets, and Splunk's wording for unknown commands.
//! - [`modifier`]: time modifiers (`now`, epoch, ISO 8601, `-7d@d`), printed, parsed and
//!   resolved against a given `now` and zone; the [`TimeWindow`] of a query.
//! - [`build`]: typed builders for the retriever's questions, each with an explicit window.
//!
//! **Out of scope:** running queries (the `spoor` client and the Splunk REST layer in
//! `spoor-proto`), evaluating them (`spoor-engine`, which also evaluates `relative_time`), SPL
//! beyond the subset (`OR` in `search`, subsearches, macros, the other commands, functions and
//! options of Splunk).
//!
//! # Example
//!
//! ```
//! use spoor_spl::build::{self, Index, OverTime, Split};
//! use spoor_spl::{Query, ast::Span, modifier::{TimeModifier, TimeWindow}};
//!
//! let index = Index::new("sample_analytics")?;
//! let window = TimeWindow::new("-30d@d".parse()?, TimeModifier::Now);
//!
//! // A name with a quote, a pipe and a wildcard stays one literal, and is matched exactly.
//! let query = build::events_over_time(
//!     &index,
//!     r#"shop" | delete *"#,
//!     &OverTime::new(Span::DAY).split(Split::Event),
//!     &[],
//!     window,
//! );
//! let spl = query.to_string();
//! assert_eq!(
//!     spl,
//!     r#"search index="sample_analytics" application="shop\" | delete *" | where application="shop\" | delete *" | timechart span=1d limit=10 useother=true usenull=false count by event | fields - _span*"#
//! );
//!
//! // What the builder prints, the parser reads back to the same tree.
//! assert_eq!(spl.parse::<Query>()?, *query.query());
//!
//! // The window is not in the SPL: it goes in the job's parameters.
//! assert_eq!(query.window().earliest_time(), "-30d@d");
//! assert_eq!(query.window().latest_time(), "now");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod ast;
pub mod build;
pub mod filter;
pub mod modifier;
pub mod parse;
pub mod print;

pub use ast::{Command, FieldError, Query};
pub use build::WindowedQuery;
pub use modifier::{TimeError, TimeModifier, TimeWindow};
pub use parse::{ParseError, parse};

/// The README's examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
