//! Conditions on a property that narrow a question, as people write them in a URL or on a
//! command line, and as SPL: a search term that narrows what is read (Splunk's search is
//! case-insensitive and matches `*` as a wildcard, so the term is a prefilter), and, where the
//! term is not exact, a `where` condition that is.
//!
//! | text | meaning | search term | `where` |
//! |---|---|---|---|
//! | `plan=pro` | equals, byte for byte | `analytics_prop__plan="pro"` | `analytics_prop__plan="pro"` |
//! | `plan!=pro` | has the property, and another value | `analytics_prop__plan="*"` | `analytics_prop__plan!="pro"` |
//! | `plan=pro\|team` | one of the values | `analytics_prop__plan=*` | `in(analytics_prop__plan, "pro", "team")` |
//! | `plan!=free\|trial` | has the property, and none of the values | `analytics_prop__plan=*` | `NOT in(analytics_prop__plan, "free", "trial")` |
//! | `amount<10` (`<=`, `>`, `>=`) | a number, compared as one | `analytics_prop__amount=*` | `tonumber(analytics_prop__amount)<10` |
//! | `plan=*` | has the property | `analytics_prop__plan=*` | none |
//! | `plan!=*` | lacks the property | `NOT analytics_prop__plan=*` | none |
//!
//! In values, `\` takes the next character as it is (`\|`, `\*`, `\\`).

use std::fmt;
use std::str::FromStr;

use spoor_event::Key;

use crate::ast::{
    BinaryOp, CompareOp, EvalFunction, Expr, Field, LiteralError, Number, SearchTerm, UnaryOp,
};

/// What a [`Filter`] asks of the property's value.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Test {
    /// The value is this, byte for byte.
    Equals(String),
    /// The property is there, with another value.
    NotEquals(String),
    /// The value is one of these (two or more).
    OneOf(Vec<String>),
    /// The property is there, with none of these values (two or more).
    NoneOf(Vec<String>),
    /// The value is a number below this one.
    Less(f64),
    /// The value is a number at most this one.
    AtMost(f64),
    /// The value is a number above this one.
    Greater(f64),
    /// The value is a number at least this one.
    AtLeast(f64),
    /// The event has the property.
    Exists,
    /// The event lacks the property.
    Missing,
}

/// A condition on one property.
///
/// ```
/// use spoor_spl::filter::{Filter, Test};
///
/// let filter: Filter = "plan=pro|team".parse()?;
/// assert_eq!(filter.key().as_str(), "plan");
/// assert_eq!(filter.test(), &Test::OneOf(vec!["pro".into(), "team".into()]));
/// assert_eq!(filter.to_string(), "plan=pro|team");
/// assert_eq!(
///     filter.condition().map(|c| c.to_string()).as_deref(),
///     Some(r#"in(analytics_prop__plan, "pro", "team")"#)
/// );
/// assert!("amount<ten".parse::<Filter>().is_err());
/// # Ok::<(), spoor_spl::filter::FilterError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    key: Key,
    test: Test,
}

/// Why a filter's text is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FilterError {
    /// No operator (`=`, `!=`, `<`, `<=`, `>`, `>=`).
    NoOperator(String),
    /// The key is no property key.
    Key(String),
    /// A comparison's value is not a number.
    NotANumber(String),
    /// An equality with no value.
    Empty(String),
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoOperator(text) => write!(
                f,
                "filter {text:?} has no operator: write key=value, key!=value, key=a|b, key!=a|b, \
                 key<n (or <=, >, >=), key=* or key!=*"
            ),
            Self::Key(why) => write!(f, "filter key: {why}"),
            Self::NotANumber(text) => write!(
                f,
                "filter {text:?} compares with something that is not a number: write a number \
                 like 10 or -2.5"
            ),
            Self::Empty(text) => write!(
                f,
                "filter {text:?} has no value: write key=value, or key=* for any value"
            ),
        }
    }
}

impl std::error::Error for FilterError {}

impl Filter {
    /// A filter on `key`.
    pub fn new(key: Key, test: Test) -> Self {
        Self { key, test }
    }

    /// The property's key.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// What it asks of the value.
    pub fn test(&self) -> &Test {
        &self.test
    }

    /// The search term every event that passes holds (exact for [`Test::Equals`] up to case,
    /// [`Test::Exists`] and [`Test::Missing`]; else "has the property").
    pub fn term(&self) -> SearchTerm {
        let field = Field::from(&self.key);
        match &self.test {
            Test::Equals(value) if !value.contains('*') => SearchTerm::eq(field, value.clone()),
            Test::Missing => SearchTerm {
                negated: true,
                field,
                op: CompareOp::Eq,
                value: "*".to_owned(),
            },
            _ => SearchTerm::eq(field, "*"),
        }
    }

