//! Expressions of `eval` and `where`, evaluated for one row of a [`Frame`]: the value model,
//! operators and functions of the semantics' paragraph **Expressions** (in
//! [the module's documentation](super)).

use std::borrow::Cow;
use std::cmp::Ordering;

use spoor_spl::ast::{BinaryOp, EvalFunction, Expr, FieldPattern, LogicOp, MAX_DEPTH, UnaryOp};
use spoor_spl::modifier::{Relative, TimeModifier};
use time::{OffsetDateTime, UtcOffset};

use super::SearchError;
use super::frame::Frame;
use super::text::{format_number, number};

/// Microseconds in a second.
pub(crate) const MICROS: f64 = 1_000_000.0;

/// Epoch seconds of 10000-01-01T00:00:00Z: every time is below it, and above its negation.
const TIME_BOUND: f64 = 253_402_300_800.0;

/// A time in epoch seconds as microseconds (rounded), when it is within the years 0000 to 9999
/// or so (bucket arithmetic checks the exact range).
pub(crate) fn micros_of(seconds: f64) -> Option<i64> {
    (seconds.abs() < TIME_BOUND).then(|| (seconds * MICROS).round() as i64)
}

/// A value an expression takes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'r> {
    /// No value: a field the row lacks, `null()`, an operation without a result.
    Null,
    /// A number.
    Number(f64),
    /// A string the expression made (a literal, a concatenation, a function's result): never
    /// read as a number.
    Text(Cow<'r, str>),
    /// A field's value: a string, read as a number when it is one.
    Field(&'r str),
    /// A Boolean (comparisons, `AND`, `isnull`…).
    Bool(bool),
}

impl Value<'_> {
    /// The value as a number, when it is one (a number, or a field that reads as one).
    fn as_number(&self) -> Option<f64> {
        match self {
            Self::Number(x) => Some(*x),
            Self::Field(s) => number(s),
            Self::Null | Self::Text(_) | Self::Bool(_) => None,
        }
    }

    /// The value as a string: numbers as Splunk prints them, Booleans `True` and `False` (as
    /// `tostring` gives them); `None` for null.
    pub(crate) fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Self::Null => None,
            Self::Number(x) => Some(Cow::Owned(format_number(*x))),
            Self::Text(s) => Some(Cow::Borrowed(s)),
            Self::Field(s) => Some(Cow::Borrowed(s)),
            Self::Bool(b) => Some(Cow::Borrowed(if *b { "True" } else { "False" })),
        }
    }

    /// A number, or null when it is not finite.
    fn number(x: f64) -> Self {
        if x.is_finite() {
            Self::Number(x)
        } else {
            Self::Null
        }
    }
}

/// The Boolean of `value` for `what` (an operator or function, for the message): `None` for
/// null.
fn truth(value: &Value<'_>, what: &str) -> Result<Option<bool>, SearchError> {
    match value {
        Value::Bool(b) => Ok(Some(*b)),
        Value::Null => Ok(None),
        other => Err(SearchError::Expression(format!(
            "{what} takes true-or-false values, and got {}: compare it (`x>0`, `x=\"a\"`) or \
             test it (`isnotnull(x)`)",
            other.as_text().unwrap_or_default()
        ))),
    }
}

/// The fields `expr` reads, as patterns (for gathering); names no pattern can hold are left out,
/// as no gathered field has them.
pub(crate) fn fields_read(expr: &Expr, out: &mut Vec<FieldPattern>) {
    match expr {
        Expr::Number(_) | Expr::String(_) => {}
        Expr::Field(name) => out.extend(FieldPattern::new(name.as_str()).ok()),
        Expr::Unary { operand, .. } => fields_read(operand, out),
        Expr::Binary { left, right, .. } => {
            fields_read(left, out);
            fields_read(right, out);
        }
        Expr::RelativeTime { time, .. } => fields_read(time, out),
        Expr::Logic { operands: args, .. } | Expr::Call { args, .. } => {
            for arg in args {
                fields_read(arg, out);
            }
        }
    }
}

