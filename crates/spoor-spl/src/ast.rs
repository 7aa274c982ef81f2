//! The syntax tree of the SPL subset.
//!
//! A [`Query`] is a `search` followed by zero or more piped [`Command`]s; `eval` and `where` take
//! [`Expr`]essions.
//! The tree holds values, never text to splice: literals are plain strings and validated
//! [`Number`]s (the printer quotes and escapes strings), and names are [`Field`]s,
//! [`FieldPattern`]s and, in expressions, [`FieldName`]s, validated so that no name can change a
//! query's structure.
//!
//! Each command's documentation names the page of Splunk's Search Reference (Splunk 9) whose
//! syntax and semantics it follows.
//!
//! The enums here are deliberately exhaustive: the embedded engine evaluates this tree, and a new
//! command must break its build rather than fall into a wildcard arm.
//!
//! ```
//! use spoor_spl::ast::{Aggregation, Command, Field, Query, Search, SearchTerm, Stats};
//!
//! let query = Query {
//!     search: Search::new([SearchTerm::eq(Field::new("index")?, "main")]),
//!     commands: vec![Command::Stats(Stats {
//!         aggregations: vec![Aggregation::count()],
//!         by: vec![Field::new("event")?],
//!     })],
//! };
//! assert_eq!(query.to_string(), r#"search index="main" | stats count by event"#);
//! # Ok::<(), spoor_spl::FieldError>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroU32;

use crate::modifier::TimeUnit;

mod expr;

pub use expr::{BinaryOp, EvalFunction, Expr, LogicOp, MAX_DEPTH, UnaryOp};

/// Words SPL reads as keywords; no field name may be one of them (compared case-insensitively).
///
/// Refusing them, rather than quoting them, keeps every name printable bare in every position,
/// so a name can never be read as a keyword by Splunk's parser.
pub const RESERVED_WORDS: [&str; 9] = ["AND", "AS", "BY", "IN", "LIKE", "NOT", "OR", "OVER", "XOR"];

/// A whole query: a `search` and the commands piped after it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Query {
    /// The leading `search` command.
    pub search: Search,
    /// The commands after the search, in order.
    pub commands: Vec<Command>,
}

/// The leading `search`: terms that are all ANDed.
///
/// Splunk matches search values case-insensitively and reads `*` as a wildcard even inside
/// quotes; use a [`Where`] after it to filter exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Search {
    /// The terms; an event must match all of them. No terms matches every event.
    pub terms: Vec<SearchTerm>,
}

/// One search term: `field=value`, `field!=value`, `NOT field=value`, `field=*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SearchTerm {
    /// Whether the term is preceded by `NOT`.
    ///
    /// `NOT field=value` also matches events without the field; `field!=value` does not.
    pub negated: bool,
    /// The field compared (field names are case-sensitive).
    pub field: Field,
    /// `=` or `!=`.
    pub op: CompareOp,
    /// The value, a pattern in which `*` is a wildcard (even quoted); `*` alone means "the field
    /// exists".
    pub value: String,
}

/// A comparison operator of a search term or a `where` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
}

/// A command piped after the search.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Command {
    /// `where` of exact string comparisons, all ANDed (what the builders write).
    Where(Where),
    /// `where` of any other expression.
    WhereExpr(WhereExpr),
    /// `eval`.
    Eval(Eval),
    /// `stats`.
    Stats(Stats),
    /// `eventstats`.
    Eventstats(Eventstats),
    /// `streamstats`.
    Streamstats(Streamstats),
    /// `timechart`.
    Timechart(Timechart),
    /// `bin`.
    Bin(Bin),
    /// `rename`.
    Rename(Rename),
    /// `fields`.
    Fields(Fields),
    /// `sort`.
    Sort(Sort),
    /// `dedup`.
    Dedup(Dedup),
    /// `head`.
    Head(Head),
}

impl Command {
    /// The `where` command keeping the rows for which `condition` is true, in its one form:
    /// a [`Where`] when the condition is exact string comparisons of named fields, all ANDed
    /// (`a="x" AND b!="y"`), else a [`WhereExpr`]. The parser gives the same form for the same
    /// text, so a `where` built here prints and parses back to itself.
    ///
    /// ```
    /// use spoor_spl::ast::{BinaryOp, Command, Expr, Field};
    ///
    /// let plan = || Expr::field(Field::new("plan").unwrap());
    /// let exact = Command::where_(Expr::binary(BinaryOp::Eq, plan(), Expr::string("pro")));
    /// assert!(matches!(exact, Command::Where(_)));
    /// assert_eq!(exact.to_string(), r#"where plan="pro""#);
    ///
    /// let seats = Expr::field(Field::new("seats").unwrap());
    /// let numeric = Command::where_(Expr::binary(BinaryOp::Ge, seats, Expr::number(3)));
    /// assert!(matches!(numeric, Command::WhereExpr(_)));
    /// assert_eq!(numeric.to_string(), "where seats>=3");
    /// ```
    pub fn where_(condition: Expr) -> Self {
        match Where::from_expr(&condition) {
            Some(exact) => Self::Where(exact),
            None => Self::WhereExpr(WhereExpr { condition }),
        }
    }

    /// The command's name as the printer writes it (`where`, `eval`, `streamstats`…).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Where(_) | Self::WhereExpr(_) => "where",
            Self::Eval(_) => "eval",
            Self::Stats(_) => "stats",
            Self::Eventstats(_) => "eventstats",
            Self::Streamstats(_) => "streamstats",
            Self::Timechart(_) => "timechart",
            Self::Bin(_) => "bin",
            Self::Rename(_) => "rename",
            Self::Fields(_) => "fields",
            Self::Sort(_) => "sort",
            Self::Dedup(_) => "dedup",
            Self::Head(_) => "head",
        }
    }

    /// The aggregations the command computes (`stats`, `eventstats`, `streamstats`,
    /// `timechart`); none for the others.
    pub fn aggregations(&self) -> &[Aggregation] {
        match self {
            Self::Stats(c) => &c.aggregations,
            Self::Eventstats(c) => &c.aggregations,
            Self::Streamstats(c) => &c.aggregations,
            Self::Timechart(c) => std::slice::from_ref(&c.aggregation),
            Self::Where(_)
            | Self::WhereExpr(_)
            | Self::Eval(_)
            | Self::Bin(_)
            | Self::Rename(_)
            | Self::Fields(_)
            | Self::Sort(_)
            | Self::Dedup(_)
            | Self::Head(_) => &[],
        }
    }
}

/// `where <field>="<literal>" [AND …]`: exact, case-sensitive string comparisons, all ANDed.
///
/// A condition on a field the row lacks is false, for `=` and for `!=` alike. This is the
/// special case of [`WhereExpr`] that the builders write and the engine decides by code;
/// [`Command::where_`] and the parser give this form whenever an expression has it.
///
/// Splunk: <https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/where>.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Where {
    /// The conditions; at least one.
    pub conditions: Vec<Condition>,
}

/// One `where` condition: `field="literal"` or `field!="literal"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Condition {
    /// The field compared.
    pub field: Field,
    /// `=` or `!=`.
    pub op: CompareOp,
    /// The literal, compared byte for byte (`*` is an ordinary character here).
    pub value: String,
}

