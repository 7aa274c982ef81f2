//! `application/x-www-form-urlencoded` bodies and query strings, percent-encoded path
//! segments, and base64 for HTTP Basic authentication: small pure helpers, no dependency.

use std::fmt::Write as _;

/// An ordered list of `name=value` pairs, encoded as a form body or a query string.
///
/// ```
/// use spoor_proto::form::Form;
///
/// let mut form = Form::new();
/// form.push("search", "search index=main | head 1").push("exec_mode", "normal");
/// assert_eq!(form.encode(), "search=search%20index%3Dmain%20%7C%20head%201&exec_mode=normal");
/// assert_eq!(Form::decode(&form.encode()), form);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// An empty form.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a pair (repeated names are kept, as Splunk allows).
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.pairs.push((name.into(), value.into()));
        self
    }

    /// Appends a pair when `value` is `Some`.
    pub fn push_opt(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value {
            self.push(name, v);
        }
        self
    }

    /// The pairs, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The first value for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the form has no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// `a=1&b=x%20y`: every byte outside `A-Z a-z 0-9 - . _ ~` is percent-encoded.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (i, (k, v)) in self.pairs.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            encode_into(k, &mut out);
            out.push('=');
            encode_into(v, &mut out);
        }
        out
    }

    /// Reads an encoded form leniently: `+` is a space, a bad escape is kept as text,
    /// invalid UTF-8 is replaced. Never fails.
    pub fn decode(s: &str) -> Self {
        let pairs = s
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode_component(k), decode_component(v))
            })
            .collect();
        Self { pairs }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Form {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            pairs: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

/// Percent-encodes one component (a form name or value, or a URL path segment).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    encode_into(s, &mut out);
    out
}

fn encode_into(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn decode_component(s: &str) -> String {
    String::from_utf8_lossy(&percent_decode(s, true)).into_owned()
}

/// Percent-decodes a URL path segment (`+` stays a plus); `None` when the result is not UTF-8.
///
/// ```
/// use spoor_proto::form::decode_path_segment;
///
/// assert_eq!(decode_path_segment("spoor%3A%3Aevents+1").as_deref(), Some("spoor::events+1"));
/// assert_eq!(decode_path_segment("%FF"), None);
/// ```
pub fn decode_path_segment(s: &str) -> Option<String> {
    String::from_utf8(percent_decode(s, false)).ok()
}

/// The bytes of percent-encoded text; a bad escape is kept as text.
fn percent_decode(s: &str, plus_is_space: bool) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Standard base64 (RFC 4648, with padding), as HTTP Basic authentication uses it.
///
/// ```
/// assert_eq!(spoor_proto::form::base64(b"admin:changeme"), "YWRtaW46Y2hhbmdlbWU=");
/// ```
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> shift & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Reads base64 (the standard or the URL-safe alphabet, padding optional), as HTTP Basic
/// authentication sends it; `None` for any other character.
///
/// ```
/// use spoor_proto::form::{base64, base64_decode};
///
/// assert_eq!(base64_decode(&base64(b"admin:changeme")).as_deref(), Some(&b"admin:changeme"[..]));
/// assert_eq!(base64_decode("not base64!"), None);
/// ```
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn decode_is_lenient() {
        let f = Form::decode("a=x+y&b=%zz&c&=%41%");
        assert_eq!(
            f.pairs(),
            &[
                ("a".into(), "x y".into()),
                ("b".into(), "%zz".into()),
                ("c".into(), String::new()),
                (String::new(), "A%".into())
            ]
        );
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_identity(pairs in proptest::collection::vec(("\\PC*", "\\PC*"), 0..6)) {
            let form: Form = pairs.into_iter().collect();
            let encoded = form.encode();
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_graphic()));
            prop_assert_eq!(Form::decode(&encoded), form);
        }

        #[test]
        fn decode_never_panics(s in "\\PC*") {
            let _ = Form::decode(&s);
        }
    }
}
