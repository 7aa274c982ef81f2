//! Result rows and pages in Splunk's JSON output mode.

use http::Response;
use serde_json::Value as Json;

use crate::eai::OrderedObject;
use crate::error::{Error, Message};
use crate::service::{JsonMessage, Shape, check, shape};

/// A field value: one string or several (a multivalue field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A single value.
    Single(String),
    /// A multivalue field, values in Splunk's order.
    Multi(Vec<String>),
}

impl Value {
    /// The value when single, or the first of a multivalue.
    pub fn first(&self) -> Option<&str> {
        match self {
            Self::Single(s) => Some(s),
            Self::Multi(v) => v.first().map(String::as_str),
        }
    }

    /// Every value (one for a single value).
    pub fn values(&self) -> &[String] {
        match self {
            Self::Single(s) => std::slice::from_ref(s),
            Self::Multi(v) => v,
        }
    }

    fn from_json(v: Json) -> Option<Self> {
        match v {
            Json::Null => None,
            Json::String(s) => Some(Self::Single(s)),
            Json::Array(items) => Some(Self::Multi(
                items
                    .into_iter()
                    .filter_map(|i| Self::from_json(i).and_then(|v| v.first().map(str::to_owned)))
                    .collect(),
            )),
            other => Some(Self::Single(other.to_string())),
        }
    }
}

/// One result row: fields in Splunk's order, each with a [`Value`]. A field that is null for
/// this row is absent, as in Splunk's output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    fields: Vec<(String, Value)>,
}

impl Row {
    /// A row from `(field, value)` pairs, kept in the order given.
    pub fn new(fields: Vec<(String, Value)>) -> Self {
        Self { fields }
    }

    /// A field's value.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| k == field).map(|(_, v)| v)
    }

    /// A field's (first) value as text.
    pub fn get_str(&self, field: &str) -> Option<&str> {
        self.get(field).and_then(Value::first)
    }

    /// The fields in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the row has no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The `(field, value)` pairs.
    pub fn into_fields(self) -> Vec<(String, Value)> {
        self.fields
    }

    pub(crate) fn from_object(obj: OrderedObject) -> Self {
        Self {
            fields: obj
                .0
                .into_iter()
                .filter_map(|(k, v)| Some((k, Value::from_json(v)?)))
                .collect(),
        }
    }
}

/// One page of `results` (or a `oneshot` reply): rows, field names, messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultsPage {
    /// Whether these are preview results of an unfinished job.
    pub preview: bool,
    /// The offset of the first row (`init_offset`).
    pub init_offset: u64,
    /// Field names from `fields` (may be empty on old versions).
    pub fields: Vec<String>,
    /// The rows, in order.
    pub rows: Vec<Row>,
    /// Splunk's messages, all of them (`INFO`, `WARN`, `ERROR`…).
    pub messages: Vec<Message>,
}

#[derive(serde::Deserialize)]
struct JsonPage {
    #[serde(default)]
    preview: bool,
    #[serde(default)]
    init_offset: u64,
    #[serde(default)]
    fields: Vec<JsonFieldName>,
    #[serde(default)]
    results: Vec<OrderedObject>,
    #[serde(default)]
    messages: Vec<JsonMessage>,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum JsonFieldName {
    Name(String),
    Described { name: String },
}

/// Reads a JSON results page (`output_mode=json`), e.g.
/// `{"preview":false,"init_offset":0,"messages":[],"fields":[{"name":"count"}],"results":[{"count":"3"}], "highlighted":{}}`.
/// An empty body (older servers' 204 for an unfinished job) is an empty page.
///
/// # Errors
///
/// [`Error::Api`] for an error status, [`Error::Parse`] for anything but a JSON page.
pub fn parse_results<B: AsRef<[u8]>>(response: &Response<B>) -> Result<ResultsPage, Error> {
    parse_results_body(check(response)?)
}

pub(crate) fn parse_results_body(body: &[u8]) -> Result<ResultsPage, Error> {
    match shape(body) {
        Shape::Empty => Ok(ResultsPage::default()),
        Shape::Json => {
            let page: JsonPage =
                serde_json::from_slice(body).map_err(|e| Error::parse_with("results page", e))?;
            Ok(ResultsPage {
                preview: page.preview,
                init_offset: page.init_offset,
                fields: page
                    .fields
                    .into_iter()
                    .map(|f| match f {
                        JsonFieldName::Name(name) | JsonFieldName::Described { name } => name,
                    })
                    .collect(),
                rows: page.results.into_iter().map(Row::from_object).collect(),
                messages: page.messages.into_iter().map(Message::from).collect(),
            })
        }
        Shape::Xml | Shape::Text => Err(Error::parse("results page (expected output_mode=json)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Level;

    #[test]
    fn keeps_field_order_multivalues_and_messages() {
        let body = br#"{"preview":false,"init_offset":5,"messages":[{"type":"INFO","text":"hi"},{"type":"WARN","text":"careful"}],"fields":[{"name":"z","type":"str"},"a"],"results":[{"z":"1","a":["x","y"],"n":null,"k":3}], "highlighted":{}}"#;
        let page = parse_results_body(body).unwrap();
        assert_eq!(page.init_offset, 5);
        assert_eq!(page.fields, ["z", "a"]);
        let row = &page.rows[0];
        let names: Vec<_> = row.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["z", "a", "k"]);
        assert_eq!(
            row.get("a"),
            Some(&Value::Multi(vec!["x".into(), "y".into()]))
        );
        assert_eq!(row.get_str("k"), Some("3"));
        assert_eq!(
            page.messages.iter().map(|m| &m.level).collect::<Vec<_>>(),
            [&Level::Info, &Level::Warn]
        );
        assert_eq!(parse_results_body(b"").unwrap(), ResultsPage::default());
        assert!(parse_results_body(b"<results preview='0'/>").is_err());
    }
}
