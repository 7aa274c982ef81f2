//! Entity collections ("EAI"): Atom feeds in XML, Splunk's feed objects in JSON.

use std::fmt::Write as _;

use super::{Item, OutputMode, json_messages, json_str, xml_msg, xml_text};
use crate::error::Message;

/// A collection's head: what every feed carries around its entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed<'a> {
    /// The collection's title (`indexes`, `conf-props`, `jobs`, `server-info`).
    pub title: &'a str,
    /// The collection's full URL (`https://127.0.0.1:8089/services/data/indexes`).
    pub origin: String,
    /// When it was last updated, as Splunk writes times (`2026-11-28T12:00:00+00:00`).
    pub updated: &'a str,
    /// The server's version, for `<generator>`.
    pub version: &'a str,
    /// The server's build, for `<generator>`.
    pub build: &'a str,
    /// The collection's links, `rel` then `href` (`("create", "/services/data/indexes/_new")`).
    pub links: Vec<(&'a str, String)>,
    /// How many entries the collection holds in all.
    pub total: usize,
    /// The page size asked for.
    pub per_page: usize,
    /// The first entry's position in the collection.
    pub offset: usize,
    /// Messages about the collection.
    pub messages: &'a [Message],
}

/// One entity of a feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its name (`<title>`).
    pub name: String,
    /// Its full URL.
    pub id: String,
    /// When it was last updated.
    pub updated: String,
    /// When it was made, for entries that say so (search jobs).
    pub published: Option<String>,
    /// Its owner (`nobody`, `admin`).
    pub author: String,
    /// Its links, `rel` then `href`; `alternate` first, which every client needs.
    pub links: Vec<(String, String)>,
    /// What it holds.
    pub content: Content,
}

/// An entry's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Keys and values (`<content type="text/xml"><s:dict>`); an `eai:acl` dictionary is also
    /// given as the entry's `acl` in JSON, as Splunk does.
    Dict(Vec<(String, Item)>),
    /// A single text (`<content type="text">`), as `properties/<file>/<stanza>` lists keys.
    Text(String),
}

const NAMESPACES: &str = "xmlns=\"http://www.w3.org/2005/Atom\" xmlns:s=\"http://dev.splunk.com/ns/rest\" xmlns:opensearch=\"http://a9.com/-/spec/opensearch/1.1/\"";

