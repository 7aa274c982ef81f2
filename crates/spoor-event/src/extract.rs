//! Search-time `key=value` extraction, as Splunk does it with `KV_MODE = auto` or `auto_escaped`.
//!
//! This reads any raw text, not only spoor's lines: it is what the embedded engine runs on every
//! event. The rules:
//!
//! - A pair is a key, `=`, and a value. The key is the run of characters just before the `=`,
//!   stopping at white space, a quote, `=`, `,` or `;`.
//! - A value in double quotes runs to the closing quote. With `auto_escaped`, `\"` and `\\`
//!   inside it stand for `"` and `\`; every other backslash is kept as it is (so a spoor line's
//!   `\n` stays the two characters `\n`, as on Splunk). With plain `auto`, the next `"` ends it.
//!   An unclosed quote runs to the end of the text.
//! - An unquoted value runs to the next white space, `,` or `;`; an empty one yields nothing.
//! - A quoted stretch of text that is not a value is skipped whole, so `=` inside it starts no
//!   pair.
//! - Keys are cleaned as Splunk's `CLEAN_KEYS` does ([`clean_key`]); a key
//!   that cleans to nothing yields nothing.
//! - With `KV_TRIM_SPACES` (Splunk's default), spaces (not tabs) around a value are trimmed.
//!   spoor's sourcetype turns this off so values keep their spaces.
//! - Pairs come in the order of the text; a key seen twice yields twice (Splunk makes it a
//!   multivalue field).

use std::borrow::Cow;
use std::ops::Range;

use crate::key::clean_key;

/// A `key=value` pair found in raw text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'a> {
    /// The key, cleaned as Splunk cleans extracted keys.
    pub key: Cow<'a, str>,
    /// The value, unquoted and unescaped.
    pub value: Cow<'a, str>,
}

/// Splunk's automatic `key=value` extraction, configured as a sourcetype's props configure it.
///
/// ```
/// use spoor_event::extract::Extractor;
///
/// let raw = r#"2026-11-28T12:00:00.000000Z application="shop" event="say \"hi\"" analytics_prop__seats=3"#;
/// let fields: Vec<_> = Extractor::auto_escaped()
///     .fields(raw)
///     .map(|f| (f.key.into_owned(), f.value.into_owned()))
///     .collect();
/// assert_eq!(
///     fields,
///     [
///         ("application".to_owned(), "shop".to_owned()),
///         ("event".to_owned(), r#"say "hi""#.to_owned()),
///         ("analytics_prop__seats".to_owned(), "3".to_owned()),
///     ]
/// );
///
/// // Splunk's key cleaning and space trimming, by default.
/// let fields: Vec<_> = Extractor::auto().fields(r#"user-agent=" curl ""#).collect();
/// assert_eq!((&*fields[0].key, &*fields[0].value), ("user_agent", "curl"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extractor {
    escapes: bool,
    trim_spaces: bool,
}

impl Default for Extractor {
    /// Splunk's defaults: `KV_MODE = auto`, `KV_TRIM_SPACES = true`.
    fn default() -> Self {
        Self::auto()
    }
}

impl Extractor {
    /// `KV_MODE = auto`: a quoted value ends at the next `"`. Spaces are trimmed.
    pub const fn auto() -> Self {
        Self {
            escapes: false,
            trim_spaces: true,
        }
    }

    /// `KV_MODE = auto_escaped`: `\"` and `\\` are honoured inside quoted values. Spaces are
    /// trimmed.
    pub const fn auto_escaped() -> Self {
        Self {
            escapes: true,
            trim_spaces: true,
        }
    }

    /// The extraction spoor's sourcetype is configured with ([`crate::props::SETTINGS`]):
    /// `auto_escaped`, spaces kept.
    pub const fn spoor() -> Self {
        Self::auto_escaped().trim_spaces(false)
    }

    /// `KV_TRIM_SPACES`: whether spaces around values are trimmed.
    #[must_use]
    pub const fn trim_spaces(mut self, trim: bool) -> Self {
        self.trim_spaces = trim;
        self
    }

