//! A small element tree over `quick-xml`, for the few XML bodies Splunk gives no JSON for
//! (login, error messages, Atom feeds from older servers).
//!
//! Names are kept without their namespace prefix (`s:key` is `key`), which is how Splunk's
//! own SDKs match them. Bodies are small, so a tree is simpler than streaming here.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::error::{Error, Level, Message};

/// One element: local name, attributes (local names), text and child elements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) attrs: Vec<(String, String)>,
    /// The concatenated character data directly inside this element.
    pub(crate) text: String,
    pub(crate) children: Vec<Self>,
}

impl Element {
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn child(&self, name: &str) -> Option<&Self> {
        self.children.iter().find(|c| c.name == name)
    }

    pub(crate) fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Self> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Depth-first search for the first descendant (or self) with this name.
    pub(crate) fn find(&self, name: &str) -> Option<&Self> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }

    /// Collects every descendant (or self) with this name, in document order.
    pub(crate) fn find_all<'a>(&'a self, name: &str, out: &mut Vec<&'a Self>) {
        if self.name == name {
            out.push(self);
        }
        for c in &self.children {
            c.find_all(name, out);
        }
    }
}

fn local(name: &[u8]) -> String {
    let name = name.rsplit(|b| *b == b':').next().unwrap_or(name);
    String::from_utf8_lossy(name).into_owned()
}

fn element(start: &BytesStart<'_>) -> Result<Element, Error> {
    let mut attrs = Vec::new();
    for a in start.attributes().with_checks(false) {
        let a = a.map_err(|e| Error::parse_with("xml", e))?;
        let value = a
            .unescape_value()
            .map_err(|e| Error::parse_with("xml", e))?;
        attrs.push((local(a.key.as_ref()), value.into_owned()));
    }
    Ok(Element {
        name: local(start.name().as_ref()),
        attrs,
        ..Element::default()
    })
}

/// Parses a body into a synthetic root (name `""`) whose children are the document's
/// top-level elements; several concatenated documents (as Splunk streams them) are fine.
pub(crate) fn parse(body: &[u8]) -> Result<Element, Error> {
    let text = std::str::from_utf8(body).map_err(|e| Error::parse_with("xml", e))?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut stack = vec![Element::default()];
    loop {
        let event = reader
            .read_event()
            .map_err(|e| Error::parse_with("xml", e))?;
        match event {
            Event::Start(s) => stack.push(element(&s)?),
            Event::Empty(s) => {
                let el = element(&s)?;
                push_child(&mut stack, el);
            }
            Event::End(_) => {
                if stack.len() > 1 {
                    let el = stack.pop().unwrap_or_default();
                    push_child(&mut stack, el);
                }
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| Error::parse_with("xml", e))?;
                push_text(&mut stack, &s);
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| Error::parse_with("xml", e))?;
                push_text(&mut stack, &s);
            }
            Event::GeneralRef(r) => {
                let s = match r
                    .resolve_char_ref()
                    .map_err(|e| Error::parse_with("xml", e))?
                {
                    Some(c) => Cow::Owned(c.to_string()),
                    None => {
                        let name = r.decode().map_err(|e| Error::parse_with("xml", e))?;
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(v) => Cow::Borrowed(v),
                            None => Cow::Owned(format!("&{name};")),
                        }
                    }
                };
                push_text(&mut stack, &s);
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    while stack.len() > 1 {
        let el = stack.pop().unwrap_or_default();
        push_child(&mut stack, el);
    }
    Ok(stack.pop().unwrap_or_default())
}

fn push_child(stack: &mut [Element], el: Element) {
    if let Some(parent) = stack.last_mut() {
        parent.children.push(el);
    }
}

fn push_text(stack: &mut [Element], s: &str) {
    if let Some(top) = stack.last_mut() {
        top.text.push_str(s);
    }
}

/// Collects every `<msg type=… code=…>text</msg>` in the tree.
pub(crate) fn messages(root: &Element) -> Vec<Message> {
    let mut found = Vec::new();
    root.find_all("msg", &mut found);
    found
        .into_iter()
        .map(|m| Message {
            level: Level::parse(m.attr("type").unwrap_or("")),
            code: m.attr("code").filter(|c| !c.is_empty()).map(str::to_owned),
            text: m.text.trim().to_owned(),
        })
        .filter(|m| !m.text.is_empty() || m.code.is_some())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prefixes_entities_and_concatenated_documents() {
        let body = br#"<?xml version='1.0' encoding='UTF-8'?>

<?xml version="1.0" encoding="UTF-8"?>
<response><messages><msg type="FATAL" code="">Error in &apos;delete&apos; command: a &amp; b &#x41;</msg></messages></response>
<s:dict xmlns:s="x"><s:key name="k">v</s:key></s:dict>"#;
        let root = parse(body).unwrap();
        assert_eq!(root.children.len(), 2);
        let msgs = messages(&root);
        assert_eq!(
            msgs,
            vec![Message::new(
                Level::Fatal,
                "Error in 'delete' command: a & b A"
            )]
        );
        let key = root.find("key").unwrap();
        assert_eq!((key.attr("name"), key.text.as_str()), (Some("k"), "v"));
    }

    #[test]
    fn rejects_non_xml_gracefully() {
        assert!(parse(b"\xff\xfe").is_err());
        assert!(parse(b"<a x='1' x='2'>").is_ok());
    }
}
