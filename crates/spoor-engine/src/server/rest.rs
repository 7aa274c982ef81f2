//! `auth/login`, `server/info`, `data/indexes`, `configs/conf-props` and `properties/props`.

use std::collections::BTreeMap;

use http::{Method, StatusCode};
use spoor_proto::form::encode_component;
use spoor_proto::reply::{self as wire, Content, Entry, Feed, Item, OutputMode};
use spoor_proto::{Level, Message};
use time::OffsetDateTime;

use super::State;
use super::auth::Login;
use super::reply::{self, Paging, Req, Response, error, feed_time, respond};
use crate::{Retention, RetentionError, StoreError};

/// The build `server/info` reports.
pub(crate) const BUILD: &str = concat!("spoor-", env!("CARGO_PKG_VERSION"));

/// Form parameters that steer a request rather than set a value.
const CONTROL_PARAMS: [&str; 5] = ["output_mode", "count", "offset", "name", "__stanza"];

/// The only configuration file the engine keeps.
const PROPS: &str = "props";

impl State {
    pub(crate) fn origin(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme(), self.addr)
    }

    /// A feed head for a collection at `path`.
    pub(crate) fn feed<'a>(&'a self, title: &'a str, path: &str, updated: &'a str) -> Feed<'a> {
        Feed {
            title,
            origin: self.origin(path),
            updated,
            version: &self.options.version,
            build: BUILD,
            links: Vec::new(),
            total: 0,
            per_page: 30,
            offset: 0,
            messages: &[],
        }
    }

    /// An entry named `name` under `/servicesNS/nobody/{app}/{collection}`.
    pub(crate) fn entry(&self, app: &str, collection: &str, name: &str, updated: &str) -> Entry {
        let path = format!(
            "/servicesNS/nobody/{app}/{collection}/{}",
            encode_component(name)
        );
        Entry {
            name: name.to_owned(),
            id: self.origin(&path),
            updated: updated.to_owned(),
            published: None,
            author: "nobody".to_owned(),
            links: vec![
                ("alternate".to_owned(), path.clone()),
                ("list".to_owned(), path.clone()),
                ("edit".to_owned(), path),
            ],
            content: Content::Dict(Vec::new()),
        }
    }
}

/// The page of a collection a request asks for (`count`, default 30, `0` or `-1` for all;
/// `offset`), and the head's paging filled in.
fn page<T>(req: &Req, feed: &mut Feed<'_>, items: Vec<T>) -> Vec<T> {
    let paging = Paging::of(&req.query, 30);
    feed.total = items.len();
    feed.offset = paging.offset;
    feed.per_page = usize::try_from(paging.count).unwrap_or(0);
    let range = paging.range(items.len());
    items
        .into_iter()
        .skip(range.start)
        .take(range.len())
        .collect()
}

fn acl(app: &str, sharing: &str) -> Item {
    Item::Dict(vec![
        ("app".into(), Item::from(app)),
        ("can_list".into(), Item::Bool(true)),
        ("can_write".into(), Item::Bool(true)),
        ("modifiable".into(), Item::Bool(true)),
        ("owner".into(), Item::from("nobody")),
        (
            "perms".into(),
            Item::Dict(vec![
                ("read".into(), Item::List(vec![Item::from("*")])),
                ("write".into(), Item::List(vec![Item::from("admin")])),
            ]),
        ),
        ("removable".into(), Item::Bool(false)),
        ("sharing".into(), Item::from(sharing)),
    ])
}