/// `where <expression>`: keeps the rows for which the expression is true.
///
/// Splunk's `where` takes any `eval` expression that evaluates to a Boolean; a row for which it
/// is false or null (a comparison with a field the row lacks) is dropped. Quoted strings are
/// literals and bare words are fields, so `where a=b` compares two fields.
///
/// The condition is never of the form of a [`Where`] (a conjunction of `field="literal"` and
/// `field!="literal"`): build it with [`Command::where_`], which picks the form; a `WhereExpr`
/// holding such a condition prints the same text as the `Where`, which parses back as the
/// `Where`.
///
/// Splunk: <https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/where>.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WhereExpr {
    /// The condition.
    pub condition: Expr,
}

/// `eval <field>=<expression>[, <field>=<expression>…]`: each assignment, in order, sets the
/// field of every row to the expression's value; a later assignment sees the earlier ones.
///
/// A null value (an expression over a field the row lacks, `null()`) leaves the field without a
/// value. Splunk refuses a Boolean value (`eval x=a>1`; write `if(a>1, 1, 0)`) when the search
/// runs, not when it is parsed, so the tree may hold one.
///
/// Splunk: <https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/eval>.
///
/// ```
/// use spoor_spl::ast::{BinaryOp, Command, Eval, EvalFunction, Expr, Field};
///
/// let amount = Expr::field(Field::new("amount")?);
/// let eval = Eval::new([(
///     Field::new("band")?,
///     Expr::call(EvalFunction::If, [
///         Expr::binary(BinaryOp::Gt, amount, Expr::number(100)),
///         Expr::string("large"),
///         Expr::string("small"),
///     ]),
/// )]);
/// assert_eq!(
///     Command::Eval(eval).to_string(),
///     r#"eval band=if(amount>100, "large", "small")"#
/// );
/// # Ok::<(), spoor_spl::FieldError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Eval {
    /// The assignments, in order; at least one.
    pub assignments: Vec<Assignment>,
}

/// One `field=expression` of an [`Eval`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Assignment {
    /// The field set (created, or replaced when it exists).
    pub field: Field,
    /// Its new value.
    pub value: Expr,
}

impl Eval {
    /// An `eval` of these assignments, in order.
    pub fn new(assignments: impl IntoIterator<Item = (Field, Expr)>) -> Self {
        Self {
            assignments: assignments
                .into_iter()
                .map(|(field, value)| Assignment { field, value })
                .collect(),
        }
    }
}

/// `stats <aggregation>, … [by <field>, …]`.
///
/// Rows lacking any `by` field are dropped; without `by` there is exactly one output row.
///
/// Splunk: <https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/stats>.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Stats {
    /// The aggregations; at least one.
    pub aggregations: Vec<Aggregation>,
    /// The group-by fields, possibly none.
    pub by: Vec<Field>,
}

/// `eventstats <aggregation>, … [by <field>, …]`: the aggregations of `stats`, added to every
/// row as fields instead of replacing the rows.
///
/// Every row stays, in its order. With `by`, each row gets the aggregates of its group (the rows
/// with the same values of the `by` fields); a row lacking a `by` field gets none. Only the rows
/// that have a field take part in the aggregates of that field.
///
/// Splunk: <https://help.splunk.com/splunk-enterprise/spl-search-reference/9.0/search-commands/eventstats>
/// (its only option, `allnum`, is outside the subset).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Eventstats {
    /// The aggregations; at least one.
    pub aggregations: Vec<Aggregation>,
    /// The group-by fields, possibly none.
    pub by: Vec<Field>,
}

/// `streamstats [current=<bool>] [window=<n>] [global=<bool>] <aggregation>, … [by <field>, …]`:
/// running aggregates, added to each row from the rows before it, in the order the rows come.
///
/// - `current` (Splunk's default `true`): whether a row's own values take part in its
///   aggregates; with `false` they are those of the rows before it only.
/// - `window` (default `0`, no window): how many rows the aggregates cover, the row itself
///   included when `current` is true. Splunk 9.4's page adds that without `window` (or
///   `time_window`) the `max_stream_window` of `limits.conf` (10,000 rows) applies; builders
///   that need every earlier row state a `by` clause and no window, and the engine follows
///   whatever the page says when it evaluates this.
/// - `global` (default `true`): with `by` and a window, whether the window counts the rows of
///   all groups (`true`) or each group has a window of its own (`false`).
/// - `by`: each group of rows with the same values of the `by` fields has aggregates of its
///   own.
///
/// The options Splunk also has (`reset_on_change`, `reset_before`, `reset_after`,
/// `time_window`, `allnum`) are outside the subset: the parser refuses them by name.
///
/// Splunk: <https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/streamstats>.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Streamstats {
    /// `current=`, when stated.
    pub current: Option<bool>,
    /// `window=`, when stated.
    pub window: Option<u32>,
    /// `global=`, when stated.
    pub global: Option<bool>,
    /// The aggregations; at least one.
    pub aggregations: Vec<Aggregation>,
    /// The group-by fields, possibly none.
    pub by: Vec<Field>,
}

/// An aggregation with an optional output name: `count`, `dc(distinct_id) as users`,
/// `dc(analytics_prop__*) as *`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Aggregation {
    /// What is computed.
    pub aggregate: Aggregate,
    /// The `as` name; a wildcard name takes the `*` captures of a wildcard field, in order.
    pub alias: Option<FieldPattern>,
}

/// What an aggregation computes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Aggregate {
    /// `count`: the number of rows.
    Count,
    /// `<function>(<field>)`; the field may be a wildcard pattern in `stats`.
    Apply {
        /// The function.
        function: Function,
        /// Its argument.
        field: FieldPattern,
    },
}

/// An aggregate function applied to a field, in `stats`, `eventstats`, `streamstats` and
/// `timechart`.
///
/// Splunk's pages: aggregate functions
/// (<https://docs.splunk.com/Documentation/Splunk/9.2.1/SearchReference/Aggregatefunctions>),
/// time functions
/// (<https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/statistical-and-charting-functions/time-functions>)
/// and event order functions (`first`, `last`). Numeric functions ignore the values that are not
/// numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// `count(f)`: rows where `f` is present.
    Count,
    /// `dc(f)`: distinct values of `f`.
    DistinctCount,
    /// `sum(f)`.
    Sum,
    /// `avg(f)`.
    Avg,
    /// `min(f)`.
    Min,
    /// `max(f)`.
    Max,
    /// `median(f)`: the middle-most value.
    Median,
    /// `perc<N>(f)` (also written `p<N>(f)`): Splunk's approximate `N`th percentile, the lower
    /// bound of its estimate.
    Perc(Percentile),
    /// `exactperc<N>(f)`: the exact `N`th percentile.
    ExactPerc(Percentile),
    /// `upperperc<N>(f)`: the upper bound of the approximate `N`th percentile.
    UpperPerc(Percentile),
    /// `values(f)`: the distinct values, in lexicographic order (a multivalue field).
    Values,
    /// `earliest(f)`: the value of `f` in the row with the earliest `_time`.
    Earliest,
    /// `latest(f)`: the value of `f` in the row with the latest `_time`.
    Latest,
    /// `first(f)`: the first value seen, in the order the rows come.
    First,
    /// `last(f)`: the last value seen, in the order the rows come.
    Last,
    /// `range(f)`: the largest number less the smallest.
    Range,
    /// `stdev(f)`: the sample standard deviation.
    Stdev,
}

