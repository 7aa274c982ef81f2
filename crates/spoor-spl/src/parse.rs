//! The parser: SPL text of the subset to a [`Query`].
//!
//! It reads everything the printer prints, and the forms a Splunk user types for the same
//! subset:
//!
//! - the leading `search` may be left out, or written `| search`;
//! - values may be bare words (`event=login`) or quoted (`event="log in"`);
//! - spaces around `=`, `,` and `(` are optional; list commas are optional;
//! - command names, function names (`count`, `DC`, `distinct_count`) and the keywords `by`, `as`,
//!   the `where` conjunction `AND` and `sort`'s trailing `desc` are case-insensitive;
//!   the search operators `NOT` and `AND` are upper-case, as in Splunk;
//! - field names may be single-quoted (`'event'`), as `where` allows, and outside `where`
//!   double-quoted (`as "total"`, `rename a as "b"`), as long as they are valid names;
//! - `timechart` options may come in any order, also after the `by` clause; a repeated option
//!   takes the last value; span units have their long forms (`1day`, `2hours`, `1month`);
//!   a span is at most 10,000 years long (`120000mon`, [`SpanUnit::max_count`]);
//! - in `eval` and `where` expressions: `==` for `=`, `AND`, `OR`, `XOR`, `NOT`, `LIKE`, `IN`
//!   and function names in any case, `ceil` for `ceiling`, `x LIKE "a%"` for `like(x, "a%")`
//!   and `x IN ("a", "b")` for `in(x, "a", "b")`; a bare `true`, `false` or `null` is refused
//!   (write `'true'` for the field, `null()` for the value), as is a mix of `.` with `+` or `-`,
//!   or a chain of comparisons, without parentheses (Splunk documents no order for them);
//!   expressions nest at most [`MAX_DEPTH`] levels;
//! - `p<N>` for `perc<N>`, `bucket` for `bin`; `streamstats` options before the aggregations,
//!   `bin` options anywhere; Splunk options outside the subset are refused by name.
//!
//! Field names are case-sensitive. Every error carries the byte offset where it was found and
//! says what was expected, except an unknown command, which has Splunk's own wording.
//! The parser recurses only into the parentheses, calls and prefix operators of an expression,
//! at most [`MAX_DEPTH`] levels, so no input can exhaust the stack, and it never panics.
//!
//! ```
//! use spoor_spl::parse;
//!
//! let query = parse("Search index=main event=\"log in\" | STATS Count BY application")?;
//! assert_eq!(
//!     query.to_string(),
//!     r#"search index="main" event="log in" | stats count by application"#
//! );
//!
//! let query = parse("search index=main | EVAL big=IF(amount >= 100, 1, 0) | where big == 1")?;
//! assert_eq!(
//!     query.to_string(),
//!     r#"search index="main" | eval big=if(amount>=100, 1, 0) | where big=1"#
//! );
//!
//! let err = parse("search index=main | transaction user").unwrap_err();
//! assert_eq!(err.to_string(), "Unknown search command 'transaction'.");
//! assert_eq!(err.offset(), 20);
//! # Ok::<(), spoor_spl::ParseError>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

use crate::ast::{
    Aggregate, Aggregation, Bin, BinSpan, Command, CompareOp, Dedup, Eventstats, Expr, Field,
    FieldError, FieldPattern, Fields, FieldsMode, Function, Head, LiteralError, MAX_DEPTH, Number,
    Query, Rename, Renaming, Search, SearchTerm, Sort, SortKey, Span, SpanUnit, Stats, Streamstats,
    Timechart,
};
use crate::modifier::TimeError;

mod expr;

/// Splunk's default `head` count.
const DEFAULT_HEAD: u64 = 10;