/// Refuses an expression deeper than the parser's [`MAX_DEPTH`] (a tree built by hand), before
/// anything is evaluated; the depth is measured without recursing past the bound.
pub(crate) fn check_depth(expr: &Expr) -> Result<(), SearchError> {
    fn within(expr: &Expr, budget: usize) -> bool {
        let Some(left) = budget.checked_sub(1) else {
            return false;
        };
        match expr {
            Expr::Number(_) | Expr::String(_) | Expr::Field(_) => true,
            Expr::Unary { operand, .. } => within(operand, left),
            Expr::Binary { left: l, right, .. } => within(l, left) && within(right, left),
            Expr::RelativeTime { time, .. } => within(time, left),
            Expr::Logic { operands: args, .. } | Expr::Call { args, .. } => {
                args.iter().all(|a| within(a, left))
            }
        }
    }
    if within(expr, MAX_DEPTH) {
        Ok(())
    } else {
        Err(SearchError::Expression(format!(
            "the expression nests deeper than {MAX_DEPTH} levels: write it with fewer \
             parentheses, calls and operators"
        )))
    }
}

/// One row of a frame, as expressions read it.
#[derive(Clone, Copy)]
pub(crate) struct Row<'f, 'a> {
    /// The frame.
    pub(crate) frame: &'f Frame<'a>,
    /// The row's number.
    pub(crate) row: usize,
}

impl<'f> Row<'f, '_> {
    /// The value of the field `name`: `_time` from the events' times while rows are events
    /// (epoch seconds, with microseconds), any other field from its column.
    fn field(&self, name: &str) -> Value<'f> {
        if name == "_time"
            && let Some(times) = self.frame.event_times()
        {
            return Value::Number(times[self.row] as f64 / MICROS);
        }
        match self.frame.col(name).and_then(|c| c.get(self.row)) {
            Some(value) => Value::Field(value),
            None => Value::Null,
        }
    }

    /// `expr`'s value for this row.
    ///
    /// # Errors
    ///
    /// [`SearchError::Expression`] for a Boolean operator or condition given another value.
    pub(crate) fn eval(&self, expr: &'f Expr) -> Result<Value<'f>, SearchError> {
        Ok(match expr {
            Expr::Number(n) => n.as_str().parse::<f64>().map_or(Value::Null, Value::number),
            Expr::String(s) => Value::Text(Cow::Borrowed(s)),
            Expr::Field(name) => self.field(name.as_str()),
            Expr::Unary { op, operand } => {
                let value = self.eval(operand)?;
                match op {
                    UnaryOp::Negate => value.as_number().map_or(Value::Null, |x| Value::number(-x)),
                    UnaryOp::Not => truth(&value, "NOT")?.map_or(Value::Null, |b| Value::Bool(!b)),
                }
            }
            Expr::Binary { op, left, right } => binary(*op, &self.eval(left)?, &self.eval(right)?),
            Expr::Logic { op, operands } => {
                let mut truths = Vec::with_capacity(operands.len());
                for operand in operands {
                    truths.push(truth(&self.eval(operand)?, op.keyword())?);
                }
                logic(*op, &truths)
            }
            Expr::Call { function, args } => self.call(*function, args)?,
            Expr::RelativeTime { time, modifier } => {
                relative_time(self.eval(time)?.as_number(), *modifier)
            }
        })
    }

    /// Every argument's value, in order.
    fn all(&self, args: &'f [Expr]) -> Result<Vec<Value<'f>>, SearchError> {
        args.iter().map(|a| self.eval(a)).collect()
    }

    fn call(&self, function: EvalFunction, args: &'f [Expr]) -> Result<Value<'f>, SearchError> {
        let arg = |i: usize| -> Result<Value<'f>, SearchError> {
            args.get(i).map_or(Ok(Value::Null), |a| self.eval(a))
        };
        let math = |f: fn(f64) -> f64| -> Result<Value<'f>, SearchError> {
            Ok(arg(0)?
                .as_number()
                .map_or(Value::Null, |x| Value::number(f(x))))
        };
        let text = |f: fn(&str) -> String| -> Result<Value<'f>, SearchError> {
            Ok(arg(0)?
                .as_text()
                .map_or(Value::Null, |s| Value::Text(Cow::Owned(f(&s)))))
        };
        Ok(match function {
            EvalFunction::Null => Value::Null,
            EvalFunction::Abs => math(f64::abs)?,
            EvalFunction::Floor => math(f64::floor)?,
            EvalFunction::Ceiling => math(f64::ceil)?,
            EvalFunction::Round => round(arg(0)?.as_number(), arg(1)?.as_number(), args.len()),
            EvalFunction::IsNull => Value::Bool(arg(0)? == Value::Null),
            EvalFunction::IsNotNull => Value::Bool(arg(0)? != Value::Null),
            EvalFunction::Coalesce => {
                for a in args {
                    let value = self.eval(a)?;
                    if value != Value::Null {
                        return Ok(value);
                    }
                }
                Value::Null
            }
            EvalFunction::If => match truth(&arg(0)?, "if's condition")? {
                Some(true) => arg(1)?,
                Some(false) | None => arg(2)?,
            },
            EvalFunction::Case => {
                for pair in args.chunks(2) {
                    if let [condition, value] = pair
                        && truth(&self.eval(condition)?, "case's condition")? == Some(true)
                    {
                        return self.eval(value);
                    }
                }
                Value::Null
            }
            EvalFunction::In => {
                let values = self.all(args)?;
                let Some((x, candidates)) = values.split_first() else {
                    return Ok(Value::Null);
                };
                if *x == Value::Null {
                    Value::Null
                } else {
                    Value::Bool(
                        candidates
                            .iter()
                            .any(|c| compare(x, c) == Some(Ordering::Equal)),
                    )
                }
            }
            EvalFunction::Like => match (arg(0)?.as_text(), arg(1)?.as_text()) {
                (Some(s), Some(p)) => Value::Bool(like(&s, &p)),
                _ => Value::Null,
            },
            EvalFunction::Len => arg(0)?
                .as_text()
                .map_or(Value::Null, |s| Value::Number(s.chars().count() as f64)),
            EvalFunction::Lower => text(str::to_lowercase)?,
            EvalFunction::Upper => text(str::to_uppercase)?,
            EvalFunction::ToString => match arg(0)? {
                Value::Null => Value::Null,
                value => Value::Text(Cow::Owned(value.as_text().unwrap_or_default().into_owned())),
            },
            EvalFunction::ToNumber => to_number(&arg(0)?, arg(1)?.as_number(), args.len()),
            EvalFunction::Min => extreme(self.all(args)?, Ordering::Less),
            EvalFunction::Max => extreme(self.all(args)?, Ordering::Greater),
        })
    }
}

