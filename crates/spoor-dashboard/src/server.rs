//! The web server: routes, replies, static files, and the accept loop (hyper 1).

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use spoor::{AsyncRetriever, Tracker, Window};
use spoor_engine::server::{Gate, WriteDeadline};
use spoor_proto::form::{Form, decode_path_segment};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::data::{self, Need, PageError};
use crate::params::{BadParam, View};
use crate::track::{self, Admission, Intake, TrackOptions};
use crate::{funnel, pages, retention};

/// The application the dashboard logs its own page views under.
pub const META_APPLICATION: &str = "spoor-dashboard";

const STYLE: &str = include_str!("../../../web/style.css");
const SCRIPT: &str = include_str!("../../../web/chart.js");

/// The dashboard: a retriever to ask with, a tracker for its own page views, and the intake of
/// events sent to `/api/track`.
#[derive(Debug)]
pub struct Dashboard {
    retriever: AsyncRetriever,
    tracker: Option<Tracker>,
    intake: Option<Intake>,
}

type Reply = Response<Full<Bytes>>;

/// The policy every response carries: the page's own script, styles and forms only (inline
/// `style` attributes draw the share bars), no plugins, no `<base>`, and never inside a frame.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Every response: its status, type and body, and the headers that keep the dashboard out of
/// other sites' frames (clickjacking), its URLs out of other sites' logs, and types unsniffed.
fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn html(status: StatusCode, markup: maud::Markup) -> Reply {
    reply(status, "text/html; charset=utf-8", markup.into_string())
}

fn csv_reply(name: &str, body: String) -> Reply {
    let mut response = reply(StatusCode::OK, "text/csv; charset=utf-8", body);
    let file: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file}.csv\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn json(status: StatusCode, value: &serde_json::Value) -> Reply {
    reply(status, "application/json", value.to_string())
}

fn redirect(to: &str) -> Reply {
    let mut response = reply(StatusCode::SEE_OTHER, "text/plain; charset=utf-8", "");
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A static file, cached for a day and revalidated by its tag.
fn asset(
    request_tag: Option<&HeaderValue>,
    content_type: &'static str,
    body: &'static str,
) -> Reply {
    let tag = format!("\"{:016x}\"", fnv(body.as_bytes()));
    // `If-None-Match` may list tags, weak (`W/`) or `*` (RFC 9110, 13.1.2).
    let fresh = request_tag.and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',')
            .map(str::trim)
            .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag)
    });
    let mut response = if fresh {
        let mut response = reply(StatusCode::NOT_MODIFIED, content_type, "");
        response.headers_mut().remove(header::CONTENT_TYPE);
        response
    } else {
        reply(StatusCode::OK, content_type, body)
    };
    // A 304 carries the validator and caching headers the 200 would (RFC 9110, 15.4.5).
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    if let Ok(value) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, value);
    }
    response
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The reason of an error with its causes, for a 503 page.
fn reason(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn error_page(err: &PageError) -> Reply {
    match err {
        PageError::BadParam(bad) => html(
            StatusCode::BAD_REQUEST,
            pages::error(400, "Bad request", &bad.to_string()),
        ),
        PageError::TooLong(too_long) => html(
            StatusCode::BAD_REQUEST,
            pages::error(400, "Bad request", &too_long.to_string()),
        ),
        PageError::TooLarge(why) => html(
            StatusCode::BAD_REQUEST,
            pages::error(400, "Bad request", why),
        ),
        PageError::NotFound(what) => {
            html(StatusCode::NOT_FOUND, pages::error(404, "Not found", what))
        }
        PageError::Backend(e) => html(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::error(
                503,
                "Backend unavailable",
                &format!(
                    "The analytics backend could not answer ({}). The dashboard keeps running; try again shortly.",
                    reason(e)
                ),
            ),
        ),
    }
}

fn error_json(err: &PageError) -> Reply {
    let (status, text) = match err {
        // Which parameter, and the value it was given (a filter's text), beside the message.
        PageError::BadParam(bad) => {
            return json(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({
                    "error": bad.to_string(),
                    "parameter": bad.name,
                    "value": bad.value,
                }),
            );
        }
        PageError::TooLong(too_long) => (StatusCode::BAD_REQUEST, too_long.to_string()),
        PageError::TooLarge(why) => (StatusCode::BAD_REQUEST, why.clone()),
        PageError::NotFound(what) => (StatusCode::NOT_FOUND, what.clone()),
        PageError::Backend(e) => (StatusCode::SERVICE_UNAVAILABLE, reason(e)),
    };
    json(status, &serde_json::json!({ "error": text }))
}

/// `path` with `query` but the filter `bad` (every filter, when none is `bad`: too many of
/// them), for the way out of the page that refused it. A query with a bad filter is no view,
/// so this works on its pairs as they came.
fn without_filter(path: &str, query: &str, bad: &str) -> String {
    let form = Form::decode(query);
    let is_bad = |(k, v): &&(String, String)| k == "filter" && v == bad;
    let any = form.pairs().iter().any(|pair| is_bad(&pair));
    let kept: Form = form
        .pairs()
        .iter()
        .filter(|pair| {
            if any {
                !is_bad(pair)
            } else {
                pair.0 != "filter"
            }
        })
        .cloned()
        .collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.encode())
    }
}