fn store_error(mode: OutputMode, err: &StoreError) -> Response {
    let status = match err {
        StoreError::InvalidIndexName { .. } | StoreError::Props(_) | StoreError::Record(_) => {
            StatusCode::BAD_REQUEST
        }
        StoreError::UnknownIndex(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    tracing::warn!(error = %err, "request failed in the store");
    error(status, mode, Level::Error, err.to_string())
}

/// `POST auth/login`: `username`, `password` (and `cookie=1`, for the `splunkd_<port>` cookie).
pub(crate) fn login(state: &State, req: &Req) -> Response {
    if req.method != Method::POST {
        return reply::wrong_method(req.mode, &req.method);
    }
    let form = req.form();
    let (Some(username), Some(password)) = (form.get("username"), form.get("password")) else {
        return error(
            StatusCode::BAD_REQUEST,
            req.mode,
            Level::Warn,
            "Login failed: both username and password are required",
        );
    };
    let login = match state.auth.login(username, password, req.peer.ip()) {
        Ok(login) => login,
        Err(err) => {
            tracing::error!(error = %err, "cannot make a session key");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                req.mode,
                Level::Error,
                "cannot make a session key",
            );
        }
    };
    match login {
        Login::Failed => {
            let mut message = Message::new(Level::Warn, "Login failed");
            message.code = Some("incorrect_username_or_password".to_owned());
            respond(
                StatusCode::UNAUTHORIZED,
                req.mode,
                wire::messages(req.mode, &[message]),
            )
        }
        Login::Locked(left) => reply::login_locked(req.mode, left),
        Login::Key(key) => {
            let mut response = respond(StatusCode::OK, req.mode, wire::login(req.mode, &key));
            if form.get("cookie") == Some("1") {
                let cookie = format!(
                    "splunkd_{}={key}; Path=/; HttpOnly; SameSite=Strict{}",
                    state.addr.port(),
                    if state.options.tls.is_some() {
                        "; Secure"
                    } else {
                        ""
                    }
                );
                if let Ok(value) = http::HeaderValue::from_str(&cookie) {
                    response
                        .headers_mut()
                        .insert(http::header::SET_COOKIE, value);
                }
            }
            response
        }
    }
}

/// `GET server/info`.
pub(crate) fn server_info(state: &State, req: &Req) -> Response {
    let now = feed_time(OffsetDateTime::now_utc());
    let mut feed = state.feed("server-info", "/services/server/info", &now);
    feed.total = 1;
    let mut entry = state.entry("system", "server/info", "server-info", &now);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    entry.content = Content::Dict(vec![
        ("build".into(), Item::from(BUILD)),
        ("cpu_arch".into(), Item::from(std::env::consts::ARCH)),
        ("eai:acl".into(), acl("system", "system")),
        ("guid".into(), Item::from(state.guid.as_str())),
        ("health_info".into(), Item::from("green")),
        ("isFree".into(), Item::Bool(false)),
        ("isTrial".into(), Item::Bool(false)),
        ("mode".into(), Item::from("normal")),
        ("numberOfCores".into(), Item::from(cores as u64)),
        ("os_name".into(), Item::from(std::env::consts::OS)),
        ("product_type".into(), Item::from("enterprise")),
        ("serverName".into(), Item::from("spoor-engine")),
        ("version".into(), Item::from(state.options.version.as_str())),
    ]);
    respond(StatusCode::OK, req.mode, feed.write(req.mode, &[entry]))
}

fn index_entry(state: &State, name: &str, updated: &str) -> Entry {
    let mut entry = state.entry("system", "data/indexes", name, updated);
    let summary = state.engine.index_summary(name).unwrap_or_default();
    let retention = state.engine.store().retention(name).unwrap_or_default();
    let time = |t: Option<OffsetDateTime>| t.map_or(Item::Null, |t| Item::Text(feed_time(t)));
    entry.content = Content::Dict(vec![
        ("assureUTF8".into(), Item::Bool(false)),
        ("currentDBSizeMB".into(), Item::from(summary.bytes >> 20)),
        ("datatype".into(), Item::from("event")),
        ("defaultDatabase".into(), Item::from("main")),
        ("disabled".into(), Item::Bool(false)),
        ("eai:acl".into(), acl("system", "global")),
        (
            "frozenTimePeriodInSecs".into(),
            Item::from(retention.frozen_time_period_in_secs),
        ),
        (
            "homePath".into(),
            Item::Text(format!("$SPLUNK_DB/{name}/db")),
        ),
        ("isInternal".into(), Item::Bool(false)),
        ("maxTime".into(), time(summary.latest)),
        (
            "maxTotalDataSizeMB".into(),
            Item::from(retention.max_total_data_size_mb),
        ),
        ("minTime".into(), time(summary.earliest)),
        ("totalEventCount".into(), Item::from(summary.events)),
    ]);
    entry
}

/// The retention a form sets over `base`: `frozenTimePeriodInSecs` and `maxTotalDataSizeMB`
/// (other settings of Splunk's indexes are taken and have no effect here). `None` if none is
/// given.
fn retention_of(req: &Req, base: Retention) -> Result<Option<Retention>, RetentionError> {
    let mut retention = base;
    let mut given = false;
    for (key, value) in req.form().pairs() {
        if Retention::SETTINGS.contains(&key.as_str()) {
            retention.set(key, value)?;
            given = true;
        }
    }
    Ok(given.then_some(retention))
}

fn bad_retention(mode: OutputMode, err: &RetentionError) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        mode,
        Level::Error,
        format!("In handler 'indexes': {err}"),
    )
}