impl Function {
    /// The name the printer uses (`count`, `dc`, `sum`, `avg`, `min`, `max`, `median`,
    /// `perc99.5`, `exactperc90`, `upperperc90`, `values`, `earliest`, `latest`, `first`, `last`,
    /// `range`, `stdev`); a percentile's name holds its percentile.
    ///
    /// ```
    /// use spoor_spl::ast::Function;
    ///
    /// assert_eq!(Function::DistinctCount.name(), "dc");
    /// assert_eq!(Function::from_name("P99.50").map(Function::name).as_deref(), Some("perc99.5"));
    /// ```
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Self::Count => "count",
            Self::DistinctCount => "dc",
            Self::Sum => "sum",
            Self::Avg => "avg",
            Self::Min => "min",
            Self::Max => "max",
            Self::Median => "median",
            Self::Perc(p) => return Cow::Owned(format!("perc{p}")),
            Self::ExactPerc(p) => return Cow::Owned(format!("exactperc{p}")),
            Self::UpperPerc(p) => return Cow::Owned(format!("upperperc{p}")),
            Self::Values => "values",
            Self::Earliest => "earliest",
            Self::Latest => "latest",
            Self::First => "first",
            Self::Last => "last",
            Self::Range => "range",
            Self::Stdev => "stdev",
        })
    }

    /// Reads a function name as Splunk does: case-insensitive, with the aliases `c`,
    /// `distinct_count`, `mean` and `p<N>` (for `perc<N>`).
    pub fn from_name(name: &str) -> Option<Self> {
        const NAMES: [(&str, Function); 17] = [
            ("count", Function::Count),
            ("c", Function::Count),
            ("dc", Function::DistinctCount),
            ("distinct_count", Function::DistinctCount),
            ("sum", Function::Sum),
            ("avg", Function::Avg),
            ("mean", Function::Avg),
            ("min", Function::Min),
            ("max", Function::Max),
            ("median", Function::Median),
            ("values", Function::Values),
            ("earliest", Function::Earliest),
            ("latest", Function::Latest),
            ("first", Function::First),
            ("last", Function::Last),
            ("range", Function::Range),
            ("stdev", Function::Stdev),
        ];
        if let Some(found) = Self::percentile_name(name) {
            return found.ok();
        }
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, f)| f)
    }

    /// A percentile function's name (`perc99`, `p50`, `exactperc99.9`, `upperperc95`), in any
    /// case: `None` when the name is not one, the function or why its percentile is not valid.
    pub(crate) fn percentile_name(name: &str) -> Option<Result<Self, LiteralError>> {
        type Make = fn(Percentile) -> Function;
        // Longest prefixes first: `perc` before `p`.
        const PREFIXES: [(&str, Make); 4] = [
            ("exactperc", Function::ExactPerc),
            ("upperperc", Function::UpperPerc),
            ("perc", Function::Perc),
            ("p", Function::Perc),
        ];
        PREFIXES.iter().find_map(|&(prefix, make)| {
            let head = name.get(..prefix.len())?;
            let rest = &name[prefix.len()..];
            let digits = rest.starts_with(|c: char| c.is_ascii_digit());
            (head.eq_ignore_ascii_case(prefix) && digits).then(|| rest.parse().map(make))
        })
    }
}

impl Aggregation {
    /// `count`.
    pub fn count() -> Self {
        Self {
            aggregate: Aggregate::Count,
            alias: None,
        }
    }

    /// `<function>(<field>)` without a name.
    pub fn apply(function: Function, field: impl Into<FieldPattern>) -> Self {
        Self {
            aggregate: Aggregate::Apply {
                function,
                field: field.into(),
            },
            alias: None,
        }
    }

    /// The same aggregation under `as <alias>`.
    #[must_use]
    pub fn alias(mut self, alias: impl Into<FieldPattern>) -> Self {
        self.alias = Some(alias.into());
        self
    }

    /// The column name Splunk gives the result when there is no wildcard: the alias, else the
    /// printed aggregate (`count`, `dc(distinct_id)`).
    pub fn output_name(&self) -> String {
        match &self.alias {
            Some(alias) => alias.as_str().to_owned(),
            None => self.aggregate.to_string(),
        }
    }
}

/// `timechart span=<n><unit> [limit=<n>] [useother=<bool>] [usenull=<bool>] <aggregation> [by <field>]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timechart {
    /// The bucket length.
    pub span: Span,
    /// `limit`: how many series to keep, ranked by their total; `0` keeps all. Splunk's default is 10.
    pub limit: Option<u32>,
    /// `useother`: whether the series cut by `limit` are summed into a series `OTHER`.
    /// Splunk's default is true.
    pub use_other: Option<bool>,
    /// `usenull`: whether rows lacking the split field form a series `NULL`. Splunk's default is true.
    pub use_null: Option<bool>,
    /// The single aggregation; its alias names the column only when there is no split field.
    pub aggregation: Aggregation,
    /// The split-by field.
    pub by: Option<Field>,
}

/// A `timechart` bucket length: a positive count of a unit, printed `1d`, `15m`, `1mon`.
///
/// The parser reads spans of at most [`Span::MAX_YEARS`] years, the whole range of times
/// (the years 0000 to 9999): see [`SpanUnit::max_count`]. A tree may hold a longer span; the
/// printer prints it, the parser refuses it, and an evaluator must refuse it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    /// How many units.
    pub count: NonZeroU32,
    /// The unit.
    pub unit: SpanUnit,
}

/// The unit of a [`Span`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpanUnit {
    /// `s`.
    Second,
    /// `m`.
    Minute,
    /// `h`.
    Hour,
    /// `d`: buckets start at midnight.
    Day,
    /// `w`: buckets start on Sunday at midnight.
    Week,
    /// `mon`: buckets start on the 1st of the month at midnight.
    Month,
}

impl SpanUnit {
    /// The short name the printer uses (`s`, `m`, `h`, `d`, `w`, `mon`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Second => "s",
            Self::Minute => "m",
            Self::Hour => "h",
            Self::Day => "d",
            Self::Week => "w",
            Self::Month => "mon",
        }
    }

    /// The largest count of this unit the parser reads: as many as fit in [`Span::MAX_YEARS`]
    /// Gregorian years (3,652,425 days): `120000mon`, `521775w`, `3652425d`, `87658200h`;
    /// minutes and seconds never get there in a 32-bit count.
    ///
    /// ```
    /// use spoor_spl::ast::SpanUnit;
    ///
    /// assert_eq!(SpanUnit::Month.max_count(), 120_000);
    /// assert_eq!(SpanUnit::Second.max_count(), u32::MAX);
    /// ```
    pub const fn max_count(self) -> u32 {
        /// Days in 10,000 Gregorian years: 400-year cycles of 146,097 days.
        const DAYS: u32 = 146_097 * (Span::MAX_YEARS / 400);
        match self {
            Self::Second | Self::Minute => u32::MAX,
            Self::Hour => DAYS * 24,
            Self::Day => DAYS,
            Self::Week => DAYS / 7,
            Self::Month => Span::MAX_YEARS * 12,
        }
    }

    /// Reads a unit in any of Splunk's spellings (`s`, `sec`, `secs`, `second`, `seconds`, `m`,
    /// `min`, `mins`, `minute`, `minutes`, `h`, `hr`, `hrs`, `hour`, `hours`, `d`, `day`, `days`,
    /// `w`, `week`, `weeks`, `mon`, `month`, `months`), case-insensitively; the same spellings as
    /// a time modifier's units, less quarters and years.
    pub fn from_name(name: &str) -> Option<Self> {
        match TimeUnit::from_name(name)? {
            TimeUnit::Second => Some(Self::Second),
            TimeUnit::Minute => Some(Self::Minute),
            TimeUnit::Hour => Some(Self::Hour),
            TimeUnit::Day => Some(Self::Day),
            TimeUnit::Week => Some(Self::Week),
            TimeUnit::Month => Some(Self::Month),
            TimeUnit::Quarter | TimeUnit::Year => None,
        }
    }
}