/// `left op right`.
fn binary<'r>(op: BinaryOp, left: &Value<'r>, right: &Value<'r>) -> Value<'r> {
    let numbers = left.as_number().zip(right.as_number());
    let arithmetic = |f: fn(f64, f64) -> Option<f64>| {
        numbers
            .and_then(|(x, y)| f(x, y))
            .map_or(Value::Null, Value::number)
    };
    match op {
        BinaryOp::Add => match numbers {
            Some((x, y)) => Value::number(x + y),
            None => match (left, right) {
                (Value::Text(_) | Value::Field(_), Value::Text(_) | Value::Field(_)) => {
                    concat(left, right)
                }
                _ => Value::Null,
            },
        },
        BinaryOp::Subtract => arithmetic(|x, y| Some(x - y)),
        BinaryOp::Multiply => arithmetic(|x, y| Some(x * y)),
        BinaryOp::Divide => arithmetic(|x, y| (y != 0.0).then(|| x / y)),
        BinaryOp::Modulo => arithmetic(|x, y| (y != 0.0).then(|| x % y)),
        BinaryOp::Concat => concat(left, right),
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            compare(left, right).map_or(Value::Null, |o| {
                Value::Bool(match op {
                    BinaryOp::Eq => o == Ordering::Equal,
                    BinaryOp::Ne => o != Ordering::Equal,
                    BinaryOp::Lt => o == Ordering::Less,
                    BinaryOp::Le => o != Ordering::Greater,
                    BinaryOp::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                })
            })
        }
    }
}

/// The two values' strings joined; null when either is null.
fn concat<'r>(left: &Value<'r>, right: &Value<'r>) -> Value<'r> {
    match (left.as_text(), right.as_text()) {
        (Some(a), Some(b)) => Value::Text(Cow::Owned(format!("{a}{b}"))),
        _ => Value::Null,
    }
}