/// Why a query (or a span) could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// A command outside the subset; displayed in Splunk's words: `Unknown search command 'foo'.`
    UnknownCommand {
        /// The command's name as written.
        name: String,
        /// Where the name starts.
        offset: usize,
    },
    /// Something other than what the grammar allows at this point.
    Expected {
        /// What would have been accepted.
        expected: &'static str,
        /// What was found (`end of input`, or the text in backquotes).
        found: String,
        /// Where it was found.
        offset: usize,
    },
    /// A `"` that is never closed.
    UnterminatedString {
        /// Where the opening quote is.
        offset: usize,
    },
    /// A name that is not a valid field name or pattern.
    InvalidField {
        /// Where the name starts.
        offset: usize,
        /// What is wrong with it.
        source: FieldError,
    },
    /// A wildcard name whose `*` count differs from the pattern it renames.
    WildcardMismatch {
        /// What is renamed: a pattern, or an aggregate such as `dc(analytics_prop__*)`.
        from: String,
        /// The new name.
        to: String,
        /// Where the new name starts.
        offset: usize,
    },
    /// `search` after a pipe: the subset has it only as the first command.
    MisplacedSearch {
        /// Where `search` starts.
        offset: usize,
    },
    /// A span longer than [`Span::MAX_YEARS`] years: longer than the whole range of times, so
    /// no chart could have a bucket of it.
    SpanTooLong {
        /// The span as written.
        span: String,
        /// Where it starts.
        offset: usize,
    },
    /// A function `eval` and `where` do not have in the subset.
    UnknownFunction {
        /// The name as written.
        name: String,
        /// Where it starts.
        offset: usize,
    },
    /// A function called with a count of arguments it does not take.
    Arguments {
        /// The function.
        function: &'static str,
        /// What it takes, in words (`3 arguments`).
        takes: &'static str,
        /// How many it was given.
        found: usize,
        /// Where the function's name starts.
        offset: usize,
    },
    /// An expression nested more than [`MAX_DEPTH`] levels.
    TooDeep {
        /// Where the level past the limit starts.
        offset: usize,
    },
    /// An option Splunk's command has and the subset does not.
    UnsupportedOption {
        /// The command.
        command: &'static str,
        /// The option as written.
        option: String,
        /// The options the subset reads for this command, in words.
        reads: &'static str,
        /// Where the option starts.
        offset: usize,
    },
    /// A literal that is not valid where it is written (a percentile, a number).
    InvalidLiteral {
        /// Where it starts.
        offset: usize,
        /// What is wrong with it.
        source: LiteralError,
    },
    /// `relative_time`'s time modifier, which does not read.
    InvalidTime {
        /// Where the modifier's string starts.
        offset: usize,
        /// What is wrong with it.
        source: TimeError,
    },
}

impl ParseError {
    /// The byte offset in the input where the error was found.
    pub fn offset(&self) -> usize {
        match self {
            Self::UnknownCommand { offset, .. }
            | Self::Expected { offset, .. }
            | Self::UnterminatedString { offset }
            | Self::InvalidField { offset, .. }
            | Self::WildcardMismatch { offset, .. }
            | Self::MisplacedSearch { offset }
            | Self::SpanTooLong { offset, .. }
            | Self::UnknownFunction { offset, .. }
            | Self::Arguments { offset, .. }
            | Self::TooDeep { offset }
            | Self::UnsupportedOption { offset, .. }
            | Self::InvalidLiteral { offset, .. }
            | Self::InvalidTime { offset, .. } => *offset,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Splunk's exact text, which the engine returns in its error body.
            Self::UnknownCommand { name, .. } => write!(f, "Unknown search command '{name}'."),
            Self::Expected {
                expected,
                found,
                offset,
            } => write!(f, "expected {expected} at byte {offset}, found {found}"),
            Self::UnterminatedString { offset } => {
                write!(f, "unterminated string starting at byte {offset}")
            }
            Self::InvalidField { offset, .. } => write!(f, "invalid field name at byte {offset}"),
            Self::WildcardMismatch { from, to, offset } => write!(
                f,
                "wildcard mismatch at byte {offset}: {to:?} must have as many `*` as {from:?}"
            ),
            Self::MisplacedSearch { offset } => write!(
                f,
                "`search` at byte {offset} can only be the first command of a query"
            ),
            Self::SpanTooLong { span, offset } => {
                let longest =
                    SpanUnit::from_name(span.trim_start_matches(|c: char| c.is_ascii_digit()))
                        .map(|unit| format!(" (at most {})", Span::longest(unit)))
                        .unwrap_or_default();
                write!(
                    f,
                    "span {} at byte {offset} is longer than the {} years from 0000 to 9999{longest}",
                    excerpt(span),
                    Span::MAX_YEARS
                )
            }
            Self::UnknownFunction { name, offset } => write!(
                f,
                "unknown function {} at byte {offset}: eval and where read {}",
                excerpt(name),
                expr::FUNCTION_NAMES
            ),
            Self::Arguments {
                function,
                takes,
                found,
                offset,
            } => write!(
                f,
                "`{function}` at byte {offset} takes {takes}, not {found}"
            ),
            Self::TooDeep { offset } => write!(
                f,
                "the expression at byte {offset} nests more than {MAX_DEPTH} levels: \
                 write it with fewer parentheses, calls or operators"
            ),
            Self::UnsupportedOption {
                command,
                option,
                reads,
                offset,
            } => write!(
                f,
                "{command} option {} at byte {offset} is outside spoor's subset, which reads {reads}",
                excerpt(option)
            ),
            Self::InvalidLiteral { offset, source } => {
                let what = match source {
                    LiteralError::Percentile { .. } => "percentile",
                    _ => "number",
                };
                write!(f, "invalid {what} at byte {offset}")
            }
            Self::InvalidTime { offset, .. } => {
                write!(f, "invalid relative time at byte {offset}")
            }
        }
    }
}