impl Span {
    /// The longest span in years: 10,000, the years 0000 to 9999 that times may take.
    pub const MAX_YEARS: u32 = 10_000;

    /// One second.
    pub const SECOND: Self = Self::one(SpanUnit::Second);
    /// One minute.
    pub const MINUTE: Self = Self::one(SpanUnit::Minute);
    /// One hour.
    pub const HOUR: Self = Self::one(SpanUnit::Hour);
    /// One day.
    pub const DAY: Self = Self::one(SpanUnit::Day);
    /// One week (Sunday to Saturday).
    pub const WEEK: Self = Self::one(SpanUnit::Week);
    /// One calendar month.
    pub const MONTH: Self = Self::one(SpanUnit::Month);

    /// `count` units.
    pub const fn new(count: NonZeroU32, unit: SpanUnit) -> Self {
        Self { count, unit }
    }

    const fn one(unit: SpanUnit) -> Self {
        Self::new(NonZeroU32::MIN, unit)
    }

    /// Whether the span is at most [`MAX_YEARS`](Self::MAX_YEARS) long (its count at most
    /// [`SpanUnit::max_count`]), as every span the parser reads.
    pub const fn is_within_range(&self) -> bool {
        self.count.get() <= self.unit.max_count()
    }

    /// The longest span of the same unit, printed, for messages: `120000mon`.
    pub fn longest(unit: SpanUnit) -> Self {
        let count = NonZeroU32::new(unit.max_count()).unwrap_or(NonZeroU32::MIN);
        Self::new(count, unit)
    }
}

/// `bin span=<span> <field> [as <name>]`: puts each row's value of `field` in a bin, replacing
/// it (or, with `as`, setting `name`) with the bin's start.
///
/// A time span (`span=1d`, units as [`Timechart`]'s) bins times as `timechart` buckets them:
/// days start at midnight, weeks on Sunday, months on the 1st. A number (`span=10`) bins
/// numbers: each value `v` becomes the multiple of the span at or below it. A row whose value is
/// missing, or not a number, keeps no value. Splunk picks a span itself when none is given;
/// spoor's `bin` always states it, and its other options (`bins`, `minspan`, `start`, `end`,
/// `aligntime`) are outside the subset.
///
/// Splunk: <https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/bin>.
///
/// ```
/// use spoor_spl::ast::{Bin, BinSpan, Command, Field, Span};
///
/// let day = Bin {
///     span: BinSpan::Time(Span::DAY),
///     field: Field::new("_time")?,
///     alias: Some(Field::new("day")?),
/// };
/// assert_eq!(Command::Bin(day).to_string(), "bin span=1d _time as day");
/// # Ok::<(), spoor_spl::FieldError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bin {
    /// The size of each bin.
    pub span: BinSpan,
    /// The field binned.
    pub field: Field,
    /// The field that gets the bin, when not `field` itself.
    pub alias: Option<Field>,
}

/// The size of a [`Bin`]'s bins.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BinSpan {
    /// A length of time, for times: `1d`, `15m`, `1mon`.
    Time(Span),
    /// A positive number, for numbers: `10`, `0.5`.
    Number(Number),
}

/// `rename <pattern> as <pattern>, …`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rename {
    /// The renamings, applied in order; at least one.
    pub renamings: Vec<Renaming>,
}

/// One `from as to`; a wildcard `to` takes the `*` captures of `from`, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Renaming {
    /// The field or pattern renamed.
    pub from: FieldPattern,
    /// The new name or pattern; it replaces an existing field of that name.
    pub to: FieldPattern,
}

/// `fields [+|-] <pattern>, …`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fields {
    /// Keep (`+`, the default) or remove (`-`) the listed fields.
    pub mode: FieldsMode,
    /// The fields or patterns; at least one.
    pub fields: Vec<FieldPattern>,
}

/// Whether `fields` keeps or removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldsMode {
    /// `+`: keep only the listed fields (and the internal ones, such as `_time`).
    Keep,
    /// `-`: remove the listed fields.
    Remove,
}

/// `sort [limit=<n>] [-|+]<field>, …`.
///
/// Splunk's `sort` returns at most 10000 rows when no limit is given; `limit=0` returns all.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sort {
    /// The row limit; `0` means none.
    pub limit: Option<u32>,
    /// The sort keys, most significant first; at least one.
    pub keys: Vec<SortKey>,
}

/// One sort key: a field, ascending (`field` or `+field`) or descending (`-field`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SortKey {
    /// The field.
    pub field: Field,
    /// Whether larger values come first.
    pub descending: bool,
}

/// `dedup [<n>] <field> …`: keeps, for each combination of values of the fields, the first `n`
/// rows that have it (one when not stated), in the order the rows come, and drops the rest.
///
/// A row lacking any of the fields is dropped (Splunk's `keepempty=false`). The options
/// `keepevents`, `keepempty`, `consecutive` and `sortby` are outside the subset.
///
/// Splunk: <https://help.splunk.com/splunk-cloud-platform/spl-search-reference/10.0.2503/search-commands/dedup>.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dedup {
    /// How many rows to keep of each combination, when stated (Splunk's default is 1).
    pub count: Option<NonZeroU32>,
    /// The fields; at least one.
    pub fields: Vec<Field>,
}

/// `head <n>`: the first `n` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Head {
    /// How many rows to keep.
    pub count: u64,
}

impl Search {
    /// A search with these terms.
    pub fn new(terms: impl IntoIterator<Item = SearchTerm>) -> Self {
        Self {
            terms: terms.into_iter().collect(),
        }
    }
}

impl SearchTerm {
    /// `field="value"`.
    pub fn eq(field: Field, value: impl Into<String>) -> Self {
        Self {
            negated: false,
            field,
            op: CompareOp::Eq,
            value: value.into(),
        }
    }
}

impl Where {
    /// The same condition as an expression: `a="x" AND b!="y"` (the condition alone when there
    /// is one; `None` when there is none, which is no valid `where`).
    pub fn to_expr(&self) -> Option<Expr> {
        Expr::all(self.conditions.iter().map(Condition::to_expr))
    }

    /// The `Where` of an expression that is exact string comparisons of named fields, all
    /// ANDed: one `field="literal"` or `field!="literal"`, or an `AND` of them (not nested);
    /// `None` for any other expression.
    pub fn from_expr(condition: &Expr) -> Option<Self> {
        let conditions = match condition {
            Expr::Logic {
                op: LogicOp::And,
                operands,
            } => operands
                .iter()
                .map(Condition::from_expr)
                .collect::<Option<Vec<_>>>()?,
            single => vec![Condition::from_expr(single)?],
        };
        Some(Self { conditions })
    }
}

