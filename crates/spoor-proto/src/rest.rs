//! Management endpoints other than search: `auth/login`, `server/info`, `data/indexes`,
//! `configs/conf-*`, `receivers/simple`.
//!
//! Each endpoint has a `*_request` method on [`Service`] and a `parse_*` function here.

use http::{Method, Request, Response};

use crate::config::{Credentials, Secret};
use crate::eai::{Entry, parse_feed};
use crate::error::Error;
use crate::form::{Form, encode_component};
use crate::service::{Body, FORM_CONTENT_TYPE, SearchApi, Service, Shape, check, scalar, shape};
use crate::xml;

/// The path of `auth/login`, never namespaced.
pub(crate) const LOGIN_PATH: &str = "/services/auth/login";

fn json() -> Form {
    let mut q = Form::new();
    q.push("output_mode", "json");
    q
}

impl Service {
    /// `POST /services/auth/login` with the configured username and password.
    ///
    /// The reply is XML (the form every Splunk version gives); read it with [`parse_login`].
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the credentials are not a username and password.
    pub fn login_request(&self) -> Result<Request<Vec<u8>>, Error> {
        let (Credentials::Password { username, password }
        | Credentials::Basic { username, password }) = self.credentials()
        else {
            return Err(Error::config("login needs a username and password"));
        };
        let mut form = Form::new();
        form.push("username", username.as_str())
            .push("password", password.expose());
        let login = Some(Body::Form(form));
        let mut req = self.request(Method::POST, LOGIN_PATH, &Form::new(), login)?;
        req.headers_mut().remove(http::header::AUTHORIZATION);
        Ok(req)
    }

    /// `GET server/info`; read it with [`parse_server_info`].
    ///
    /// # Errors
    ///
    /// [`Error::Config`] only if the configured base URL cannot form a URI.
    pub fn server_info_request(&self) -> Result<Request<Vec<u8>>, Error> {
        self.request(Method::GET, "server/info", &json(), None)
    }

    /// `GET data/indexes?count=-1` (every index); read it with [`parse_indexes`].
    ///
    /// # Errors
    ///
    /// As [`Service::server_info_request`].
    pub fn list_indexes_request(&self) -> Result<Request<Vec<u8>>, Error> {
        let mut q = json();
        q.push("count", "-1");
        self.request(Method::GET, "data/indexes", &q, None)
    }

    /// `GET data/indexes/{name}`; read it with [`parse_index`] (a 404 means no such index).
    ///
    /// # Errors
    ///
    /// As [`Service::server_info_request`].
    pub fn get_index_request(&self, name: &str) -> Result<Request<Vec<u8>>, Error> {
        self.request(
            Method::GET,
            &format!("data/indexes/{}", encode_component(name)),
            &json(),
            None,
        )
    }

    /// `POST data/indexes` with `name` and any extra settings (e.g. `maxTotalDataSizeMB`);
    /// Splunk answers 201 with the new entry, read with [`parse_index`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] for a name Splunk would refuse: it must be lower-case letters,
    /// digits, `_` and `-`, not start with `_` or `-`, and not contain `kvstore`.
    pub fn create_index_request(
        &self,
        name: &str,
        settings: &Form,
    ) -> Result<Request<Vec<u8>>, Error> {
        check_index_name(name)?;
        let mut form = Form::new();
        form.push("name", name);
        for (k, v) in settings.pairs() {
            form.push(k.as_str(), v.as_str());
        }
        self.post_form("data/indexes", form)
    }

    /// `POST configs/conf-{file}` with `name={stanza}`: creates a stanza (e.g. in `props`).
    /// Check the reply with [`parse_conf_reply`]; a 409 means it exists already.
    ///
    /// # Errors
    ///
    /// As [`Service::server_info_request`].
    pub fn create_conf_stanza_request(
        &self,
        file: &str,
        stanza: &str,
    ) -> Result<Request<Vec<u8>>, Error> {
        let mut form = Form::new();
        form.push("name", stanza);
        self.post_form(&format!("configs/conf-{}", encode_component(file)), form)
    }

    /// `POST configs/conf-{file}/{stanza}` with the keys to set, e.g.
    /// `KV_MODE=auto_escaped`. Check the reply with [`parse_conf_reply`].
    ///
    /// # Errors
    ///
    /// As [`Service::server_info_request`].
    pub fn set_conf_keys_request(
        &self,
        file: &str,
        stanza: &str,
        keys: &Form,
    ) -> Result<Request<Vec<u8>>, Error> {
        self.post_form(&stanza_path(file, stanza), keys.clone())
    }

