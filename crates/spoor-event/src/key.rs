//! Property keys, and Splunk's key cleaning.
//!
//! Splunk cleans the names of automatically extracted fields (`CLEAN_KEYS = true`, the default):
//! every character other than an ASCII letter or digit becomes `_`, then leading underscores and
//! digits are stripped. A key spoor writes must come back from Splunk under the same name, so a
//! [`Key`] only holds names that cleaning leaves unchanged: `[A-Za-z][A-Za-z0-9_]*`.

use std::borrow::{Borrow, Cow};
use std::fmt;

use crate::field::PROPERTY_PREFIX;

/// The name Splunk gives a field extracted under `key`, after its key cleaning.
///
/// Characters other than ASCII letters and digits become `_`; leading underscores and digits are
/// then dropped. An empty result means Splunk drops the field altogether. The result is borrowed
/// when `key` is already clean.
///
/// ```
/// use spoor_event::clean_key;
///
/// assert_eq!(clean_key("browser"), "browser");
/// assert_eq!(clean_key("user-agent"), "user_agent");
/// assert_eq!(clean_key("12345my/wierd]field"), "my_wierd_field");
/// assert_eq!(clean_key("$my-field"), "my_field");
/// assert_eq!(clean_key("42"), "");
/// ```
pub fn clean_key(key: &str) -> Cow<'_, str> {
    if is_clean(key) {
        return Cow::Borrowed(key);
    }
    let mut cleaned = String::with_capacity(key.len());
    for c in key.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '_' };
        if cleaned.is_empty() && (c == '_' || c.is_ascii_digit()) {
            continue;
        }
        cleaned.push(c);
    }
    Cow::Owned(cleaned)
}

/// Whether `key` is non-empty and survives Splunk's key cleaning unchanged.
fn is_clean(key: &str) -> bool {
    let bytes = key.as_bytes();
    match bytes.first() {
        Some(first) if first.is_ascii_alphabetic() => bytes[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_'),
        _ => false,
    }
}

/// A property key that Splunk's key cleaning leaves unchanged (`[A-Za-z][A-Za-z0-9_]*`).
///
/// Keys are case-sensitive, as Splunk's field names are: `Plan` and `plan` are two keys.
///
/// ```
/// use spoor_event::Key;
///
/// let key = Key::new("browser")?;
/// assert_eq!(key.as_str(), "browser");
/// assert_eq!(key.field_name(), "analytics_prop__browser");
///
/// let err = Key::new("user-agent").unwrap_err();
/// assert_eq!(err.cleaned(), "user_agent");
/// # Ok::<(), spoor_event::KeyError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(String);

impl Key {
    /// Validates `key`; the error names it and the form Splunk would clean it to.
    pub fn new(key: impl Into<String>) -> Result<Self, KeyError> {
        let key = key.into();
        if is_clean(&key) {
            Ok(Self(key))
        } else {
            let cleaned = clean_key(&key).into_owned();
            Err(KeyError { key, cleaned })
        }
    }

    /// The key as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name of the Splunk field that holds this property: `analytics_prop__<key>`.
    pub fn field_name(&self) -> String {
        let mut name = String::with_capacity(PROPERTY_PREFIX.len() + self.0.len());
        name.push_str(PROPERTY_PREFIX);
        name.push_str(&self.0);
        name
    }

    /// Gives back the owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Key {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Key {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Key {
    type Error = KeyError;
    fn try_from(key: &str) -> Result<Self, KeyError> {
        Self::new(key)
    }
}

impl TryFrom<String> for Key {
    type Error = KeyError;
    fn try_from(key: String) -> Result<Self, KeyError> {
        Self::new(key)
    }
}

impl std::str::FromStr for Key {
    type Err = KeyError;
    fn from_str(key: &str) -> Result<Self, KeyError> {
        Self::new(key)
    }
}

/// A property key that Splunk's key cleaning would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    key: String,
    cleaned: String,
}

impl KeyError {
    /// The key as given.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What Splunk's key cleaning would turn the key into (empty: Splunk would drop the field).
    pub fn cleaned(&self) -> &str {
        &self.cleaned
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "property key {:?} would not survive splunk's key cleaning",
            self.key
        )?;
        if self.cleaned.is_empty() {
            f.write_str(" (splunk would drop it)")?;
        } else {
            write!(f, " (splunk would read it as {:?})", self.cleaned)?;
        }
        f.write_str(
            "; use a key that starts with an ASCII letter and has only ASCII letters, digits and `_`",
        )
    }
}

impl std::error::Error for KeyError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_keys_are_borrowed() {
        assert!(matches!(clean_key("plan_2"), Cow::Borrowed("plan_2")));
    }

    #[test]
    fn splunk_documented_cleanings() {
        // The examples in Splunk's documentation of CLEAN_KEYS.
        assert_eq!(clean_key("12345my/wierd]field"), "my_wierd_field");
        assert_eq!(clean_key("$my-field"), "my_field");
    }

    #[test]
    fn non_ascii_letters_become_underscores() {
        assert_eq!(clean_key("café"), "caf_");
        assert_eq!(clean_key("été"), "t_");
        assert_eq!(clean_key("_"), "");
        assert_eq!(clean_key(""), "");
    }

    #[test]
    fn error_names_the_key_and_its_cleaned_form() {
        let err = Key::new("user-agent").unwrap_err();
        assert_eq!(
            err.to_string(),
            "property key \"user-agent\" would not survive splunk's key cleaning \
             (splunk would read it as \"user_agent\"); use a key that starts with an ASCII \
             letter and has only ASCII letters, digits and `_`"
        );
        let err = Key::new("123").unwrap_err();
        assert!(err.to_string().contains("splunk would drop it"), "{err}");
    }

    #[test]
    fn keys_are_case_sensitive() {
        assert_ne!(Key::new("Plan").unwrap(), Key::new("plan").unwrap());
    }
}