    /// The whole test as one exact expression, for `eval` and `where` where no search term
    /// goes before it (a funnel step's condition): [`condition`](Self::condition) when there is
    /// one, else `isnotnull(…)` or `isnull(…)`.
    ///
    /// ```
    /// use spoor_spl::filter::Filter;
    ///
    /// let lacks: Filter = "coupon!=*".parse()?;
    /// assert_eq!(lacks.expr().to_string(), "isnull(analytics_prop__coupon)");
    /// let cheap: Filter = "amount<10".parse()?;
    /// assert_eq!(cheap.expr().to_string(), "tonumber(analytics_prop__amount)<10");
    /// # Ok::<(), spoor_spl::filter::FilterError>(())
    /// ```
    pub fn expr(&self) -> Expr {
        let field = || Expr::field(Field::from(&self.key));
        match &self.test {
            Test::Exists => Expr::call(EvalFunction::IsNotNull, [field()]),
            Test::Missing => Expr::call(EvalFunction::IsNull, [field()]),
            // A comparison with a number that is not finite holds for no value: `null()` as a
            // condition keeps nothing.
            _ => self
                .condition()
                .unwrap_or_else(|| Expr::call(EvalFunction::Null, [])),
        }
    }

    /// The exact condition, for `where`; `None` when [`term`](Self::term) is exact.
    pub fn condition(&self) -> Option<Expr> {
        let field = || Expr::field(Field::from(&self.key));
        let compare = |op: BinaryOp, n: f64| {
            let number = || -> Option<Expr> {
                let text = format_number(n.abs());
                let literal: Result<Number, LiteralError> = text.parse();
                let literal = Expr::number(literal.ok()?);
                Some(if n < 0.0 {
                    Expr::unary(UnaryOp::Negate, literal)
                } else {
                    literal
                })
            };
            Some(Expr::binary(
                op,
                Expr::call(EvalFunction::ToNumber, [field()]),
                number()?,
            ))
        };
        match &self.test {
            Test::Equals(value) => Some(Expr::binary(
                BinaryOp::Eq,
                field(),
                Expr::string(value.clone()),
            )),
            Test::NotEquals(value) => Some(Expr::binary(
                BinaryOp::Ne,
                field(),
                Expr::string(value.clone()),
            )),
            Test::OneOf(values) => Some(Expr::call(
                EvalFunction::In,
                std::iter::once(field()).chain(values.iter().cloned().map(Expr::string)),
            )),
            Test::NoneOf(values) => Some(Expr::unary(
                UnaryOp::Not,
                Expr::call(
                    EvalFunction::In,
                    std::iter::once(field()).chain(values.iter().cloned().map(Expr::string)),
                ),
            )),
            Test::Less(n) => compare(BinaryOp::Lt, *n),
            Test::AtMost(n) => compare(BinaryOp::Le, *n),
            Test::Greater(n) => compare(BinaryOp::Gt, *n),
            Test::AtLeast(n) => compare(BinaryOp::Ge, *n),
            Test::Exists | Test::Missing => None,
        }
    }
}

/// A finite number as a literal without an exponent (`10`, `2.5`, `0.001`).
fn format_number(n: f64) -> String {
    let text = format!("{n}");
    if text.contains(['e', 'E']) {
        let fixed = format!("{n:.12}");
        let fixed = fixed.trim_end_matches('0').trim_end_matches('.');
        fixed.to_owned()
    } else {
        text
    }
}

/// Splits `text` at `|` not escaped, unescaping `\x` to `x`.
fn values(text: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(last)) = (chars.next(), out.last_mut()) {
                    last.push(next);
                }
            }
            '|' => out.push(String::new()),
            c => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    out
}

/// `value` with `\`, `|` and a leading lone `*` escaped.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    if out == "*" { "\\*".to_owned() } else { out }
}

impl FromStr for Filter {
    type Err = FilterError;

