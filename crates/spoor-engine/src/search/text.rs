//! How values are matched, compared and printed.

use std::cmp::Ordering;

use time::OffsetDateTime;

/// A search value pattern: case-insensitive, `*` matching any run of characters.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    /// The lower-cased text between the `*`s.
    parts: Vec<String>,
}

impl Pattern {
    pub(crate) fn new(pattern: &str) -> Self {
        Self {
            parts: pattern
                .to_lowercase()
                .split('*')
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Whether the pattern holds no `*`.
    pub(crate) fn is_literal(&self) -> bool {
        self.parts.len() == 1
    }

    pub(crate) fn matches(&self, value: &str) -> bool {
        let value = value.to_lowercase();
        let (first, rest) = self
            .parts
            .split_first()
            .expect("split gives one part at least");
        let Some((last, middle)) = rest.split_last() else {
            return value == *first;
        };
        if value.len() < first.len() + last.len()
            || !value.starts_with(first.as_str())
            || !value.ends_with(last.as_str())
        {
            return false;
        }
        let end = value.len() - last.len();
        let mut pos = first.len();
        for part in middle {
            match value[pos..end].find(part.as_str()) {
                Some(found) => pos += found + part.len(),
                None => return false,
            }
        }
        true
    }
}

/// A value read as a number, when it is one: digits with an optional sign, point and exponent.
pub(crate) fn number(value: &str) -> Option<f64> {
    let value = value.trim();
    let plausible = value.bytes().any(|b| b.is_ascii_digit())
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !plausible {
        return None;
    }
    value.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// A number as Splunk prints it: integral values as integers, others in their shortest form.
pub(crate) fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// Compares two values as `sort` does: as numbers when both are, else byte-wise.
pub(crate) fn compare_values(a: &str, b: &str) -> Ordering {
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.as_bytes().cmp(b.as_bytes()),
    }
}

/// `_time` as Splunk prints it: `2026-11-01T00:00:00.000+00:00`.
pub(crate) fn format_time(micros: i64) -> String {
    let time = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+00:00",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second(),
        time.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_case_insensitively_with_wildcards() {
        let cases = [
            ("shop", "SHOP", true),
            ("shop", "shops", false),
            ("sh*p", "ShoP", true),
            ("*", "", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "acb", false),
            ("ÉTÉ", "été", true),
            ("*end", "the end", true),
            ("ab*ba", "aba", false),
        ];
        for (pattern, value, expected) in cases {
            assert_eq!(
                Pattern::new(pattern).matches(value),
                expected,
                "{pattern} {value}"
            );
        }
        assert!(!Pattern::new("a*").is_literal());
    }

    #[test]
    fn numbers_are_read_and_printed_as_splunk_does() {
        assert_eq!(number(" 3 "), Some(3.0));
        assert_eq!(number("2.5e1"), Some(25.0));
        assert_eq!(number("inf"), None);
        assert_eq!(number("1e999"), None);
        assert_eq!(number("12abc"), None);
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(-2.0), "-2");
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(compare_values("10", "9"), Ordering::Greater);
        assert_eq!(compare_values("10", "9a"), Ordering::Less);
    }

    #[test]
    fn times_print_with_milliseconds_and_offset() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00.000+00:00");
        assert_eq!(
            format_time(1_795_867_200_123_456),
            "2026-11-28T12:00:00.123+00:00"
        );
        assert_eq!(format_time(-1), "1969-12-31T23:59:59.999+00:00");
    }
}
