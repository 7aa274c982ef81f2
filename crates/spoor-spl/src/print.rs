//! The printer: `Display` for the syntax tree.
//!
//! Every literal is printed in double quotes, `\` as `\\` and `"` as `\"`, and nothing else is
//! escaped; so a literal's quote ends only at its closing `"`, and no value can add a term, a
//! pipe or a command. This holds for the search value `*` too, printed `field="*"` (Splunk reads
//! it as `field=*`, "the field exists"). Names are validated identifiers
//! ([`Field`](crate::ast::Field)) and print bare.
//!
//! In expressions, field names that are not plain names print in single quotes (`'my field'`),
//! numbers as written, and operators with the fewest parentheses that keep the tree's shape
//! (plus those Splunk's undocumented orders call for: see [`Expr`](crate::ast::Expr)).
//!
//! The format is canonical: one space between items, `, ` between list items, lower-case
//! command and function names, upper-case `AND`, `OR`, `XOR`, `NOT`, comparisons without
//! spaces (`a="x"`, `n>=3`) and arithmetic with them (`a + 1`), options in a fixed order. The
//! parser reads it back to the same tree.
//!
//! ```
//! use spoor_spl::print::quote;
//!
//! assert_eq!(quote(r#"say "hi" \o/"#), r#""say \"hi\" \\o/""#);
//! ```

use std::fmt::{self, Display, Formatter, Write as _};

use crate::ast::{
    Aggregate, Aggregation, Assignment, Bin, BinSpan, Command, CompareOp, Condition, Dedup, Eval,
    Eventstats, FieldName, Fields, FieldsMode, Head, Query, Rename, Renaming, Search, SearchTerm,
    Sort, SortKey, Span, Stats, Streamstats, Timechart, Where, WhereExpr,
};

mod expr;

/// `value` as an SPL string literal: in double quotes, with `\` and `"` escaped by `\`.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    // Writing to a String cannot fail.
    let _ = write_quoted(&mut out, value);
    out
}

/// Writes `value` as an SPL string literal (see [`quote`]).
///
/// # Errors
///
/// Only the writer's own errors.
pub fn write_quoted(out: &mut impl fmt::Write, value: &str) -> fmt::Result {
    out.write_char('"')?;
    let mut rest = value;
    while let Some(i) = rest.find(['"', '\\']) {
        out.write_str(&rest[..i])?;
        out.write_char('\\')?;
        // The byte at `i` is an ASCII `"` or `\`, so slicing around it is on char boundaries.
        out.write_str(&rest[i..=i])?;
        rest = &rest[i + 1..];
    }
    out.write_str(rest)?;
    out.write_char('"')
}

/// Writes `items` separated by `, `.
fn list<T: Display>(f: &mut Formatter<'_>, items: &[T]) -> fmt::Result {
    separated(f, items, ", ")
}

/// Writes `items` separated by `separator`.
fn separated<T: Display>(f: &mut Formatter<'_>, items: &[T], separator: &str) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        item.fmt(f)?;
    }
    Ok(())
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.search.fmt(f)?;
        for command in &self.commands {
            write!(f, " | {command}")?;
        }
        Ok(())
    }
}

impl Display for Search {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("search")?;
        for term in &self.terms {
            write!(f, " {term}")?;
        }
        Ok(())
    }
}

impl Display for CompareOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Eq => "=",
            Self::Ne => "!=",
        })
    }
}

impl Display for SearchTerm {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.negated {
            f.write_str("NOT ")?;
        }
        write!(f, "{}{}", self.field, self.op)?;
        write_quoted(f, &self.value)
    }
}

