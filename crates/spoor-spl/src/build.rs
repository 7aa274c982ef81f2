//! Typed builders for the questions the retriever asks.
//!
//! Each builder takes the index, the names to filter on and an explicit [`TimeWindow`], and
//! returns a [`WindowedQuery`]: the query plus the window, which travels as the
//! `earliest_time` / `latest_time` job parameters and never in the SPL text.
//!
//! Every filter matches exactly on a real Splunk. A search term alone would not: Splunk matches
//! search values case-insensitively and reads `*` as a wildcard even inside quotes. So each filter
//! is written twice: as a search term, to narrow the events Splunk reads (`application="shop"`),
//! and as a `where` condition, which compares the string byte for byte (`| where
//! application="shop"`). The index name is validated ([`Index`]), so its search term is exact by
//! itself.
//!
//! The shape of every query (its commands and their kinds) depends only on the builder and its
//! options, never on the names given; literals are quoted and escaped by the printer.
//!
//! ```
//! use spoor_spl::build::{self, Index};
//! use spoor_spl::modifier::{TimeModifier, TimeWindow};
//!
//! let index = Index::new("sample_analytics")?;
//! let window = TimeWindow::new("-7d@d".parse()?, TimeModifier::Now);
//! let query = build::events(&index, "shop", &[], window);
//! assert_eq!(
//!     query.to_string(),
//!     r#"search index="sample_analytics" application="shop" | where application="shop" | stats count, dc(distinct_id) as unique_users by event"#
//! );
//! assert_eq!(query.window().earliest_time(), "-7d@d");
//!
//! // Filters on properties narrow every question: a search term, and an exact condition.
//! let pro = "plan=pro|team".parse()?;
//! let query = build::events(&index, "shop", &[pro], window);
//! assert_eq!(
//!     query.to_string(),
//!     r#"search index="sample_analytics" application="shop" analytics_prop__plan="*" | where application="shop" AND in(analytics_prop__plan, "pro", "team") | stats count, dc(distinct_id) as unique_users by event"#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::num::NonZeroU32;

use spoor_event::Key;
use spoor_event::field::{APPLICATION, DISTINCT_ID, EVENT, PROPERTY_PREFIX};

use crate::ast::{
    Aggregation, BinaryOp, Command, Expr, Field, FieldPattern, Fields, FieldsMode, Function, Head,
    Percentile, Query, Rename, Renaming, Search, SearchTerm, Sort, SortKey, Span, Stats, Timechart,
};
use crate::filter::Filter;
use crate::modifier::TimeWindow;

pub mod funnel;
pub mod retention;

pub use funnel::{Funnel, FunnelError, MAX_STEPS, MAX_WITHIN, MIN_STEPS, MIN_WITHIN, Step, funnel};
pub use retention::{Period, Retention, retention};

/// The column holding event counts.
pub const COUNT: &str = "count";
/// The column holding distinct counts of `distinct_id` (unique users).
pub const UNIQUE_USERS: &str = "unique_users";
/// The column holding a property's value in [`property_values`].
pub const VALUE: &str = "value";
/// The series name Splunk gives the sum of the series cut by a timechart's `limit`.
pub const OTHER: &str = "OTHER";
/// The default number of series of a chart, as Splunk's.
pub const DEFAULT_SERIES_LIMIT: u32 = 10;

/// A Splunk index name: lower-case ASCII letters, digits, `_` and `-`, not starting with `-`.
///
/// Splunk stores index names in lower case and has no wildcard in them, so `index="<name>"` in a
/// search is an exact filter.
///
/// ```
/// use spoor_spl::build::Index;
///
/// assert_eq!(Index::new("sample_analytics")?.as_str(), "sample_analytics");
/// assert!(Index::new("Main").is_err());
/// assert!(Index::new("main*").is_err());
/// # Ok::<(), spoor_spl::build::IndexError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Index(String);

/// A name that is not a valid [`Index`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexError {
    /// The name is empty.
    Empty,
    /// The name has a character outside `[a-z0-9_-]`, or starts with `-`.
    InvalidChar {
        /// The name.
        name: String,
        /// The byte offset of the first bad character.
        offset: usize,
    },
}

impl fmt::Display for IndexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("index name is empty"),
            Self::InvalidChar { name, offset } => write!(
                f,
                "index name {name:?} has an invalid character at byte {offset} \
                 (expected lower-case ASCII letters, digits, `_` and `-`, not starting with `-`)"
            ),
        }
    }
}

impl std::error::Error for IndexError {}