impl Condition {
    /// The condition as an expression: `field="value"` or `field!="value"`.
    pub fn to_expr(&self) -> Expr {
        let op = match self.op {
            CompareOp::Eq => BinaryOp::Eq,
            CompareOp::Ne => BinaryOp::Ne,
        };
        Expr::binary(
            op,
            Expr::field(&self.field),
            Expr::string(self.value.clone()),
        )
    }

    /// The condition of `field="literal"` or `field!="literal"`, the field a valid [`Field`].
    fn from_expr(expr: &Expr) -> Option<Self> {
        let Expr::Binary { op, left, right } = expr else {
            return None;
        };
        let op = match op {
            BinaryOp::Eq => CompareOp::Eq,
            BinaryOp::Ne => CompareOp::Ne,
            _ => return None,
        };
        match (left.as_ref(), right.as_ref()) {
            (Expr::Field(name), Expr::String(value)) => Some(Self {
                field: name.as_field()?,
                op,
                value: value.clone(),
            }),
            _ => None,
        }
    }
}

impl Condition {
    /// `field="value"`.
    pub fn eq(field: Field, value: impl Into<String>) -> Self {
        Self {
            field,
            op: CompareOp::Eq,
            value: value.into(),
        }
    }
}

/// A field name: `[A-Za-z_][A-Za-z0-9_]*`, not one of the [`RESERVED_WORDS`].
///
/// Every field spoor writes has such a name (`application`, `event`, `distinct_id`,
/// `analytics_prop__<key>`), as do Splunk's internal fields (`_time`, `_span`). Names are
/// case-sensitive.
///
/// ```
/// use spoor_spl::ast::Field;
///
/// assert_eq!(Field::new("analytics_prop__plan")?.as_str(), "analytics_prop__plan");
/// assert!(Field::new("a b").is_err());
/// assert!(Field::new("by").is_err());
/// # Ok::<(), spoor_spl::FieldError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Field(String);

/// A field's name as an expression refers to it: any name, printed bare when it is a [`Field`]
/// name, else in single quotes (`'my field'`, `'5minutes'`, `'true'`), as Splunk's `eval` and
/// `where` read it.
///
/// A name may hold any character but the ones that could end a quoted name or a command:
/// `'`, `"`, `\`, `|`, `[`, `]`, `` ` `` and control characters (line breaks included); so
/// no name can change a query's structure. Splunk documents no escape inside `'…'`, so these
/// names cannot be written at all.
///
/// ```
/// use spoor_spl::ast::{Field, FieldName};
///
/// assert_eq!(FieldName::new("my field")?.to_string(), "'my field'");
/// assert_eq!(FieldName::from(Field::new("analytics_prop__plan")?).to_string(), "analytics_prop__plan");
/// assert_eq!(FieldName::new("null")?.to_string(), "'null'");
/// assert!(FieldName::new("it's").is_err());
/// # Ok::<(), spoor_spl::FieldError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldName(String);

/// Words an expression could read as a value rather than a field (`true`, `false`, `null`):
/// a field so named is always printed quoted, and the parser refuses them bare.
pub(crate) const VALUE_WORDS: [&str; 3] = ["true", "false", "null"];

impl FieldName {
    /// Validates a field name for an expression.
    ///
    /// # Errors
    ///
    /// [`FieldError::Empty`], or [`FieldError::Unquotable`] naming the first character no
    /// quoted name may hold.
    pub fn new(name: impl Into<String>) -> Result<Self, FieldError> {
        let name = name.into();
        if name.is_empty() {
            return Err(FieldError::Empty);
        }
        let bad = name.char_indices().find(|&(_, c)| {
            c.is_control() || matches!(c, '\'' | '"' | '\\' | '|' | '[' | ']' | '`')
        });
        match bad {
            Some((offset, _)) => Err(FieldError::Unquotable { name, offset }),
            None => Ok(Self(name)),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the name prints bare: a valid [`Field`] name that an expression cannot read as
    /// a value (`true`, `false`, `null`).
    pub fn is_bare(&self) -> bool {
        bare(&self.0)
    }

    /// The name as a [`Field`], when it is a valid one.
    pub fn as_field(&self) -> Option<Field> {
        validate(&self.0, false)
            .ok()
            .map(|()| Field(self.0.clone()))
    }
}

/// Whether a name prints bare in an expression.
pub(crate) fn bare(name: &str) -> bool {
    validate(name, false).is_ok() && !VALUE_WORDS.iter().any(|w| w.eq_ignore_ascii_case(name))
}

impl From<Field> for FieldName {
    fn from(field: Field) -> Self {
        Self(field.0)
    }
}

impl From<&Field> for FieldName {
    fn from(field: &Field) -> Self {
        Self(field.0.clone())
    }
}

impl From<&spoor_event::Key> for FieldName {
    /// The field of a property: `analytics_prop__<key>`.
    fn from(key: &spoor_event::Key) -> Self {
        Self(key.field_name())
    }
}

impl fmt::Debug for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for FieldName {
    /// The name as an expression writes it: bare, or in single quotes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_bare() {
            f.write_str(&self.0)
        } else {
            write!(f, "'{}'", self.0)
        }
    }
}

impl std::str::FromStr for FieldName {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        Self::new(s)
    }
}

/// A number literal of an expression: digits with an optional fraction (`3`, `0.25`), kept as
/// written. A negative number is [`UnaryOp::Negate`] applied to one.
///
/// ```
/// use spoor_spl::ast::Number;
///
/// assert_eq!(Number::new("0.25")?.as_str(), "0.25");
/// assert_eq!(Number::from(7u32).to_string(), "7");
/// assert!(Number::new("-1").is_err());
/// assert!(Number::new("1e3").is_err());
/// # Ok::<(), spoor_spl::ast::LiteralError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Number(String);