/// A question with a page of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Question {
    Funnel,
    Retention,
}

impl Question {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "funnel" => Some(Self::Funnel),
            "retention" => Some(Self::Retention),
            _ => None,
        }
    }
}

/// Splits `/applications/{name}/funnel[.csv]` and `/applications/{name}/retention[.csv]`.
fn question_route(path: &str) -> Option<(String, Question, bool)> {
    let rest = path.strip_prefix("/applications/")?;
    let (name, tail) = rest.split_once('/')?;
    let (tail, as_csv) = match tail.strip_suffix(".csv") {
        Some(tail) => (tail, true),
        None => (tail, false),
    };
    let question = Question::from_name(tail)?;
    let name = decode_path_segment(name).filter(|n| !n.is_empty())?;
    Some((name, question, as_csv))
}

/// Splits `/applications/{name}/users/{distinct_id}`.
fn user_route(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix("/applications/")?;
    let (name, id) = rest.split_once("/users/")?;
    let name = decode_path_segment(name).filter(|n| !n.is_empty())?;
    let id = decode_path_segment(id).filter(|n| !n.is_empty())?;
    Some((name, id))
}

/// The `offset` of a listing's page (`0` when not given).
fn offset_param(query: &str) -> Result<u32, BadParam> {
    match Form::decode(query)
        .get("offset")
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => Ok(0),
        Some(text) => text.parse().map_err(|_| BadParam {
            name: "offset",
            value: text.to_owned(),
            expected: "a whole number of events to skip".into(),
        }),
    }
}

/// Splits `/applications/{name}[/{table}.csv]` (or the original `/application/{name}`).
fn app_route(path: &str) -> Option<(String, Option<&str>)> {
    let rest = path
        .strip_prefix("/applications/")
        .or_else(|| path.strip_prefix("/application/"))?;
    let (name, table) = match rest.split_once('/') {
        Some((name, table)) => (name, Some(table.strip_suffix(".csv")?)),
        None => (rest, None),
    };
    let name = decode_path_segment(name)?;
    (!name.is_empty()).then_some((name, table))
}

impl Dashboard {
    /// A dashboard asking `retriever`, logging its page views with `tracker` (under
    /// [`META_APPLICATION`]) when given one.
    pub fn new(retriever: AsyncRetriever, tracker: Option<Tracker>) -> Self {
        Self {
            retriever,
            tracker,
            intake: None,
        }
    }

    /// This dashboard taking events at `/api/track` (from `spoor.js` and servers) and
    /// delivering them with `tracker` (whose own application is not used: each event names
    /// its own). Without it `/api/track` answers 404.
    #[must_use]
    pub fn with_intake(mut self, tracker: Tracker, options: TrackOptions) -> Self {
        self.intake = Some(Intake::new(tracker, options));
        self
    }

