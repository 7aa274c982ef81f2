//! Encode and decode spoor's analytics events exactly as spoor stores them in Splunk.
//!
//! An event (an application, an event name, an optional user id, a time and typed properties)
//! is one line of text in Splunk:
//!
//! ```text
//! 2026-11-28T12:00:00.123456Z application="shop" event="login" distinct_id="u42" analytics_prop__plan="pro" analytics_prop__seats=3
//! ```
//!
//! This crate writes that line ([`Event::encode_line`]) and the HTTP Event Collector envelope
//! around it ([`Event::encode_hec`]), reads it back ([`Event::decode_line`]), and extracts
//! `key=value` fields from any raw text the way Splunk does at search time ([`extract`]). It is
//! lossless: every event reads back equal to itself, and anything that Splunk would change or
//! lose (a key its key cleaning alters, two keys that collide, a NaN) is an error, never a
//! silent change.
//!
//! In scope:
//! - the [`Event`] model with validated [`Key`]s and typed [`Value`]s;
//! - the raw line and HEC encodings, appending into the caller's buffer;
//! - the strict decoder, which also reads the lines of the original Python tracker;
//! - Splunk's `KV_MODE = auto | auto_escaped` extraction and `CLEAN_KEYS` key cleaning;
//! - the [`props`] settings Splunk needs to read the lines;
//! - with the feature `json`, events written as JSON objects (`json`).
//!
//! Out of scope: all I/O. There is no clock (the caller gives every event's time), no network,
//! no files and no environment; sending events is the `spoor` crate's work.
//!
//! ```
//! use spoor_event::{Event, Value};
//! use time::macros::datetime;
//!
//! let event = Event::builder("shop", "login", datetime!(2026-11-28 12:00:00.123456 UTC))
//!     .distinct_id("u42")
//!     .property("plan", "pro")
//!     .property("seats", 3)
//!     .build()?;
//!
//! let mut line = Vec::new();
//! event.encode_line(&mut line);
//! let line = String::from_utf8(line).unwrap();
//! assert_eq!(
//!     line,
//!     r#"2026-11-28T12:00:00.123456Z application="shop" event="login" distinct_id="u42" analytics_prop__plan="pro" analytics_prop__seats=3"#
//! );
//! assert_eq!(Event::decode_line(&line)?, event);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decode;
mod encode;
mod event;
pub mod extract;
pub mod field;
#[cfg(feature = "json")]
pub mod json;
mod key;
pub mod props;
pub mod timestamp;
mod value;

pub use decode::{DecodeError, DecodeErrorKind};
pub use encode::{HecMeta, MAX_LINE_BYTES, encode_lines};
pub use event::{Event, EventBuilder, EventError};
pub use key::{Key, KeyError, clean_key};
pub use value::Value;

/// The README's examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