impl Number {
    /// Validates a number literal: `[0-9]+(\.[0-9]+)?`.
    ///
    /// # Errors
    ///
    /// [`LiteralError::Number`] for anything else.
    pub fn new(text: impl Into<String>) -> Result<Self, LiteralError> {
        let text = text.into();
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (text.as_str(), None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if digits(whole) && fraction.is_none_or(digits) {
            Ok(Self(text))
        } else {
            Err(LiteralError::Number { text })
        }
    }

    /// The literal as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the number is zero (`0`, `0.000`).
    pub fn is_zero(&self) -> bool {
        self.0.bytes().all(|b| b == b'0' || b == b'.')
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Number {
    type Err = LiteralError;
    fn from_str(s: &str) -> Result<Self, LiteralError> {
        Self::new(s)
    }
}

impl From<u32> for Number {
    /// The literal of a whole number (one conversion only, so that `Expr::number(3)` infers it).
    fn from(n: u32) -> Self {
        Self(n.to_string())
    }
}

/// The percentile of a percentile function: above 0 and below 100, with at most six decimals
/// (`99`, `99.95`), printed without trailing zeros.
///
/// ```
/// use spoor_spl::ast::Percentile;
///
/// assert_eq!("99.950".parse::<Percentile>()?.to_string(), "99.95");
/// assert!("100".parse::<Percentile>().is_err());
/// assert!("0".parse::<Percentile>().is_err());
/// # Ok::<(), spoor_spl::ast::LiteralError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percentile(u32);

impl Percentile {
    /// Millionths in one percent.
    const SCALE: u32 = 1_000_000;
    /// The 90th percentile.
    pub const P90: Self = Self(90 * Self::SCALE);
    /// The 99th percentile.
    pub const P99: Self = Self(99 * Self::SCALE);

    /// The percentile of `millionths` millionths of a percent (`99_500_000` is 99.5), when it is
    /// above 0 and below 100.
    pub fn from_millionths(millionths: u32) -> Option<Self> {
        (millionths > 0 && millionths < 100 * Self::SCALE).then_some(Self(millionths))
    }

    /// The percentile in millionths of a percent.
    pub fn millionths(self) -> u32 {
        self.0
    }

    /// The percentile as a number of percent.
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / f64::from(Self::SCALE)
    }
}

impl fmt::Display for Percentile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, fraction) = (self.0 / Self::SCALE, self.0 % Self::SCALE);
        if fraction == 0 {
            return write!(f, "{whole}");
        }
        let fraction = format!("{fraction:06}");
        write!(f, "{whole}.{}", fraction.trim_end_matches('0'))
    }
}

impl std::str::FromStr for Percentile {
    type Err = LiteralError;

    /// Reads `99`, `99.95`, `050`: digits with an optional fraction of at most six digits.
    fn from_str(s: &str) -> Result<Self, LiteralError> {
        let refuse = || LiteralError::Percentile { text: s.to_owned() };
        let number = Number::new(s).map_err(|_| refuse())?;
        let (whole, fraction) = number
            .as_str()
            .split_once('.')
            .unwrap_or((number.as_str(), ""));
        if fraction.len() > 6 {
            return Err(refuse());
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() > 2 {
            return Err(refuse());
        }
        let whole: u32 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| refuse())?
        };
        let fraction: u32 = format!("{fraction:0<6}").parse().map_err(|_| refuse())?;
        Self::from_millionths(whole * Self::SCALE + fraction).ok_or_else(refuse)
    }
}

/// A literal that is not valid where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LiteralError {
    /// Not a number literal.
    Number {
        /// The text.
        text: String,
    },
    /// Not a percentile.
    Percentile {
        /// The text.
        text: String,
    },
}

impl fmt::Display for LiteralError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number { text } => write!(
                f,
                "{text:?} is not a number literal: write digits with an optional fraction, \
                 such as `3` or `0.25` (a negative number is `-` before one)"
            ),
            Self::Percentile { text } => write!(
                f,
                "{text:?} is not a percentile: write a number above 0 and below 100 with at \
                 most six decimals, such as `99` or `99.95`"
            ),
        }
    }
}

impl std::error::Error for LiteralError {}

/// A field name that may contain `*` wildcards: `analytics_prop__*`, `_span*`, `*`.
///
/// The characters are those of a [`Field`] plus `*`; reserved words are refused likewise.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPattern(String);

/// A name that is not a valid [`Field`] or [`FieldPattern`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldError {
    /// The name is empty.
    Empty,
    /// The name has a character outside the allowed set, or starts with a digit.
    InvalidChar {
        /// The name.
        name: String,
        /// The byte offset of the first bad character.
        offset: usize,
    },
    /// The name is a word SPL reads as a keyword.
    Reserved {
        /// The name.
        name: String,
    },
    /// The name has a character that no quoted field name may hold (see [`FieldName`]).
    Unquotable {
        /// The name.
        name: String,
        /// The byte offset of the first such character.
        offset: usize,
    },
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("field name is empty"),
            Self::InvalidChar { name, offset } => write!(
                f,
                "field name {name:?} has an invalid character at byte {offset} \
                 (expected ASCII letters, digits and `_`, not starting with a digit)"
            ),
            Self::Reserved { name } => {
                write!(f, "field name {name:?} is a reserved word of SPL")
            }
            Self::Unquotable { name, offset } => write!(
                f,
                "field name {name:?} has a character at byte {offset} that no quoted field name \
                 may hold (`'`, `\"`, `\\`, `|`, `[`, `]`, a backquote or a control character)"
            ),
        }
    }
}

impl std::error::Error for FieldError {}

fn validate(name: &str, wildcard: bool) -> Result<(), FieldError> {
    if name.is_empty() {
        return Err(FieldError::Empty);
    }
    for (offset, b) in name.bytes().enumerate() {
        let ok = b.is_ascii_alphabetic()
            || b == b'_'
            || (wildcard && b == b'*')
            || (offset > 0 && b.is_ascii_digit());
        if !ok {
            return Err(FieldError::InvalidChar {
                name: name.to_owned(),
                offset,
            });
        }
    }
    if RESERVED_WORDS.iter().any(|w| w.eq_ignore_ascii_case(name)) {
        return Err(FieldError::Reserved {
            name: name.to_owned(),
        });
    }
    Ok(())
}

impl Field {
    /// Validates a field name.
    pub fn new(name: impl Into<String>) -> Result<Self, FieldError> {
        let name = name.into();
        validate(&name, false)?;
        Ok(Self(name))
    }

    /// A name known to be valid (spoor's own field names); checked in debug builds.
    pub(crate) fn known(name: &str) -> Self {
        debug_assert!(validate(name, false).is_ok(), "{name:?}");
        Self(name.to_owned())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FieldPattern {
    /// Validates a field name or pattern.
    pub fn new(pattern: impl Into<String>) -> Result<Self, FieldError> {
        let pattern = pattern.into();
        validate(&pattern, true)?;
        Ok(Self(pattern))
    }

    /// A pattern known to be valid; checked in debug builds.
    pub(crate) fn known(pattern: &str) -> Self {
        debug_assert!(validate(pattern, true).is_ok(), "{pattern:?}");
        Self(pattern.to_owned())
    }

    /// The pattern.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// How many `*` wildcards the pattern has.
    pub fn wildcards(&self) -> usize {
        self.0.bytes().filter(|&b| b == b'*').count()
    }

    /// The pattern as a plain field, when it has no wildcard.
    pub fn as_field(&self) -> Option<Field> {
        (self.wildcards() == 0).then(|| Field(self.0.clone()))
    }

    /// Whether `name` matches the pattern (case-sensitively, as field names compare).
    pub fn matches(&self, name: &str) -> bool {
        self.captures(name).is_some()
    }

    /// The text each `*` stands for when `name` matches, in order; `None` when it does not.
    ///
    /// A `*` matches any run of characters, the empty one included; when there are several, each
    /// takes as little as it can, from the left. This is how `dc(analytics_prop__*) as *` and
    /// `rename a* as b*` name their results (see [`expand`](Self::expand)).
    ///
    /// ```
    /// use spoor_spl::ast::FieldPattern;
    ///
    /// let pattern = FieldPattern::new("analytics_prop__*")?;
    /// assert_eq!(pattern.captures("analytics_prop__plan"), Some(vec!["plan"]));
    /// assert_eq!(pattern.captures("application"), None);
    /// assert_eq!(FieldPattern::new("*_*")?.captures("a_b_c"), Some(vec!["a", "b_c"]));
    /// # Ok::<(), spoor_spl::FieldError>(())
    /// ```
    pub fn captures<'n>(&self, name: &'n str) -> Option<Vec<&'n str>> {
        let mut parts = self.0.split('*');
        let first = parts.next().unwrap_or_default();
        let Some(last) = parts.next_back() else {
            return (name == first).then(Vec::new);
        };
        if name.len() < first.len() + last.len()
            || !name.starts_with(first)
            || !name.ends_with(last)
        {
            return None;
        }
        // The pattern is ASCII, so these offsets are on character boundaries of `name`.
        let end = name.len() - last.len();
        let mut pos = first.len();
        let mut captures = Vec::with_capacity(self.wildcards());
        for part in parts {
            let found = pos + name[pos..end].find(part)?;
            captures.push(&name[pos..found]);
            pos = found + part.len();
        }
        captures.push(&name[pos..end]);
        Some(captures)
    }

