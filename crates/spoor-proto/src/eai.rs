//! Splunk's entity collections ("EAI"): the JSON form (`output_mode=json`) and the Atom XML
//! form, read into one model.
//!
//! JSON content values are typed (`true`, `3`, `null`) where XML gives strings (`1`, `3`);
//! both become [`Field::Text`] (`"true"`, `"3"`) and the typed getters accept either spelling.

use serde_json::Value as Json;

use crate::error::{Error, Message};
use crate::service::{JsonMessage, Shape, shape};
use crate::xml::{self, Element};

/// A collection response: the entries plus paging and messages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Feed {
    /// The entries, in order.
    pub entries: Vec<Entry>,
    /// The total number of entries on the server (`paging.total` / `opensearch:totalResults`).
    pub total: Option<u64>,
    /// Messages carried by the feed.
    pub messages: Vec<Message>,
}

/// One entity: name, links and content.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    /// The entity name (`name` in JSON, `<title>` in Atom).
    pub name: String,
    /// The entity's full URL id.
    pub id: String,
    /// `rel` → `href` links, e.g. `("alternate", "/servicesNS/nobody/system/data/indexes/main")`.
    pub links: Vec<(String, String)>,
    /// The content keys in document order.
    pub content: Vec<(String, Field)>,
}

/// A content value.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// A scalar, as text.
    Text(String),
    /// A list (`<s:list>` or a JSON array).
    List(Vec<Self>),
    /// A dictionary (`<s:dict>` or a JSON object), keys in document order.
    Dict(Vec<(String, Self)>),
    /// JSON `null` or an empty XML key.
    Null,
}

impl Field {
    /// The text of a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl Entry {
    /// A content value by key.
    pub fn get(&self, key: &str) -> Option<&Field> {
        self.content.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A scalar content value by key.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Field::as_str)
    }

    /// A boolean content value: `1`/`0` (XML) or `true`/`false` (JSON).
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        match self.get_str(key)? {
            "1" | "true" | "True" => Some(true),
            "0" | "false" | "False" => Some(false),
            _ => None,
        }
    }

    /// A whole-number content value (`"3"`, `3`, or `3.0` as some versions write counts).
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        let s = self.get_str(key)?;
        s.parse().ok().or_else(|| {
            let f: f64 = s.parse().ok()?;
            (f >= 0.0 && f.fract() == 0.0 && f < 1.8e19).then_some(f as u64)
        })
    }

    /// A decimal content value.
    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.get_str(key)?.parse().ok()
    }

    /// The `href` of a link by `rel`.
    pub fn link(&self, rel: &str) -> Option<&str> {
        self.links
            .iter()
            .find(|(r, _)| r == rel)
            .map(|(_, h)| h.as_str())
    }
}

/// Reads a feed (or a single bare `<entry>`) from a JSON or Atom body.
///
/// # Errors
///
/// [`Error::Parse`] when the body is neither.
pub fn parse_feed(body: &[u8]) -> Result<Feed, Error> {
    match shape(body) {
        Shape::Json => parse_json(body),
        Shape::Xml => parse_atom(body),
        Shape::Empty | Shape::Text => Err(Error::parse("entity feed")),
    }
}

#[derive(serde::Deserialize)]
struct JsonFeed {
    #[serde(default)]
    entry: Vec<JsonEntry>,
    #[serde(default)]
    paging: Option<JsonPaging>,
    #[serde(default)]
    messages: Vec<JsonMessage>,
}

#[derive(serde::Deserialize)]
struct JsonEntry {
    #[serde(default)]
    name: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    links: serde_json::Map<String, Json>,
    #[serde(default)]
    content: OrderedObject,
}

#[derive(serde::Deserialize)]
struct JsonPaging {
    total: Option<u64>,
}

/// A JSON object read with its keys in document order (serde_json's map would sort them).
#[derive(Default)]
pub(crate) struct OrderedObject(pub(crate) Vec<(String, Json)>);

impl<'de> serde::Deserialize<'de> for OrderedObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedObject, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry::<String, Json>()? {
                    out.push(entry);
                }
                Ok(OrderedObject(out))
            }
        }
        d.deserialize_map(Visitor)
    }
}

fn json_field(v: Json) -> Field {
    match v {
        Json::Null => Field::Null,
        Json::Bool(b) => Field::Text(b.to_string()),
        Json::Number(n) => Field::Text(n.to_string()),
        Json::String(s) => Field::Text(s),
        Json::Array(items) => Field::List(items.into_iter().map(json_field).collect()),
        Json::Object(map) => {
            Field::Dict(map.into_iter().map(|(k, v)| (k, json_field(v))).collect())
        }
    }
}

fn parse_json(body: &[u8]) -> Result<Feed, Error> {
    let feed: JsonFeed =
        serde_json::from_slice(body).map_err(|e| Error::parse_with("entity feed", e))?;
    let messages = feed.messages.into_iter().map(Message::from).collect();
    let entries = feed
        .entry
        .into_iter()
        .map(|e| Entry {
            name: e.name,
            id: e.id,
            links: e
                .links
                .into_iter()
                .filter_map(|(rel, href)| Some((rel, href.as_str()?.to_owned())))
                .collect(),
            content: e
                .content
                .0
                .into_iter()
                .map(|(k, v)| (k, json_field(v)))
                .collect(),
        })
        .collect();
    Ok(Feed {
        entries,
        total: feed.paging.and_then(|p| p.total),
        messages,
    })
}

