//! Property values.

use std::fmt;

/// The value of a property: a string, an integer, a finite float or a boolean.
///
/// Strings are written quoted and the other kinds bare (`plan="pro"`, `seats=3`, `price=9.5`,
/// `trial=true`), so the kind survives a round trip through the raw line; Splunk extracts both
/// forms alike. An [`Event`](crate::Event) never holds a NaN or infinite float: building one
/// with such a value is an error.
///
/// ```
/// use spoor_event::Value;
///
/// assert_eq!(Value::from("pro"), Value::String("pro".into()));
/// assert_eq!(Value::from(3), Value::Int(3));
/// assert_eq!(Value::from(true).to_string(), "true");
/// assert_eq!(Value::from(2.0).to_string(), "2.0");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text; any Unicode, including quotes, backslashes and newlines.
    String(String),
    /// A signed 64-bit integer.
    Int(i64),
    /// A finite 64-bit float, written in its shortest form that reads back to the same number.
    Float(f64),
    /// A boolean, written `true` or `false`.
    Bool(bool),
}

impl Value {
    /// The string, if this is a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The name of this value's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::String(_) => "string",
            Self::Int(_) => "integer",
            Self::Float(_) => "float",
            Self::Bool(_) => "boolean",
        }
    }
}

/// Writes the value as Splunk will see it once extracted: strings as they are, numbers and
/// booleans as written on the line.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(s) => f.write_str(s),
            Self::Int(n) => write!(f, "{n}"),
            // `Debug` is the shortest text that parses back to the same float, and it always has
            // a `.` or an exponent, so a float never reads back as an integer.
            Self::Float(x) => write!(f, "{x:?}"),
            Self::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::String(s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::String(s.to_owned())
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Self::String(s.clone())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Self::Float(x)
    }
}

impl From<f32> for Value {
    fn from(x: f32) -> Self {
        Self::Float(f64::from(x))
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Self {
                Self::Int(i64::from(n))
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);
