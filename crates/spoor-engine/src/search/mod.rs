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
//! **The other aggregate functions** (Splunk's pages: aggregate, event order, multivalue and
//! time functions), in `stats`, `eventstats`, `streamstats` and `timechart`, over the rows that
//! have the field:
//! - `median(f)`, `perc<p>(f)` (also `p<p>`), `exactperc<p>(f)`, `upperperc<p>(f)`: over the
//!   values of `f` that are numbers, the number at rank `round(p/100 × (n − 1))` (ranks from 0,
//!   halves rounded up) of the `n` numbers in ascending order: a nearest-rank percentile, a
//!   value of the data, never interpolated. `median` is `p = 50`, so of an even count it is the
//!   larger middle number (Splunk's median of an even count is approximated to the higher one).
//!   Splunk's `perc` and `upperperc` are the lower and upper bounds of an estimate that is
//!   exact on small inputs, and `exactperc` is exact; the engine is always exact, so the three
//!   agree (the rounding of the rank is the engine's reading: the pages do not state it).
//! - `range(f)`: the largest number less the smallest; `stdev(f)`: the sample standard
//!   deviation of the numbers (`0` for one number), its sums taken in ascending order, so
//!   the same to the last bit whatever order the rows come in.
//! - `values(f)`: the distinct values, sorted byte-wise: a multivalue, given in a result cell
//!   as its values joined by line breaks (`\n`), as Splunk's CSV output mode writes one. The
//!   server's JSON and XML results pages give that cell as one string today, where Splunk gives
//!   a JSON array and one `<value>` a value.
//! - `first(f)`/`last(f)`: the value in the first/last row having `f`, in the order the rows
//!   come; events come newest first, so `first` is the most recent, as Splunk documents.
//! - `earliest(f)`/`latest(f)`: the value in the row having `f` with the smallest/largest
//!   `_time` (on a tie, the first such row in row order); once rows are no longer events
//!   (after `stats` or `timechart`) rows have no time and these give no value.
//! - `_time` named alone as the field, while rows are events, is the event's time in epoch
//!   seconds (`1764331200`, `1764331200.123456`), as Splunk aggregates it: `latest(_time)`
//!   gives the newest time as such a number.
//! - A number a function computes prints as `avg` prints (below, **Values**).
//! - `timechart` computes all of them but `first`, `last`, `earliest` and `latest`, which
//!   [`check`] refuses.
//!
//! **`eventstats <agg>, … [by f, …]`** gives every row the aggregates of its group, computed
//! as `stats` computes them over all the rows (wildcards expanded likewise); rows keep their
//! number and order. A row missing a by field gets no value. Each aggregate is a column named
//! as in `stats`, replacing a column of that name where it stands, else after the others; an
//! aggregate no row has a value of is no column (one of its name is removed).
//!
//! **`streamstats [current=<bool>] [window=<n>] [global=<bool>] <agg>, … [by f, …]`** gives
//! every row the aggregates over the rows before it in the order they come (events newest
//! first unless sorted), with its own row when `current=true` (the default), of its group (the
//! rows with its by values; a row missing a by field gets no value and is in no group).
//! `window=0` (the default) covers all those rows; `window=n` (at most
//! [`MAX_STREAM_WINDOW`], Splunk's `max_stream_window`) only the last `n` rows, the row itself
//! among them when `current=true`: with `global=true` (the default) the last `n` rows of all
//! (of which those of the row's group count), with `global=false` the last `n` rows of the
//! row's group. Over no rows `count` and `dc` are `0` and the others have no value. Columns
//! are added as `eventstats` adds them. (Splunk 9.4's page says that without `window` the
//! `max_stream_window` of 10,000 events applies; the engine reads no window as all the rows,
//! which is what a `by` clause over every earlier event of a user, as spoor's funnel asks, needs.)
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
//! - Bounds, checked before the work they bound: at most [`MAX_BUCKETS`] buckets (else
//!   Splunk's `The specified span would result in too many (>50000) rows.`); every bucket
//!   within the years 0000 to 9999 (a longer span, or one whose buckets reach outside, is an
//!   error naming the range, never clamped); with `by`, at most [`MAX_CHART_CELLS`] values,
//!   buckets times the series the rows have (all of them, before `limit` keeps some). What the
//!   window alone decides is checked by [`check`] before the search reads any event.
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
//! While rows are events, `_time` sorts by the events' times (to the microsecond), so
//! `sort _time` puts them oldest first and `sort -_time` newest first.
//!
//! **`head n`** keeps the first `n` rows.
//!
//! **Expressions** (of `eval` and `where`; Splunk's `eval` command and evaluation functions).
//! A value is null, a number, a string or a Boolean. A field's value is a string, read as a
//! number wherever it is one (`3`, `-2.5`, `1e3`); a string literal or a string a function made
//! is never read as a number. A field the row lacks is null. `_time`, while rows are events, is
//! the event's time in epoch seconds with microseconds (`1795867200.123456`). Arithmetic:
//! `+` adds two numbers or joins two strings (a number and a string give null); `-`, `*`, `/`,
//! `%` (C's `fmod`) and unary `-` take numbers, and give null for anything else, for a division
//! by zero and for a result that is not finite. `.` joins the two values' strings (null if
//! either is null). Comparisons compare as numbers when both sides are numbers, else their
//! strings byte-wise; a comparison with null is null. `NOT`, `AND`, `OR`, `XOR` take Booleans
//! and null, null being unknown (`false AND null` is false, `true OR null` is true, otherwise
//! null wins; `XOR` of a null is null); any other operand is an error
//! ([`SearchError::Expression`]). Functions: `if(c, a, b)` is `a` when `c` is true, else `b`
//! (`c` null: `b`); `case` the value after the first true condition, else null; `null()`;
//! `isnull`, `isnotnull`; `coalesce` the first value not null; `floor`, `ceiling`, `abs` of a
//! number; `round(x, d)` half away from zero to `d` decimals (default 0; a negative or
//! fractional `d` gives null); `tonumber(s, base)` a string read as a number (base 10) or an
//! integer of base 2 to 36, a number as it is, else null; `tostring` the value's string
//! (Booleans `True`, `False`); `len` the characters of the string; `lower`, `upper`;
//! `min`, `max` of the values not null, numbers below strings, numbers as numbers, strings
//! byte-wise; `in(x, v…)` whether `x` equals one of the values (null when `x` is); `like(s, p)`
//! SQL's `LIKE`, case-sensitive, `%` any run and `_` any one character;
//! `relative_time(t, "spec")` the time `t` (epoch seconds) moved and snapped by the modifier in
//! UTC (null when `t` is no number or the result leaves the years 0000 to 9999). Every function
//! of a null argument is null unless said otherwise. Numbers print as the other values:
//! integral ones as integers, others in their shortest form. Expressions nest at most
//! `spoor_spl::ast::MAX_DEPTH` deep ([`check`] refuses deeper trees).
//!
//! **`eval f=expr, …`**: each assignment in turn sets `f` in every row; later assignments see the
//! earlier ones. A null value leaves the row without `f`; a Boolean value is an error with
//! Splunk's words (`Fields cannot be assigned a boolean result. Instead, try if([bool expr],
//! [expr], [expr]).`). A field no row gets, and that did not exist, is no column; a new field
//! is the last column. While rows are events, `eval _time=…` gives them new times (numbers of
//! epoch seconds; a null keeps the time, any other value is an error).
//!
//! **`where <expression>`** (other than exact string comparisons): keeps the rows for which the
//! expression is true; false and null drop the row; any other value is an error.
//!
//! **`bin span=<span> f [as g]`**: with a time span, `f` (the events' `_time`, or a field of
//! epoch seconds) becomes the start of its bucket, aligned as `timechart`'s buckets (and with
//! its bounds); `_time` stays a time, another field (or the alias) gets epoch seconds. With a
//! number `n`, `f`'s number `v` becomes `floor(v / n) * n`. A value that is missing or not a
//! number leaves the output without a value. `as g` writes the bin to `g` and leaves `f`.
//!
//! **`dedup [n] f, …`**: keeps the first `n` (default 1) rows of each combination of the fields'
//! values, in row order (events newest first), comparing values byte for byte; rows lacking any
//! of the fields are dropped (Splunk's `keepempty=false`).
//!
//! While rows are events, `where`, `eval`, `bin` and `dedup` take away the extracted fields no
//! row has afterwards, as `head` and `sort` do.
//!
//! **Not run**: `timechart` of `first`, `last`, `earliest` and `latest` (see `timechart`), and
//! `streamstats` with a window over [`MAX_STREAM_WINDOW`] rows: [`check`] refuses them with
//! [`SearchError::Unsupported`] before any event is read.
//!
//! **Values** are text as Splunk prints them: counts and integral numbers (below 10^15) as
//! integers (`3`, `-2`), other numbers in their shortest round-trip form (`2.5`,
//! `0.3333333333333333`), times as above.