/// `data/indexes`: `GET` lists, `POST name=…` creates (201 with the new entry), with its
/// retention when the form gives one.
pub(crate) fn indexes(state: &State, req: &Req) -> Response {
    let now = feed_time(OffsetDateTime::now_utc());
    let mut feed = state.feed("indexes", "/services/data/indexes", &now);
    feed.links = vec![
        ("create", "/services/data/indexes/_new".to_owned()),
        ("_reload", "/services/data/indexes/_reload".to_owned()),
    ];
    match req.method {
        Method::GET => {
            let names = page(req, &mut feed, state.engine.store().indexes());
            let entries: Vec<Entry> = names.iter().map(|n| index_entry(state, n, &now)).collect();
            respond(StatusCode::OK, req.mode, feed.write(req.mode, &entries))
        }
        Method::POST => {
            let form = req.form();
            let Some(name) = form.get("name") else {
                return error(
                    StatusCode::BAD_REQUEST,
                    req.mode,
                    Level::Error,
                    "In handler 'indexes': Argument \"name\" is required: give the index's name",
                );
            };
            let retention = match retention_of(req, Retention::default()) {
                Ok(retention) => retention,
                Err(err) => return bad_retention(req.mode, &err),
            };
            let store = state.engine.store();
            let created = match retention {
                Some(retention) => store.create_index_with(name, retention),
                None => store.create_index(name),
            };
            match created {
                Ok(true) => {
                    tracing::info!(index = name, "index created");
                    feed.total = 1;
                    let entry = index_entry(state, name, &now);
                    respond(
                        StatusCode::CREATED,
                        req.mode,
                        feed.write(req.mode, &[entry]),
                    )
                }
                Ok(false) => error(
                    StatusCode::CONFLICT,
                    req.mode,
                    Level::Error,
                    format!("In handler 'indexes': Index name={name} already exists"),
                ),
                Err(err) => store_error(req.mode, &err),
            }
        }
        _ => reply::wrong_method(req.mode, &req.method),
    }
}

/// `data/indexes/{name}`: `GET` one index; `POST` edits its retention (Splunk's other
/// settings of an index are taken and change nothing).
pub(crate) fn index(state: &State, req: &Req, name: &str) -> Response {
    let store = state.engine.store();
    let Some(current) = store.retention(name) else {
        return not_found(req.mode, "indexes", name);
    };
    if req.method != Method::GET && req.method != Method::POST {
        return reply::wrong_method(req.mode, &req.method);
    }
    if req.method == Method::POST {
        match retention_of(req, current) {
            Ok(Some(retention)) if retention != current => {
                if let Err(err) = store.set_retention(name, retention) {
                    return store_error(req.mode, &err);
                }
                tracing::info!(
                    index = name,
                    frozen_time_period_in_secs = retention.frozen_time_period_in_secs,
                    max_total_data_size_mb = retention.max_total_data_size_mb,
                    "index retention set"
                );
            }
            Ok(_) => {}
            Err(err) => return bad_retention(req.mode, &err),
        }
    }
    one_index(state, req, name)
}

/// `data/indexes/{name}/roll-hot-buckets` (`POST`): closes the segment being written and seals
/// every closed one of the index now, then deletes what is past its retention, as Splunk rolls
/// an index's hot buckets to warm. Answers with the index's entry once done.
pub(crate) fn roll_hot_buckets(state: &State, req: &Req, name: &str) -> Response {
    let store = state.engine.store();
    if !store.has_index(name) {
        return not_found(req.mode, "indexes", name);
    }
    if req.method != Method::POST {
        return reply::wrong_method(req.mode, &req.method);
    }
    match store.roll_hot_buckets(name) {
        Ok(sealed) => tracing::info!(index = name, sealed, "hot data rolled"),
        Err(err) => return store_error(req.mode, &err),
    }
    one_index(state, req, name)
}

/// The feed of one index's entry, as Splunk answers a request on `data/indexes/{name}`.
fn one_index(state: &State, req: &Req, name: &str) -> Response {
    let now = feed_time(OffsetDateTime::now_utc());
    let mut feed = state.feed("indexes", "/services/data/indexes", &now);
    feed.total = 1;
    let entry = index_entry(state, name, &now);
    respond(StatusCode::OK, req.mode, feed.write(req.mode, &[entry]))
}

fn not_found(mode: OutputMode, handler: &str, name: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        mode,
        Level::Error,
        format!("In handler '{handler}': Could not find object id={name}"),
    )
}

fn no_such_file(mode: OutputMode, file: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        mode,
        Level::Error,
        format!("In handler 'properties': the engine keeps only props.conf, not {file}.conf"),
    )
}