impl Index {
    /// Validates an index name.
    pub fn new(name: impl Into<String>) -> Result<Self, IndexError> {
        let name = name.into();
        if name.is_empty() {
            return Err(IndexError::Empty);
        }
        let bad = name.bytes().enumerate().find(|&(i, b)| {
            let ok = b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-';
            !ok || (i == 0 && b == b'-')
        });
        match bad {
            Some((offset, _)) => Err(IndexError::InvalidChar { name, offset }),
            None => Ok(Self(name)),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Index {
    type Err = IndexError;
    fn from_str(s: &str) -> Result<Self, IndexError> {
        Self::new(s)
    }
}

/// A query and the time window to run it over.
///
/// `Display` prints the SPL; the window goes in the job's `earliest_time` and `latest_time`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WindowedQuery {
    query: Query,
    window: TimeWindow,
}

impl WindowedQuery {
    /// Pairs a query with its window.
    pub fn new(query: Query, window: TimeWindow) -> Self {
        Self { query, window }
    }

    /// The query.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// The window.
    pub fn window(&self) -> &TimeWindow {
        &self.window
    }

    /// The query and the window.
    pub fn into_parts(self) -> (Query, TimeWindow) {
        (self.query, self.window)
    }
}

impl fmt::Display for WindowedQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.query.fmt(f)
    }
}

/// How [`events_over_time`] splits its series.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Split {
    /// One series: all matching events.
    None,
    /// One series per event name.
    Event,
    /// One series per value of a property; events without the property are left out.
    Property(Key),
}

impl Split {
    /// The field a chart splits by: none, `event`, or the property's field.
    fn by(&self) -> Option<Field> {
        match self {
            Self::None => None,
            Self::Event => Some(Field::known(EVENT)),
            Self::Property(key) => Some(Field::from(key)),
        }
    }
}

/// The options of [`events_over_time`]: bucket span, event filter, split and series limit.
///
/// ```
/// use spoor_spl::ast::Span;
/// use spoor_spl::build::{OverTime, Split};
/// use spoor_event::Key;
///
/// let options = OverTime::new(Span::WEEK)
///     .event("purchase")
///     .split(Split::Property(Key::new("plan")?))
///     .limit(5);
/// assert_eq!(options.series_limit(), 5);
/// # Ok::<(), spoor_event::KeyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OverTime {
    span: Span,
    event: Option<String>,
    split: Split,
    limit: u32,
}

impl OverTime {
    /// Every event of the application, split by event name, in buckets of `span`, at most
    /// [`DEFAULT_SERIES_LIMIT`] series.
    pub fn new(span: Span) -> Self {
        Self {
            span,
            event: None,
            split: Split::Event,
            limit: DEFAULT_SERIES_LIMIT,
        }
    }

    /// Only the events named `event`.
    #[must_use]
    pub fn event(mut self, event: impl Into<String>) -> Self {
        self.event = Some(event.into());
        self
    }

    /// How to split the series.
    #[must_use]
    pub fn split(mut self, split: Split) -> Self {
        self.split = split;
        self
    }

    /// At most `limit` series, the largest by total count; the rest are summed into a series
    /// [`OTHER`]. `0` keeps every series.
    #[must_use]
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// The bucket span.
    pub fn span(&self) -> Span {
        self.span
    }

    /// The series limit.
    pub fn series_limit(&self) -> u32 {
        self.limit
    }
}

/// How many events each application has, and how many unique users, over the window.
///
/// Columns: `application`, [`COUNT`], [`UNIQUE_USERS`]; one row per application, ascending.
pub fn applications(index: &Index, filters: &[Filter], window: TimeWindow) -> WindowedQuery {
    let (search, mut commands) = filtered(index, &[], filters);
    commands.push(count_and_users_by(APPLICATION));
    WindowedQuery::new(Query { search, commands }, window)
}

/// How many events there were, and how many unique users, over the window: of `application`,
/// or of every application when `None`.
///
/// Columns: [`COUNT`], [`UNIQUE_USERS`]; exactly one row (`0` and `0` over no events).
pub fn totals(
    index: &Index,
    application: Option<&str>,
    filters: &[Filter],
    window: TimeWindow,
) -> WindowedQuery {
    let exact: Vec<(&str, &str)> = application.map(|a| (APPLICATION, a)).into_iter().collect();
    let (search, mut commands) = filtered(index, &exact, filters);
    commands.push(Command::Stats(Stats {
        aggregations: vec![
            Aggregation::count(),
            Aggregation::apply(Function::DistinctCount, Field::known(DISTINCT_ID))
                .alias(Field::known(UNIQUE_USERS)),
        ],
        by: Vec::new(),
    }));
    WindowedQuery::new(Query { search, commands }, window)
}