    fn track(&self, name: &str, app: Option<&str>, view: &View) {
        let Some(tracker) = &self.tracker else { return };
        let mut props: Vec<(&str, String)> = vec![("window", view.period.to_string())];
        if let Some(app) = app {
            props.push(("application", app.to_owned()));
        }
        if let Some(event) = &view.event {
            props.push(("ev_name", event.clone()));
        }
        if let Some(property) = &view.property {
            props.push(("prop_name", property.clone()));
        }
        // A full queue or a stopped tracker must not fail the page; the tracker counts it.
        let _ = tracker.track(name, None, props);
    }

    /// Answers one request from `client`.
    pub async fn handle(&self, request: Request<Incoming>, client: IpAddr) -> Reply {
        if request.uri().path() == "/api/track" {
            return self.intake(request, client).await;
        }
        self.route(
            request.method(),
            request.uri().path(),
            request.uri().query().unwrap_or(""),
            request.headers().get(header::IF_NONE_MATCH),
        )
        .await
    }

    async fn route(
        &self,
        method: &Method,
        path: &str,
        query: &str,
        tag: Option<&HeaderValue>,
    ) -> Reply {
        if method != Method::GET && method != Method::HEAD {
            let mut response = html(
                StatusCode::METHOD_NOT_ALLOWED,
                pages::error(
                    405,
                    "Method not allowed",
                    "The dashboard only reads: use GET.",
                ),
            );
            // A 405 names the methods the resource takes (RFC 9110, 15.5.6).
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        match path {
            // The query goes along as it came (its filters, its window).
            "/" if query.is_empty() => return redirect("/applications"),
            "/" => return redirect(&format!("/applications?{query}")),
            "/healthz" => return self.health().await,
            "/static/style.css" => return asset(tag, "text/css; charset=utf-8", STYLE),
            "/static/chart.js" => return asset(tag, "text/javascript; charset=utf-8", SCRIPT),
            "/spoor.js" => return asset(tag, "text/javascript; charset=utf-8", track::SCRIPT),
            // Browsers ask for an icon on a first visit: none, and no 404 in their console.
            "/favicon.ico" => {
                let mut response = reply(StatusCode::NO_CONTENT, "image/x-icon", "");
                let headers = response.headers_mut();
                headers.remove(header::CONTENT_TYPE);
                headers.insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=86400"),
                );
                return response;
            }
            _ => {}
        }
        let view = match View::parse(query) {
            Ok(view) => view,
            Err(bad) if path.starts_with("/api/") => return error_json(&PageError::BadParam(bad)),
            Err(bad) if bad.name == "filter" && !path.ends_with(".csv") => {
                return html(
                    StatusCode::BAD_REQUEST,
                    pages::error_with_way_out(
                        400,
                        "Bad request",
                        &bad.to_string(),
                        (
                            "Remove this filter",
                            &without_filter(path, query, &bad.value),
                        ),
                    ),
                );
            }
            Err(bad) => return error_page(&PageError::BadParam(bad)),
        };
        match path {
            "/applications" | "/applications/" => {
                self.track("list_applications", None, &view);
                match data::list(&self.retriever, view, Need::Charts).await {
                    Ok(page) => html(StatusCode::OK, pages::applications(&page)),
                    Err(err) => error_page(&err),
                }
            }
            "/api/applications" => {
                // The table and the summary; no trends.
                let (window, filters) = (view.window(), view.filters.clone());
                let (page, summary) = tokio::join!(
                    data::list(&self.retriever, view, Need::Tables),
                    self.retriever.summary(None, &filters, &window)
                );
                match (page, summary) {
                    (Ok(mut page), Ok(summary)) => {
                        page.summary = Some(summary);
                        list_json(&page)
                    }
                    (Err(err), _) => error_json(&err),
                    (_, Err(err)) => error_json(&PageError::Backend(err)),
                }
            }
            "/applications.csv" => match data::list(&self.retriever, view, Need::Tables).await {
                Ok(page) => csv_reply(
                    "applications",
                    spoor::csv::table(
                        &["application", "events", "unique_users"],
                        page.apps.iter().map(|(a, _)| {
                            [
                                a.name.clone(),
                                a.events.to_string(),
                                a.unique_users.to_string(),
                            ]
                        }),
                    ),
                ),
                Err(err) => error_page(&err),
            },
            _ => {
                if let Some(rest) = path.strip_prefix("/api/application/")
                    && let Some((name, tail)) = rest.split_once('/')
                {
                    return self.api_people(name, tail, query, view).await;
                }
                if let Some((name, question, as_csv)) = question_route(path) {
                    return self.question(&name, question, as_csv, query, view).await;
                }
                if let Some((name, id)) = user_route(path) {
                    self.track("user_details", Some(&name), &view);
                    let offset = match offset_param(query) {
                        Ok(offset) => offset,
                        Err(bad) => return error_page(&PageError::BadParam(bad)),
                    };
                    return match data::timeline(&self.retriever, &name, &id, view, offset).await {
                        Ok(page) => html(StatusCode::OK, pages::timeline(&page)),
                        Err(err) => error_page(&err),
                    };
                }
                if let Some(name) = path.strip_prefix("/api/application/") {
                    let Some(name) = decode_path_segment(name).filter(|n| !n.is_empty()) else {
                        return error_json(&PageError::NotFound("no application named".to_owned()));
                    };
                    self.track("api_app_details", Some(&name), &view);
                    return self.api(&name, view).await;
                }
                let Some((name, table)) = app_route(path) else {
                    return html(
                        StatusCode::NOT_FOUND,
                        pages::error(404, "Not found", &format!("There is no page at {path}.")),
                    );
                };
                if table.is_none() {
                    self.track("app_details", Some(&name), &view);
                }
                let need = if table.is_none() {
                    Need::Charts
                } else {
                    Need::Tables
                };
                match data::application(&self.retriever, &name, view, need).await {
                    Ok(page) => match table {
                        None => html(StatusCode::OK, pages::application(&page)),
                        Some(table) => table_csv(&page, table).unwrap_or_else(|| {
                            html(
                                StatusCode::NOT_FOUND,
                                pages::error(404, "Not found", &format!("There is no table named {table:?}: use events, properties or values.")),
                            )
                        }),
                    },
                    Err(err) => error_page(&err),
                }
            }
        }
    }