    fn from_str(text: &str) -> Result<Self, FilterError> {
        let at = text
            .find(['=', '!', '<', '>'])
            .ok_or_else(|| FilterError::NoOperator(text.to_owned()))?;
        let (key, rest) = text.split_at(at);
        let key = Key::new(key.trim()).map_err(|e| FilterError::Key(e.to_string()))?;
        let (op, value) = ["!=", "<=", ">=", "=", "<", ">"]
            .into_iter()
            .find_map(|op| rest.strip_prefix(op).map(|v| (op, v)))
            .ok_or_else(|| FilterError::NoOperator(text.to_owned()))?;
        let number = || {
            value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| FilterError::NotANumber(text.to_owned()))
        };
        let test = match op {
            "<" => Test::Less(number()?),
            "<=" => Test::AtMost(number()?),
            ">" => Test::Greater(number()?),
            ">=" => Test::AtLeast(number()?),
            _ if value.is_empty() => return Err(FilterError::Empty(text.to_owned())),
            "=" if value == "*" => Test::Exists,
            "!=" if value == "*" => Test::Missing,
            _ => {
                // No value is empty once read (`plan=\`, `plan=a|`): none could be written back.
                let mut all = values(value);
                if all.iter().any(String::is_empty) {
                    return Err(FilterError::Empty(text.to_owned()));
                }
                match (op, all.len()) {
                    ("!=", 1) => Test::NotEquals(all.pop().unwrap_or_default()),
                    ("!=", _) => Test::NoneOf(all),
                    (_, 1) => Test::Equals(all.pop().unwrap_or_default()),
                    _ => Test::OneOf(all),
                }
            }
        };
        Ok(Self { key, test })
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.key.as_str();
        match &self.test {
            Test::Equals(v) => write!(f, "{key}={}", escape(v)),
            Test::NotEquals(v) => write!(f, "{key}!={}", escape(v)),
            Test::OneOf(vs) => {
                let joined: Vec<String> = vs.iter().map(|v| escape(v)).collect();
                write!(f, "{key}={}", joined.join("|"))
            }
            Test::NoneOf(vs) => {
                let joined: Vec<String> = vs.iter().map(|v| escape(v)).collect();
                write!(f, "{key}!={}", joined.join("|"))
            }
            Test::Less(n) => write!(f, "{key}<{n}"),
            Test::AtMost(n) => write!(f, "{key}<={n}"),
            Test::Greater(n) => write!(f, "{key}>{n}"),
            Test::AtLeast(n) => write!(f, "{key}>={n}"),
            Test::Exists => write!(f, "{key}=*"),
            Test::Missing => write!(f, "{key}!=*"),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn each_form_reads_and_says_its_spl() {
        for (text, term, condition) in [
            (
                "plan=pro",
                r#"analytics_prop__plan="pro""#,
                Some(r#"analytics_prop__plan="pro""#),
            ),
            (
                "plan!=pro",
                r#"analytics_prop__plan="*""#,
                Some(r#"analytics_prop__plan!="pro""#),
            ),
            (
                "amount<10",
                r#"analytics_prop__amount="*""#,
                Some("tonumber(analytics_prop__amount)<10"),
            ),
            (
                "amount>=-2.5",
                r#"analytics_prop__amount="*""#,
                Some("tonumber(analytics_prop__amount)>=-2.5"),
            ),
            ("plan=*", r#"analytics_prop__plan="*""#, None),
            ("plan!=*", r#"NOT analytics_prop__plan="*""#, None),
        ] {
            let filter: Filter = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(filter.to_string(), text);
            assert_eq!(filter.term().to_string(), term, "{text}");
            assert_eq!(
                filter.condition().map(|c| c.to_string()).as_deref(),
                condition,
                "{text}"
            );
        }
        let escaped: Filter = r"plan=a\|b\\c".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(escaped.test(), &Test::Equals(r"a|b\c".to_owned()));
        // `!=` with several values: none of them (not the values run together).
        let none: Filter = "plan!=free|trial".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            none.test(),
            &Test::NoneOf(vec!["free".into(), "trial".into()])
        );
        assert_eq!(none.to_string(), "plan!=free|trial");
        assert_eq!(none.term().to_string(), r#"analytics_prop__plan="*""#);
        assert_eq!(
            none.condition().map(|c| c.to_string()).as_deref(),
            Some(r#"NOT in(analytics_prop__plan, "free", "trial")"#)
        );
        let star: Filter = r"plan=\*".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(star.test(), &Test::Equals("*".to_owned()));
        assert_eq!(
            star.term().to_string(),
            r#"analytics_prop__plan="*""#,
            "a value with a wildcard reads every event with the property"
        );
    }

    #[test]
    fn mistakes_say_what_to_write() {
        for (text, says) in [
            ("plan", "has no operator"),
            ("user-agent=x", "filter key"),
            ("amount<ten", "not a number"),
            ("amount<inf", "not a number"),
            ("plan=", "has no value"),
            // Empty once read: nothing could write it back.
            (r"plan=\", "has no value"),
            ("plan=a|", "has no value"),
            ("plan!=|b", "has no value"),
        ] {
            let err = text.parse::<Filter>().expect_err(text).to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    fn test_strategy() -> impl Strategy<Value = Test> {
        let value = "\\PC{1,12}";
        prop_oneof![
            value.prop_map(Test::Equals),
            value.prop_map(Test::NotEquals),
            proptest::collection::vec(value, 2..4).prop_map(Test::OneOf),
            proptest::collection::vec(value, 2..4).prop_map(Test::NoneOf),
            (-1e6..1e6f64).prop_map(Test::Less),
            (-1e6..1e6f64).prop_map(Test::AtLeast),
            Just(Test::Exists),
            Just(Test::Missing),
        ]
    }

    proptest! {
        #![proptest_config(spoor_testkit::proptest_config_with_cases(256))]

        /// Every filter prints as text that reads back to it, whatever its values hold.
        #[test]
        fn text_round_trips(key in "[a-z][a-z0-9_]{0,8}", test in test_strategy()) {
            let filter = Filter::new(Key::new(&key).map_err(|e| TestCaseError::fail(e.to_string()))?, test);
            let back: Filter = filter.to_string().parse().map_err(|e: FilterError| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(back, filter);
        }

        /// No text makes the reader panic.
        #[test]
        fn any_text_reads_or_fails_cleanly(text in "\\PC{0,40}") {
            let _ = text.parse::<Filter>();
        }
    }
}
