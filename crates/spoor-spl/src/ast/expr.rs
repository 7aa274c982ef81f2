//! Expressions: what `eval` assigns and `where` keeps rows by.
//!
//! The operators, from the loosest to the tightest binding (Splunk: Boolean expressions are
//! evaluated parentheses first, then `NOT`, `AND`, `OR`, `XOR`, in `eval` and `where`,
//! <https://help.splunk.com/en/splunk-enterprise/search/search-manual/9.3/expressions-and-predicates>;
//! the arithmetic ones bind as in C):
//!
//! | level | operators | |
//! |---|---|---|
//! | 1 | `XOR` | [`LogicOp::Xor`] |
//! | 2 | `OR` | [`LogicOp::Or`] |
//! | 3 | `AND` | [`LogicOp::And`] |
//! | 4 | `NOT` | [`UnaryOp::Not`] |
//! | 5 | `=` `==` `!=` `<` `<=` `>` `>=` (and `LIKE`, `IN` as functions) | comparisons, not chained |
//! | 6 | `+` `-` and `.` | left to right; `.` is not mixed with `+`, `-` without parentheses |
//! | 7 | `*` `/` `%` | left to right |
//! | 8 | `-` | [`UnaryOp::Negate`] |
//!
//! Splunk documents no order between `.` (concatenation) and `+`, `-`: the printer puts such a
//! mix in parentheses and the parser asks for them, so no text means two things. Likewise a
//! comparison of a comparison is always in parentheses.
//!
//! Splunk's operators and functions: the `eval` command
//! (<https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/eval>),
//! comparison and conditional functions
//! (<https://help.splunk.com/splunk-cloud-platform/spl-search-reference/9.3.2408/evaluation-functions/comparison-and-conditional-functions>),
//! mathematical functions
//! (<https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/evaluation-functions/mathematical-functions>),
//! statistical eval functions (`max`, `min`:
//! <https://help.splunk.com/en/splunk-enterprise/spl-search-reference/9.4/evaluation-functions/statistical-eval-functions>),
//! date and time functions
//! (<https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/evaluation-functions/date-and-time-functions>).
//!
//! ```
//! use spoor_spl::ast::{BinaryOp, EvalFunction, Expr, Field, FieldName};
//!
//! // plan = "pro" AND seats >= 3, and a field whose name needs quotes.
//! let plan = Expr::binary(BinaryOp::Eq, Expr::field(Field::new("plan")?), Expr::string("pro"));
//! let seats = Expr::binary(BinaryOp::Ge, Expr::field(Field::new("seats")?), Expr::number(3));
//! let named = Expr::call(EvalFunction::IsNotNull, [Expr::field(FieldName::new("my field")?)]);
//! let all = Expr::all([plan, seats, named]).expect("three conditions");
//! assert_eq!(all.to_string(), r#"plan="pro" AND seats>=3 AND isnotnull('my field')"#);
//! assert_eq!(all.to_string().parse::<Expr>()?, all);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::modifier::Relative;

use super::{FieldName, Number};

/// How deeply the parser lets an expression nest: parentheses, function calls and operators
/// (a chain `a + b + c` nests one level per operator; `a AND b AND c` is one level). Deeper
/// input is refused, so no input can exhaust the stack, and every parsed tree prints, compares
/// and drops within it.
pub const MAX_DEPTH: usize = 100;