    /// Whether `\"` and `\\` are honoured inside quoted values (`KV_MODE = auto_escaped`).
    ///
    /// ```
    /// use spoor_event::extract::Extractor;
    ///
    /// assert!(Extractor::spoor().escapes());
    /// assert!(!Extractor::auto().escapes());
    /// ```
    pub const fn escapes(&self) -> bool {
        self.escapes
    }

    /// Whether spaces around values are trimmed (`KV_TRIM_SPACES`).
    ///
    /// ```
    /// use spoor_event::extract::Extractor;
    ///
    /// assert!(!Extractor::spoor().trims_spaces());
    /// assert!(Extractor::auto().trims_spaces());
    /// ```
    pub const fn trims_spaces(&self) -> bool {
        self.trim_spaces
    }

    /// The pairs of `raw`, in order.
    pub fn fields<'a>(&self, raw: &'a str) -> Fields<'a> {
        Fields {
            raw,
            pos: 0,
            config: *self,
        }
    }
}

/// The pairs of one text; see [`Extractor::fields`].
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    raw: &'a str,
    pos: usize,
    config: Extractor,
}

/// Ends a key (scanning back from `=`) and an unquoted value.
fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'=' | b',' | b';')
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        self.next_with_span().map(|(field, _)| field)
    }
}

impl<'a> Fields<'a> {
    /// The next pair, with where its value is written in the text: inside the quotes of a
    /// quoted value, before unescaping and trimming. So a caller can tell whether the value
    /// is written exactly as extracted.
    ///
    /// ```
    /// use spoor_event::extract::Extractor;
    ///
    /// let raw = r#"a=1 b="x \"y\"""#;
    /// let mut fields = Extractor::spoor().fields(raw);
    /// let (a, span) = fields.next_with_span().unwrap();
    /// assert_eq!((&*a.value, &raw[span]), ("1", "1"));
    /// let (b, span) = fields.next_with_span().unwrap();
    /// assert_eq!((&*b.value, &raw[span]), (r#"x "y""#, r#"x \"y\""#));
    /// assert!(fields.next_with_span().is_none());
    /// ```
    pub fn next_with_span(&mut self) -> Option<(Field<'a>, Range<usize>)> {
        let bytes = self.raw.as_bytes();
        loop {
            let found = bytes[self.pos..]
                .iter()
                .position(|&b| b == b'=' || b == b'"')?;
            let at = self.pos + found;
            if bytes[at] == b'"' {
                // Quoted text that is no value: skip it.
                self.pos = self.quote_end(at).1;
                continue;
            }
            let key_start = bytes[self.pos..at]
                .iter()
                .rposition(|&b| is_delimiter(b))
                .map_or(self.pos, |i| self.pos + i + 1);
            let key = &self.raw[key_start..at];
            let (value, span, end) = if bytes.get(at + 1) == Some(&b'"') {
                let (close, end) = self.quote_end(at + 1);
                (self.unescape(&self.raw[at + 2..close]), at + 2..close, end)
            } else {
                let len = bytes[at + 1..]
                    .iter()
                    .position(|&b| b.is_ascii_whitespace() || matches!(b, b',' | b';' | b'"'))
                    .unwrap_or(bytes.len() - at - 1);
                let span = at + 1..at + 1 + len;
                (Cow::Borrowed(&self.raw[span.clone()]), span, at + 1 + len)
            };
            self.pos = end;
            let quoted = bytes.get(at + 1) == Some(&b'"');
            if key.is_empty() || (!quoted && value.is_empty()) {
                continue;
            }
            let key = clean_key(key);
            if key.is_empty() {
                continue;
            }
            let value = if self.config.trim_spaces {
                trim_spaces(value)
            } else {
                value
            };
            return Some((Field { key, value }, span));
        }
    }