/// The `top` users of `application` with the most events (of `event` only, when given): the
/// most first, ties by id.
///
/// Columns: `distinct_id`, [`COUNT`]. Events without a `distinct_id` are not counted.
pub fn top_users(
    index: &Index,
    application: &str,
    event: Option<&str>,
    top: NonZeroU32,
    filters: &[Filter],
    window: TimeWindow,
) -> WindowedQuery {
    let exact = application_and_event(application, event);
    let (search, mut commands) = filtered(index, &exact, filters);
    let user = Field::known(DISTINCT_ID);
    commands.extend([
        Command::Stats(Stats {
            aggregations: vec![Aggregation::count()],
            by: vec![user.clone()],
        }),
        Command::Sort(Sort {
            limit: Some(top.get()),
            keys: vec![
                SortKey {
                    field: Field::known(COUNT),
                    descending: true,
                },
                SortKey {
                    field: user,
                    descending: false,
                },
            ],
        }),
    ]);
    WindowedQuery::new(Query { search, commands }, window)
}

/// The newest `count` events of user `distinct_id` in `application`, newest first (the order
/// Splunk lists events in), each as its raw text and fields.
pub fn user_events(
    index: &Index,
    application: &str,
    distinct_id: &str,
    count: NonZeroU32,
    filters: &[Filter],
    window: TimeWindow,
) -> WindowedQuery {
    let exact = [(APPLICATION, application), (DISTINCT_ID, distinct_id)];
    let (search, mut commands) = filtered(index, &exact, filters);
    commands.push(Command::Head(Head {
        count: u64::from(count.get()),
    }));
    WindowedQuery::new(Query { search, commands }, window)
}

/// How many times each event of `application` happened, and how many unique users it had.
///
/// Columns: `event`, [`COUNT`], [`UNIQUE_USERS`]; one row per event name, ascending.
pub fn events(
    index: &Index,
    application: &str,
    filters: &[Filter],
    window: TimeWindow,
) -> WindowedQuery {
    let (search, mut commands) = filtered(index, &[(APPLICATION, application)], filters);
    commands.push(count_and_users_by(EVENT));
    WindowedQuery::new(Query { search, commands }, window)
}

/// The properties of `event` in `application` (of all its events when `event` is `None`): one
/// row whose columns are the property keys, each holding the number of distinct values (`stats
/// dc(analytics_prop__*) as *`).
pub fn properties(
    index: &Index,
    application: &str,
    event: Option<&str>,
    filters: &[Filter],
    window: TimeWindow,
) -> WindowedQuery {
    let exact = application_and_event(application, event);
    let (search, mut commands) = filtered(index, &exact, filters);
    let mut prefix = String::with_capacity(PROPERTY_PREFIX.len() + 1);
    prefix.push_str(PROPERTY_PREFIX);
    prefix.push('*');
    commands.push(Command::Stats(Stats {
        aggregations: vec![
            Aggregation::apply(Function::DistinctCount, FieldPattern::known(&prefix))
                .alias(FieldPattern::known("*")),
        ],
        by: Vec::new(),
    }));
    WindowedQuery::new(Query { search, commands }, window)
}

/// How many times each value of property `key` occurs in `event` of `application` (in all its
/// events when `event` is `None`, as the original dashboard's `property` without an event), the
/// most frequent first (ties by value), at most `top` values (`None`: all).
///
/// Columns: [`VALUE`], [`COUNT`]. The property column is renamed to the fixed name [`VALUE`], so
/// no key can collide with `count`.
///
/// ```
/// use spoor_event::Key;
/// use spoor_spl::build::{self, Index};
/// use spoor_spl::modifier::{TimeModifier, TimeWindow};
///
/// let index = Index::new("sample_analytics")?;
/// let window = TimeWindow::new("-30d@d".parse()?, TimeModifier::Now);
/// let plan = Key::new("plan")?;
/// let query = build::property_values(&index, "shop", None, &plan, None, &[], window);
/// assert_eq!(
///     query.to_string(),
///     r#"search index="sample_analytics" application="shop" | where application="shop" | stats count by analytics_prop__plan | rename analytics_prop__plan as value | sort limit=0 -count, +value"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn property_values(
    index: &Index,
    application: &str,
    event: Option<&str>,
    key: &Key,
    top: Option<NonZeroU32>,
    filters: &[Filter],
    window: TimeWindow,
) -> WindowedQuery {
    let exact = application_and_event(application, event);
    let (search, mut commands) = filtered(index, &exact, filters);
    let property = Field::from(key);
    let value = Field::known(VALUE);
    commands.extend([
        Command::Stats(Stats {
            aggregations: vec![Aggregation::count()],
            by: vec![property.clone()],
        }),
        Command::Rename(Rename {
            renamings: vec![Renaming {
                from: property.into(),
                to: value.clone().into(),
            }],
        }),
        Command::Sort(Sort {
            limit: Some(top.map_or(0, NonZeroU32::get)),
            keys: vec![
                SortKey {
                    field: Field::known(COUNT),
                    descending: true,
                },
                SortKey {
                    field: value,
                    descending: false,
                },
            ],
        }),
    ]);
    WindowedQuery::new(Query { search, commands }, window)
}

