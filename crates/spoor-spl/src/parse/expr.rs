//! The expressions of `eval` and `where`: their own lexer (`a-b` is a subtraction here, a word
//! elsewhere) and a recursive-descent parser bounded by [`MAX_DEPTH`].

use crate::ast::{
    BinaryOp, Eval, EvalFunction, Expr, Field, FieldName, LogicOp, MAX_DEPTH, Number, UnaryOp,
    VALUE_WORDS,
};
use crate::modifier::TimeModifier;

use super::{ParseError, excerpt, quoted, to_field};

/// The functions of expressions, as errors list them.
pub(super) const FUNCTION_NAMES: &str = "abs, case, ceiling (ceil), coalesce, floor, if, in, \
     isnotnull, isnull, len, like, lower, max, min, null, relative_time, round, tonumber, \
     tostring, upper";

/// What may start an operand.
const OPERAND: &str = "an operand: a number, a \"string\", a field or a function call";

/// Words an expression reads as operators, in any case.
const KEYWORDS: [&str; 6] = ["AND", "OR", "XOR", "NOT", "LIKE", "IN"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok<'a> {
    /// `3`, `0.25`.
    Number(&'a str),
    /// A `"…"` string, unescaped.
    Str(String),
    /// A `'…'` field name.
    Quoted(&'a str),
    /// A name or a keyword: `[A-Za-z_][A-Za-z0-9_]*`.
    Word(&'a str),
    /// An operator or punctuation.
    Sym(Sym),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sym {
    Op(BinaryOp),
    /// `==`, read as `=`.
    EqEq,
    LParen,
    RParen,
    Comma,
}

impl Sym {
    fn text(self) -> &'static str {
        match self {
            Self::Op(op) => op.symbol(),
            Self::EqEq => "==",
            Self::LParen => "(",
            Self::RParen => ")",
            Self::Comma => ",",
        }
    }
}

/// Lexes `text`, which starts at byte `base` of the query.
fn lex(text: &str, base: usize) -> Result<Vec<(Tok<'_>, usize)>, ParseError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let offset = base + i;
        let next_is = |c: u8| bytes.get(i + 1) == Some(&c);
        let tok = match c {
            c if c.is_whitespace() => continue,
            '"' => Tok::Str(quoted(&mut chars, offset)?),
            '\'' => {
                let end = chars
                    .by_ref()
                    .find(|&(_, c)| c == '\'')
                    .map(|(end, _)| end)
                    .ok_or(ParseError::UnterminatedString { offset })?;
                Tok::Quoted(&text[i + 1..end])
            }
            '0'..='9' => {
                let mut end = i + 1;
                while bytes.get(end).is_some_and(u8::is_ascii_digit) {
                    end += 1;
                }
                // A fraction only when a digit follows the dot: `1.5`, but `a.1` is `a . 1`.
                if bytes.get(end) == Some(&b'.')
                    && bytes.get(end + 1).is_some_and(u8::is_ascii_digit)
                {
                    end += 2;
                    while bytes.get(end).is_some_and(u8::is_ascii_digit) {
                        end += 1;
                    }
                }
                while chars.next_if(|&(j, _)| j < end).is_some() {}
                Tok::Number(&text[i..end])
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut end = i + 1;
                while bytes
                    .get(end)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
                {
                    end += 1;
                }
                while chars.next_if(|&(j, _)| j < end).is_some() {}
                Tok::Word(&text[i..end])
            }
            '=' if next_is(b'=') => {
                chars.next();
                Tok::Sym(Sym::EqEq)
            }
            '!' if next_is(b'=') => {
                chars.next();
                Tok::Sym(Sym::Op(BinaryOp::Ne))
            }
            '<' if next_is(b'=') => {
                chars.next();
                Tok::Sym(Sym::Op(BinaryOp::Le))
            }
            '>' if next_is(b'=') => {
                chars.next();
                Tok::Sym(Sym::Op(BinaryOp::Ge))
            }
            '=' => Tok::Sym(Sym::Op(BinaryOp::Eq)),
            '<' => Tok::Sym(Sym::Op(BinaryOp::Lt)),
            '>' => Tok::Sym(Sym::Op(BinaryOp::Gt)),
            '+' => Tok::Sym(Sym::Op(BinaryOp::Add)),
            '-' => Tok::Sym(Sym::Op(BinaryOp::Subtract)),
            '*' => Tok::Sym(Sym::Op(BinaryOp::Multiply)),
            '/' => Tok::Sym(Sym::Op(BinaryOp::Divide)),
            '%' => Tok::Sym(Sym::Op(BinaryOp::Modulo)),
            '.' => Tok::Sym(Sym::Op(BinaryOp::Concat)),
            '(' => Tok::Sym(Sym::LParen),
            ')' => Tok::Sym(Sym::RParen),
            ',' => Tok::Sym(Sym::Comma),
            c => {
                return Err(ParseError::Expected {
                    expected: "an expression: numbers, \"strings\", fields, 'quoted fields', \
                               functions, operators and parentheses",
                    found: format!("`{c}`"),
                    offset,
                });
            }
        };
        tokens.push((tok, offset));
    }
    Ok(tokens)
}

/// The condition of a `where`: `text` starts at byte `base` of the query, and its end is
/// described as `end` in errors (`|` or the end of input).
pub(super) fn condition(text: &str, base: usize, end: &'static str) -> Result<Expr, ParseError> {
    let mut parser = Parser::new(text, base, end)?;
    if parser.at_end() {
        return Err(parser.error("an expression"));
    }
    let condition = parser.expr(0)?.expr;
    parser.finish("an operator, `|` or end of input")?;
    Ok(condition)
}

/// The assignments of an `eval`, as [`condition`] reads a `where`.
pub(super) fn eval(text: &str, base: usize, end: &'static str) -> Result<Eval, ParseError> {
    let mut parser = Parser::new(text, base, end)?;
    let mut assignments = Vec::new();
    loop {
        let field = parser.target()?;
        if !parser.eat(Sym::Op(BinaryOp::Eq)) {
            return Err(parser.error("`=` (an eval assignment is `field=expression`)"));
        }
        let value = parser.expr(0)?.expr;
        assignments.push((field, value));
        if parser.at_end() {
            return Ok(Eval::new(assignments));
        }
        if !parser.eat(Sym::Comma) {
            return Err(parser.error("an operator, `,`, `|` or end of input"));
        }
    }
}

/// An expression and how deep its tree is.
struct Node {
    expr: Expr,
    depth: usize,
}

struct Parser<'a> {
    tokens: Vec<(Tok<'a>, usize)>,
    pos: usize,
    /// The offset of the end.
    end: usize,
    /// How the end is described in errors.
    end_found: &'static str,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, base: usize, end_found: &'static str) -> Result<Self, ParseError> {
        Ok(Self {
            tokens: lex(text, base)?,
            pos: 0,
            end: base + text.len(),
            end_found,
        })
    }

    fn peek(&self) -> Option<&Tok<'a>> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Tok<'a>> {
        self.tokens.get(self.pos + ahead).map(|(t, _)| t)
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |&(_, o)| o)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    fn describe(&self) -> String {
        match self.peek() {
            None => self.end_found.to_owned(),
            Some(Tok::Number(n) | Tok::Word(n)) => excerpt(n),
            Some(Tok::Str(_)) => "a quoted string".to_owned(),
            Some(Tok::Quoted(n)) => excerpt(&format!("'{n}'")),
            Some(Tok::Sym(sym)) => format!("`{}`", sym.text()),
        }
    }

    fn error(&self, expected: &'static str) -> ParseError {
        ParseError::Expected {
            expected,
            found: self.describe(),
            offset: self.offset(),
        }
    }

    fn finish(&self, expected: &'static str) -> Result<(), ParseError> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    fn eat(&mut self, sym: Sym) -> bool {
        let at = self.peek() == Some(&Tok::Sym(sym));
        if at {
            self.pos += 1;
        }
        at
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let at = self.at_keyword(keyword);
        if at {
            self.pos += 1;
        }
        at
    }

    /// One level deeper than `nest`, or the error past [`MAX_DEPTH`].
    fn deeper(&self, nest: usize) -> Result<usize, ParseError> {
        if nest >= MAX_DEPTH {
            return Err(ParseError::TooDeep {
                offset: self.offset(),
            });
        }
        Ok(nest + 1)
    }

    /// A node over children `depth` deep, or the error past [`MAX_DEPTH`].
    fn node(&self, expr: Expr, depth: usize, offset: usize) -> Result<Node, ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError::TooDeep { offset });
        }
        Ok(Node { expr, depth })
    }

    /// An `eval` assignment's field: a name, `'name'` or `"name"`, a valid [`Field`].
    fn target(&mut self) -> Result<Field, ParseError> {
        let offset = self.offset();
        let name = match self.peek() {
            Some(Tok::Word(w) | Tok::Quoted(w)) => (*w).to_owned(),
            Some(Tok::Str(s)) => s.clone(),
            _ => return Err(self.error("a field to assign (`eval x=1`)")),
        };
        self.pos += 1;
        to_field(&name, offset)
    }

    /// An expression, `nest` levels into the parentheses, calls and prefix operators around it.
    fn expr(&mut self, nest: usize) -> Result<Node, ParseError> {
        self.logic(LogicOp::Xor, nest)
    }

    /// The operands of `op` (or of a tighter level) joined by it.
    fn logic(&mut self, op: LogicOp, nest: usize) -> Result<Node, ParseError> {
        let operand = |parser: &mut Self| match op {
            LogicOp::Xor => parser.logic(LogicOp::Or, nest),
            LogicOp::Or => parser.logic(LogicOp::And, nest),
            LogicOp::And => parser.not(nest),
        };
        let first = operand(self)?;
        if !self.at_keyword(op.keyword()) {
            return Ok(first);
        }
        let offset = self.offset();
        let mut depth = first.depth;
        let mut operands = vec![first.expr];
        while self.eat_keyword(op.keyword()) {
            let next = operand(self)?;
            depth = depth.max(next.depth);
            operands.push(next.expr);
        }
        self.node(Expr::Logic { op, operands }, depth + 1, offset)
    }

    fn not(&mut self, nest: usize) -> Result<Node, ParseError> {
        let offset = self.offset();
        if !self.eat_keyword("NOT") {
            return self.comparison(nest);
        }
        let operand = self.not(self.deeper(nest)?)?;
        self.node(
            Expr::unary(UnaryOp::Not, operand.expr),
            operand.depth + 1,
            offset,
        )
    }

    /// The comparison operator at the cursor, `==` read as `=`.
    fn comparison_op(&self) -> Option<BinaryOp> {
        match self.peek() {
            Some(Tok::Sym(Sym::Op(op))) if op.is_comparison() => Some(*op),
            Some(Tok::Sym(Sym::EqEq)) => Some(BinaryOp::Eq),
            _ => None,
        }
    }

    fn comparison(&mut self, nest: usize) -> Result<Node, ParseError> {
        let left = self.additive(nest)?;
        let offset = self.offset();
        let node = if let Some(op) = self.comparison_op() {
            self.pos += 1;
            let right = self.additive(nest)?;
            let depth = left.depth.max(right.depth) + 1;
            self.node(Expr::binary(op, left.expr, right.expr), depth, offset)?
        } else if self.eat_keyword("LIKE") {
            let right = self.additive(nest)?;
            let depth = left.depth.max(right.depth) + 1;
            let like = Expr::call(EvalFunction::Like, [left.expr, right.expr]);
            self.node(like, depth, offset)?
        } else if self.eat_keyword("IN") {
            if !self.eat(Sym::LParen) {
                return Err(self.error("`(` and the values (`x IN (\"a\", \"b\")`)"));
            }
            let values = self.arguments(self.deeper(nest)?)?;
            if values.is_empty() {
                return Err(ParseError::Arguments {
                    function: "in",
                    takes: EvalFunction::In.arguments(),
                    found: 1,
                    offset,
                });
            }
            let depth = values.iter().map(|v| v.depth).max().unwrap_or(0);
            let args = std::iter::once(left.expr).chain(values.into_iter().map(|v| v.expr));
            self.node(
                Expr::call(EvalFunction::In, args),
                depth.max(left.depth) + 1,
                offset,
            )?
        } else {
            return Ok(left);
        };
        if self.comparison_op().is_some() || self.at_keyword("LIKE") || self.at_keyword("IN") {
            return Err(self.error(
                "an operator other than a comparison (a comparison compared again needs \
                 parentheses)",
            ));
        }
        Ok(node)
    }

    fn additive(&mut self, nest: usize) -> Result<Node, ParseError> {
        let mut left = self.multiplicative(nest)?;
        // Whether the chain adds and subtracts (`Some(true)`) or concatenates (`Some(false)`).
        let mut family = None;
        while let Some(Tok::Sym(Sym::Op(
            op @ (BinaryOp::Add | BinaryOp::Subtract | BinaryOp::Concat),
        ))) = self.peek()
        {
            let op = *op;
            let additive = op != BinaryOp::Concat;
            if family.is_some_and(|f| f != additive) {
                return Err(self.error(
                    "parentheses around `.` or around `+` and `-` (Splunk documents no order \
                     between them)",
                ));
            }
            family = Some(additive);
            let offset = self.offset();
            self.pos += 1;
            let right = self.multiplicative(nest)?;
            let depth = left.depth.max(right.depth) + 1;
            left = self.node(Expr::binary(op, left.expr, right.expr), depth, offset)?;
        }
        Ok(left)
    }

    fn multiplicative(&mut self, nest: usize) -> Result<Node, ParseError> {
        let mut left = self.negation(nest)?;
        while let Some(Tok::Sym(Sym::Op(
            op @ (BinaryOp::Multiply | BinaryOp::Divide | BinaryOp::Modulo),
        ))) = self.peek()
        {
            let op = *op;
            let offset = self.offset();
            self.pos += 1;
            let right = self.negation(nest)?;
            let depth = left.depth.max(right.depth) + 1;
            left = self.node(Expr::binary(op, left.expr, right.expr), depth, offset)?;
        }
        Ok(left)
    }

    fn negation(&mut self, nest: usize) -> Result<Node, ParseError> {
        let offset = self.offset();
        if !self.eat(Sym::Op(BinaryOp::Subtract)) {
            return self.operand(nest);
        }
        let operand = self.negation(self.deeper(nest)?)?;
        self.node(
            Expr::unary(UnaryOp::Negate, operand.expr),
            operand.depth + 1,
            offset,
        )
    }

    fn operand(&mut self, nest: usize) -> Result<Node, ParseError> {
        let offset = self.offset();
        let leaf = |expr| Ok(Node { expr, depth: 1 });
        let Some(tok) = self.peek().cloned() else {
            return Err(self.error(OPERAND));
        };
        match tok {
            Tok::Number(n) => {
                self.pos += 1;
                let n = Number::new(n)
                    .map_err(|source| ParseError::InvalidLiteral { offset, source })?;
                leaf(Expr::Number(n))
            }
            Tok::Str(s) => {
                self.pos += 1;
                leaf(Expr::String(s))
            }
            Tok::Quoted(name) => {
                self.pos += 1;
                let name = FieldName::new(name)
                    .map_err(|source| ParseError::InvalidField { offset, source })?;
                leaf(Expr::Field(name))
            }
            Tok::Word(word) if self.peek_at(1) == Some(&Tok::Sym(Sym::LParen)) => {
                self.call(word, nest)
            }
            Tok::Word(word) if KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word)) => {
                Err(self.error(OPERAND))
            }
            Tok::Word(word) if VALUE_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word)) => {
                Err(self.error(
                    "a field in single quotes (`'true'`) or a call (`null()`): a bare `true`, \
                     `false` or `null` could be read as a value",
                ))
            }
            Tok::Word(word) => {
                self.pos += 1;
                let name = FieldName::new(word)
                    .map_err(|source| ParseError::InvalidField { offset, source })?;
                leaf(Expr::Field(name))
            }
            Tok::Sym(Sym::LParen) => {
                let nest = self.deeper(nest)?;
                self.pos += 1;
                let inner = self.expr(nest)?;
                if !self.eat(Sym::RParen) {
                    return Err(self.error("an operator or `)`"));
                }
                Ok(inner)
            }
            Tok::Sym(_) => Err(self.error(OPERAND)),
        }
    }

    /// A call of the function named `name` (the cursor on the name, `(` next).
    fn call(&mut self, name: &str, nest: usize) -> Result<Node, ParseError> {
        let offset = self.offset();
        let is_relative_time = name.eq_ignore_ascii_case("relative_time");
        let function = EvalFunction::from_name(name);
        if function.is_none() && !is_relative_time {
            return Err(ParseError::UnknownFunction {
                name: name.to_owned(),
                offset,
            });
        }
        self.pos += 2;
        let args = self.arguments(self.deeper(nest)?)?;
        let depth = args.iter().map(|a| a.depth).max().unwrap_or(0) + 1;
        let Some(function) = function else {
            return self.relative_time(args, offset, depth);
        };
        if !function.takes(args.len()) {
            return Err(ParseError::Arguments {
                function: function.name(),
                takes: function.arguments(),
                found: args.len(),
                offset,
            });
        }
        let call = Expr::call(function, args.into_iter().map(|a| a.expr));
        self.node(call, depth, offset)
    }

    /// `relative_time(t, "<relative time>")`, its arguments read.
    fn relative_time(
        &self,
        args: Vec<Node>,
        offset: usize,
        depth: usize,
    ) -> Result<Node, ParseError> {
        let found = args.len();
        let mut args = args.into_iter();
        let (Some(time), Some(modifier), None) = (args.next(), args.next(), args.next()) else {
            return Err(ParseError::Arguments {
                function: "relative_time",
                takes: "2 arguments (a time and a relative time such as \"-7d@d\")",
                found,
                offset,
            });
        };
        let Expr::String(text) = modifier.expr else {
            return Err(ParseError::Expected {
                expected: "a relative time such as \"-7d@d\" as relative_time's second argument",
                found: "another expression".to_owned(),
                offset,
            });
        };
        let modifier = match text.parse::<TimeModifier>() {
            Ok(TimeModifier::Relative(relative)) => relative,
            Ok(_) => {
                return Err(ParseError::Expected {
                    expected: "a relative time such as \"-7d@d\" as relative_time's second \
                               argument",
                    found: excerpt(&text),
                    offset,
                });
            }
            Err(source) => return Err(ParseError::InvalidTime { offset, source }),
        };
        self.node(Expr::relative_time(time.expr, modifier), depth, offset)
    }

    /// A call's arguments after its `(`, through its `)`.
    fn arguments(&mut self, nest: usize) -> Result<Vec<Node>, ParseError> {
        let mut args = Vec::new();
        if self.eat(Sym::RParen) {
            return Ok(args);
        }
        loop {
            args.push(self.expr(nest)?);
            if self.eat(Sym::RParen) {
                return Ok(args);
            }
            if !self.eat(Sym::Comma) {
                return Err(self.error("an operator, `,` or `)`"));
            }
        }
    }
}