    /// `GET configs/conf-{file}/{stanza}`; read it with [`parse_conf_reply`] (404: no stanza).
    ///
    /// # Errors
    ///
    /// As [`Service::server_info_request`].
    pub fn get_conf_stanza_request(
        &self,
        file: &str,
        stanza: &str,
    ) -> Result<Request<Vec<u8>>, Error> {
        self.request(Method::GET, &stanza_path(file, stanza), &json(), None)
    }

    /// `POST receivers/simple?index=…&sourcetype=…` with `events` joined by newlines as the
    /// raw body (each event must be one line, as spoor's encoder guarantees). Read the reply
    /// with [`parse_submit_receipt`].
    ///
    /// The body is raw text, yet it is labelled `application/x-www-form-urlencoded`: that is
    /// what the Splunk SDKs and `curl -d` send, and Splunk reads the body as the event anyway.
    ///
    /// Splunk breaks the body into events with the sourcetype's `LINE_BREAKER` (default
    /// `([\r\n]+)`) but then merges lines back unless the sourcetype has
    /// `SHOULD_LINEMERGE=false`: set it with [`Service::set_conf_keys_request`] first, or
    /// each batch may land as one event.
    ///
    /// # Errors
    ///
    /// As [`Service::server_info_request`].
    pub fn submit_request<'a>(
        &self,
        target: &SubmitTarget,
        events: impl IntoIterator<Item = &'a str>,
    ) -> Result<Request<Vec<u8>>, Error> {
        let mut q = json();
        q.push_opt("index", target.index.as_deref())
            .push_opt("sourcetype", target.sourcetype.as_deref())
            .push_opt("source", target.source.as_deref())
            .push_opt("host", target.host.as_deref());
        let mut body = Vec::new();
        for (i, event) in events.into_iter().enumerate() {
            if i > 0 {
                body.push(b'\n');
            }
            body.extend_from_slice(event.as_bytes());
        }
        // Always `/services/…`, as the Splunk SDKs send it: the receiver is not an app object.
        self.request(
            Method::POST,
            "/services/receivers/simple",
            &q,
            Some(Body::Raw(body, FORM_CONTENT_TYPE)),
        )
    }
}

fn check_index_name(name: &str) -> Result<(), Error> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    if name.is_empty()
        || name.starts_with(['_', '-'])
        || !name.chars().all(allowed)
        || name.contains("kvstore")
    {
        Err(Error::InvalidName {
            kind: "index",
            name: name.to_owned(),
        })
    } else {
        Ok(())
    }
}

fn stanza_path(file: &str, stanza: &str) -> String {
    format!(
        "configs/conf-{}/{}",
        encode_component(file),
        encode_component(stanza)
    )
}

/// Reads the session key from an `auth/login` reply (XML `<sessionKey>` or JSON
/// `{"sessionKey":…}`).
///
/// ```
/// let body = "<response>\n  <sessionKey>6b347a02a1ef527c3e55e23cb1a3e3a0</sessionKey>\n</response>\n";
/// let resp = http::Response::new(body);
/// let key = spoor_proto::rest::parse_login(&resp)?;
/// assert_eq!(key.expose(), "6b347a02a1ef527c3e55e23cb1a3e3a0");
/// # Ok::<(), spoor_proto::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Api`] for an error status (401 `Login failed`), [`Error::Parse`] when there is
/// no session key.
pub fn parse_login<B: AsRef<[u8]>>(response: &Response<B>) -> Result<Secret, Error> {
    scalar(check(response)?, "sessionKey", "login response").map(Secret::new)
}

/// What `server/info` tells: the version decides the search API.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerInfo {
    /// `version`, e.g. `9.1.2`.
    pub version: String,
    /// `build`.
    pub build: String,
    /// `serverName`.
    pub server_name: String,
    /// `instance_type`, e.g. `cloud`, when present.
    pub instance_type: Option<String>,
    /// The whole entry, for the other keys.
    pub entry: Entry,
}

impl ServerInfo {
    /// The version as numbers (`9.0.2` → `[9, 0, 2]`); non-numeric parts end the list.
    pub fn version_parts(&self) -> Vec<u64> {
        self.version
            .split('.')
            .map_while(|p| p.parse().ok())
            .collect()
    }

    /// [`SearchApi::V2`] from Splunk 9.0.2 on (9.0.2209 on Splunk Cloud), as the Splunk SDKs
    /// decide; else [`SearchApi::V1`].
    pub fn search_api(&self) -> SearchApi {
        let threshold: &[u64] = if self.instance_type.as_deref() == Some("cloud") {
            &[9, 0, 2209]
        } else {
            &[9, 0, 2]
        };
        if self.version_parts().as_slice() >= threshold {
            SearchApi::V2
        } else {
            SearchApi::V1
        }
    }
}