    /// The page of a funnel or a retention question, or its CSV.
    async fn question(
        &self,
        name: &str,
        question: Question,
        as_csv: bool,
        query: &str,
        view: View,
    ) -> Reply {
        // A question the page cannot take: its message, and a way back to the page's form (the
        // window and the filters kept) rather than a dead end.
        let refused = |err: &PageError, page: &str| match err {
            PageError::BadParam(bad) if !as_csv => html(
                StatusCode::BAD_REQUEST,
                pages::error_with_way_out(
                    400,
                    "Bad request",
                    &bad.to_string(),
                    ("Back to the form", &view.href(page)),
                ),
            ),
            err => error_page(err),
        };
        match question {
            Question::Funnel => {
                if !as_csv {
                    self.track("funnel", Some(name), &view);
                }
                match funnel::fetch(&self.retriever, name, view.clone(), query).await {
                    Ok(page) if as_csv => csv_reply(&format!("{name}-funnel"), funnel::csv(&page)),
                    Ok(page) => html(StatusCode::OK, funnel::render(&page)),
                    Err(err) => refused(&err, &funnel::path(name)),
                }
            }
            Question::Retention => {
                if !as_csv {
                    self.track("retention", Some(name), &view);
                }
                match retention::fetch(&self.retriever, name, view.clone(), query).await {
                    Ok(page) if as_csv => {
                        csv_reply(&format!("{name}-retention"), retention::csv(&page))
                    }
                    Ok(page) => html(StatusCode::OK, retention::render(&page)),
                    Err(err) => refused(&err, &retention::path(name)),
                }
            }
        }
    }