    /// For the quote opening at `open`: where its closing quote is, and where the text after it
    /// starts (both the end of the text when it is never closed).
    fn quote_end(&self, open: usize) -> (usize, usize) {
        let bytes = self.raw.as_bytes();
        let mut i = open + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'"' => return (i, i + 1),
                b'\\' if self.config.escapes && i + 1 < bytes.len() => i += 2,
                _ => i += 1,
            }
        }
        (bytes.len(), bytes.len())
    }

    /// The text of a quoted value, with `\"` and `\\` read under `auto_escaped`.
    fn unescape(&self, inner: &'a str) -> Cow<'a, str> {
        if !self.config.escapes || !inner.contains('\\') {
            return Cow::Borrowed(inner);
        }
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.clone().next() {
                    Some(next @ ('"' | '\\')) => {
                        out.push(next);
                        chars.next();
                    }
                    _ => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        Cow::Owned(out)
    }
}

fn trim_spaces(value: Cow<'_, str>) -> Cow<'_, str> {
    match value {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim_matches(' ')),
        Cow::Owned(s) => {
            let trimmed = s.trim_matches(' ');
            if trimmed.len() == s.len() {
                Cow::Owned(s)
            } else {
                Cow::Owned(trimmed.to_owned())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(extractor: Extractor, raw: &str) -> Vec<(String, String)> {
        extractor
            .fields(raw)
            .map(|f| (f.key.into_owned(), f.value.into_owned()))
            .collect()
    }

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn splunk_documented_examples() {
        // props.conf.spec, KV_MODE = auto_escaped.
        assert_eq!(
            pairs(
                Extractor::auto_escaped(),
                r#"field="value with \"nested\" quotes""#
            ),
            p(&[("field", r#"value with "nested" quotes"#)])
        );
        // props.conf.spec, KV_TRIM_SPACES.
        let raw = r#"2014-04-04 10:10:45 myfield=" apples ""#;
        assert_eq!(pairs(Extractor::auto(), raw), p(&[("myfield", "apples")]));
        assert_eq!(
            pairs(Extractor::auto().trim_spaces(false), raw),
            p(&[("myfield", " apples ")])
        );
        // transforms.conf.spec, CLEAN_KEYS.
        assert_eq!(
            pairs(Extractor::auto(), "12345my/wierd]field=1 $my-field=2"),
            p(&[("my_wierd_field", "1"), ("my_field", "2")])
        );
    }

    #[test]
    fn plain_auto_ends_a_value_at_the_next_quote() {
        // The backslash is text and the quote after it closes the value; the stray quote that
        // follows opens a stretch that is never closed.
        assert_eq!(
            pairs(Extractor::auto(), r#"a="x\"y" b=2"#),
            p(&[("a", "x\\")])
        );
    }

    #[test]
    fn only_quote_and_backslash_are_escapes() {
        assert_eq!(
            pairs(Extractor::spoor(), r#"a="1\n2\\n3\"4\x""#),
            p(&[("a", r#"1\n2\n3"4\x"#)])
        );
    }

    #[test]
    fn quoted_text_that_is_no_value_is_skipped() {
        assert_eq!(
            pairs(Extractor::auto_escaped(), r#"msg "not=a pair" k=v"#),
            p(&[("k", "v")])
        );
    }

    #[test]
    fn delimiters_and_odd_input() {
        assert_eq!(
            pairs(Extractor::auto(), "a=1,b=2;c=3 d= e==f =g"),
            p(&[("a", "1"), ("b", "2"), ("c", "3"), ("e", "=f")])
        );
        assert_eq!(
            pairs(Extractor::auto(), r#"a="unclosed b=2"#),
            p(&[("a", "unclosed b=2")])
        );
        assert_eq!(
            pairs(Extractor::auto(), r#"a="" b=2"#),
            p(&[("a", ""), ("b", "2")])
        );
        assert_eq!(pairs(Extractor::auto(), "=== \"\"\" 42=x"), p(&[]));
        assert_eq!(
            pairs(Extractor::auto(), "k=1 k=2"),
            p(&[("k", "1"), ("k", "2")])
        );
    }
}