impl Feed<'_> {
    /// The feed with these entries.
    ///
    /// ```
    /// use spoor_proto::reply::{Content, Entry, Feed, Item, OutputMode};
    ///
    /// let feed = Feed {
    ///     title: "indexes",
    ///     origin: "https://127.0.0.1:8089/services/data/indexes".into(),
    ///     updated: "2026-11-28T12:00:00+00:00",
    ///     version: "9.1.2",
    ///     build: "spoor",
    ///     links: vec![("create", "/services/data/indexes/_new".into())],
    ///     total: 1,
    ///     per_page: 30,
    ///     offset: 0,
    ///     messages: &[],
    /// };
    /// let main = Entry {
    ///     name: "main".into(),
    ///     id: "https://127.0.0.1:8089/servicesNS/nobody/system/data/indexes/main".into(),
    ///     updated: feed.updated.into(),
    ///     published: None,
    ///     author: "nobody".into(),
    ///     links: vec![("alternate".into(), "/servicesNS/nobody/system/data/indexes/main".into())],
    ///     content: Content::Dict(vec![("totalEventCount".into(), Item::Int(669)), ("disabled".into(), Item::Bool(false))]),
    /// };
    /// for mode in [OutputMode::Xml, OutputMode::Json] {
    ///     let indexes = spoor_proto::rest::parse_indexes(&http::Response::new(feed.write(mode, &[main.clone()])))?;
    ///     assert_eq!((indexes[0].name.as_str(), indexes[0].total_event_count, indexes[0].disabled), ("main", Some(669), false));
    /// }
    /// # Ok::<(), spoor_proto::Error>(())
    /// ```
    pub fn write(&self, mode: OutputMode, entries: &[Entry]) -> Vec<u8> {
        let mut out = String::new();
        match mode {
            OutputMode::Xml => self.xml(&mut out, entries),
            OutputMode::Json => self.json(&mut out, entries),
        }
        out.into_bytes()
    }

    fn xml(&self, out: &mut String, entries: &[Entry]) {
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed ");
        out.push_str(NAMESPACES);
        out.push_str(">\n  <title>");
        xml_text(out, self.title);
        out.push_str("</title>\n  <id>");
        xml_text(out, &self.origin);
        out.push_str("</id>\n  <updated>");
        xml_text(out, self.updated);
        out.push_str("</updated>\n");
        self.xml_generator(out);
        out.push_str("  <author>\n    <name>Splunk</name>\n  </author>\n");
        for (rel, href) in &self.links {
            xml_link(out, "  ", rel, href);
        }
        let _ = write!(
            out,
            "  <opensearch:totalResults>{}</opensearch:totalResults>\n  <opensearch:itemsPerPage>{}</opensearch:itemsPerPage>\n  <opensearch:startIndex>{}</opensearch:startIndex>\n",
            self.total, self.per_page, self.offset
        );
        if self.messages.is_empty() {
            out.push_str("  <s:messages/>\n");
        } else {
            out.push_str("  <s:messages>\n");
            for m in self.messages {
                xml_msg(out, "    ", m);
            }
            out.push_str("  </s:messages>\n");
        }
        for entry in entries {
            xml_entry(out, "  ", "<entry>", entry);
        }
        out.push_str("</feed>\n");
    }

    fn xml_generator(&self, out: &mut String) {
        out.push_str("  <generator build=\"");
        xml_text(out, self.build);
        out.push_str("\" version=\"");
        xml_text(out, self.version);
        out.push_str("\"/>\n");
    }

    fn json(&self, out: &mut String, entries: &[Entry]) {
        out.push_str("{\"links\":");
        json_links(out, self.links.iter().map(|(r, h)| (*r, h.as_str())));
        out.push_str(",\"origin\":");
        json_str(out, &self.origin);
        out.push_str(",\"updated\":");
        json_str(out, self.updated);
        out.push_str(",\"generator\":{\"build\":");
        json_str(out, self.build);
        out.push_str(",\"version\":");
        json_str(out, self.version);
        out.push_str("},\"entry\":[");
        for (i, entry) in entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_entry(out, entry);
        }
        let _ = write!(
            out,
            "],\"paging\":{{\"total\":{},\"perPage\":{},\"offset\":{}}},\"messages\":",
            self.total, self.per_page, self.offset
        );
        json_messages(out, self.messages);
        out.push('}');
    }
}

/// A search job's status: in XML a bare `<entry>` document (not a feed), in JSON a feed of one
/// entry, as Splunk answers `search/jobs/{sid}`.
pub fn job_entry(mode: OutputMode, feed: &Feed<'_>, entry: &Entry) -> Vec<u8> {
    let mut out = String::new();
    match mode {
        OutputMode::Xml => {
            out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            let open = format!("<entry {NAMESPACES}>");
            xml_entry(&mut out, "", &open, entry);
        }
        OutputMode::Json => feed.json(&mut out, std::slice::from_ref(entry)),
    }
    out.into_bytes()
}

fn xml_link(out: &mut String, indent: &str, rel: &str, href: &str) {
    out.push_str(indent);
    out.push_str("<link href=\"");
    xml_text(out, href);
    out.push_str("\" rel=\"");
    xml_text(out, rel);
    out.push_str("\"/>\n");
}