/// An expression of `eval` and `where`.
///
/// The tree holds values: strings are printed quoted and escaped, field names quoted when they
/// are not plain names, numbers are validated literals. Printing is canonical and reads back
/// to the same tree, with three conditions the constructors keep: a [`Logic`](Self::Logic) has
/// at least two operands, a [`Call`](Self::Call) has as many arguments as its function takes
/// ([`EvalFunction::takes`]), and the tree is at most [`MAX_DEPTH`] deep.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    /// A number: `3`, `0.25`.
    Number(Number),
    /// A string, printed in double quotes: `"pro"`.
    String(String),
    /// A field's value: `seats`, `'my field'`. A field the row lacks is null.
    Field(FieldName),
    /// `-x` or `NOT x`.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// Its operand.
        operand: Box<Self>,
    },
    /// `a + b`, `a . b`, `a < b`…
    Binary {
        /// The operator.
        op: BinaryOp,
        /// The left operand.
        left: Box<Self>,
        /// The right operand.
        right: Box<Self>,
    },
    /// `a AND b AND …`, `a OR b OR …`, `a XOR b XOR …`: two operands or more.
    Logic {
        /// The operator.
        op: LogicOp,
        /// The operands, in order.
        operands: Vec<Self>,
    },
    /// A function call: `if(a, b, c)`, `coalesce(a, b)`, `in(x, "a", "b")`.
    Call {
        /// The function.
        function: EvalFunction,
        /// Its arguments.
        args: Vec<Self>,
    },
    /// `relative_time(t, "-7d@d")`: the time `t` (epoch seconds) moved and snapped by a
    /// relative time modifier, in the search's time zone. The modifier is checked when the
    /// query is built or parsed; evaluating it is the engine's work.
    RelativeTime {
        /// The time moved.
        time: Box<Self>,
        /// How it moves.
        modifier: Relative,
    },
}

/// A prefix operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-x`: the number negated.
    Negate,
    /// `NOT x`: the Boolean negated (null stays null).
    Not,
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `+`: the sum of two numbers, or two strings concatenated.
    Add,
    /// `-`.
    Subtract,
    /// `*`.
    Multiply,
    /// `/` (division by zero is null).
    Divide,
    /// `%`: the remainder.
    Modulo,
    /// `.`: the two values concatenated as strings (numbers in their string form).
    Concat,
    /// `=` (also written `==`): equal, numbers as numbers and strings byte for byte.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

impl BinaryOp {
    /// The operator as the printer writes it.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Add => "+",
            Self::Subtract => "-",
            Self::Multiply => "*",
            Self::Divide => "/",
            Self::Modulo => "%",
            Self::Concat => ".",
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }

    /// Whether the operator compares (`=`, `!=`, `<`, `<=`, `>`, `>=`).
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            Self::Eq | Self::Ne | Self::Lt | Self::Le | Self::Gt | Self::Ge
        )
    }

    /// The operator's binding level (see the module's table).
    pub(crate) fn level(self) -> u8 {
        match self {
            Self::Eq | Self::Ne | Self::Lt | Self::Le | Self::Gt | Self::Ge => 5,
            Self::Add | Self::Subtract | Self::Concat => 6,
            Self::Multiply | Self::Divide | Self::Modulo => 7,
        }
    }
}

/// A Boolean operator of two operands or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogicOp {
    /// `AND`.
    And,
    /// `OR`.
    Or,
    /// `XOR`: true when an odd number of operands are.
    Xor,
}

impl LogicOp {
    /// The operator as the printer writes it (upper case, as Splunk requires).
    pub fn keyword(self) -> &'static str {
        match self {
            Self::And => "AND",
            Self::Or => "OR",
            Self::Xor => "XOR",
        }
    }

    /// The operator's binding level (see the module's table).
    pub(crate) fn level(self) -> u8 {
        match self {
            Self::Xor => 1,
            Self::Or => 2,
            Self::And => 3,
        }
    }
}