impl Display for Command {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Where(c) => c.fmt(f),
            Self::WhereExpr(c) => c.fmt(f),
            Self::Eval(c) => c.fmt(f),
            Self::Stats(c) => c.fmt(f),
            Self::Eventstats(c) => c.fmt(f),
            Self::Streamstats(c) => c.fmt(f),
            Self::Timechart(c) => c.fmt(f),
            Self::Bin(c) => c.fmt(f),
            Self::Rename(c) => c.fmt(f),
            Self::Fields(c) => c.fmt(f),
            Self::Sort(c) => c.fmt(f),
            Self::Dedup(c) => c.fmt(f),
            Self::Head(c) => c.fmt(f),
        }
    }
}

impl Display for Where {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("where ")?;
        separated(f, &self.conditions, " AND ")
    }
}

impl Display for Condition {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        // As an expression writes the field: `'null'="x"`, never read as a value.
        write!(f, "{}{}", FieldName::from(&self.field), self.op)?;
        write_quoted(f, &self.value)
    }
}

impl Display for WhereExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "where {}", self.condition)
    }
}

impl Display for Eval {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("eval ")?;
        list(f, &self.assignments)
    }
}

impl Display for Assignment {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.field, self.value)
    }
}

/// `<aggregation>, … [by <field>, …]`, as the stats commands end.
fn aggregations_by(
    f: &mut Formatter<'_>,
    aggregations: &[Aggregation],
    by: &[crate::ast::Field],
) -> fmt::Result {
    list(f, aggregations)?;
    if !by.is_empty() {
        f.write_str(" by ")?;
        list(f, by)?;
    }
    Ok(())
}

impl Display for Stats {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("stats ")?;
        aggregations_by(f, &self.aggregations, &self.by)
    }
}

impl Display for Eventstats {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("eventstats ")?;
        aggregations_by(f, &self.aggregations, &self.by)
    }
}

impl Display for Streamstats {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("streamstats ")?;
        if let Some(current) = self.current {
            write!(f, "current={current} ")?;
        }
        if let Some(window) = self.window {
            write!(f, "window={window} ")?;
        }
        if let Some(global) = self.global {
            write!(f, "global={global} ")?;
        }
        aggregations_by(f, &self.aggregations, &self.by)
    }
}

impl Display for Bin {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "bin span={} {}", self.span, self.field)?;
        if let Some(alias) = &self.alias {
            write!(f, " as {alias}")?;
        }
        Ok(())
    }
}

impl Display for BinSpan {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Time(span) => span.fmt(f),
            Self::Number(n) => n.fmt(f),
        }
    }
}

impl Display for Dedup {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("dedup")?;
        if let Some(count) = self.count {
            write!(f, " {count}")?;
        }
        for field in &self.fields {
            // A field named `sortby` is quoted, so that it is not read as dedup's clause.
            if field.as_str().eq_ignore_ascii_case("sortby") {
                write!(f, " '{field}'")?;
            } else {
                write!(f, " {field}")?;
            }
        }
        Ok(())
    }
}

impl Display for Aggregation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.aggregate.fmt(f)?;
        if let Some(alias) = &self.alias {
            write!(f, " as {alias}")?;
        }
        Ok(())
    }
}

impl Display for Aggregate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Count => f.write_str("count"),
            Self::Apply { function, field } => write!(f, "{}({field})", function.name()),
        }
    }
}

impl Display for Timechart {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "timechart span={}", self.span)?;
        if let Some(limit) = self.limit {
            write!(f, " limit={limit}")?;
        }
        if let Some(use_other) = self.use_other {
            write!(f, " useother={use_other}")?;
        }
        if let Some(use_null) = self.use_null {
            write!(f, " usenull={use_null}")?;
        }
        write!(f, " {}", self.aggregation)?;
        if let Some(by) = &self.by {
            write!(f, " by {by}")?;
        }
        Ok(())
    }
}

impl Display for Span {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.count, self.unit.name())
    }
}

impl Display for Rename {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("rename ")?;
        list(f, &self.renamings)
    }
}

impl Display for Renaming {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} as {}", self.from, self.to)
    }
}