    /// `/api/application/{name}/funnel` and `/api/application/{name}/retention`.
    async fn question_json(
        &self,
        name: &str,
        question: Question,
        query: &str,
        view: View,
    ) -> Reply {
        let (missing, reply) = match question {
            Question::Funnel => {
                self.track("api_funnel", Some(name), &view);
                match funnel::fetch(&self.retriever, name, view, query).await {
                    Ok(page) => (page.params.is_none(), funnel::json(&page)),
                    Err(err) => return error_json(&err),
                }
            }
            Question::Retention => {
                self.track("api_retention", Some(name), &view);
                match retention::fetch(&self.retriever, name, view, query).await {
                    Ok(page) => (page.params.is_none(), retention::json(&page)),
                    Err(err) => return error_json(&err),
                }
            }
        };
        if missing {
            let (param, expected) = match question {
                Question::Funnel => (
                    "steps",
                    "the funnel's steps, in order: steps=visit,signup,purchase",
                ),
                Question::Retention => (
                    "start",
                    "the event that starts a cohort: start=signup (and return=login)",
                ),
            };
            return error_json(&PageError::BadParam(BadParam {
                name: param,
                value: String::new(),
                expected: expected.into(),
            }));
        }
        json(StatusCode::OK, &reply)
    }

    async fn health(&self) -> Reply {
        match self.retriever.connect().await {
            Ok(()) => json(
                StatusCode::OK,
                &serde_json::json!({ "status": "ok", "backend": "ok" }),
            ),
            Err(err) => json(
                StatusCode::SERVICE_UNAVAILABLE,
                &serde_json::json!({ "status": "degraded", "backend": reason(&err) }),
            ),
        }
    }