    /// The pattern with its `*`s replaced by `captures`, in order; a missing capture is empty.
    ///
    /// ```
    /// use spoor_spl::ast::FieldPattern;
    ///
    /// assert_eq!(FieldPattern::new("*")?.expand(&["plan"]), "plan");
    /// assert_eq!(FieldPattern::new("b*_*")?.expand(&["1", "2"]), "b1_2");
    /// # Ok::<(), spoor_spl::FieldError>(())
    /// ```
    pub fn expand(&self, captures: &[&str]) -> String {
        let mut out =
            String::with_capacity(self.0.len() + captures.iter().map(|c| c.len()).sum::<usize>());
        let mut captures = captures.iter();
        for (i, part) in self.0.split('*').enumerate() {
            if i > 0 {
                out.push_str(captures.next().copied().unwrap_or_default());
            }
            out.push_str(part);
        }
        out
    }
}

impl From<Field> for FieldPattern {
    fn from(field: Field) -> Self {
        Self(field.0)
    }
}

impl From<&spoor_event::Key> for Field {
    /// The field of a property: `analytics_prop__<key>` (always valid).
    fn from(key: &spoor_event::Key) -> Self {
        Self(key.field_name())
    }
}

macro_rules! name_impls {
    ($ty:ident) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $ty {
            type Err = FieldError;
            fn from_str(s: &str) -> Result<Self, FieldError> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = FieldError;
            fn try_from(s: &str) -> Result<Self, FieldError> {
                Self::new(s)
            }
        }
    };
}

