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
//!   a span is at most 10,000 years long (`120000mon`, [`SpanUnit::max_count`]).
//!
//! Field names are case-sensitive. Every error carries the byte offset where it was found and
//! says what was expected, except an unknown command, which has Splunk's own wording.
//! The parser does not recurse, so no input can exhaust the stack, and it never panics.
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
//! let err = parse("search index=main | eval x=1").unwrap_err();
//! assert_eq!(err.to_string(), "Unknown search command 'eval'.");
//! assert_eq!(err.offset(), 20);
//! # Ok::<(), spoor_spl::ParseError>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

use crate::ast::{
    Aggregate, Aggregation, Command, CompareOp, Condition, Field, FieldError, FieldPattern, Fields,
    FieldsMode, Function, Head, Query, Rename, Renaming, Search, SearchTerm, Sort, SortKey, Span,
    SpanUnit, Stats, Timechart, Where,
};

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
            | Self::SpanTooLong { offset, .. } => *offset,
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
        }
    }
}

impl std::error::Error for ParseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidField { source, .. } => Some(source),
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
        tokens,
        pos: 0,
        end: input.len(),
    }
    .query()
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
}

#[derive(Debug, Clone)]
struct Token<'a> {
    tok: Tok<'a>,
    offset: usize,
}

/// Characters that end a bare word. Those without a token of their own are errors: `[` (a
/// subsearch), `` ` `` (a macro), `\`, `<`, `>` and a lone `!` are not in the subset.
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
            '"' => {
                let mut value = String::new();
                loop {
                    match chars.next() {
                        None => return Err(ParseError::UnterminatedString { offset }),
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next_if(|&(_, c)| c == '"' || c == '\\') {
                            Some((_, escaped)) => value.push(escaped),
                            // Splunk keeps a backslash that escapes nothing.
                            None => value.push('\\'),
                        },
                        Some((_, c)) => value.push(c),
                    }
                }
                Tok::Str(value)
            }
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
            c if is_special(c) => {
                return Err(ParseError::Expected {
                    expected: "a word, a quoted string, `|`, `=`, `!=`, `,` or a parenthesis",
                    found: format!("`{c}`"),
                    offset,
                });
            }
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
    tokens: Vec<Token<'a>>,
    pos: usize,
    end: usize,
}

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
        self.tokens.get(self.pos).map_or(self.end, |t| t.offset)
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

    /// A comparison operator; `==` only where `allow_double` (in `where`).
    fn compare_op(&mut self, allow_double: bool) -> Option<CompareOp> {
        let op = match self.peek() {
            Some(Tok::Eq) => CompareOp::Eq,
            Some(Tok::EqEq) if allow_double => CompareOp::Eq,
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
            let Some(op) = self.compare_op(false) else {
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
        let command = match name.as_str() {
            "where" => Command::Where(self.after_name(Self::where_)?),
            "stats" => Command::Stats(self.after_name(Self::stats)?),
            "timechart" => Command::Timechart(self.after_name(Self::timechart)?),
            "rename" => Command::Rename(self.after_name(Self::rename)?),
            "fields" => Command::Fields(self.after_name(Self::fields)?),
            "sort" => Command::Sort(self.after_name(Self::sort)?),
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

    fn where_(&mut self) -> Result<Where, ParseError> {
        let mut conditions = Vec::new();
        loop {
            // In `where`, `"…"` is a string, not a field: `'…'` quotes a field name.
            if let Some(Tok::Str(_)) = self.peek() {
                return Err(self.error("a field name (quoted `'name'` in `where`)"));
            }
            let field = self.field()?;
            let Some(op) = self.compare_op(true) else {
                return Err(self.error("`=`, `==` or `!=`"));
            };
            let Some(Tok::Str(value)) = self.peek() else {
                return Err(self.error("a quoted string (`where` compares a field to a literal)"));
            };
            conditions.push(Condition {
                field,
                op,
                value: value.clone(),
            });
            self.pos += 1;
            if self.at_command_end() {
                return Ok(Where { conditions });
            }
            if !self.eat_keyword("AND") {
                return Err(self.error("`AND`, `|` or end of input"));
            }
        }
    }

    fn aggregation(&mut self) -> Result<Aggregation, ParseError> {
        const EXPECTED: &str = "an aggregation (count, dc, sum, avg, min, max)";
        let Some(Tok::Word(name)) = self.peek() else {
            return Err(self.error(EXPECTED));
        };
        let Some(function) = Function::from_name(name) else {
            return Err(self.error(EXPECTED));
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
        Ok(Stats { aggregations, by })
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

/// The commands of the subset, in the order the error messages list them.
const COMMANDS: [&str; 8] = [
    "search",
    "where",
    "stats",
    "timechart",
    "rename",
    "fields",
    "sort",
    "head",
];

#[derive(Default)]
struct TimechartOptions {
    span: Option<Span>,
    limit: Option<u32>,
    use_other: Option<bool>,
    use_null: Option<bool>,
}

#[cfg(test)]
mod tests;