    /// `/api/application/{name}/users` (the users with the most events) and
    /// `/api/application/{name}/users/{distinct_id}` (a user's events, newest first, 50 from
    /// `offset`).
    async fn api_people(&self, name: &str, tail: &str, query: &str, view: View) -> Reply {
        let Some(name) = decode_path_segment(name).filter(|n| !n.is_empty()) else {
            return error_json(&PageError::NotFound("no application named".to_owned()));
        };
        if tail == "numbers" {
            self.track("api_numbers", Some(&name), &view);
            let Some(property) = view.property.clone() else {
                return error_json(&PageError::BadParam(BadParam {
                    name: "property",
                    value: String::new(),
                    expected: "the numeric property to chart (`property=amount`)".into(),
                }));
            };
            return match data::numbers(&self.retriever, &name, &view, &property).await {
                Ok((plan, chart)) => json(
                    StatusCode::OK,
                    &serde_json::json!({
                        "application_name": name,
                        "event_name": view.event,
                        "property_name": property,
                        "agg": view.stat.name(),
                        "window": view.period.key(),
                        "filters": filters_json(&view),
                        "span": data::span_name(plan.span()),
                        "span_key": plan.step.key(),
                        "notes": plan.note.iter().collect::<Vec<_>>(),
                        "data": numbers_json(&chart),
                    }),
                ),
                Err(err) => error_json(&err),
            };
        }
        if let Some(question) = Question::from_name(tail) {
            return self.question_json(&name, question, query, view).await;
        }
        if tail == "users" {
            self.track("api_users", Some(&name), &view);
            return match data::users(&self.retriever, &name, &view).await {
                Ok(users) => json(
                    StatusCode::OK,
                    &serde_json::json!({
                        "application_name": name,
                        "event_name": view.event,
                        "window": view.period.key(),
                        "filters": filters_json(&view),
                        "users": users.iter().map(|u| serde_json::json!({"distinct_id": u.distinct_id, "events": u.events})).collect::<Vec<_>>(),
                    }),
                ),
                Err(err) => error_json(&err),
            };
        }
        let Some(id) = tail
            .strip_prefix("users/")
            .and_then(decode_path_segment)
            .filter(|id| !id.is_empty())
        else {
            return error_json(&PageError::NotFound(format!(
                "there is nothing at /api/application/{name}/{tail}: try users or users/{{distinct_id}}"
            )));
        };
        self.track("api_user_details", Some(&name), &view);
        let offset = match offset_param(query) {
            Ok(offset) => offset,
            Err(bad) => return error_json(&PageError::BadParam(bad)),
        };
        match data::timeline(&self.retriever, &name, &id, view, offset).await {
            Ok(page) => json(
                StatusCode::OK,
                &serde_json::json!({
                    "application_name": page.name,
                    "distinct_id": page.distinct_id,
                    "window": page.view.period.key(),
                    "filters": filters_json(&page.view),
                    "offset": page.page.offset(),
                    "limit": page.page.limit(),
                    "more": page.timeline.more,
                    "events": page.timeline.events.iter().map(|e| serde_json::json!({
                        "time": e.time.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                        "time_ms": data::millis(e.time),
                        "event": e.name,
                        "properties": e.properties.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str()))).collect::<serde_json::Map<_, _>>(),
                    })).collect::<Vec<_>>(),
                }),
            ),
            Err(err) => error_json(&err),
        }
    }

    /// The page's data as JSON, in the original's shape (`application_name`, `event_name`,
    /// `property_name`, `events`, `properties`, `data` as `{label, data: [[ms, count]…]}`)
    /// with the new parts added: `span` is the span the charts use (coarsened as the page
    /// does; `span_key` names it, `span_requested` the one asked for) and `notes` say what
    /// was coarsened or left out.
    async fn api(&self, name: &str, view: View) -> Reply {
        let page = match data::application(&self.retriever, name, view, Need::Charts).await {
            Ok(page) => page,
            Err(err) => return error_json(&err),
        };
        let series = |chart: &spoor::answer::Chart| {
            chart
                .series
                .iter()
                .map(|s| {
                    let points: Vec<[i64; 2]> = chart
                        .times
                        .iter()
                        .zip(&s.values)
                        .map(|(t, v)| [data::millis(*t), i64::try_from(*v).unwrap_or(i64::MAX)])
                        .collect();
                    serde_json::json!({ "label": s.name, "data": points })
                })
                .collect::<Vec<_>>()
        };
        let view = &page.view;
        let (earliest, latest) = match view.window() {
            Window::Between { earliest, latest } => {
                (Some(data::millis(earliest)), Some(data::millis(latest)))
            }
            _ => (None, None),
        };
        json(
            StatusCode::OK,
            &serde_json::json!({
                "application_name": page.name,
                "event_name": view.event,
                "property_name": view.property,
                "window": view.period.key(),
                "filters": filters_json(view),
                "earliest_ms": earliest,
                "latest_ms": latest,
                "span": data::span_name(page.plan.span()),
                "span_key": page.plan.step.key(),
                "span_requested": view.span.key(),
                "notes": page.notes,
                "summary": page.summary.as_ref().map(summary_json),
                "numbers": page.numbers.as_ref().map(numbers_json),
                "events": page.events.iter().map(|e| serde_json::json!({"name": e.name, "count": e.events, "unique_users": e.unique_users})).collect::<Vec<_>>(),
                "properties": page.properties.iter().map(|p| serde_json::json!({"name": p.key, "distinct_values": p.distinct_values})).collect::<Vec<_>>(),
                "values": page.values.as_ref().map(|vs| vs.iter().map(|v| serde_json::json!({"value": v.value, "count": v.count})).collect::<Vec<_>>()),
                "data": series(&page.chart),
                "unique_users": series(&page.users),
            }),
        )
    }
}