// The evaluator, in the order a query runs: `evaluate` takes it from its search to its results;
// `filter` chooses the indexes and decides the terms (and the `where`s that repeat them) by code;
// `direct` answers a first `stats` or `timechart` from the columns (and, in its own modules, the
// builders' funnel, retention, top users and the rows a `head` keeps); otherwise `gather` reads the
// rows into a `Frame` and `command` runs the commands over it, one module a command. `aggregate`
// serves `stats`, `timechart` and `direct`; `expr` evaluates the expressions of `eval` and
// `where`; `frame`, `text` and `halves` serve them all.
mod aggregate;
mod command;
mod direct;
mod evaluate;
mod expr;
mod filter;
mod frame;
mod gather;
mod halves;
mod text;

use std::fmt;

use spoor_spl::ast::{Aggregate, Command, Function, Query, Span};
use time::OffsetDateTime;

use crate::store::StoreError;

pub(crate) use evaluate::evaluate;
pub(crate) use text::format_time;

/// The most buckets a `timechart` may have: 50,000, as Splunk.
///
/// Splunk refuses a span that would make more with "The specified span would result in too
/// many (>50000) rows." (the text of [`SearchError::TooManyBuckets`]). Its bins are capped by
/// limits.conf: `[discretize] maxbins = 50000`, which, unset or 0, is `[searchresults]
/// maxresultrows`, also 50000 by default (the settings `splunk btool limits list` shows on a
/// stock install). The window alone often decides the count, so [`check`] refuses such a
/// search before it reads anything; otherwise the count is checked before any bucket is made.
pub const MAX_BUCKETS: u64 = 50_000;

