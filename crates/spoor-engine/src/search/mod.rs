//! Evaluating the `spoor-spl` subset over the stored events, with Splunk's semantics.
//!
//! # Semantics
//!
//! **Window.** An event is in the window when `earliest <= _time < latest`; an unset bound is
//! open (all time).
//!
//! **Fields of an event.** `_time`, `_raw`, `index`, `sourcetype`, `source`, `host`, and the
//! fields extracted from the raw text by the sourcetype's `KV_MODE` (`auto` unless its props say
//! `auto_escaped`) and `KV_TRIM_SPACES` (on unless its props say `false`), with Splunk's key
//! cleaning. An extracted field never replaces one of the six above. When a key occurs twice in
//! one event, the first value is the field's value.
//!
//! **`search`.** All terms must hold. `index=…` terms choose the indexes searched (`main` when
//! there is none, as Splunk's default role searches). `field=pattern`: the event has the field and its value
//! matches the pattern, case-insensitively, `*` matching any run of characters (`field=*`: the
//! field exists). `field!=pattern`: the event has the field and its value does not match.
//! `NOT field=pattern`: the event lacks the field or its value does not match. Field names are
//! case-sensitive. A search over an index that does not exist returns no rows and a `WARN`
//! message; the rest of the query runs as usual.
//!
//! **Results before any transforming command** are the events, newest first (ties in write
//! order), each row holding `_time`, `_raw`, `index`, `sourcetype`, `source`, `host` and its
//! extracted fields; the columns are those six, then the extracted fields some event has,
//! sorted. While rows are events (before any `stats` or `timechart`), a `where`, `head` or
//! `sort` that takes rows away also takes away the extracted fields no remaining row has; so the columns of
//! a listing, and what a wildcard in `rename`, `fields` or `stats` matches, are the fields some
//! row at that point has. The six built-in fields stay.
//!
//! **`where f="lit"`**: the row has `f` and its value equals `lit` byte for byte (`!=`: has `f`
//! and differs). All conditions must hold.
//!
//! **`stats`.** `count` counts rows; `count(f)` rows with `f`; `dc(f)` distinct values of `f`;
//! `sum`, `avg`, `min`, `max` over the values of `f` that are numbers (others ignored; no number:
//! no value). `min`/`max` fall back to the smallest/largest string when no value is a number.
//! A wildcard field `dc(prefix*) as *` applies to every field of the input rows matching the
//! pattern, each giving one column named by the alias with the wildcard's capture
//! (`analytics_prop__plan` → `plan`), in the order of the field names. Output columns: the by
//! fields, then the aggregations in order. With `by`, rows missing any by field are dropped and
//! the groups come sorted by their by values (byte-wise ascending, first field first); without
//! `by` there is exactly one row (`count` = `0` over no rows; other aggregates without a value are
//! absent). A row with no column at all (only wildcard aggregations that matched nothing) is not
//! returned.
//!
//! **`timechart span=<n><unit> [limit] [useother] [usenull] <agg> [by f]`.**
//! - Buckets are aligned in UTC: `s`, `m`, `h`, `d` on multiples of the span since the epoch
//!   (days at midnight); `w` on multiples of the span since Sunday 1969-12-28 (weeks start on
//!   Sunday); `mon` on multiples of the span in months since January 1970, at 00:00 on the 1st.
//! - The buckets run from the one holding `earliest` to the one holding the last instant before
//!   `latest`; an open bound is replaced by the earliest (or latest) matching row's bucket. With
//!   an open bound and no rows, there are no rows.
//! - Without `by`, one column named like the aggregation (`count`, or its alias).
//! - With `by f`: one series per distinct value of `f`. Rows without `f` form the series `NULL`
//!   when `usenull=true` (the default), else are dropped. The series other than `NULL` are ranked
//!   by their total over all buckets (the sum of the per-bucket values; ties by name, ascending);
//!   the first `limit` are kept (default 10, `0` keeps all). When some were cut and
//!   `useother=true` (the default), the series `OTHER` is the aggregation over the rows of the cut
//!   series, per bucket.
//! - Columns: `_time`, the kept series sorted by name, then `NULL`, then `OTHER`, then `_span`
//!   (the bucket's length in seconds) and, for spans of a day or more, `_spandays` (its length in
//!   days). Empty buckets are filled: `count` and `dc` with `0`; other aggregations are absent.
//! - `_time` is printed as Splunk prints it, `2026-11-01T00:00:00.000+00:00`.
//!
//! **`rename a as b`**: column `a` becomes `b`, replacing any column `b`; with wildcards, every
//! column matching `a` is renamed by substituting the captures into `b`.
//!
//! **`fields - p, …`** removes the columns matching any pattern; **`fields [+] p, …`** keeps the
//! columns matching any pattern, in the order of the patterns (the columns matching one pattern
//! in column order), followed by the internal columns (names starting with `_`) that no pattern
//! matches, in column order.
//!
//! **`sort [limit=n] ±f, …`**: rows ordered by the keys in turn; two values compare as numbers
//! when both are numbers, else as strings, byte-wise; a missing value sorts after any value,
//! whichever the direction. The sort is stable. `limit` keeps the first `n` rows (default 10000,
//! `0`: all).
//!
//! **`head n`** keeps the first `n` rows.
//!
//! **Values** are text as Splunk prints them: counts and integral numbers as integers
//! (`3`, `-2`), other numbers in their shortest form (`2.5`), times as above.

mod direct;
mod eval;
mod frame;
mod text;
mod timechart;

use std::fmt;

use time::OffsetDateTime;

use crate::store::StoreError;

pub(crate) use eval::evaluate;
pub(crate) use text::format_time;

/// The instants a search covers: `earliest <= _time < latest`; `None` is open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// The first instant included.
    pub earliest: Option<OffsetDateTime>,
    /// The first instant excluded.
    pub latest: Option<OffsetDateTime>,
}

/// The rows a search gives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Results {
    /// The column names, in order.
    pub fields: Vec<String>,
    /// The rows; each has one cell per column, `None` where the row has no value.
    pub rows: Vec<Vec<Option<String>>>,
    /// Messages for the user, as Splunk sends them with results.
    pub messages: Vec<Message>,
}

/// A message that comes with results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// How serious it is.
    pub level: Level,
    /// What it says.
    pub text: String,
}

/// The level of a [`Message`], as Splunk names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `INFO`.
    Info,
    /// `WARN`.
    Warn,
    /// `ERROR`.
    Error,
}

impl Level {
    /// The name Splunk gives the level.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "INFO",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text of the warning for a search over an index that does not exist.
pub fn unknown_index_warning(index: &str) -> String {
    format!("Search on index '{index}' returned no results because the index does not exist.")
}

/// Why a search could not run.
#[derive(Debug)]
#[non_exhaustive]
pub enum SearchError {
    /// The query asks for something the engine does not do.
    Unsupported(String),
    /// Reading stored events failed.
    Store(StoreError),
    /// The caller's `keep` refused a result row (see [`Engine::search_while`](crate::Engine::search_while)).
    Stopped,
}

impl fmt::Display for SearchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsupported(what) => f.write_str(what),
            Self::Store(_) => f.write_str("cannot read the stored events"),
            Self::Stopped => f.write_str("the search was stopped before its results were complete"),
        }
    }
}

impl std::error::Error for SearchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Store(err) => Some(err),
            Self::Unsupported(_) | Self::Stopped => None,
        }
    }
}

impl From<StoreError> for SearchError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}