fn xml_entry(out: &mut String, indent: &str, open: &str, entry: &Entry) {
    let inner = format!("{indent}  ");
    out.push_str(indent);
    out.push_str(open);
    out.push('\n');
    for (tag, text) in [
        ("title", entry.name.as_str()),
        ("id", &entry.id),
        ("updated", &entry.updated),
    ] {
        let _ = write!(out, "{inner}<{tag}>");
        xml_text(out, text);
        let _ = writeln!(out, "</{tag}>");
    }
    let (alternate, others): (Vec<_>, Vec<_>) =
        entry.links.iter().partition(|(rel, _)| rel == "alternate");
    for (rel, href) in alternate {
        xml_link(out, &inner, rel, href);
    }
    if let Some(published) = &entry.published {
        let _ = write!(out, "{inner}<published>");
        xml_text(out, published);
        out.push_str("</published>\n");
    }
    for (rel, href) in others {
        xml_link(out, &inner, rel, href);
    }
    let _ = write!(out, "{inner}<author>\n{inner}  <name>");
    xml_text(out, &entry.author);
    let _ = writeln!(out, "</name>\n{inner}</author>");
    match &entry.content {
        Content::Dict(keys) => {
            let _ = writeln!(out, "{inner}<content type=\"text/xml\">");
            xml_dict(out, &format!("{inner}  "), keys);
            let _ = writeln!(out, "{inner}</content>");
        }
        Content::Text(text) => {
            let _ = write!(out, "{inner}<content type=\"text\">");
            xml_text(out, text);
            out.push_str("</content>\n");
        }
    }
    out.push_str(indent);
    out.push_str("</entry>\n");
}

fn xml_dict(out: &mut String, indent: &str, keys: &[(String, Item)]) {
    if keys.is_empty() {
        let _ = writeln!(out, "{indent}<s:dict/>");
        return;
    }
    let _ = writeln!(out, "{indent}<s:dict>");
    for (key, item) in keys {
        let _ = write!(out, "{indent}  <s:key name=\"");
        xml_text(out, key);
        out.push_str("\">");
        xml_item(out, &format!("{indent}    "), item);
        out.push_str("</s:key>\n");
    }
    let _ = writeln!(out, "{indent}</s:dict>");
}

fn xml_item(out: &mut String, indent: &str, item: &Item) {
    match item {
        Item::Text(s) => xml_text(out, s),
        Item::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Item::Num(x) => {
            let _ = write!(out, "{x:.5}");
        }
        Item::Bool(b) => out.push(if *b { '1' } else { '0' }),
        Item::Null => {}
        Item::List(items) => {
            out.push_str("<s:list>");
            for item in items {
                out.push_str("<s:item>");
                xml_item(out, indent, item);
                out.push_str("</s:item>");
            }
            out.push_str("</s:list>");
        }
        Item::Dict(keys) => {
            out.push('\n');
            xml_dict(out, indent, keys);
            let outer = indent.get(4..).unwrap_or_default();
            out.push_str(outer);
            out.push_str("  ");
        }
    }
}

fn json_links<'a>(out: &mut String, links: impl Iterator<Item = (&'a str, &'a str)>) {
    out.push('{');
    for (i, (rel, href)) in links.enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_str(out, rel);
        out.push(':');
        json_str(out, href);
    }
    out.push('}');
}

fn json_entry(out: &mut String, entry: &Entry) {
    out.push_str("{\"name\":");
    json_str(out, &entry.name);
    out.push_str(",\"id\":");
    json_str(out, &entry.id);
    out.push_str(",\"updated\":");
    json_str(out, &entry.updated);
    out.push_str(",\"links\":");
    json_links(
        out,
        entry.links.iter().map(|(r, h)| (r.as_str(), h.as_str())),
    );
    if let Some(published) = &entry.published {
        out.push_str(",\"published\":");
        json_str(out, published);
    }
    out.push_str(",\"author\":");
    json_str(out, &entry.author);
    match &entry.content {
        Content::Dict(keys) => {
            if let Some((_, acl)) = keys.iter().find(|(k, _)| k == "eai:acl") {
                out.push_str(",\"acl\":");
                json_item(out, acl);
            }
            out.push_str(",\"content\":");
            json_item(out, &Item::Dict(keys.clone()));
        }
        Content::Text(text) => {
            out.push_str(",\"content\":");
            json_str(out, text);
        }
    }
    out.push('}');
}