impl Dashboard {
    /// `/api/track`: a preflight, or events to queue (see [`track`]).
    async fn intake(&self, request: Request<Incoming>, client: IpAddr) -> Reply {
        let Some(intake) = &self.intake else {
            return json_error(
                StatusCode::NOT_FOUND,
                "this dashboard takes no events: it was started with --no-track",
            );
        };
        let header = |name| {
            request
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let origin = header(header::ORIGIN).map(str::to_owned);
        let admission = track::admit(
            origin.as_deref(),
            header(header::HOST),
            &intake.allow_origin,
        );
        let mut response = self.take_events(intake, request, client, admission).await;
        let headers = response.headers_mut();
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        if admission == Admission::Cors
            && let Some(value) = origin.and_then(|o| HeaderValue::from_str(&o).ok())
        {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        }
        response
    }

    async fn take_events(
        &self,
        intake: &Intake,
        request: Request<Incoming>,
        client: IpAddr,
        admission: Admission,
    ) -> Reply {
        let method = request.method().clone();
        if method != Method::POST && method != Method::OPTIONS {
            let mut response = json_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "send events with POST (a JSON event or an array of them)",
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST, OPTIONS"));
            return response;
        }
        if admission == Admission::Refused {
            let origin = request
                .headers()
                .get(header::ORIGIN)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            return json_error(
                StatusCode::FORBIDDEN,
                &format!(
                    "pages of {origin} may not send events here: start the dashboard with --allow-origin {origin}"
                ),
            );
        }
        if method == Method::OPTIONS {
            let mut response = reply(StatusCode::NO_CONTENT, "text/plain; charset=utf-8", "");
            let headers = response.headers_mut();
            headers.remove(header::CONTENT_TYPE);
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("POST"),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type"),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("86400"),
            );
            return response;
        }
        if let Err(wait) = intake.limiter.take(client, Instant::now()) {
            let mut response = json_error(
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests from this address; batch events and send less often",
            );
            let seconds = wait.as_secs_f64().ceil().max(1.0);
            if let Ok(value) = HeaderValue::from_str(&format!("{seconds:.0}")) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
        let announced = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if announced.is_some_and(|n| n > track::MAX_BODY_BYTES as u64) {
            return json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "a request holds at most {} bytes of events; send smaller batches",
                    track::MAX_BODY_BYTES
                ),
            );
        }
        let sent_at = Form::decode(request.uri().query().unwrap_or_default())
            .get("sent_at")
            .map(str::to_owned);
        let body = Limited::new(request.into_body(), track::MAX_BODY_BYTES);
        let body = match tokio::time::timeout(track::BODY_TIMEOUT, body.collect()).await {
            Err(_) => {
                return json_error(
                    StatusCode::REQUEST_TIMEOUT,
                    "the body came too slowly; send it at once",
                );
            }
            Ok(Err(err)) if err.is::<http_body_util::LengthLimitError>() => {
                return json_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!(
                        "a request holds at most {} bytes of events; send smaller batches",
                        track::MAX_BODY_BYTES
                    ),
                );
            }
            Ok(Err(_)) => {
                return json_error(StatusCode::BAD_REQUEST, "the body could not be read");
            }
            Ok(Ok(collected)) => collected.to_bytes(),
        };
        let events = match track::parse_batch(&body, OffsetDateTime::now_utc(), sent_at.as_deref())
        {
            Ok(events) => events,
            Err(bad) => return json_error(StatusCode::BAD_REQUEST, &bad.to_string()),
        };
        match intake.tracker.track_events(&events) {
            Ok(()) => json(
                StatusCode::ACCEPTED,
                &serde_json::json!({ "accepted": events.len() }),
            ),
            Err(err) => {
                let mut response = json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!(
                        "{}; nothing of this request was kept, send it again",
                        reason(&err)
                    ),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response
            }
        }
    }
}

/// A numbers chart as JSON, as the count charts: `[{label, data: [[ms, value or null]…]}]`.
fn numbers_json(chart: &spoor::answer::NumberChart) -> serde_json::Value {
    chart
        .series
        .iter()
        .map(|s| {
            let points: Vec<serde_json::Value> = chart
                .times
                .iter()
                .zip(&s.values)
                .map(|(t, v)| serde_json::json!([data::millis(*t), v]))
                .collect();
            serde_json::json!({ "label": s.name, "data": points })
        })
        .collect()
}