/// The most values a split `timechart` may hold while it aggregates: its buckets times its
/// series, every series some row has (the cut of `limit` comes after). 1,000,000 values of
/// about 128 bytes keep one chart's state near 128 MB; a chart of [`MAX_BUCKETS`] buckets may
/// have 20 series, a day by the minute (1,440 buckets) 694.
///
/// Splunk has no such setting of its own (it bounds a search's memory instead); past it the
/// search fails with [`SearchError::TooManyCells`], which says what to change.
pub const MAX_CHART_CELLS: u64 = 1_000_000;

/// Checks what can be checked of a search before it runs: each `timechart`'s span, and, when
/// both ends of the window are set, how many buckets it makes and where they fall. The server
/// calls it when a job is created, so that such a search is refused at once; the search itself
/// checks again, and checks what only the events decide (an open window, the series).
///
/// # Errors
///
/// [`SearchError::TooManyBuckets`] or [`SearchError::SpanOutOfRange`].
///
/// ```
/// use spoor_engine::search::{Window, check};
/// use time::macros::datetime;
///
/// let query = "search index=main | timechart span=1s count".parse()?;
/// let day = Window {
///     earliest: Some(datetime!(2026-11-27 0:00 UTC)),
///     latest: Some(datetime!(2026-11-28 0:00 UTC)),
/// };
/// let err = check(&query, &day).unwrap_err();
/// assert_eq!(err.to_string(), "The specified span would result in too many (>50000) rows.");
/// assert!(check(&query, &Window::default()).is_ok()); // decided by the events
///
/// // What the engine does not run yet is refused before anything is read.
/// let first = "search index=main | timechart span=1h first(n)".parse()?;
/// let err = check(&first, &Window::default()).unwrap_err().to_string();
/// assert!(err.starts_with("the embedded engine does not chart `first` yet"), "{err}");
/// let wide = "search index=main | streamstats window=10001 count".parse()?;
/// assert!(check(&wide, &Window::default()).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check(query: &Query, window: &Window) -> Result<(), SearchError> {
    if let Some(err) = query.commands.iter().find_map(unsupported) {
        return Err(err);
    }
    let window = filter::window_bounds(window);
    for command in &query.commands {
        if let Command::Timechart(chart) = command {
            command::timechart::Buckets::of(chart)?.check(window)?;
        }
    }
    Ok(())
}