impl Display for Fields {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self.mode {
            FieldsMode::Keep => "fields + ",
            FieldsMode::Remove => "fields - ",
        })?;
        list(f, &self.fields)
    }
}

impl Display for Sort {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("sort ")?;
        if let Some(limit) = self.limit {
            write!(f, "limit={limit} ")?;
        }
        list(f, &self.keys)
    }
}

impl Display for SortKey {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        // Ascending keys carry an explicit `+`, so that a last key named `d` or `desc` is never
        // read as sort's `desc` keyword.
        f.write_char(if self.descending { '-' } else { '+' })?;
        self.field.fmt(f)
    }
}

impl Display for Head {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "head {}", self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{Field, FieldPattern, Function};

    fn field(name: &str) -> Field {
        Field::known(name)
    }

    #[test]
    fn quoting() {
        assert_eq!(quote(""), r#""""#);
        assert_eq!(quote("shop"), r#""shop""#);
        assert_eq!(quote(r#"a"b"#), r#""a\"b""#);
        assert_eq!(quote(r"a\b"), r#""a\\b""#);
        assert_eq!(quote(r#"\""#), r#""\\\"""#);
        assert_eq!(quote("x | delete"), r#""x | delete""#);
        assert_eq!(quote("é\n*"), "\"é\n*\"");
    }

    #[test]
    fn search_terms() {
        let mut term = SearchTerm::eq(field("event"), "*");
        assert_eq!(term.to_string(), r#"event="*""#);
        term.value = "a*".into();
        term.op = CompareOp::Ne;
        term.negated = true;
        assert_eq!(term.to_string(), r#"NOT event!="a*""#);
        assert_eq!(Search::default().to_string(), "search");
    }

    #[test]
    fn every_command() {
        let query = Query {
            search: Search::new([SearchTerm::eq(field("index"), "main")]),
            commands: vec![
                Command::Where(Where {
                    conditions: vec![
                        Condition::eq(field("a"), "x"),
                        Condition {
                            field: field("b"),
                            op: CompareOp::Ne,
                            value: "y".into(),
                        },
                    ],
                }),
                Command::Stats(Stats {
                    aggregations: vec![
                        Aggregation::count(),
                        Aggregation::apply(Function::DistinctCount, FieldPattern::known("p_*"))
                            .alias(FieldPattern::known("*")),
                    ],
                    by: vec![field("a"), field("b")],
                }),
                Command::Timechart(Timechart {
                    span: Span::MONTH,
                    limit: Some(5),
                    use_other: Some(false),
                    use_null: Some(true),
                    aggregation: Aggregation::apply(Function::Sum, field("n")),
                    by: Some(field("event")),
                }),
                Command::Rename(Rename {
                    renamings: vec![Renaming {
                        from: FieldPattern::known("a*"),
                        to: FieldPattern::known("b*"),
                    }],
                }),
                Command::Fields(Fields {
                    mode: FieldsMode::Remove,
                    fields: vec![FieldPattern::known("_span*")],
                }),
                Command::Fields(Fields {
                    mode: FieldsMode::Keep,
                    fields: vec![FieldPattern::known("a"), FieldPattern::known("b")],
                }),
                Command::Sort(Sort {
                    limit: Some(0),
                    keys: vec![
                        SortKey {
                            field: field("count"),
                            descending: true,
                        },
                        SortKey {
                            field: field("a"),
                            descending: false,
                        },
                    ],
                }),
                Command::Head(Head { count: 3 }),
            ],
        };
        assert_eq!(
            query.to_string(),
            "search index=\"main\" \
             | where a=\"x\" AND b!=\"y\" \
             | stats count, dc(p_*) as * by a, b \
             | timechart span=1mon limit=5 useother=false usenull=true sum(n) by event \
             | rename a* as b* \
             | fields - _span* \
             | fields + a, b \
             | sort limit=0 -count, +a \
             | head 3"
        );
    }
}