impl std::error::Error for ParseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidField { source, .. } => Some(source),
            Self::InvalidLiteral { source, .. } => Some(source),
            Self::InvalidTime { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Reads a query of the subset.
///
/// # Errors
///
/// A [`ParseError`] at the first thing that is not in the subset.
pub fn parse(input: &str) -> Result<Query, ParseError> {
    let tokens = lex(input)?;
    Parser {
        input,
        tokens,
        pos: 0,
    }
    .query()
}

/// Reads an expression of `eval` and `where`, as [`Expr`]'s printer writes it and a Splunk
/// user types it (see the module's list).
///
/// # Errors
///
/// A [`ParseError`] at the first thing that is not in the subset.
///
/// ```
/// use spoor_spl::parse::expression;
///
/// let expr = expression("coalesce('my field', 0) + 1 > 2 and x like \"a%\"")?;
/// assert_eq!(expr.to_string(), r#"coalesce('my field', 0) + 1>2 AND like(x, "a%")"#);
/// # Ok::<(), spoor_spl::ParseError>(())
/// ```
pub fn expression(input: &str) -> Result<Expr, ParseError> {
    expr::condition(input, 0, "end of input")
}

impl FromStr for Expr {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        expression(s)
    }
}

impl FromStr for Query {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        parse(s)
    }
}

impl FromStr for Span {
    type Err = ParseError;

    /// Reads `1d`, `15m`, `1mon`, `2hours`…; the count must be positive, and the span at most
    /// [`Span::MAX_YEARS`] years long.
    fn from_str(s: &str) -> Result<Self, ParseError> {
        span(s, 0)
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok<'a> {
    /// A bare word: a run of characters that are neither space nor punctuation below.
    Word(&'a str),
    /// A `"…"` string, unescaped.
    Str(String),
    /// A `'…'` name.
    Name(&'a str),
    Pipe,
    Eq,
    EqEq,
    Ne,
    Comma,
    LParen,
    RParen,
    /// A character that has no token of its own: an error wherever it is read, except inside
    /// the expression of `eval` and `where`, which is read again by its own lexer.
    Other(char),
}

#[derive(Debug, Clone)]
struct Token<'a> {
    tok: Tok<'a>,
    offset: usize,
}

/// Characters that end a bare word. Those without a token of their own are [`Tok::Other`],
/// errors outside expressions: `[` (a subsearch), `` ` `` (a macro), `\`, `<`, `>` and a lone
/// `!` are not in the subset.
/// The rest of a double-quoted string whose opening quote, at `offset`, was just read: `\"` and
/// `\\` are escapes, and Splunk keeps a backslash that escapes nothing.
pub(crate) fn quoted(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    offset: usize,
) -> Result<String, ParseError> {
    let mut value = String::new();
    loop {
        match chars.next() {
            None => return Err(ParseError::UnterminatedString { offset }),
            Some((_, '"')) => return Ok(value),
            Some((_, '\\')) => match chars.next_if(|&(_, c)| c == '"' || c == '\\') {
                Some((_, escaped)) => value.push(escaped),
                None => value.push('\\'),
            },
            Some((_, c)) => value.push(c),
        }
    }
}

fn is_special(c: char) -> bool {
    matches!(
        c,
        '|' | '=' | '"' | '\'' | '(' | ')' | ',' | '!' | '[' | ']' | '<' | '>' | '`' | '\\'
    )
}

fn lex(input: &str) -> Result<Vec<Token<'_>>, ParseError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some((offset, c)) = chars.next() {
        let tok = match c {
            c if c.is_whitespace() => continue,
            '|' => Tok::Pipe,
            ',' => Tok::Comma,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '=' => {
                if chars.next_if(|&(_, c)| c == '=').is_some() {
                    Tok::EqEq
                } else {
                    Tok::Eq
                }
            }
            '!' if chars.next_if(|&(_, c)| c == '=').is_some() => Tok::Ne,
            '"' => Tok::Str(quoted(&mut chars, offset)?),
            '\'' => {
                let start = offset + 1;
                let mut end = None;
                for (i, c) in chars.by_ref() {
                    if c == '\'' {
                        end = Some(i);
                        break;
                    }
                }
                let end = end.ok_or(ParseError::UnterminatedString { offset })?;
                Tok::Name(&input[start..end])
            }
            c if is_special(c) => Tok::Other(c),
            _ => {
                let mut end = offset + c.len_utf8();
                while let Some((i, c)) =
                    chars.next_if(|&(_, c)| !c.is_whitespace() && !is_special(c))
                {
                    end = i + c.len_utf8();
                }
                Tok::Word(&input[offset..end])
            }
        };
        tokens.push(Token { tok, offset });
    }
    Ok(tokens)
}

// ---------------------------------------------------------------------------------------------
// Parser

struct Parser<'a> {
    input: &'a str,
    tokens: Vec<Token<'a>>,
    pos: usize,
}

/// What may come where a character outside the subset's tokens was found.
const TOKENS: &str = "a word, a quoted string, `|`, `=`, `!=`, `,` or a parenthesis";

/// The aggregations of the subset, as errors list them.
const AGGREGATIONS: &str = "an aggregation (count, dc, sum, avg, min, max, median, perc<N>, \
     exactperc<N>, upperperc<N>, values, earliest, latest, first, last, range, stdev)";

/// How long a quoted piece of input in an error may be, in characters.
const EXCERPT: usize = 40;