/// Why the engine cannot run `command` yet, if it cannot: a command or an aggregation of the
/// `spoor-spl` subset that the evaluator does not have.
fn unsupported(command: &Command) -> Option<SearchError> {
    match command {
        Command::WhereExpr(_) | Command::Eval(_) => too_deep(command),
        Command::Timechart(_) => command
            .aggregations()
            .iter()
            .find_map(|a| match a.aggregate {
                Aggregate::Apply { function, .. } if !charts(function) => {
                    Some(SearchError::Unsupported(format!(
                        "the embedded engine does not chart `{}` yet (its timechart computes \
                         every function but first, last, earliest and latest: use stats by \
                         _time after bin instead)",
                        function.name()
                    )))
                }
                Aggregate::Count | Aggregate::Apply { .. } => None,
            }),
        Command::Streamstats(streamstats) => streamstats
            .window
            .filter(|&w| w > MAX_STREAM_WINDOW)
            .map(|w| {
                SearchError::Unsupported(format!(
                    "streamstats window={w} is larger than the largest window, \
                     {MAX_STREAM_WINDOW}: use a smaller window, or none (0) for all the rows"
                ))
            }),
        Command::Bin(_)
        | Command::Dedup(_)
        | Command::Where(_)
        | Command::Stats(_)
        | Command::Eventstats(_)
        | Command::Rename(_)
        | Command::Fields(_)
        | Command::Sort(_)
        | Command::Head(_) => None,
    }
}

/// The error for an `eval` or `where` expression nested deeper than the parser allows (a tree
/// built by hand), found before anything is evaluated.
fn too_deep(command: &Command) -> Option<SearchError> {
    match command {
        Command::WhereExpr(w) => expr::check_depth(&w.condition).err(),
        Command::Eval(e) => e
            .assignments
            .iter()
            .find_map(|a| expr::check_depth(&a.value).err()),
        _ => None,
    }
}

/// The largest `window` of `streamstats`: 10,000 rows, Splunk's `max_stream_window` in
/// limits.conf.
pub const MAX_STREAM_WINDOW: u32 = 10_000;

/// Whether `timechart` computes the aggregate function: all but the functions of the rows'
/// order and times, whose states its `OTHER` series could not merge in row order.
fn charts(function: Function) -> bool {
    !matches!(
        function,
        Function::First | Function::Last | Function::Earliest | Function::Latest
    )
}

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
    /// A `timechart` would have more than [`MAX_BUCKETS`] buckets; the message is Splunk's.
    TooManyBuckets,
    /// A split `timechart` would hold more than [`MAX_CHART_CELLS`] values.
    TooManyCells {
        /// The chart's span.
        span: Span,
        /// Its buckets.
        buckets: usize,
        /// How many series it had found when it stopped (it may have more).
        series: usize,
    },
    /// A `timechart`'s span is longer than the years 0000 to 9999, or puts a bucket outside
    /// them.
    SpanOutOfRange {
        /// The span.
        span: Span,
    },
    /// An `eval`, `where` or `bin` could not give a value: a Boolean assigned to a field, a
    /// condition that is no Boolean, a bin span that is no positive number.
    Expression(String),
    /// The caller's `keep` refused a result row (see [`Engine::search_while`](crate::Engine::search_while)).
    Stopped,
}

impl fmt::Display for SearchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsupported(what) | Self::Expression(what) => f.write_str(what),
            Self::Store(_) => f.write_str("cannot read the stored events"),
            // Splunk's own words, as it refuses such a chart.
            Self::TooManyBuckets => write!(
                f,
                "The specified span would result in too many (>{MAX_BUCKETS}) rows."
            ),
            Self::TooManyCells {
                span,
                buckets,
                series,
            } => write!(
                f,
                "timechart span={span} would hold more than {MAX_CHART_CELLS} values \
                 ({buckets} buckets × {series} series or more): use a longer span, a shorter \
                 time window or a split field with fewer values"
            ),
            Self::SpanOutOfRange { span } => write!(
                f,
                "timechart span={span} makes buckets outside the years 0000 to 9999: \
                 use a shorter span"
            ),
            Self::Stopped => f.write_str("the search was stopped before its results were complete"),
        }
    }
}

impl std::error::Error for SearchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Store(err) => Some(err),
            Self::Unsupported(_)
            | Self::Expression(_)
            | Self::TooManyBuckets
            | Self::TooManyCells { .. }
            | Self::SpanOutOfRange { .. }
            | Self::Stopped => None,
        }
    }
}

impl From<StoreError> for SearchError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}
