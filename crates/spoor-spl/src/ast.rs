//! The syntax tree of the SPL subset.
//!
//! A [`Query`] is a `search` followed by zero or more piped [`Command`]s.
//! The tree holds values, never text to splice: literals are plain strings (the printer quotes and
//! escapes them), and names are [`Field`]s and [`FieldPattern`]s, validated so that no name can
//! change a query's structure.
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

use std::fmt;
use std::num::NonZeroU32;

use crate::modifier::TimeUnit;

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
    /// `where`.
    Where(Where),
    /// `stats`.
    Stats(Stats),
    /// `timechart`.
    Timechart(Timechart),
    /// `rename`.
    Rename(Rename),
    /// `fields`.
    Fields(Fields),
    /// `sort`.
    Sort(Sort),
    /// `head`.
    Head(Head),
}

/// `where <field>="<literal>" [AND …]`: exact, case-sensitive string comparisons, all ANDed.
///
/// A condition on a field the row lacks is false, for `=` and for `!=` alike.
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

/// `stats <aggregation>, … [by <field>, …]`.
///
/// Rows lacking any `by` field are dropped; without `by` there is exactly one output row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Stats {
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

/// An aggregate function applied to a field.
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
}

impl Function {
    /// The name the printer uses (`count`, `dc`, `sum`, `avg`, `min`, `max`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::DistinctCount => "dc",
            Self::Sum => "sum",
            Self::Avg => "avg",
            Self::Min => "min",
            Self::Max => "max",
        }
    }

    /// Reads a function name as Splunk does: case-insensitive, with the aliases `c`,
    /// `distinct_count` and `mean`.
    pub fn from_name(name: &str) -> Option<Self> {
        const NAMES: [(&str, Function); 9] = [
            ("count", Function::Count),
            ("c", Function::Count),
            ("dc", Function::DistinctCount),
            ("distinct_count", Function::DistinctCount),
            ("sum", Function::Sum),
            ("avg", Function::Avg),
            ("mean", Function::Avg),
            ("min", Function::Min),
            ("max", Function::Max),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, f)| f)
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
        assert_eq!(Function::from_name("median"), None);
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
    fn output_names() {
        assert_eq!(Aggregation::count().output_name(), "count");
        let dc = Aggregation::apply(Function::DistinctCount, Field::known("distinct_id"));
        assert_eq!(dc.output_name(), "dc(distinct_id)");
        assert_eq!(dc.alias(Field::known("users")).output_name(), "users");
    }
}