fn stanza_entry(
    state: &State,
    name: &str,
    settings: &BTreeMap<String, String>,
    updated: &str,
) -> Entry {
    let mut entry = state.entry("search", "configs/conf-props", name, updated);
    let mut content: Vec<(String, Item)> = settings
        .iter()
        .map(|(k, v)| (k.clone(), Item::from(v.as_str())))
        .collect();
    content.push(("eai:acl".into(), acl("search", "app")));
    entry.content = Content::Dict(content);
    entry
}

/// The settings a form sets: every parameter but the ones that steer the request.
fn settings(req: &Req) -> Vec<(String, String)> {
    req.form()
        .pairs()
        .iter()
        .filter(|(k, _)| !CONTROL_PARAMS.contains(&k.as_str()) && !k.starts_with("eai:"))
        .cloned()
        .collect()
}

/// `configs/conf-props`: `GET` lists stanzas, `POST name=…` creates one (201; 409 if it
/// exists), setting any other keys given.
pub(crate) fn conf(state: &State, req: &Req, file: &str) -> Response {
    if file != PROPS {
        return no_such_file(req.mode, file);
    }
    let now = feed_time(OffsetDateTime::now_utc());
    let mut feed = state.feed("conf-props", "/services/configs/conf-props", &now);
    feed.links = vec![("create", "/services/configs/conf-props/_new".to_owned())];
    let store = state.engine.store();
    match req.method {
        Method::GET => {
            let stanzas = page(req, &mut feed, store.props().into_iter().collect());
            let entries: Vec<Entry> = stanzas
                .iter()
                .map(|(name, settings)| stanza_entry(state, name, settings, &now))
                .collect();
            respond(StatusCode::OK, req.mode, feed.write(req.mode, &entries))
        }
        Method::POST => {
            let form = req.form();
            let Some(name) = form.get("name").filter(|n| !n.is_empty()) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    req.mode,
                    Level::Error,
                    "In handler 'conf-props': Argument \"name\" is required: give the stanza's name",
                );
            };
            match store.create_props_stanza(name) {
                Ok(true) => {}
                Ok(false) => {
                    return error(
                        StatusCode::CONFLICT,
                        req.mode,
                        Level::Error,
                        format!(
                            "In handler 'conf-props': An object with name={name} already exists"
                        ),
                    );
                }
                Err(err) => return store_error(req.mode, &err),
            }
            let settings = settings(req);
            if !settings.is_empty()
                && let Err(err) = store.set_props(name, settings)
            {
                return store_error(req.mode, &err);
            }
            tracing::info!(stanza = name, "props stanza created");
            feed.total = 1;
            let entry = stanza_entry(state, name, &store.props()[name], &now);
            respond(
                StatusCode::CREATED,
                req.mode,
                feed.write(req.mode, &[entry]),
            )
        }
        _ => reply::wrong_method(req.mode, &req.method),
    }
}

/// `configs/conf-props/{stanza}`: `GET` one stanza; `POST k=v…` sets keys.
pub(crate) fn conf_stanza(state: &State, req: &Req, file: &str, stanza: &str) -> Response {
    if file != PROPS {
        return no_such_file(req.mode, file);
    }
    let store = state.engine.store();
    if !store.props().contains_key(stanza) {
        return not_found(req.mode, "conf-props", stanza);
    }
    match req.method {
        Method::GET => {}
        Method::POST => {
            if let Err(err) = store.set_props(stanza, settings(req)) {
                return store_error(req.mode, &err);
            }
            tracing::info!(stanza, "props stanza changed");
        }
        _ => return reply::wrong_method(req.mode, &req.method),
    }
    let now = feed_time(OffsetDateTime::now_utc());
    let mut feed = state.feed("conf-props", "/services/configs/conf-props", &now);
    feed.total = 1;
    let entry = stanza_entry(state, stanza, &store.props()[stanza], &now);
    respond(StatusCode::OK, req.mode, feed.write(req.mode, &[entry]))
}

fn created(location: String) -> Response {
    let mut response = reply::with_type(
        StatusCode::CREATED,
        "text/plain; charset=UTF-8",
        super::body::Body::empty(),
    );
    if let Ok(value) = http::HeaderValue::from_str(&location) {
        response.headers_mut().insert(http::header::LOCATION, value);
    }
    response
}