/// A summary as JSON: the window's totals, the previous window's (`null` for all time) and the
/// relative changes (`0.25`: a quarter more; `null` when there is nothing to compare with).
fn summary_json(summary: &spoor::answer::Summary) -> serde_json::Value {
    let totals = |t: &spoor::answer::Totals| {
        serde_json::json!({
            "events": t.events,
            "unique_users": t.unique_users,
            "events_per_user": t.events_per_user(),
        })
    };
    serde_json::json!({
        "current": totals(&summary.current),
        "previous": summary.previous.as_ref().map(totals),
        "events_change": summary.events_change(),
        "unique_users_change": summary.users_change(),
        "events_per_user_change": summary.per_user_change(),
    })
}

/// The filters a reply holds to, as people write them (`["plan=pro", "amount>=10"]`).
fn filters_json(view: &View) -> Vec<String> {
    view.filters.iter().map(ToString::to_string).collect()
}

fn json_error(status: StatusCode, text: &str) -> Reply {
    json(status, &serde_json::json!({ "error": text }))
}

/// The applications list as JSON: the index read, the window, the notes and each application
/// with its events and unique users, the largest first.
fn list_json(page: &data::ListPage) -> Reply {
    let apps: Vec<_> = page
        .apps
        .iter()
        .map(|(a, _)| {
            serde_json::json!({"name": a.name, "events": a.events, "unique_users": a.unique_users})
        })
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({
            "index": page.index,
            "window": page.view.period.key(),
            "filters": filters_json(&page.view),
            "notes": page.notes,
            "summary": page.summary.as_ref().map(summary_json),
            "applications": apps,
        }),
    )
}

fn table_csv(page: &data::AppPage, table: &str) -> Option<Reply> {
    let file = format!("{}-{table}", page.name);
    let body = match table {
        "events" => spoor::csv::table(
            &["event", "count", "unique_users"],
            page.events.iter().map(|e| {
                [
                    e.name.clone(),
                    e.events.to_string(),
                    e.unique_users.to_string(),
                ]
            }),
        ),
        "properties" => spoor::csv::table(
            &["property", "distinct_values"],
            page.properties
                .iter()
                .map(|p| [p.key.clone(), p.distinct_values.to_string()]),
        ),
        "values" => spoor::csv::table(
            &["value", "count"],
            page.values
                .iter()
                .flatten()
                .map(|v| [v.value.clone(), v.count.to_string()]),
        ),
        _ => return None,
    };
    Some(csv_reply(&file, body))
}

/// How long a client may take to send a request head, stay idle between requests, or leave its
/// reply unread.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections the dashboard keeps open at once, in all; past it a new one is closed at once.
pub const MAX_CONNECTIONS: usize = 1_024;
/// Connections the dashboard keeps open at once from one client address (an IPv6 client by its
/// /64).
pub const MAX_CONNECTIONS_PER_CLIENT: usize = 128;

/// Serves the dashboard on `listener` until `shutdown` completes, then lets requests in
/// flight finish (at most 10 seconds). Connections are capped ([`MAX_CONNECTIONS`],
/// [`MAX_CONNECTIONS_PER_CLIENT`]); a client has 30 seconds to send a request head, and its
/// connection is closed when it leaves a reply unread as long.
///
/// # Errors
///
/// Never for a client's fault.
pub async fn serve(
    listener: TcpListener,
    dashboard: Arc<Dashboard>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let gate = Gate::new(MAX_CONNECTIONS, MAX_CONNECTIONS_PER_CLIENT);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((tcp, peer)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                // Past a cap the connection is closed at once, before any work for it.
                let Some(permit) = gate.admit(peer.ip()) else {
                    drop(tcp);
                    continue;
                };
                let dashboard = Arc::clone(&dashboard);
                let mut stop = stop_rx.clone();
                connections.spawn(async move {
                    let _permit = permit;
                    let service = hyper::service::service_fn(move |request| {
                        let dashboard = Arc::clone(&dashboard);
                        async move { Ok::<_, Infallible>(dashboard.handle(request, peer.ip()).await) }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEAD_TIMEOUT)
                        .serve_connection(TokioIo::new(WriteDeadline::new(tcp, HEAD_TIMEOUT)), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = stop.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

/// Where the dashboard listens by default.
pub fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