/// `text` in backquotes, cut to [`EXCERPT`] characters.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT) {
        Some((cut, _)) => format!("`{}…`", &text[..cut]),
        None => format!("`{text}`"),
    }
}

fn describe(tok: Option<&Tok<'_>>) -> String {
    match tok {
        None => "end of input".to_owned(),
        Some(Tok::Word(w)) => excerpt(w),
        Some(Tok::Str(_)) => "a quoted string".to_owned(),
        Some(Tok::Name(n)) => excerpt(&format!("'{n}'")),
        Some(Tok::Pipe) => "`|`".to_owned(),
        Some(Tok::Eq) => "`=`".to_owned(),
        Some(Tok::EqEq) => "`==`".to_owned(),
        Some(Tok::Ne) => "`!=`".to_owned(),
        Some(Tok::Comma) => "`,`".to_owned(),
        Some(Tok::LParen) => "`(`".to_owned(),
        Some(Tok::RParen) => "`)`".to_owned(),
        Some(Tok::Other(c)) => format!("`{c}`"),
    }
}

fn span(text: &str, offset: usize) -> Result<Span, ParseError> {
    let expected = || ParseError::Expected {
        expected: "a span such as `1d`, `15m` or `1mon`",
        found: excerpt(text),
        offset,
    };
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let count = number::<u32>(&text[..digits])
        .and_then(NonZeroU32::new)
        .ok_or_else(expected)?;
    let unit = SpanUnit::from_name(&text[digits..]).ok_or_else(expected)?;
    let span = Span::new(count, unit);
    if !span.is_within_range() {
        return Err(ParseError::SpanTooLong {
            span: text.to_owned(),
            offset,
        });
    }
    Ok(span)
}

/// An unsigned decimal number of ASCII digits only (no sign, no spaces).
fn number<T: FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn boolean(text: &str) -> Option<bool> {
    const TRUE: [&str; 3] = ["true", "t", "1"];
    const FALSE: [&str; 3] = ["false", "f", "0"];
    if TRUE.iter().any(|w| w.eq_ignore_ascii_case(text)) {
        Some(true)
    } else if FALSE.iter().any(|w| w.eq_ignore_ascii_case(text)) {
        Some(false)
    } else {
        None
    }
}

fn to_field(text: &str, offset: usize) -> Result<Field, ParseError> {
    Field::new(text).map_err(|source| ParseError::InvalidField { offset, source })
}

fn to_pattern(text: &str, offset: usize) -> Result<FieldPattern, ParseError> {
    FieldPattern::new(text).map_err(|source| ParseError::InvalidField { offset, source })
}