/// How two values compare: as numbers when both are numbers, else their strings byte-wise;
/// `None` when either is null.
pub(crate) fn compare(left: &Value<'_>, right: &Value<'_>) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (left.as_number(), right.as_number()) {
        return x.partial_cmp(&y);
    }
    let (a, b) = (left.as_text()?, right.as_text()?);
    Some(a.as_bytes().cmp(b.as_bytes()))
}

/// `AND`, `OR`, `XOR` over the operands' truths (`None`: null), with null as unknown.
fn logic(op: LogicOp, truths: &[Option<bool>]) -> Value<'static> {
    let unknown = truths.iter().any(Option::is_none);
    let value = match op {
        LogicOp::And if truths.contains(&Some(false)) => Some(false),
        LogicOp::Or if truths.contains(&Some(true)) => Some(true),
        _ if unknown => None,
        LogicOp::And => Some(true),
        LogicOp::Or => Some(false),
        LogicOp::Xor => Some(truths.iter().filter(|t| **t == Some(true)).count() % 2 == 1),
    };
    value.map_or(Value::Null, Value::Bool)
}

/// `round(x[, digits])`: half away from zero; digits from 0 (more than 15 leave `x` as it is).
fn round(x: Option<f64>, digits: Option<f64>, given: usize) -> Value<'static> {
    let Some(x) = x else { return Value::Null };
    let digits = if given < 2 { Some(0.0) } else { digits };
    match digits {
        Some(d) if d >= 0.0 && d.fract() == 0.0 => {
            if d > 15.0 {
                Value::number(x)
            } else {
                let scale = 10f64.powi(d as i32);
                Value::number((x * scale).round() / scale)
            }
        }
        _ => Value::Null,
    }
}

/// `tonumber(s[, base])`: a number as it is; a string in base 10 as numbers read, in another
/// base (2 to 36) as an optionally signed integer of its digits; else null.
fn to_number(value: &Value<'_>, base: Option<f64>, given: usize) -> Value<'static> {
    if let Value::Number(x) = value {
        return Value::Number(*x);
    }
    let Some(s) = (match value {
        Value::Text(s) => Some(s.as_ref()),
        Value::Field(s) => Some(*s),
        Value::Null | Value::Number(_) | Value::Bool(_) => None,
    }) else {
        return Value::Null;
    };
    let base = if given < 2 { Some(10.0) } else { base };
    match base {
        Some(10.0) => number(s).map_or(Value::Null, Value::Number),
        Some(b) if (2.0..=36.0).contains(&b) && b.fract() == 0.0 => {
            i64::from_str_radix(s.trim(), b as u32).map_or(Value::Null, |n| Value::number(n as f64))
        }
        _ => Value::Null,
    }
}

/// `min` or `max` (`wanted`: the side kept) of the values not null: numbers below strings,
/// numbers as numbers, strings byte-wise; null when all are null.
fn extreme<'r>(values: Vec<Value<'r>>, wanted: Ordering) -> Value<'r> {
    let rank = |v: &Value<'_>| match v.as_number() {
        Some(x) => (0, Some(x), None),
        None => (1, None, v.as_text().map(Cow::into_owned)),
    };
    let mut best: Option<Value<'r>> = None;
    for value in values {
        if value == Value::Null {
            continue;
        }
        let better = best.as_ref().is_none_or(|b| {
            let (a, b) = (rank(&value), rank(b));
            let order = a.0.cmp(&b.0).then_with(|| match (a.1, b.1) {
                (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
                _ => a.2.cmp(&b.2),
            });
            order == wanted
        });
        if better {
            best = Some(value);
        }
    }
    best.unwrap_or(Value::Null)
}

/// SQL's `LIKE`, case-sensitive: `%` any run of characters, `_` any one; linear in time per
/// pattern character (no backtracking explosion).
fn like(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('%') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '_' || c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '%')
}

