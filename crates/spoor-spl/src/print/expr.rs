//! Printing expressions with the fewest parentheses that keep the tree's shape.

use std::fmt::{self, Display, Formatter, Write as _};

use super::write_quoted;
use crate::ast::{BinaryOp, Expr, UnaryOp};

/// A level above every expression's: forces parentheses.
const ALWAYS: u8 = 10;

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_expr(f, self, 0)
    }
}

/// Writes `expr`, in parentheses when it binds more loosely than `level`.
fn write_expr(f: &mut Formatter<'_>, expr: &Expr, level: u8) -> fmt::Result {
    if expr.level() < level {
        f.write_char('(')?;
        write_bare(f, expr)?;
        f.write_char(')')
    } else {
        write_bare(f, expr)
    }
}

/// Whether `left`, the left operand of `op`, mixes `.` with `+` or `-`: Splunk documents no
/// order between them, so such a mix is always in parentheses.
fn mixes(op: BinaryOp, left: &Expr) -> bool {
    let additive = |op: BinaryOp| matches!(op, BinaryOp::Add | BinaryOp::Subtract);
    match left {
        Expr::Binary { op: inner, .. } => {
            (additive(op) && *inner == BinaryOp::Concat)
                || (op == BinaryOp::Concat && additive(*inner))
        }
        _ => false,
    }
}

