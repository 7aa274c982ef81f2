//! spoor's command line, `spoor`: track an event, import files of events, run SPL, ask the
//! retriever's questions and export an index, against Splunk or a local data folder, as
//! Splunk's own CLI users expect (`splunk search`, `splunk add oneshot`).
//!
//! The binary is a thin layer of flags over this library: [`connect`] decides where to talk
//! to (a Splunk deployment from `--splunk`, `SPLUNK_*` and `~/.splunkrc`, or spoor's engine on
//! a data folder, opened in this process and reached over its REST API and HEC on a loopback
//! port, exactly as Splunk would be); [`import`] reads and sends files of events, resumably;
//! [`search`] runs SPL and exports; [`ask`] asks [`spoor::Retriever`]'s questions;
//! [`output`] prints tables, CSV or JSON lines; [`CliError`] says what went wrong, with an
//! exit code each ([`exit`]).
//!
//! ```
//! use spoor_cli::import::{InputFormat, Line, read_line};
//!
//! let line = br#"{"application":"shop","event":"signup","time":1764331200}"#;
//! let now = time::OffsetDateTime::now_utc();
//! assert!(matches!(read_line(line, InputFormat::Auto, now), Line::Event(_)));
//! ```
//!
//! Out of scope: anything the other crates do (the wire formats, the HTTP drivers, the
//! engine's storage and search); the command line never reaches the engine but over Splunk's
//! REST API and HEC. Funnels, retention and the other charts are the dashboard's.

pub mod ask;
pub mod connect;
mod error;
pub mod import;
pub mod output;
pub mod search;
pub mod track;

pub use error::{CliError, exit};

/// The README's examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