/// A function of `eval` and `where` (besides `relative_time`, [`Expr::RelativeTime`]).
///
/// Null is a value like any other here: a function of a null argument is null unless it says
/// otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EvalFunction {
    /// `abs(x)`: the absolute value.
    Abs,
    /// `case(c1, v1, c2, v2, …)`: the value after the first true condition; null when none is.
    Case,
    /// `ceiling(x)` (also `ceil(x)`): the smallest integer at or above `x`.
    Ceiling,
    /// `coalesce(a, b, …)`: the first argument that is not null.
    Coalesce,
    /// `floor(x)`: the largest integer at or below `x`.
    Floor,
    /// `if(c, a, b)`: `a` when `c` is true, else `b`.
    If,
    /// `in(x, v1, v2, …)`: whether `x` equals one of the values (also written `x IN (v1, …)`).
    In,
    /// `isnotnull(x)`: whether `x` has a value.
    IsNotNull,
    /// `isnull(x)`: whether `x` is null.
    IsNull,
    /// `len(s)`: the number of characters.
    Len,
    /// `like(s, pattern)`: SQL's `LIKE`: `%` any run of characters, `_` any one (also written
    /// `s LIKE pattern`).
    Like,
    /// `lower(s)`.
    Lower,
    /// `max(a, b, …)`: the largest argument; numbers compare as numbers, strings
    /// lexicographically, and strings are greater than numbers.
    Max,
    /// `min(a, b, …)`: the smallest argument, in `max`'s order.
    Min,
    /// `null()`: no value.
    Null,
    /// `round(x[, digits])`: `x` rounded to `digits` decimals (0 when not given).
    Round,
    /// `tonumber(s[, base])`: the string read as a number in `base` (10 when not given, 2 to
    /// 36); null when it is not one.
    ToNumber,
    /// `tostring(x)`: the value as a string.
    ToString,
    /// `upper(s)`.
    Upper,
}

impl EvalFunction {
    /// Every function, in the order the error messages list them.
    pub const ALL: [Self; 19] = [
        Self::Abs,
        Self::Case,
        Self::Ceiling,
        Self::Coalesce,
        Self::Floor,
        Self::If,
        Self::In,
        Self::IsNotNull,
        Self::IsNull,
        Self::Len,
        Self::Like,
        Self::Lower,
        Self::Max,
        Self::Min,
        Self::Null,
        Self::Round,
        Self::ToNumber,
        Self::ToString,
        Self::Upper,
    ];

    /// The name the printer uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Abs => "abs",
            Self::Case => "case",
            Self::Ceiling => "ceiling",
            Self::Coalesce => "coalesce",
            Self::Floor => "floor",
            Self::If => "if",
            Self::In => "in",
            Self::IsNotNull => "isnotnull",
            Self::IsNull => "isnull",
            Self::Len => "len",
            Self::Like => "like",
            Self::Lower => "lower",
            Self::Max => "max",
            Self::Min => "min",
            Self::Null => "null",
            Self::Round => "round",
            Self::ToNumber => "tonumber",
            Self::ToString => "tostring",
            Self::Upper => "upper",
        }
    }

    /// Reads a function name in any case, with the alias `ceil`.
    ///
    /// ```
    /// use spoor_spl::ast::EvalFunction;
    ///
    /// assert_eq!(EvalFunction::from_name("CEIL"), Some(EvalFunction::Ceiling));
    /// assert_eq!(EvalFunction::from_name("IsNull"), Some(EvalFunction::IsNull));
    /// assert_eq!(EvalFunction::from_name("md5"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("ceil") {
            return Some(Self::Ceiling);
        }
        Self::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// Whether the function takes `count` arguments.
    ///
    /// ```
    /// use spoor_spl::ast::EvalFunction;
    ///
    /// assert!(EvalFunction::If.takes(3));
    /// assert!(!EvalFunction::Case.takes(3));
    /// assert!(EvalFunction::Round.takes(1) && EvalFunction::Round.takes(2));
    /// ```
    pub fn takes(self, count: usize) -> bool {
        match self.arity() {
            Arity::Exactly(n) => count == n,
            Arity::OneOrTwo => (1..=2).contains(&count),
            Arity::AtLeast(n) => count >= n,
            Arity::Pairs => count >= 2 && count.is_multiple_of(2),
        }
    }

    /// How many arguments the function takes, in words, for error messages.
    pub fn arguments(self) -> &'static str {
        match self.arity() {
            Arity::Exactly(0) => "no argument",
            Arity::Exactly(1) => "1 argument",
            Arity::Exactly(2) => "2 arguments",
            Arity::Exactly(_) => "3 arguments",
            Arity::OneOrTwo => "1 or 2 arguments",
            Arity::AtLeast(1) => "1 argument or more",
            Arity::AtLeast(_) => "2 arguments or more",
            Arity::Pairs => "pairs of a condition and a value, at least one pair",
        }
    }

    /// The one statement of how many arguments each function takes.
    fn arity(self) -> Arity {
        match self {
            Self::Null => Arity::Exactly(0),
            Self::Abs
            | Self::Ceiling
            | Self::Floor
            | Self::IsNotNull
            | Self::IsNull
            | Self::Len
            | Self::Lower
            | Self::ToString
            | Self::Upper => Arity::Exactly(1),
            Self::Like => Arity::Exactly(2),
            Self::If => Arity::Exactly(3),
            Self::Round | Self::ToNumber => Arity::OneOrTwo,
            Self::Coalesce | Self::Max | Self::Min => Arity::AtLeast(1),
            Self::In => Arity::AtLeast(2),
            Self::Case => Arity::Pairs,
        }
    }
}