fn json_item(out: &mut String, item: &Item) {
    match item {
        Item::Text(s) => json_str(out, s),
        Item::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Item::Num(x) if x.is_finite() => {
            let _ = write!(out, "{x}");
        }
        Item::Num(_) | Item::Null => out.push_str("null"),
        Item::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Item::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_item(out, item);
            }
            out.push(']');
        }
        Item::Dict(keys) => {
            out.push('{');
            for (i, (key, item)) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_str(out, key);
                out.push(':');
                json_item(out, item);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::eai::{self, Field};

    /// A feed of one entry, for the tests of the bodies that are feeds.
    pub(in crate::reply) fn feed(title: &'static str, origin: String) -> Feed<'static> {
        Feed {
            title,
            origin,
            updated: "2026-11-28T12:00:00+00:00",
            version: "9.1.2",
            build: "spoor",
            links: vec![],
            total: 1,
            per_page: 30,
            offset: 0,
            messages: &[],
        }
    }

    fn sample() -> (Feed<'static>, Entry) {
        let feed = feed(
            "conf-props",
            "https://127.0.0.1:8089/services/configs/conf-props".into(),
        );
        let entry = Entry {
            name: "spoor <&> \"x\"".into(),
            id: "https://127.0.0.1:8089/servicesNS/nobody/search/configs/conf-props/spoor".into(),
            updated: "2026-11-28T12:00:00+00:00".into(),
            published: Some("2026-11-28T12:00:00+00:00".into()),
            author: "nobody".into(),
            links: vec![
                ("list".into(), "/l".into()),
                (
                    "alternate".into(),
                    "/servicesNS/nobody/search/configs/conf-props/spoor".into(),
                ),
            ],
            content: Content::Dict(vec![
                ("LINE_BREAKER".into(), Item::from("([\\r\\n]+)")),
                ("doneProgress".into(), Item::Num(1.0)),
                ("isDone".into(), Item::Bool(true)),
                ("empty".into(), Item::Null),
                ("perms".into(), Item::List(vec![Item::from("*")])),
                (
                    "eai:acl".into(),
                    Item::Dict(vec![
                        ("app".into(), Item::from("search")),
                        ("can_write".into(), Item::Bool(true)),
                    ]),
                ),
            ]),
        };
        (feed, entry)
    }

    #[test]
    fn both_modes_read_back_as_the_same_entry() {
        let (feed, entry) = sample();
        let mut parsed = Vec::new();
        for mode in [OutputMode::Xml, OutputMode::Json] {
            let body = feed.write(mode, std::slice::from_ref(&entry));
            let back = eai::parse_feed(&body).unwrap();
            assert_eq!(back.total, Some(1));
            let e = back.entries.into_iter().next().unwrap();
            assert_eq!(e.name, entry.name);
            assert_eq!(
                e.link("alternate"),
                Some("/servicesNS/nobody/search/configs/conf-props/spoor")
            );
            assert_eq!(e.get_str("LINE_BREAKER"), Some("([\\r\\n]+)"));
            assert_eq!(e.get_bool("isDone"), Some(true));
            assert_eq!(e.get("empty"), Some(&Field::Null));
            assert_eq!(
                e.get("perms"),
                Some(&Field::List(vec![Field::Text("*".into())]))
            );
            let Some(Field::Dict(acl)) = e.get("eai:acl") else {
                panic!("acl missing in {mode:?}");
            };
            assert_eq!(acl[0], ("app".into(), Field::Text("search".into())));
            parsed.push(e.get_f64("doneProgress"));
        }
        assert_eq!(parsed, [Some(1.0), Some(1.0)]);
    }

    #[test]
    fn a_job_entry_is_a_bare_entry_in_xml() {
        let (feed, entry) = sample();
        let xml = String::from_utf8(job_entry(OutputMode::Xml, &feed, &entry)).unwrap();
        assert!(xml.contains("<entry xmlns=\"http://www.w3.org/2005/Atom\""));
        assert!(!xml.contains("<feed"));
        assert!(xml.contains("<s:key name=\"doneProgress\">1.00000</s:key>"));
        let json = job_entry(OutputMode::Json, &feed, &entry);
        assert!(!json.contains(&b'\n'));
        for body in [xml.as_bytes(), &json] {
            assert_eq!(eai::parse_feed(body).unwrap().entries.len(), 1);
        }
    }

    #[test]
    fn an_empty_feed_says_zero() {
        let (mut feed, _) = sample();
        feed.total = 0;
        for mode in [OutputMode::Xml, OutputMode::Json] {
            let back = eai::parse_feed(&feed.write(mode, &[])).unwrap();
            assert_eq!((back.total, back.entries.len()), (Some(0), 0));
        }
    }
}