/// Reads a `server/info` reply (JSON or Atom).
///
/// # Errors
///
/// [`Error::Api`] for an error status, [`Error::Parse`] when there is no entry.
pub fn parse_server_info<B: AsRef<[u8]>>(response: &Response<B>) -> Result<ServerInfo, Error> {
    let entry = single_entry(check(response)?, "server info")?;
    let get = |k: &str| entry.get_str(k).unwrap_or_default().to_owned();
    Ok(ServerInfo {
        version: get("version"),
        build: get("build"),
        server_name: get("serverName"),
        instance_type: entry.get_str("instance_type").map(str::to_owned),
        entry,
    })
}

fn single_entry(body: &[u8], what: &'static str) -> Result<Entry, Error> {
    parse_feed(body)?
        .entries
        .into_iter()
        .next()
        .ok_or_else(|| Error::parse(what))
}

/// An index as `data/indexes` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    /// The index name.
    pub name: String,
    /// Whether the index is disabled.
    pub disabled: bool,
    /// `totalEventCount`, when given.
    pub total_event_count: Option<u64>,
    /// `currentDBSizeMB`, when given.
    pub current_db_size_mb: Option<u64>,
    /// The whole entry, for the other keys.
    pub entry: Entry,
}

impl From<Entry> for Index {
    fn from(entry: Entry) -> Self {
        Self {
            name: entry.name.clone(),
            disabled: entry.get_bool("disabled").unwrap_or(false),
            total_event_count: entry.get_u64("totalEventCount"),
            current_db_size_mb: entry.get_u64("currentDBSizeMB"),
            entry,
        }
    }
}

/// Reads a `data/indexes` list reply.
///
/// # Errors
///
/// [`Error::Api`] for an error status, [`Error::Parse`] for a malformed feed.
pub fn parse_indexes<B: AsRef<[u8]>>(response: &Response<B>) -> Result<Vec<Index>, Error> {
    Ok(parse_feed(check(response)?)?
        .entries
        .into_iter()
        .map(Index::from)
        .collect())
}

/// Reads a single-index reply (get, or create's 201).
///
/// # Errors
///
/// [`Error::Api`] for an error status (404: no such index; check with
/// [`Error::is_not_found`]), [`Error::Parse`] when the feed holds no entry.
pub fn parse_index<B: AsRef<[u8]>>(response: &Response<B>) -> Result<Index, Error> {
    single_entry(check(response)?, "index entry").map(Index::from)
}

/// Checks a `configs/conf-*` reply and returns the stanza entry when the body has one
/// (create and get do; setting keys may answer with messages only).
///
/// # Errors
///
/// [`Error::Api`] for an error status (404: no such stanza; 409: stanza exists).
pub fn parse_conf_reply<B: AsRef<[u8]>>(response: &Response<B>) -> Result<Option<Entry>, Error> {
    let body = check(response)?;
    Ok(parse_feed(body)
        .ok()
        .and_then(|f| f.entries.into_iter().next()))
}

/// Where `receivers/simple` events go; unset metadata is left to Splunk's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmitTarget {
    /// `index`.
    pub index: Option<String>,
    /// `sourcetype`.
    pub sourcetype: Option<String>,
    /// `source` (Splunk's default: `http-simple`).
    pub source: Option<String>,
    /// `host` (Splunk's default: the client's address).
    pub host: Option<String>,
}

/// What `receivers/simple` reports it stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmitReceipt {
    /// The index written to.
    pub index: String,
    /// Bytes received.
    pub bytes: u64,
    /// The host recorded.
    pub host: String,
    /// The source recorded.
    pub source: String,
    /// The sourcetype recorded.
    pub sourcetype: String,
}