/// `relative_time(t, modifier)`: the time `t` (epoch seconds) moved and snapped in UTC, in epoch
/// seconds with microseconds; null when `t` is no number or the result leaves the years 0000 to
/// 9999.
fn relative_time(t: Option<f64>, modifier: Relative) -> Value<'static> {
    let Some(micros) = t.and_then(micros_of) else {
        return Value::Null;
    };
    let nanos = i128::from(micros) * 1_000;
    let Ok(now) = OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
        return Value::Null;
    };
    match TimeModifier::Relative(modifier).resolve(now, UtcOffset::UTC) {
        Ok(at) => Value::number((at.unix_timestamp_nanos() / 1_000) as f64 / MICROS),
        Err(_) => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::frame::Col;

    fn frame() -> Frame<'static> {
        Frame {
            len: 2,
            times: Some(vec![1_795_867_200_123_456, 0]),
            cols: vec![
                Col::from_values("_time", [Some("t"), Some("t")]),
                Col::from_values("seats", [Some("3"), None]),
                Col::from_values("plan", [Some("pro"), Some("10")]),
            ],
            ..Frame::default()
        }
    }

    /// Checks each `(expression, row, expected value)`.
    fn check(cases: &[(&str, usize, Option<&str>)]) {
        for &(text, row, expected) in cases {
            assert_eq!(value(text, row).as_deref(), expected, "{text} row {row}");
        }
    }

    fn value(text: &str, row: usize) -> Option<String> {
        let expr: Expr = text.parse().expect("parses");
        let frame = frame();
        let row = Row { frame: &frame, row };
        match row.eval(&expr).expect("evaluates") {
            Value::Bool(b) => Some(format!("bool {b}")),
            other => other.as_text().map(Cow::into_owned),
        }
    }

    #[test]
    fn operators_follow_the_semantics() {
        let cases = [
            ("seats+1", 0, Some("4")),
            ("seats+1", 1, None),
            ("plan+\"x\"", 0, Some("prox")),
            ("plan+1", 0, None),
            ("seats . plan", 0, Some("3pro")),
            ("seats/0", 0, None),
            ("7%3", 0, Some("1")),
            ("10/4", 0, Some("2.5")),
            ("plan>9", 1, Some("bool true")),
            ("plan>\"9\"", 1, Some("bool false")),
            ("seats>1", 1, None),
            ("seats>1 OR plan=\"10\"", 1, Some("bool true")),
            ("seats>1 AND plan=\"10\"", 1, None),
            ("NOT isnull(seats)", 1, Some("bool false")),
            ("_time", 0, Some("1795867200.123456")),
            ("-seats", 0, Some("-3")),
        ];
        check(&cases);
    }

    #[test]
    fn functions_follow_the_semantics() {
        let cases = [
            ("if(seats>2, \"big\", \"small\")", 0, Some("big")),
            ("if(seats>2, \"big\", \"small\")", 1, Some("small")),
            ("case(plan=\"a\", 1, plan=\"pro\", 2)", 0, Some("2")),
            ("case(plan=\"a\", 1)", 0, None),
            ("coalesce(seats, plan)", 1, Some("10")),
            ("round(2.5)", 0, Some("3")),
            ("round(3.14159, 2)", 0, Some("3.14")),
            ("floor(-1.5)", 0, Some("-2")),
            ("ceiling(1.2)", 0, Some("2")),
            ("abs(-4)", 0, Some("4")),
            ("tonumber(\"ff\", 16)", 0, Some("255")),
            ("tonumber(\"x\")", 0, None),
            ("tostring(2.50)", 0, Some("2.5")),
            ("len(plan)", 0, Some("3")),
            ("upper(plan)", 0, Some("PRO")),
            ("max(2, 10, \"a\")", 0, Some("a")),
            ("min(2, 10, \"a\")", 0, Some("2")),
            ("in(plan, \"x\", \"pro\")", 0, Some("bool true")),
            ("like(plan, \"p_%\")", 0, Some("bool true")),
            ("like(plan, \"%x\")", 0, Some("bool false")),
            ("relative_time(_time, \"-1d@d\")", 0, Some("1795737600")),
            ("null()", 0, None),
        ];
        check(&cases);
    }

    #[test]
    fn like_is_linear_and_exact() {
        assert!(like("", "%"));
        assert!(!like("", "_"));
        assert!(like("abc", "a%c"));
        assert!(!like("abd", "a%c"));
        assert!(like(&"a".repeat(5_000), &"%a".repeat(50)));
    }

    #[test]
    fn boolean_operators_refuse_other_values() {
        let expr: Expr = "seats AND plan=\"x\"".parse().expect("parses");
        let frame = frame();
        let err = Row {
            frame: &frame,
            row: 0,
        }
        .eval(&expr)
        .expect_err("refused");
        assert!(
            err.to_string()
                .starts_with("AND takes true-or-false values")
        );
    }
}