fn parse_atom(body: &[u8]) -> Result<Feed, Error> {
    let root = xml::parse(body)?;
    if let Some(feed) = root.child("feed") {
        let total = feed
            .child("totalResults")
            .and_then(|t| t.text.trim().parse().ok());
        let entries = if total == Some(0) {
            Vec::new()
        } else {
            feed.children_named("entry").map(atom_entry).collect()
        };
        let messages = feed
            .child("messages")
            .map(xml::messages)
            .unwrap_or_default();
        Ok(Feed {
            entries,
            total,
            messages,
        })
    } else if let Some(entry) = root.child("entry") {
        Ok(Feed {
            entries: vec![atom_entry(entry)],
            total: Some(1),
            messages: Vec::new(),
        })
    } else {
        Err(Error::parse("entity feed"))
    }
}

fn atom_entry(e: &Element) -> Entry {
    let text = |name: &str| {
        e.child(name)
            .map(|c| c.text.trim().to_owned())
            .unwrap_or_default()
    };
    let links = e
        .children_named("link")
        .filter_map(|l| Some((l.attr("rel")?.to_owned(), l.attr("href")?.to_owned())))
        .collect();
    let content = match e.child("content").and_then(|c| c.child("dict")) {
        Some(dict) => atom_dict(dict),
        None => Vec::new(),
    };
    Entry {
        name: text("title"),
        id: text("id"),
        links,
        content,
    }
}

fn atom_dict(dict: &Element) -> Vec<(String, Field)> {
    dict.children_named("key")
        .map(|k| (k.attr("name").unwrap_or_default().to_owned(), atom_value(k)))
        .collect()
}

fn atom_value(el: &Element) -> Field {
    if let Some(dict) = el.child("dict") {
        Field::Dict(atom_dict(dict))
    } else if let Some(list) = el.child("list") {
        Field::List(list.children_named("item").map(atom_value).collect())
    } else if el.text.trim().is_empty() {
        Field::Null
    } else {
        Field::Text(el.text.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Parsers of server bodies never panic, whatever the bytes.
        #[test]
        fn body_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), xmlish in "(<[a-z:]{0,6}( [a-z]{1,3}='[^']{0,4}')?/?>|</[a-z:]{0,6}>|&[a-z#0-9]{0,5};|[^<&]{0,6}){0,24}") {
            for body in [bytes.as_slice(), xmlish.as_bytes()] {
                let _ = parse_feed(body);
                let _ = crate::service::messages_of(body);
                let _ = crate::search::parse_results(&http::Response::new(body));
                let _ = crate::search::parse_job_status(&http::Response::new(body));
                let _ = crate::rest::parse_submit_receipt(&http::Response::new(body));
                let _ = crate::rest::parse_login(&http::Response::new(body));
            }
        }
    }

    #[test]
    fn json_and_atom_agree() {
        let json = br#"{"entry":[{"name":"main","id":"https://h/x","links":{"alternate":"/x"},"content":{"disabled":false,"totalEventCount":669,"eai:acl":null,"z":["a"],"a":"b"}}],"paging":{"total":1,"perPage":30,"offset":0},"messages":[]}"#;
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:s="http://dev.splunk.com/ns/rest" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
<opensearch:totalResults>1</opensearch:totalResults><s:messages/>
<entry><title>main</title><id>https://h/x</id><link href="/x" rel="alternate"/>
<content type="text/xml"><s:dict><s:key name="disabled">0</s:key><s:key name="totalEventCount">669</s:key><s:key name="eai:acl"></s:key>
<s:key name="z"><s:list><s:item>a</s:item></s:list></s:key><s:key name="a">b</s:key></s:dict></content></entry></feed>"#;
        let (j, a) = (parse_feed(json).unwrap(), parse_feed(atom).unwrap());
        for feed in [&j, &a] {
            let e = &feed.entries[0];
            assert_eq!((e.name.as_str(), e.link("alternate")), ("main", Some("/x")));
            assert_eq!(e.get_bool("disabled"), Some(false));
            assert_eq!(e.get_u64("totalEventCount"), Some(669));
            assert_eq!(e.get("eai:acl"), Some(&Field::Null));
            assert_eq!(
                e.get("z"),
                Some(&Field::List(vec![Field::Text("a".into())]))
            );
            let keys: Vec<_> = e.content.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(keys, ["disabled", "totalEventCount", "eai:acl", "z", "a"]);
            assert_eq!(feed.total, Some(1));
        }
    }

    #[test]
    fn zero_total_means_no_entries_and_junk_is_an_error() {
        let atom =
            b"<feed><totalResults>0</totalResults><entry><title>ghost</title></entry></feed>";
        assert!(parse_feed(atom).unwrap().entries.is_empty());
        assert!(parse_feed(b"Internal error").is_err());
        assert!(parse_feed(b"<response/>").is_err());
    }
}