/// `properties`: `GET` lists the configuration files; `POST __conf=props` is accepted.
pub(crate) fn properties(state: &State, req: &Req) -> Response {
    match req.method {
        Method::GET => {
            let now = feed_time(OffsetDateTime::now_utc());
            let mut feed = state.feed("properties", "/services/properties", &now);
            feed.total = 1;
            let entry = state.entry("search", "properties", PROPS, &now);
            respond(StatusCode::OK, req.mode, feed.write(req.mode, &[entry]))
        }
        Method::POST => match req.form().get("__conf") {
            Some(PROPS) => created("/servicesNS/nobody/search/properties/props".to_owned()),
            Some(other) => no_such_file(req.mode, other),
            None => error(
                StatusCode::BAD_REQUEST,
                req.mode,
                Level::Error,
                "In handler 'properties': Argument \"__conf\" is required",
            ),
        },
        _ => reply::wrong_method(req.mode, &req.method),
    }
}

/// `properties/props`: `GET` lists stanzas; `POST __stanza=…` creates one.
pub(crate) fn properties_file(state: &State, req: &Req, file: &str) -> Response {
    if file != PROPS {
        return no_such_file(req.mode, file);
    }
    let store = state.engine.store();
    match req.method {
        Method::GET => {
            let now = feed_time(OffsetDateTime::now_utc());
            let mut feed = state.feed(PROPS, "/services/properties/props", &now);
            let names = page(req, &mut feed, store.props().into_keys().collect());
            let entries: Vec<Entry> = names
                .iter()
                .map(|n| state.entry("search", "properties/props", n, &now))
                .collect();
            respond(StatusCode::OK, req.mode, feed.write(req.mode, &entries))
        }
        Method::POST => {
            let form = req.form();
            let Some(stanza) = form.get("__stanza").filter(|s| !s.is_empty()) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    req.mode,
                    Level::Error,
                    "In handler 'properties': Argument \"__stanza\" is required",
                );
            };
            if let Err(err) = store.create_props_stanza(stanza) {
                return store_error(req.mode, &err);
            }
            created(format!(
                "/servicesNS/nobody/search/properties/props/{}",
                encode_component(stanza)
            ))
        }
        _ => reply::wrong_method(req.mode, &req.method),
    }
}

/// `properties/props/{stanza}`: `GET` lists its keys (one entry a key); `POST k=v…` sets keys.
pub(crate) fn properties_stanza(state: &State, req: &Req, file: &str, stanza: &str) -> Response {
    if file != PROPS {
        return no_such_file(req.mode, file);
    }
    let store = state.engine.store();
    let Some(current) = store.props().remove(stanza) else {
        return error(
            StatusCode::NOT_FOUND,
            req.mode,
            Level::Error,
            "stanza does not exist",
        );
    };
    match req.method {
        Method::GET => {
            let now = feed_time(OffsetDateTime::now_utc());
            let path = format!("/services/properties/props/{}", encode_component(stanza));
            let mut feed = state.feed("stanza", &path, &now);
            let keys = page(req, &mut feed, current.into_iter().collect());
            let collection = format!("properties/props/{}", encode_component(stanza));
            let entries: Vec<Entry> = keys
                .into_iter()
                .map(|(k, v)| {
                    let mut entry = state.entry("search", &collection, &k, &now);
                    entry.content = Content::Text(v);
                    entry
                })
                .collect();
            respond(StatusCode::OK, req.mode, feed.write(req.mode, &entries))
        }
        Method::POST => {
            let settings = settings(req);
            let n = settings.len();
            if let Err(err) = store.set_props(stanza, settings) {
                return store_error(req.mode, &err);
            }
            tracing::info!(stanza, "props stanza changed");
            let message = Message::new(Level::Info, format!("Successfully modified {n} key(s)"));
            respond(
                StatusCode::OK,
                req.mode,
                wire::messages(req.mode, &[message]),
            )
        }
        _ => reply::wrong_method(req.mode, &req.method),
    }
}

/// `properties/props/{stanza}/{key}`: `GET` the value as text.
pub(crate) fn properties_key(
    state: &State,
    req: &Req,
    file: &str,
    stanza: &str,
    key: &str,
) -> Response {
    if file != PROPS {
        return no_such_file(req.mode, file);
    }
    if req.method != Method::GET {
        return reply::wrong_method(req.mode, &req.method);
    }
    match state
        .engine
        .store()
        .props()
        .get(stanza)
        .and_then(|s| s.get(key))
    {
        Some(value) => reply::with_type(
            StatusCode::OK,
            "text/plain; charset=UTF-8",
            super::body::Body::full(value.clone()),
        ),
        None => error(
            StatusCode::NOT_FOUND,
            req.mode,
            Level::Error,
            format!("key {key} does not exist in stanza {stanza}"),
        ),
    }
}