fn write_bare(f: &mut Formatter<'_>, expr: &Expr) -> fmt::Result {
    match expr {
        Expr::Number(n) => n.fmt(f),
        Expr::String(s) => write_quoted(f, s),
        Expr::Field(name) => name.fmt(f),
        Expr::Unary {
            op: UnaryOp::Negate,
            operand,
        } => {
            // Only a literal, a field or a call goes bare after `-`: `-5`, `-(-5)`, `-(a + b)`.
            f.write_char('-')?;
            write_expr(f, operand, 9)
        }
        Expr::Unary {
            op: UnaryOp::Not,
            operand,
        } => {
            f.write_str("NOT ")?;
            write_expr(f, operand, 4)
        }
        Expr::Binary { op, left, right } => {
            let level = op.level();
            if op.is_comparison() {
                // Comparisons do not chain: a comparison operand is in parentheses.
                write_expr(f, left, level + 1)?;
                f.write_str(op.symbol())?;
                write_expr(f, right, level + 1)
            } else {
                // Left to right: a right operand of the same level is in parentheses.
                let left_level = if mixes(*op, left) { ALWAYS } else { level };
                write_expr(f, left, left_level)?;
                write!(f, " {} ", op.symbol())?;
                write_expr(f, right, level + 1)
            }
        }
        Expr::Logic { op, operands } => {
            for (i, operand) in operands.iter().enumerate() {
                if i > 0 {
                    write!(f, " {} ", op.keyword())?;
                }
                // An operand of the same operator is in parentheses, so the tree keeps its
                // shape: `(a AND b) AND c` is not `a AND b AND c`.
                write_expr(f, operand, op.level() + 1)?;
            }
            Ok(())
        }
        Expr::Call { function, args } => {
            write!(f, "{}(", function.name())?;
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write_expr(f, arg, 0)?;
            }
            f.write_char(')')
        }
        Expr::RelativeTime { time, modifier } => {
            f.write_str("relative_time(")?;
            write_expr(f, time, 0)?;
            f.write_str(", ")?;
            write_quoted(f, &modifier.to_string())?;
            f.write_char(')')
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::ast::{EvalFunction, Field, FieldName, LogicOp, Number};

    use super::*;

    fn field(name: &str) -> Expr {
        Expr::field(Field::known(name))
    }

    fn bin(op: BinaryOp, left: Expr, right: Expr) -> Expr {
        Expr::binary(op, left, right)
    }

    #[test]
    fn parentheses_only_where_the_shape_needs_them() {
        let (a, b, c) = (|| field("a"), || field("b"), || field("c"));
        let cases = [
            (
                bin(BinaryOp::Add, bin(BinaryOp::Add, a(), b()), c()),
                "a + b + c",
            ),
            (
                bin(BinaryOp::Add, a(), bin(BinaryOp::Add, b(), c())),
                "a + (b + c)",
            ),
            (
                bin(BinaryOp::Multiply, bin(BinaryOp::Add, a(), b()), c()),
                "(a + b) * c",
            ),
            (
                bin(BinaryOp::Add, a(), bin(BinaryOp::Multiply, b(), c())),
                "a + b * c",
            ),
            (
                bin(BinaryOp::Concat, bin(BinaryOp::Add, a(), b()), c()),
                "(a + b) . c",
            ),
            (
                bin(BinaryOp::Subtract, bin(BinaryOp::Concat, a(), b()), c()),
                "(a . b) - c",
            ),
            (
                bin(BinaryOp::Concat, bin(BinaryOp::Concat, a(), b()), c()),
                "a . b . c",
            ),
            (
                bin(BinaryOp::Eq, bin(BinaryOp::Lt, a(), b()), c()),
                "(a<b)=c",
            ),
            (
                Expr::unary(
                    UnaryOp::Negate,
                    Expr::unary(UnaryOp::Negate, Expr::number(5)),
                ),
                "-(-5)",
            ),
            (
                bin(
                    BinaryOp::Subtract,
                    a(),
                    Expr::unary(UnaryOp::Negate, Expr::number(5)),
                ),
                "a - -5",
            ),
            (
                Expr::unary(UnaryOp::Negate, bin(BinaryOp::Multiply, a(), b())),
                "-(a * b)",
            ),
            (
                Expr::unary(UnaryOp::Not, bin(BinaryOp::Eq, a(), Expr::string("x"))),
                r#"NOT a="x""#,
            ),
            (
                bin(BinaryOp::Eq, Expr::unary(UnaryOp::Not, a()), b()),
                "(NOT a)=b",
            ),
            (
                Expr::Logic {
                    op: LogicOp::Or,
                    operands: vec![
                        Expr::all([a(), b()]).unwrap(),
                        Expr::unary(UnaryOp::Not, c()),
                    ],
                },
                "a AND b OR NOT c",
            ),
            (
                Expr::all([Expr::any([a(), b()]).unwrap(), c()]).unwrap(),
                "(a OR b) AND c",
            ),
            (
                Expr::all([Expr::all([a(), b()]).unwrap(), c()]).unwrap(),
                "(a AND b) AND c",
            ),
            (
                Expr::Logic {
                    op: LogicOp::Xor,
                    operands: vec![Expr::any([a(), b()]).unwrap(), c()],
                },
                "a OR b XOR c",
            ),
            (
                Expr::unary(UnaryOp::Not, Expr::all([a(), b()]).unwrap()),
                "NOT (a AND b)",
            ),
        ];
        for (expr, text) in cases {
            assert_eq!(expr.to_string(), text);
        }
    }

    #[test]
    fn literals_names_and_calls() {
        let cases = [
            (Expr::string(r#"say "hi" \o/"#), r#""say \"hi\" \\o/""#),
            (Expr::number(Number::new("0.25").unwrap()), "0.25"),
            (
                Expr::field(FieldName::new("my field").unwrap()),
                "'my field'",
            ),
            (
                Expr::field(FieldName::new("5minutes").unwrap()),
                "'5minutes'",
            ),
            (Expr::field(FieldName::new("TRUE").unwrap()), "'TRUE'"),
            (Expr::field(FieldName::new("in").unwrap()), "'in'"),
            (Expr::call(EvalFunction::Null, []), "null()"),
            (
                Expr::call(
                    EvalFunction::Case,
                    [
                        bin(BinaryOp::Eq, field("event"), Expr::string("a")),
                        Expr::number(1),
                        bin(BinaryOp::Eq, field("event"), Expr::string("b")),
                        Expr::number(2),
                    ],
                ),
                r#"case(event="a", 1, event="b", 2)"#,
            ),
            (
                Expr::call(
                    EvalFunction::If,
                    [
                        Expr::all([field("a"), field("b")]).unwrap(),
                        Expr::number(1),
                        Expr::number(0),
                    ],
                ),
                "if(a AND b, 1, 0)",
            ),
            (
                Expr::relative_time(field("_time"), "-7d@d".parse().unwrap()),
                r#"relative_time(_time, "-7d@d")"#,
            ),
        ];
        for (expr, text) in cases {
            assert_eq!(expr.to_string(), text);
        }
    }
}