/// How many arguments a function takes (the exact counts are 0 to 3, the minimums 1 or 2).
#[derive(Debug, Clone, Copy)]
enum Arity {
    Exactly(usize),
    OneOrTwo,
    AtLeast(usize),
    Pairs,
}

impl Expr {
    /// A field's value.
    pub fn field(name: impl Into<FieldName>) -> Self {
        Self::Field(name.into())
    }

    /// A string.
    pub fn string(value: impl Into<String>) -> Self {
        Self::String(value.into())
    }

    /// A number.
    pub fn number(value: impl Into<Number>) -> Self {
        Self::Number(value.into())
    }

    /// `op operand`.
    pub fn unary(op: UnaryOp, operand: Self) -> Self {
        Self::Unary {
            op,
            operand: Box::new(operand),
        }
    }

    /// `left op right`.
    pub fn binary(op: BinaryOp, left: Self, right: Self) -> Self {
        Self::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
        }
    }

    /// `function(args…)`; the count of arguments is the caller's to get right
    /// ([`EvalFunction::takes`]).
    pub fn call(function: EvalFunction, args: impl IntoIterator<Item = Self>) -> Self {
        Self::Call {
            function,
            args: args.into_iter().collect(),
        }
    }

    /// `relative_time(time, "<modifier>")`.
    pub fn relative_time(time: Self, modifier: Relative) -> Self {
        Self::RelativeTime {
            time: Box::new(time),
            modifier,
        }
    }

    /// The conjunction of `conditions`: `None` for none, the condition itself for one, else
    /// `c1 AND c2 AND …`.
    pub fn all(conditions: impl IntoIterator<Item = Self>) -> Option<Self> {
        Self::logic(LogicOp::And, conditions)
    }

    /// The disjunction of `conditions`: `None` for none, the condition itself for one, else
    /// `c1 OR c2 OR …`.
    pub fn any(conditions: impl IntoIterator<Item = Self>) -> Option<Self> {
        Self::logic(LogicOp::Or, conditions)
    }

    fn logic(op: LogicOp, operands: impl IntoIterator<Item = Self>) -> Option<Self> {
        let mut operands: Vec<Self> = operands.into_iter().collect();
        match operands.len() {
            0 => None,
            1 => operands.pop(),
            _ => Some(Self::Logic { op, operands }),
        }
    }

    /// The expression's binding level (see the module's table); 9 for literals, fields and
    /// calls.
    pub(crate) fn level(&self) -> u8 {
        match self {
            Self::Logic { op, .. } => op.level(),
            Self::Unary {
                op: UnaryOp::Not, ..
            } => 4,
            Self::Binary { op, .. } => op.level(),
            Self::Unary {
                op: UnaryOp::Negate,
                ..
            } => 8,
            Self::Number(_)
            | Self::String(_)
            | Self::Field(_)
            | Self::Call { .. }
            | Self::RelativeTime { .. } => 9,
        }
    }

    /// How many levels the tree has: 1 for a literal or a field.
    pub fn depth(&self) -> usize {
        1 + match self {
            Self::Number(_) | Self::String(_) | Self::Field(_) => 0,
            Self::Unary { operand, .. } => operand.depth(),
            Self::Binary { left, right, .. } => left.depth().max(right.depth()),
            Self::RelativeTime { time, .. } => time.depth(),
            Self::Logic { operands: args, .. } | Self::Call { args, .. } => {
                args.iter().map(Self::depth).max().unwrap_or(0)
            }
        }
    }
}