/// Reads a `receivers/simple` reply: JSON `{"index":…,"bytes":…}` or XML
/// `<response><results><result><field k="_index">…`.
///
/// # Errors
///
/// [`Error::Api`] for an error status, [`Error::Parse`] for an unreadable body.
pub fn parse_submit_receipt<B: AsRef<[u8]>>(
    response: &Response<B>,
) -> Result<SubmitReceipt, Error> {
    let body = check(response)?;
    let mut receipt = SubmitReceipt::default();
    let mut set = |key: &str, value: String| match key {
        "index" | "_index" => receipt.index = value,
        "bytes" => receipt.bytes = value.parse().unwrap_or(0),
        "host" => receipt.host = value,
        "source" => receipt.source = value,
        "sourcetype" => receipt.sourcetype = value,
        _ => {}
    };
    match shape(body) {
        Shape::Json => {
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(body).map_err(|e| Error::parse_with("submit receipt", e))?;
            for (k, v) in map {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                set(&k, v);
            }
        }
        Shape::Xml => {
            let root = xml::parse(body)?;
            let mut fields = Vec::new();
            root.find_all("field", &mut fields);
            for f in fields {
                let text = f
                    .find("text")
                    .map(|t| t.text.trim().to_owned())
                    .unwrap_or_default();
                set(f.attr("k").unwrap_or_default(), text);
            }
        }
        Shape::Empty | Shape::Text => return Err(Error::parse("submit receipt")),
    }
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigBuilder;

    fn service() -> Service {
        let mut s = Service::new(
            &ConfigBuilder::new()
                .username("admin")
                .password("p&w")
                .build()
                .unwrap(),
        )
        .unwrap();
        s.set_session_key(&Secret::new("k")).unwrap();
        s
    }

    #[test]
    fn login_request_carries_the_form_and_no_session() {
        let r = service().login_request().unwrap();
        assert_eq!(r.uri(), "https://localhost:8089/services/auth/login");
        assert_eq!(r.method(), Method::POST);
        assert_eq!(r.body(), b"username=admin&password=p%26w");
        assert!(r.headers().get("authorization").is_none());
        let bearer = Service::new(&ConfigBuilder::new().token("t").build().unwrap()).unwrap();
        assert!(bearer.login_request().is_err());
    }

    #[test]
    fn index_and_conf_requests() {
        let s = service();
        let r = s.get_index_request("my idx").unwrap();
        assert_eq!(
            r.uri(),
            "https://localhost:8089/services/data/indexes/my%20idx?output_mode=json"
        );
        let mut settings = Form::new();
        settings.push("maxTotalDataSizeMB", "100");
        let r = s.create_index_request("spoor", &settings).unwrap();
        assert_eq!(r.body(), b"name=spoor&maxTotalDataSizeMB=100");
        assert_eq!(
            r.headers()["content-type"],
            "application/x-www-form-urlencoded"
        );
        let r = s
            .create_conf_stanza_request("props", "spoor:event")
            .unwrap();
        assert_eq!(r.uri().path(), "/services/configs/conf-props");
        assert_eq!(r.body(), b"name=spoor%3Aevent");
        let keys: Form = [("KV_MODE", "auto_escaped"), ("SHOULD_LINEMERGE", "false")]
            .into_iter()
            .collect();
        let r = s
            .set_conf_keys_request("props", "spoor:event", &keys)
            .unwrap();
        assert_eq!(r.uri().path(), "/services/configs/conf-props/spoor%3Aevent");
        assert_eq!(r.body(), b"KV_MODE=auto_escaped&SHOULD_LINEMERGE=false");
    }

    #[test]
    fn index_names_splunk_would_refuse() {
        let s = service();
        for bad in [
            "",
            "_internal",
            "-x",
            "Main",
            "a b",
            "my.index",
            "kvstore_x",
        ] {
            assert!(
                s.create_index_request(bad, &Form::new()).is_err(),
                "{bad:?}"
            );
        }
        for good in ["main", "spoor", "app_events-2026"] {
            assert!(
                s.create_index_request(good, &Form::new()).is_ok(),
                "{good:?}"
            );
        }
    }

    #[test]
    fn submit_request_joins_lines() {
        let target = SubmitTarget {
            index: Some("spoor".into()),
            sourcetype: Some("spoor".into()),
            ..SubmitTarget::default()
        };
        let r = service()
            .submit_request(&target, ["a=\"1\"", "b=\"2\""])
            .unwrap();
        assert_eq!(
            r.uri().query(),
            Some("output_mode=json&index=spoor&sourcetype=spoor")
        );
        assert_eq!(r.body(), b"a=\"1\"\nb=\"2\"");
    }

    #[test]
    fn search_api_threshold() {
        let info = |v: &str, t: Option<&str>| ServerInfo {
            version: v.into(),
            build: String::new(),
            server_name: String::new(),
            instance_type: t.map(Into::into),
            entry: Entry::default(),
        };
        assert_eq!(info("9.0.1", None).search_api(), SearchApi::V1);
        assert_eq!(info("9.0.2", None).search_api(), SearchApi::V2);
        assert_eq!(info("10.0", None).search_api(), SearchApi::V2);
        assert_eq!(info("9.0.2", Some("cloud")).search_api(), SearchApi::V1);
        assert_eq!(info("9.1.2308", Some("cloud")).search_api(), SearchApi::V2);
        assert_eq!(info("", None).search_api(), SearchApi::V1);
    }
}