/// Checks that a wildcard name takes exactly the captures of what it renames.
fn check_wildcards(from: &str, to: &FieldPattern, offset: usize) -> Result<(), ParseError> {
    if from.bytes().filter(|&b| b == b'*').count() == to.wildcards() {
        return Ok(());
    }
    Err(ParseError::WildcardMismatch {
        from: from.to_owned(),
        to: to.as_str().to_owned(),
        offset,
    })
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Tok<'a>> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Tok<'a>> {
        self.tokens.get(self.pos + ahead).map(|t| &t.tok)
    }

    fn offset(&self) -> usize {
        self.tokens
            .get(self.pos)
            .map_or(self.input.len(), |t| t.offset)
    }

    /// Refuses the first character of the current command that has no token of its own
    /// (a command other than `eval` and `where`, whose expressions are read again).
    fn refuse_other(&self) -> Result<(), ParseError> {
        let command = self.tokens[self.pos..]
            .iter()
            .take_while(|t| t.tok != Tok::Pipe);
        for token in command {
            if let Tok::Other(c) = token.tok {
                return Err(ParseError::Expected {
                    expected: TOKENS,
                    found: format!("`{c}`"),
                    offset: token.offset,
                });
            }
        }
        Ok(())
    }

    /// The text of the current command after its name, up to the next `|` or the end: where
    /// it starts, and how its end is described in errors. The parser moves to that `|`.
    fn rest_of_command(&mut self) -> (&'a str, usize, &'static str) {
        let start = match self.tokens.get(self.pos) {
            Some(Token {
                tok: Tok::Word(name),
                offset,
            }) => offset + name.len(),
            _ => self.offset(),
        };
        let pipe = self.tokens[self.pos..]
            .iter()
            .position(|t| t.tok == Tok::Pipe)
            .map(|i| self.pos + i);
        let (end, found) = match pipe {
            Some(i) => (self.tokens[i].offset, "`|`"),
            None => (self.input.len(), "end of input"),
        };
        self.pos = pipe.unwrap_or(self.tokens.len());
        (&self.input[start..end], start, found)
    }

    /// The option of `command` at the cursor (`name=`) when it is one of Splunk's options
    /// that the subset does not read.
    fn unsupported_option(
        &self,
        command: &'static str,
        options: &[&str],
        reads: &'static str,
    ) -> Option<ParseError> {
        match (self.peek(), self.peek_at(1)) {
            (Some(Tok::Word(name)), Some(Tok::Eq))
                if options.iter().any(|o| o.eq_ignore_ascii_case(name)) =>
            {
                Some(ParseError::UnsupportedOption {
                    command,
                    option: (*name).to_owned(),
                    reads,
                    offset: self.offset(),
                })
            }
            _ => None,
        }
    }

    fn error(&self, expected: &'static str) -> ParseError {
        ParseError::Expected {
            expected,
            found: describe(self.peek()),
            offset: self.offset(),
        }
    }

    /// Whether the next token is the word `word`, compared case-insensitively.
    fn at_keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        let at = self.at_keyword(word);
        if at {
            self.pos += 1;
        }
        at
    }

    fn eat(&mut self, tok: &Tok<'_>) -> bool {
        let at = self.peek() == Some(tok);
        if at {
            self.pos += 1;
        }
        at
    }

    fn expect(&mut self, tok: &Tok<'_>, expected: &'static str) -> Result<(), ParseError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    /// Whether the current command has ended (`|` or end of input).
    fn at_command_end(&self) -> bool {
        matches!(self.peek(), None | Some(Tok::Pipe))
    }

    /// The text of a name: a bare word, a `'…'` name or a `"…"` string (as `rename` and `as`
    /// allow); it must still be a valid field name or pattern.
    fn name_text(&mut self, expected: &'static str) -> Result<(Cow<'a, str>, usize), ParseError> {
        let offset = self.offset();
        let text = match self.peek() {
            Some(Tok::Word(w) | Tok::Name(w)) => Cow::Borrowed(*w),
            Some(Tok::Str(s)) => Cow::Owned(s.clone()),
            _ => return Err(self.error(expected)),
        };
        self.pos += 1;
        Ok((text, offset))
    }

    fn field(&mut self) -> Result<Field, ParseError> {
        let (text, offset) = self.name_text("a field name")?;
        to_field(&text, offset)
    }

    fn pattern(&mut self) -> Result<(FieldPattern, usize), ParseError> {
        let (text, offset) = self.name_text("a field name or pattern")?;
        Ok((to_pattern(&text, offset)?, offset))
    }

    /// A name that may be written with a leading sign (`-count`, `- count`, `+a`).
    fn signed<T>(
        &mut self,
        parse: impl FnOnce(&str, usize) -> Result<T, ParseError>,
    ) -> Result<(Option<char>, T), ParseError> {
        let offset = self.offset();
        if let Some(&Tok::Word(word)) = self.peek()
            && let Some(rest) = word.strip_prefix(['+', '-'])
        {
            let sign = word.chars().next();
            self.pos += 1;
            if !rest.is_empty() {
                return Ok((sign, parse(rest, offset + 1)?));
            }
            let (text, offset) = self.name_text("a field name")?;
            return Ok((sign, parse(&text, offset)?));
        }
        let (text, offset) = self.name_text("a field name")?;
        Ok((None, parse(&text, offset)?))
    }

    fn number_value<T: FromStr>(&mut self, expected: &'static str) -> Result<T, ParseError> {
        let value = match self.peek() {
            Some(Tok::Word(w)) => number(w),
            _ => None,
        };
        match value {
            Some(n) => {
                self.pos += 1;
                Ok(n)
            }
            None => Err(self.error(expected)),
        }
    }

    /// A search term's comparison operator: `=` or `!=`.
    fn compare_op(&mut self) -> Option<CompareOp> {
        let op = match self.peek() {
            Some(Tok::Eq) => CompareOp::Eq,
            Some(Tok::Ne) => CompareOp::Ne,
            _ => return None,
        };
        self.pos += 1;
        Some(op)
    }

    fn bool_value(&mut self) -> Result<bool, ParseError> {
        const EXPECTED: &str = "`true` or `false`";
        match self.peek() {
            Some(Tok::Word(w)) => match boolean(w) {
                Some(b) => {
                    self.pos += 1;
                    Ok(b)
                }
                None => Err(self.error(EXPECTED)),
            },
            _ => Err(self.error(EXPECTED)),
        }
    }

    fn query(mut self) -> Result<Query, ParseError> {
        let leading_pipe = self.eat(&Tok::Pipe);
        // `search` is the command unless it is the field of a first term (`search=x`).
        let field_named_search = matches!(self.peek_at(1), Some(Tok::Eq | Tok::Ne));
        let command = !field_named_search && self.eat_keyword("search");
        if !command && leading_pipe {
            return Err(self.command_error());
        }
        self.refuse_other()?;
        let search = self.search()?;
        let mut commands = Vec::new();
        while self.eat(&Tok::Pipe) {
            commands.push(self.command()?);
            if !self.at_command_end() {
                return Err(self.error("`|` or end of input"));
            }
        }
        Ok(Query { search, commands })
    }

    /// The error for a token where a command name was expected.
    fn command_error(&self) -> ParseError {
        match self.peek() {
            Some(Tok::Word(w)) if COMMANDS.iter().any(|c| c.eq_ignore_ascii_case(w)) => {
                if w.eq_ignore_ascii_case("search") {
                    ParseError::MisplacedSearch {
                        offset: self.offset(),
                    }
                } else {
                    self.error("`search` (a query starts with a search)")
                }
            }
            Some(Tok::Word(w)) => ParseError::UnknownCommand {
                name: (*w).to_owned(),
                offset: self.offset(),
            },
            _ => self.error("a command name"),
        }
    }

    fn search(&mut self) -> Result<Search, ParseError> {
        let mut terms = Vec::new();
        while !self.at_command_end() {
            // `AND` between terms is the default conjunction, spelled out.
            if !terms.is_empty() && self.peek() == Some(&Tok::Word("AND")) {
                self.pos += 1;
            }
            let negated = self.eat(&Tok::Word("NOT"));
            let field = match self.peek() {
                Some(Tok::Word(_) | Tok::Name(_)) => self.field()?,
                _ => return Err(self.error("a search term such as `field=\"value\"`")),
            };
            let Some(op) = self.compare_op() else {
                return Err(self.error("`=` or `!=` (a search term is `field=\"value\"`)"));
            };
            let value = match self.peek() {
                Some(Tok::Str(s)) => s.clone(),
                Some(Tok::Word(w)) => (*w).to_owned(),
                _ => return Err(self.error("a value (a quoted string or a word)")),
            };
            self.pos += 1;
            terms.push(SearchTerm {
                negated,
                field,
                op,
                value,
            });
        }
        Ok(Search { terms })
    }

    fn command(&mut self) -> Result<Command, ParseError> {
        let Some(Tok::Word(name)) = self.peek() else {
            return Err(self.command_error());
        };
        let name = name.to_ascii_lowercase();
        // `eval` and `where` read their text again, as an expression.
        match name.as_str() {
            "where" => {
                let (text, start, end) = self.rest_of_command();
                return Ok(Command::where_(expr::condition(text, start, end)?));
            }
            "eval" => {
                let (text, start, end) = self.rest_of_command();
                return Ok(Command::Eval(expr::eval(text, start, end)?));
            }
            _ => {}
        }
        if COMMANDS.contains(&name.as_str()) {
            self.refuse_other()?;
        }
        let command = match name.as_str() {
            "stats" => Command::Stats(self.after_name(Self::stats)?),
            "eventstats" => Command::Eventstats(self.after_name(Self::eventstats)?),
            "streamstats" => Command::Streamstats(self.after_name(Self::streamstats)?),
            "timechart" => Command::Timechart(self.after_name(Self::timechart)?),
            "bin" | "bucket" => Command::Bin(self.after_name(Self::bin)?),
            "rename" => Command::Rename(self.after_name(Self::rename)?),
            "fields" => Command::Fields(self.after_name(Self::fields)?),
            "sort" => Command::Sort(self.after_name(Self::sort)?),
            "dedup" => Command::Dedup(self.after_name(Self::dedup)?),
            "head" => Command::Head(self.after_name(Self::head)?),
            _ => return Err(self.command_error()),
        };
        Ok(command)
    }

    fn after_name<T>(
        &mut self,
        body: impl FnOnce(&mut Self) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        self.pos += 1;
        body(self)
    }

    fn aggregation(&mut self) -> Result<Aggregation, ParseError> {
        let Some(Tok::Word(name)) = self.peek() else {
            return Err(self.error(AGGREGATIONS));
        };
        if let Some(Err(source)) = Function::percentile_name(name) {
            return Err(ParseError::InvalidLiteral {
                offset: self.offset(),
                source,
            });
        }
        let Some(function) = Function::from_name(name) else {
            return Err(self.error(AGGREGATIONS));
        };
        self.pos += 1;
        let aggregate = if self.eat(&Tok::LParen) {
            let (field, _) = self.pattern()?;
            self.expect(&Tok::RParen, "`)`")?;
            Aggregate::Apply { function, field }
        } else if function == Function::Count {
            Aggregate::Count
        } else {
            return Err(self.error("`(` and the field to aggregate"));
        };
        let alias = if self.eat_keyword("as") {
            let (alias, offset) = self.pattern()?;
            check_wildcards(&aggregate.to_string(), &alias, offset)?;
            Some(alias)
        } else {
            None
        };
        Ok(Aggregation { aggregate, alias })
    }

    fn stats(&mut self) -> Result<Stats, ParseError> {
        let (aggregations, by) = self.aggregations_by()?;
        Ok(Stats { aggregations, by })
    }

    /// `<aggregation>, … [by <field>, …]`, as the stats commands end.
    fn aggregations_by(&mut self) -> Result<(Vec<Aggregation>, Vec<Field>), ParseError> {
        let mut aggregations = vec![self.aggregation()?];
        loop {
            self.eat(&Tok::Comma);
            if self.at_command_end() || self.at_keyword("by") {
                break;
            }
            aggregations.push(self.aggregation()?);
        }
        let by = if self.eat_keyword("by") {
            self.field_list()?
        } else {
            Vec::new()
        };
        Ok((aggregations, by))
    }

    fn eventstats(&mut self) -> Result<Eventstats, ParseError> {
        if let Some(err) = self.unsupported_option("eventstats", &["allnum"], "no option") {
            return Err(err);
        }
        let (aggregations, by) = self.aggregations_by()?;
        Ok(Eventstats { aggregations, by })
    }

    fn streamstats(&mut self) -> Result<Streamstats, ParseError> {
        const READS: &str = "current, window and global";
        const OTHERS: [&str; 5] = [
            "reset_on_change",
            "reset_before",
            "reset_after",
            "time_window",
            "allnum",
        ];
        let (mut current, mut window, mut global) = (None, None, None);
        while let (Some(Tok::Word(name)), Some(Tok::Eq)) = (self.peek(), self.peek_at(1)) {
            if let Some(err) = self.unsupported_option("streamstats", &OTHERS, READS) {
                return Err(err);
            }
            let name = name.to_ascii_lowercase();
            let offset = self.offset();
            self.pos += 2;
            match name.as_str() {
                "current" => current = Some(self.bool_value()?),
                "window" => window = Some(self.number_value("a number of rows")?),
                "global" => global = Some(self.bool_value()?),
                _ => {
                    return Err(ParseError::Expected {
                        expected: "a streamstats option (current, window, global)",
                        found: excerpt(&name),
                        offset,
                    });
                }
            }
        }
        let (aggregations, by) = self.aggregations_by()?;
        Ok(Streamstats {
            current,
            window,
            global,
            aggregations,
            by,
        })
    }

    fn bin(&mut self) -> Result<Bin, ParseError> {
        const OTHERS: [&str; 5] = ["bins", "minspan", "start", "end", "aligntime"];
        let (mut span, mut field, mut alias) = (None, None, None);
        while !self.at_command_end() {
            if let (Some(Tok::Word(name)), Some(Tok::Eq)) = (self.peek(), self.peek_at(1)) {
                if let Some(err) = self.unsupported_option("bin", &OTHERS, "span") {
                    return Err(err);
                }
                if !name.eq_ignore_ascii_case("span") {
                    return Err(self.error("a bin option (span) or the field to bin"));
                }
                self.pos += 2;
                let Some(Tok::Word(text)) = self.peek() else {
                    return Err(self.error(BIN_SPAN));
                };
                span = Some(bin_span(text, self.offset())?);
                self.pos += 1;
            } else if field.is_none() {
                field = Some(self.field()?);
            } else if alias.is_none() && self.eat_keyword("as") {
                alias = Some(self.field()?);
            } else {
                return Err(self.error("`span=`, `as`, `|` or end of input"));
            }
        }
        let Some(field) = field else {
            return Err(self.error("the field to bin"));
        };
        let Some(span) = span else {
            return Err(self.error("`span=` (spoor's bin states its span)"));
        };
        Ok(Bin { span, field, alias })
    }

    fn dedup(&mut self) -> Result<Dedup, ParseError> {
        const OTHERS: [&str; 3] = ["keepevents", "keepempty", "consecutive"];
        const READS: &str = "a count and the fields";
        let count = match self.peek() {
            Some(Tok::Word(w)) if w.starts_with(|c: char| c.is_ascii_digit()) => {
                let count = number::<u32>(w).and_then(NonZeroU32::new);
                let Some(count) = count else {
                    return Err(self.error("a positive number of rows to keep"));
                };
                self.pos += 1;
                Some(count)
            }
            _ => None,
        };
        let mut fields = Vec::new();
        loop {
            if let Some(err) = self.unsupported_option("dedup", &OTHERS, READS) {
                return Err(err);
            }
            if self.at_keyword("sortby") {
                return Err(ParseError::UnsupportedOption {
                    command: "dedup",
                    option: "sortby".to_owned(),
                    reads: READS,
                    offset: self.offset(),
                });
            }
            fields.push(self.field()?);
            self.eat(&Tok::Comma);
            if self.at_command_end() {
                return Ok(Dedup { count, fields });
            }
        }
    }

    /// One or more fields, separated by optional commas, up to the end of the command.
    fn field_list(&mut self) -> Result<Vec<Field>, ParseError> {
        let mut fields = vec![self.field()?];
        while !self.at_command_end() {
            self.eat(&Tok::Comma);
            fields.push(self.field()?);
        }
        Ok(fields)
    }

    fn timechart_options(&mut self, chart: &mut TimechartOptions) -> Result<(), ParseError> {
        while let (Some(Tok::Word(name)), Some(Tok::Eq)) = (self.peek(), self.peek_at(1)) {
            let name = name.to_ascii_lowercase();
            let offset = self.offset();
            self.pos += 2;
            match name.as_str() {
                "span" => {
                    let Some(Tok::Word(text)) = self.peek() else {
                        return Err(self.error("a span such as `1d`, `15m` or `1mon`"));
                    };
                    chart.span = Some(span(text, self.offset())?);
                    self.pos += 1;
                }
                "limit" => chart.limit = Some(self.number_value("a number")?),
                "useother" => chart.use_other = Some(self.bool_value()?),
                "usenull" => chart.use_null = Some(self.bool_value()?),
                _ => {
                    self.pos -= 2;
                    return Err(ParseError::Expected {
                        expected: "a timechart option (span, limit, useother, usenull)",
                        found: excerpt(&name),
                        offset,
                    });
                }
            }
        }
        Ok(())
    }

    fn timechart(&mut self) -> Result<Timechart, ParseError> {
        let mut options = TimechartOptions::default();
        self.timechart_options(&mut options)?;
        let aggregation = self.aggregation()?;
        self.timechart_options(&mut options)?;
        let by = if self.eat_keyword("by") {
            Some(self.field()?)
        } else {
            None
        };
        self.timechart_options(&mut options)?;
        let Some(span) = options.span else {
            return Err(self.error("`span=` (spoor's timechart states its span)"));
        };
        Ok(Timechart {
            span,
            limit: options.limit,
            use_other: options.use_other,
            use_null: options.use_null,
            aggregation,
            by,
        })
    }

    fn rename(&mut self) -> Result<Rename, ParseError> {
        let mut renamings = Vec::new();
        loop {
            let (from, _) = self.pattern()?;
            if !self.eat_keyword("as") {
                return Err(self.error("`as`"));
            }
            let (to, offset) = self.pattern()?;
            check_wildcards(from.as_str(), &to, offset)?;
            renamings.push(Renaming { from, to });
            self.eat(&Tok::Comma);
            if self.at_command_end() {
                return Ok(Rename { renamings });
            }
        }
    }

    fn fields(&mut self) -> Result<Fields, ParseError> {
        let (sign, first) = self.signed(to_pattern)?;
        let mode = if sign == Some('-') {
            FieldsMode::Remove
        } else {
            FieldsMode::Keep
        };
        let mut fields = vec![first];
        while !self.at_command_end() {
            self.eat(&Tok::Comma);
            fields.push(self.pattern()?.0);
        }
        Ok(Fields { mode, fields })
    }

    fn sort(&mut self) -> Result<Sort, ParseError> {
        let limit = match (self.peek(), self.peek_at(1)) {
            (Some(Tok::Word(w)), Some(Tok::Eq)) if w.eq_ignore_ascii_case("limit") => {
                self.pos += 2;
                Some(self.number_value("a number")?)
            }
            (Some(Tok::Word(w)), _) if number::<u32>(w).is_some() => {
                Some(self.number_value("a number")?)
            }
            _ => None,
        };
        let mut keys: Vec<SortKey> = Vec::new();
        loop {
            // A trailing unsigned `desc` (or `d`) reverses every key, as in Splunk.
            let at_desc = self.at_keyword("desc") || self.at_keyword("d");
            if !keys.is_empty() && at_desc && matches!(self.peek_at(1), None | Some(Tok::Pipe)) {
                self.pos += 1;
                for key in &mut keys {
                    key.descending = !key.descending;
                }
                break;
            }
            let (sign, field) = self.signed(to_field)?;
            keys.push(SortKey {
                field,
                descending: sign == Some('-'),
            });
            self.eat(&Tok::Comma);
            if self.at_command_end() {
                break;
            }
        }
        Ok(Sort { limit, keys })
    }

    fn head(&mut self) -> Result<Head, ParseError> {
        const EXPECTED: &str = "a number of rows";
        let count = match (self.peek(), self.peek_at(1)) {
            (None | Some(Tok::Pipe), _) => DEFAULT_HEAD,
            (Some(Tok::Word(w)), Some(Tok::Eq)) if w.eq_ignore_ascii_case("limit") => {
                self.pos += 2;
                self.number_value(EXPECTED)?
            }
            _ => self.number_value(EXPECTED)?,
        };
        Ok(Head { count })
    }
}