/// How many events of `application` happened in each bucket of the window, as `over` says.
///
/// Columns: `_time` (the bucket start), then one column per series: [`COUNT`] when not split,
/// else the event names or property values, plus [`OTHER`] when the limit cut some; `_span*`
/// columns are removed. The timechart states its options: `limit` from `over`, `useother=true`,
/// `usenull=false` (events lacking the split field are left out). Buckets cover the window, the
/// empty ones counted 0; days start at midnight, weeks on Sunday, months on the 1st (midnight of
/// the search's time zone on Splunk, of UTC on spoor's engine). Series are ranked for the
/// limit by their total count over the window.
pub fn events_over_time(
    index: &Index,
    application: &str,
    over: &OverTime,
    filters: &[Filter],
    window: TimeWindow,
) -> WindowedQuery {
    let exact = application_and_event(application, over.event.as_deref());
    let by = over.split.by();
    chart(
        index,
        (&exact, filters),
        over.span,
        over.limit,
        Aggregation::count(),
        by,
        window,
    )
}

/// What a chart of a numeric property computes in each bucket, over the values that are numbers
/// (others are ignored, as Splunk ignores them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stat {
    /// `sum`: revenue is the sum of `amount` over `purchase`.
    Sum,
    /// `avg`.
    Avg,
    /// `min`.
    Min,
    /// `max`.
    Max,
    /// `median`.
    Median,
    /// `perc90`: the 90th percentile.
    Perc90,
    /// `perc99`: the 99th percentile.
    Perc99,
}

impl Stat {
    /// Every statistic, in the order a picker shows them.
    pub const ALL: [Self; 7] = [
        Self::Sum,
        Self::Avg,
        Self::Min,
        Self::Max,
        Self::Median,
        Self::Perc90,
        Self::Perc99,
    ];

    /// Its name in SPL and in URLs: `sum`, `avg`, `min`, `max`, `median`, `perc90`, `perc99`.
    ///
    /// ```
    /// use spoor_spl::build::Stat;
    ///
    /// assert_eq!(Stat::from_name("perc90"), Some(Stat::Perc90));
    /// assert!(Stat::ALL.iter().all(|s| Stat::from_name(s.name()) == Some(*s)));
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::Sum => "sum",
            Self::Avg => "avg",
            Self::Min => "min",
            Self::Max => "max",
            Self::Median => "median",
            Self::Perc90 => "perc90",
            Self::Perc99 => "perc99",
        }
    }

    /// The statistic named `name` (as [`name`](Self::name) writes it).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    fn function(self) -> Function {
        match self {
            Self::Sum => Function::Sum,
            Self::Avg => Function::Avg,
            Self::Min => Function::Min,
            Self::Max => Function::Max,
            Self::Median => Function::Median,
            Self::Perc90 => Function::Perc(Percentile::P90),
            Self::Perc99 => Function::Perc(Percentile::P99),
        }
    }
}

/// `stat` of the numeric property `key` of `application`'s events (of `over`'s event only, when
/// it has one) in each bucket of `over`'s span, not split, or split by event or by another
/// property's top values as `over` says (the rest as [`OTHER`]).
///
/// Columns: `_time`, then [`VALUE`] when not split, else one per series. A bucket with no number
/// has no value, except of [`Stat::Min`] and [`Stat::Max`], which there give the least or
/// greatest text, as Splunk's `min` and `max` do (the Retriever reads that as no number).
pub fn numbers(
    index: &Index,
    application: &str,
    over: &OverTime,
    key: &Key,
    stat: Stat,
    filters: &[Filter],
    window: TimeWindow,
) -> WindowedQuery {
    let exact = application_and_event(application, over.event.as_deref());
    let by = over.split.by();
    let mut aggregation = Aggregation::apply(stat.function(), Field::from(key));
    if by.is_none() {
        aggregation = aggregation.alias(Field::known(VALUE));
    }
    chart(
        index,
        (&exact, filters),
        over.span,
        over.limit,
        aggregation,
        by,
        window,
    )
}