name_impls!(Field);
name_impls!(FieldPattern);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names() {
        for ok in ["a", "_time", "analytics_prop__plan", "A1_b", "byte", "ask"] {
            assert!(Field::new(ok).is_ok(), "{ok}");
        }
        assert_eq!(Field::new(""), Err(FieldError::Empty));
        assert!(matches!(
            Field::new("1a"),
            Err(FieldError::InvalidChar { offset: 0, .. })
        ));
        assert!(matches!(
            Field::new("a-b"),
            Err(FieldError::InvalidChar { offset: 1, .. })
        ));
        assert!(matches!(
            Field::new("a*"),
            Err(FieldError::InvalidChar { .. })
        ));
        for reserved in [
            "by", "BY", "As", "not", "OR", "and", "xor", "like", "in", "over",
        ] {
            assert!(
                matches!(Field::new(reserved), Err(FieldError::Reserved { .. })),
                "{reserved}"
            );
        }
    }

    #[test]
    fn field_patterns() {
        for ok in ["*", "analytics_prop__*", "_span*", "a*b*", "*x"] {
            assert!(FieldPattern::new(ok).is_ok(), "{ok}");
        }
        assert!(FieldPattern::new("a.b").is_err());
        assert!(FieldPattern::new("").is_err());
        assert_eq!(FieldPattern::known("a*b*").wildcards(), 2);
        assert_eq!(
            FieldPattern::known("ab").as_field(),
            Some(Field::known("ab"))
        );
        assert_eq!(FieldPattern::known("a*").as_field(), None);
    }

    #[test]
    fn wildcard_captures() {
        let cases: &[(&str, &str, Option<&[&str]>)] = &[
            ("a", "a", Some(&[])),
            ("a", "b", None),
            ("*", "", Some(&[""])),
            ("*", "anything", Some(&["anything"])),
            ("a*", "a", Some(&[""])),
            ("a*", "ab", Some(&["b"])),
            ("a*", "ba", None),
            ("*a", "ba", Some(&["b"])),
            ("a*a", "a", None),
            ("a*a", "aa", Some(&[""])),
            ("a*b*c", "axbyc", Some(&["x", "y"])),
            ("a*b*c", "abbc", Some(&["", "b"])),
            ("a*b*c", "ac", None),
            ("**", "xy", Some(&["", "xy"])),
            ("_span*", "_spandays", Some(&["days"])),
            ("p_*", "p_é", Some(&["é"])),
        ];
        for &(pattern, name, expected) in cases {
            let pattern = FieldPattern::known(pattern);
            assert_eq!(
                pattern.captures(name).as_deref(),
                expected,
                "{pattern} {name}"
            );
            if let Some(captures) = expected {
                assert_eq!(pattern.expand(captures), name, "{pattern}");
            }
        }
        assert!(FieldPattern::known("a*").matches("abc"));
        assert_eq!(FieldPattern::known("x*y*").expand(&["1"]), "x1y");
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            Field::new("a b").unwrap_err().to_string(),
            "field name \"a b\" has an invalid character at byte 1 \
             (expected ASCII letters, digits and `_`, not starting with a digit)"
        );
        assert_eq!(
            Field::new("by").unwrap_err().to_string(),
            "field name \"by\" is a reserved word of SPL"
        );
    }

    #[test]
    fn function_and_unit_names() {
        assert_eq!(Function::from_name("DC"), Some(Function::DistinctCount));
        assert_eq!(
            Function::from_name("Distinct_Count"),
            Some(Function::DistinctCount)
        );
        assert_eq!(Function::from_name("c"), Some(Function::Count));
        assert_eq!(Function::from_name("Median"), Some(Function::Median));
        assert_eq!(Function::from_name("mode"), None);
        let p99 = Percentile::from_millionths(99_000_000).unwrap();
        let p99_95 = Percentile::from_millionths(99_950_000).unwrap();
        assert_eq!(Function::from_name("perc99"), Some(Function::Perc(p99)));
        assert_eq!(Function::from_name("P99"), Some(Function::Perc(p99)));
        assert_eq!(
            Function::from_name("exactPerc99.950"),
            Some(Function::ExactPerc(p99_95))
        );
        assert_eq!(
            Function::from_name("upperperc99.95"),
            Some(Function::UpperPerc(p99_95))
        );
        for bad in [
            "perc",
            "p",
            "perc100",
            "p0",
            "perc99.1234567",
            "perc1e2",
            "pp99",
        ] {
            assert_eq!(Function::from_name(bad), None, "{bad}");
        }
        assert_eq!(Function::ExactPerc(p99_95).name(), "exactperc99.95");
        assert_eq!(
            EvalFunction::from_name("TONUMBER"),
            Some(EvalFunction::ToNumber)
        );
        assert_eq!(SpanUnit::from_name("Months"), Some(SpanUnit::Month));
        assert_eq!(SpanUnit::from_name("hrs"), Some(SpanUnit::Hour));
        assert_eq!(SpanUnit::from_name("q"), None);
    }

    #[test]
    fn span_caps_are_ten_thousand_years() {
        // 10,000 Gregorian years are 3,652,425 days, exactly 521,775 weeks.
        assert_eq!(SpanUnit::Day.max_count(), 3_652_425);
        assert_eq!(SpanUnit::Week.max_count() * 7, SpanUnit::Day.max_count());
        assert_eq!(SpanUnit::Hour.max_count(), 87_658_200);
        assert_eq!(SpanUnit::Month.max_count(), 120_000);
        // A 32-bit count of minutes is at most about 8,166 years.
        assert!(u64::from(u32::MAX) / 60 / 24 < u64::from(SpanUnit::Day.max_count()));
        assert!(Span::longest(SpanUnit::Week).is_within_range());
        let over = Span::new(NonZeroU32::new(120_001).unwrap(), SpanUnit::Month);
        assert!(!over.is_within_range());
        assert_eq!(Span::longest(SpanUnit::Month).to_string(), "120000mon");
    }

    #[test]
    fn percentiles() {
        for (text, millionths, printed) in [
            ("50", 50_000_000, "50"),
            ("099", 99_000_000, "99"),
            ("99.5", 99_500_000, "99.5"),
            ("99.950000", 99_950_000, "99.95"),
            ("0.000001", 1, "0.000001"),
            ("99.999999", 99_999_999, "99.999999"),
        ] {
            let p: Percentile = text.parse().unwrap();
            assert_eq!(p.millionths(), millionths, "{text}");
            assert_eq!(p.to_string(), printed, "{text}");
        }
        for bad in [
            "0",
            "0.0",
            "100",
            "100.5",
            "1000",
            "-1",
            "1.",
            ".5",
            "1.2345678",
            "a",
            "",
        ] {
            assert_eq!(
                bad.parse::<Percentile>(),
                Err(LiteralError::Percentile { text: bad.into() }),
                "{bad}"
            );
        }
        assert!((Percentile::from_millionths(99_500_000).unwrap().as_f64() - 99.5).abs() < 1e-9);
    }

    #[test]
    fn numbers() {
        for ok in ["0", "007", "3", "0.25", "123456789012345678901234567890.5"] {
            assert_eq!(Number::new(ok).map(|n| n.to_string()).as_deref(), Ok(ok));
        }
        for bad in [
            "", "-1", "+1", "1.", ".5", "1e3", "1,5", " 1", "0x10", "1.2.3",
        ] {
            assert!(Number::new(bad).is_err(), "{bad}");
        }
        assert!(Number::new("0.000").unwrap().is_zero());
        assert!(!Number::new("0.001").unwrap().is_zero());
        assert_eq!(
            Number::new("-1").unwrap_err().to_string(),
            "\"-1\" is not a number literal: write digits with an optional fraction, \
             such as `3` or `0.25` (a negative number is `-` before one)"
        );
    }

    #[test]
    fn expression_field_names() {
        for (name, printed) in [
            ("plan", "plan"),
            ("_time", "_time"),
            ("analytics_prop__plan", "analytics_prop__plan"),
            ("my field", "'my field'"),
            ("a.b", "'a.b'"),
            ("5minutes", "'5minutes'"),
            ("é", "'é'"),
            ("by", "'by'"),
            ("OR", "'OR'"),
            ("null", "'null'"),
            ("True", "'True'"),
            ("*", "'*'"),
        ] {
            assert_eq!(FieldName::new(name).unwrap().to_string(), printed, "{name}");
        }
        for (bad, offset) in [
            ("it's", 2),
            ("a\"b", 1),
            ("a\\b", 1),
            ("a|b", 1),
            ("[x]", 0),
            ("a]", 1),
            ("`m`", 0),
            ("line\nbreak", 4),
            ("tab\t", 3),
        ] {
            assert_eq!(
                FieldName::new(bad),
                Err(FieldError::Unquotable {
                    name: bad.into(),
                    offset
                }),
                "{bad:?}"
            );
        }
        assert_eq!(FieldName::new(""), Err(FieldError::Empty));
        assert_eq!(
            FieldName::new("a|b").unwrap_err().to_string(),
            "field name \"a|b\" has a character at byte 1 that no quoted field name may hold \
             (`'`, `\"`, `\\`, `|`, `[`, `]`, a backquote or a control character)"
        );
        assert_eq!(
            FieldName::new("seats").unwrap().as_field(),
            Some(Field::known("seats"))
        );
        assert_eq!(FieldName::new("my field").unwrap().as_field(), None);
    }

    #[test]
    fn where_and_its_expression() {
        let exact = Where {
            conditions: vec![
                Condition::eq(Field::known("a"), "x"),
                Condition {
                    field: Field::known("b"),
                    op: CompareOp::Ne,
                    value: "y".into(),
                },
            ],
        };
        let expr = exact.to_expr().unwrap();
        assert_eq!(expr.to_string(), r#"a="x" AND b!="y""#);
        assert_eq!(Where::from_expr(&expr), Some(exact.clone()));
        assert_eq!(Command::where_(expr), Command::Where(exact));
        assert_eq!(Where { conditions: vec![] }.to_expr(), None);

        // Anything else is a `WhereExpr`.
        let a = || Expr::field(Field::known("a"));
        let others = [
            Expr::binary(BinaryOp::Lt, a(), Expr::string("x")),
            Expr::binary(BinaryOp::Eq, Expr::string("x"), a()),
            Expr::binary(BinaryOp::Eq, a(), a()),
            Expr::binary(BinaryOp::Eq, a(), Expr::number(1)),
            Expr::binary(
                BinaryOp::Eq,
                Expr::field(FieldName::new("my field").unwrap()),
                Expr::string("x"),
            ),
            Expr::any([
                Expr::binary(BinaryOp::Eq, a(), Expr::string("x")),
                Expr::binary(BinaryOp::Eq, a(), Expr::string("y")),
            ])
            .unwrap(),
            Expr::all([
                Expr::binary(BinaryOp::Eq, a(), Expr::string("x")),
                Expr::all([
                    Expr::binary(BinaryOp::Eq, a(), Expr::string("y")),
                    Expr::binary(BinaryOp::Eq, a(), Expr::string("z")),
                ])
                .unwrap(),
            ])
            .unwrap(),
        ];
        for other in others {
            assert_eq!(
                Command::where_(other.clone()),
                Command::WhereExpr(WhereExpr { condition: other })
            );
        }
    }

    #[test]
    fn command_names_and_aggregations() {
        let stats = Command::Stats(Stats {
            aggregations: vec![Aggregation::count()],
            by: vec![],
        });
        assert_eq!(stats.name(), "stats");
        assert_eq!(stats.aggregations(), &[Aggregation::count()]);
        let head = Command::Head(Head { count: 1 });
        assert_eq!(head.name(), "head");
        assert!(head.aggregations().is_empty());
    }

    #[test]
    fn output_names() {
        assert_eq!(Aggregation::count().output_name(), "count");
        let dc = Aggregation::apply(Function::DistinctCount, Field::known("distinct_id"));
        assert_eq!(dc.output_name(), "dc(distinct_id)");
        assert_eq!(dc.alias(Field::known("users")).output_name(), "users");
    }
}