/// The commands of the subset.
const COMMANDS: [&str; 14] = [
    "search",
    "where",
    "eval",
    "stats",
    "eventstats",
    "streamstats",
    "timechart",
    "bin",
    "bucket",
    "rename",
    "fields",
    "sort",
    "dedup",
    "head",
];

/// What `bin`'s span may be.
const BIN_SPAN: &str = "a span such as `1d`, `15m` or `1mon`, or a positive number such as `10`";

/// `bin`'s span: a number (for numbers) or a time span.
fn bin_span(text: &str, offset: usize) -> Result<BinSpan, ParseError> {
    let expected = || ParseError::Expected {
        expected: BIN_SPAN,
        found: excerpt(text),
        offset,
    };
    if let Ok(n) = Number::new(text) {
        return if n.is_zero() {
            Err(expected())
        } else {
            Ok(BinSpan::Number(n))
        };
    }
    match span(text, offset) {
        Ok(span) => Ok(BinSpan::Time(span)),
        Err(ParseError::Expected { .. }) => Err(expected()),
        Err(err) => Err(err),
    }
}

#[derive(Default)]
struct TimechartOptions {
    span: Option<Span>,
    limit: Option<u32>,
    use_other: Option<bool>,
    use_null: Option<bool>,
}

#[cfg(test)]
mod tests;