/// How many unique users (distinct `distinct_id`) `application` had in each bucket of the window,
/// for all its events or only those named `event`.
///
/// Columns: `_time`, [`UNIQUE_USERS`]; the timechart's options are stated as in
/// [`events_over_time`].
pub fn unique_users_over_time(
    index: &Index,
    application: &str,
    event: Option<&str>,
    span: Span,
    filters: &[Filter],
    window: TimeWindow,
) -> WindowedQuery {
    let exact = application_and_event(application, event);
    let users = Aggregation::apply(Function::DistinctCount, Field::known(DISTINCT_ID))
        .alias(Field::known(UNIQUE_USERS));
    chart(
        index,
        (&exact, filters),
        span,
        DEFAULT_SERIES_LIMIT,
        users,
        None,
        window,
    )
}

/// The filters on `application` and, when given, on `event`.
fn application_and_event<'a>(
    application: &'a str,
    event: Option<&'a str>,
) -> Vec<(&'static str, &'a str)> {
    let mut filters = vec![(APPLICATION, application)];
    if let Some(event) = event {
        filters.push((EVENT, event));
    }
    filters
}

/// `search index=… <exact> <filters' terms> | where <exact> AND <filters' conditions>`: each
/// `(field, value)` of `exact` must equal the value byte for byte, and each filter hold (the
/// `where` only when some condition is not exact as a search term).
pub(crate) fn filtered(
    index: &Index,
    exact: &[(&str, &str)],
    filters: &[Filter],
) -> (Search, Vec<Command>) {
    let index = SearchTerm::eq(Field::known("index"), index.as_str());
    let terms = exact
        .iter()
        .map(|&(field, value)| SearchTerm::eq(Field::known(field), value))
        .chain(filters.iter().map(Filter::term));
    let search = Search::new(std::iter::once(index).chain(terms));
    let conditions = exact
        .iter()
        .map(|&(field, value)| {
            Expr::binary(
                BinaryOp::Eq,
                Expr::field(Field::known(field)),
                Expr::string(value),
            )
        })
        .chain(filters.iter().filter_map(Filter::condition));
    let commands = Expr::all(conditions)
        .map(Command::where_)
        .into_iter()
        .collect();
    (search, commands)
}

/// `stats count, dc(distinct_id) as unique_users by <field>`.
fn count_and_users_by(field: &str) -> Command {
    Command::Stats(Stats {
        aggregations: vec![
            Aggregation::count(),
            Aggregation::apply(Function::DistinctCount, Field::known(DISTINCT_ID))
                .alias(Field::known(UNIQUE_USERS)),
        ],
        by: vec![Field::known(field)],
    })
}

/// `<filtered> | timechart span=… limit=… useother=true usenull=false <aggregation> [by …] | fields - _span*`.
fn chart(
    index: &Index,
    (exact, filters): (&[(&str, &str)], &[Filter]),
    span: Span,
    limit: u32,
    aggregation: Aggregation,
    by: Option<Field>,
    window: TimeWindow,
) -> WindowedQuery {
    let (search, mut commands) = filtered(index, exact, filters);
    commands.extend([
        Command::Timechart(Timechart {
            span,
            limit: Some(limit),
            use_other: Some(true),
            use_null: Some(false),
            aggregation,
            by,
        }),
        Command::Fields(Fields {
            mode: FieldsMode::Remove,
            fields: vec![FieldPattern::known("_span*")],
        }),
    ]);
    WindowedQuery::new(Query { search, commands }, window)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names() {
        for ok in ["main", "sample_analytics", "_internal", "a-1", "0"] {
            assert!(Index::new(ok).is_ok(), "{ok}");
        }
        assert_eq!(Index::new(""), Err(IndexError::Empty));
        for (bad, offset) in [("Main", 0), ("ma*", 2), ("-a", 0), ("a b", 1), ("a\"", 1)] {
            assert_eq!(
                Index::new(bad),
                Err(IndexError::InvalidChar {
                    name: bad.to_owned(),
                    offset
                })
            );
        }
        assert_eq!(
            Index::new("Main").unwrap_err().to_string(),
            "index name \"Main\" has an invalid character at byte 0 \
             (expected lower-case ASCII letters, digits, `_` and `-`, not starting with `-`)"
        );
    }
}
