//! Every route of the dashboard over real HTTP, against known events: statuses, the numbers in
//! the tables, CSV, the JSON API (the original's parameters and the new ones), static files,
//! escaping of hostile names, error pages, a stopped backend and the dashboard's own page views.

use std::time::{Duration, Instant};

use serde_json::json;
use spoor_event::Event;
use time::OffsetDateTime;
use time::macros::datetime;

use spoor::answer::{Application, ValueCount};
use spoor::{Retriever, Window};
use spoor_dashboard::{DEFAULT_META_INDEX, META_APPLICATION};

use super::{Site, table_after, text};

/// The custom window the known events are read over: 2026-11-02 to 2026-11-04, both included.
const W: &str = "from=2026-11-02&to=2026-11-04";
const HOSTILE: &str = "<script>alert(1)</script>";
const HOSTILE_URL: &str = "%3Cscript%3Ealert(1)%3C%2Fscript%3E";
const QUOTES: &str = "\"quotes\"";

/// The known events, as the tracker writes them. In the window `W`:
///
/// - `shop`: `login` ×6 (users u1 u2 u3 and one without a user; `plan` free ×4, pro ×2;
///   `seats` 1, 1, 3, 2), `purchase` ×3 (u1 u2; `plan` pro ×2 and a formula ×1; `amount`
///   10, 20, -5), the hostile event ×1 (u4, `label` = `"quotes"`): 10 events, 4 users;
/// - the hostile application: `"quotes"` ×2 (u1 u2);
/// - `blog`: `view` ×3 (u5 u6).
///
/// Outside it: `shop` `login` just before and just after, and `shop` `old` a month before.
const LINES: &str = r#"
2026-11-02T10:00:00.000000Z application="shop" event="login" distinct_id="u1" analytics_prop__plan="free" analytics_prop__seats=1
2026-11-02T11:00:00.000000Z application="shop" event="login" distinct_id="u1" analytics_prop__plan="free" analytics_prop__seats=1
2026-11-03T09:00:00.000000Z application="shop" event="login" distinct_id="u2" analytics_prop__plan="pro" analytics_prop__seats=3
2026-11-03T12:00:00.000000Z application="shop" event="login" distinct_id="u1" analytics_prop__plan="free"
2026-11-04T08:00:00.000000Z application="shop" event="login" distinct_id="u3" analytics_prop__plan="pro" analytics_prop__seats=2
2026-11-04T23:59:59.000000Z application="shop" event="login" analytics_prop__plan="free"
2026-11-02T12:00:00.000000Z application="shop" event="purchase" distinct_id="u1" analytics_prop__plan="pro" analytics_prop__amount=10
2026-11-03T13:00:00.000000Z application="shop" event="purchase" distinct_id="u2" analytics_prop__plan="=HYPERLINK(\"x\")" analytics_prop__amount=20
2026-11-04T14:00:00.000000Z application="shop" event="purchase" distinct_id="u2" analytics_prop__plan="pro" analytics_prop__amount=-5
2026-11-03T15:00:00.000000Z application="shop" event="<script>alert(1)</script>" distinct_id="u4" analytics_prop__label="\"quotes\""
2026-11-03T10:00:00.000000Z application="<script>alert(1)</script>" event="\"quotes\"" distinct_id="u1"
2026-11-03T11:00:00.000000Z application="<script>alert(1)</script>" event="\"quotes\"" distinct_id="u2"
2026-11-02T10:00:00.000000Z application="blog" event="view" distinct_id="u5"
2026-11-04T10:00:00.000000Z application="blog" event="view" distinct_id="u6"
2026-11-04T11:00:00.000000Z application="blog" event="view" distinct_id="u5"
2026-11-01T23:59:59.000000Z application="shop" event="login" distinct_id="u9" analytics_prop__plan="free"
2026-11-05T00:00:00.000000Z application="shop" event="login" distinct_id="u9" analytics_prop__plan="free"
2026-10-01T12:00:00.000000Z application="shop" event="old" distinct_id="u9"
"#;

/// The known events, and `live` `ping` an hour ago (for the preset windows).
fn events() -> Vec<Event> {
    let mut events: Vec<Event> = LINES
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| Event::decode_line(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let hour_ago = OffsetDateTime::now_utc() - time::Duration::hours(1);
    events.push(
        Event::builder("live", "ping", hour_ago)
            .distinct_id("u1")
            .build()
            .expect("a valid event"),
    );
    events
}

fn site() -> Site {
    Site::start(&events(), false)
}

fn rows(cells: &[&[&str]]) -> Vec<Vec<String>> {
    cells
        .iter()
        .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
        .collect()
}

/// The first `n` cells of each row.
fn first(table: Vec<Vec<String>>, n: usize) -> Vec<Vec<String>> {
    table
        .into_iter()
        .map(|r| r.into_iter().take(n).collect())
        .collect()
}

fn ok(site: &Site, target: &str) -> String {
    let reply = site.get(target);
    assert_eq!(reply.status, 200, "GET {target}: {}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8"),
        "GET {target}"
    );
    reply.body
}

#[test]
fn root_redirects_and_health_answers() {
    let site = site();
    let root = site.get("/");
    assert_eq!(root.status, 303);
    assert_eq!(root.header("location"), Some("/applications"));
    let filtered = site.get("/?filter=plan%3Dpro");
    assert_eq!(
        filtered.header("location"),
        Some("/applications?filter=plan%3Dpro"),
        "the filters go along"
    );

    let health = site.get("/healthz");
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(health.json(), json!({"status": "ok", "backend": "ok"}));

    let head = site.request("HEAD", "/applications", &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "a HEAD reply has no body: {head:?}");

    for target in ["/applications", "/applications/shop", "/healthz"] {
        let post = site.request("POST", target, &[]);
        assert_eq!(post.status, 405, "POST {target}");
        assert!(text(&post.body).contains("use GET"), "{}", post.body);
        assert_eq!(post.header("allow"), Some("GET, HEAD"), "POST {target}");
    }
}

#[test]
fn applications_list_counts_events_users_and_shares() {
    let site = site();
    let page = ok(&site, &format!("/applications?{W}"));
    assert_eq!(
        first(table_after(&page, "<table"), 4),
        rows(&[
            &["shop", "10", "4", "66.7 %"],
            &["blog", "3", "2", "20.0 %"],
            &[HOSTILE, "2", "2", "13.3 %"],
        ])
    );
    assert!(
        page.contains(&format!(
            "href=\"/applications/%3Cscript%3Ealert%281%29%3C%2Fscript%3E?window=custom&amp;{}\"",
            W.replace('&', "&amp;")
        )),
        "{page}"
    );
    assert!(page.contains(&format!(
        "href=\"/applications.csv?window=custom&amp;{}\"",
        W.replace('&', "&amp;")
    )));

    // Only `live` happened in the last 24 hours; the default window (30 days) has it too.
    let day = ok(&site, "/applications?window=24h");
    assert_eq!(
        first(table_after(&day, "<table"), 3),
        rows(&[&["live", "1", "1"]])
    );
    assert!(text(&ok(&site, "/applications")).contains("live"));

    // A window with nothing in it says so.
    let empty = ok(&site, "/applications?from=2020-01-01&to=2020-01-02");
    assert!(text(&empty).contains("No events in this window"), "{empty}");
}

#[test]
fn application_page_tables_and_charts() {
    let site = site();
    for route in ["/applications/shop", "/application/shop"] {
        let page = ok(&site, &format!("{route}?{W}"));
        assert_eq!(
            table_after(&page, "<h2>Events</h2>"),
            rows(&[
                &["login", "6", "3", "60.0 %"],
                &["purchase", "3", "2", "30.0 %"],
                &[HOSTILE, "1", "1", "10.0 %"],
            ]),
            "{route}"
        );
        // Each event links to the page narrowed to it, window kept.
        assert!(page.contains(&format!(
            "href=\"/applications/shop?window=custom&amp;{}&amp;event=purchase\"",
            W.replace('&', "&amp;")
        )));
        // Events over time split by event, and unique users: two charts.
        assert_eq!(
            page.matches("<figure class=\"chart\"").count(),
            2,
            "{route}"
        );
        for series in ["login", "purchase"] {
            assert!(
                page.contains(&format!("data-series=\"{series}\"")),
                "{route}: series {series}"
            );
        }
        assert_eq!(
            table_after(&page, "<h2>Properties of all events</h2>"),
            rows(&[
                &["amount", "3"],
                &["label", "1"],
                &["plan", "3"],
                &["seats", "3"]
            ]),
            "no event chosen: the properties of all events"
        );
    }

    // Narrowed to `login`: its properties, and with `plan` chosen its values.
    let login = ok(&site, &format!("/applications/shop?{W}&event=login"));
    assert_eq!(
        table_after(&login, "<h2>Properties of login</h2>"),
        rows(&[&["plan", "2"], &["seats", "3"]])
    );
    assert!(
        login.contains("class=\"chosen\""),
        "the chosen event is marked"
    );
    let plan = ok(
        &site,
        &format!("/applications/shop?{W}&event=login&property=plan"),
    );
    assert_eq!(
        table_after(&plan, "<h2>Values of plan</h2>"),
        rows(&[&["free", "4", "66.7 %"], &["pro", "2", "33.3 %"]])
    );
    for series in ["free", "pro"] {
        assert!(
            plan.contains(&format!("data-series=\"{series}\"")),
            "{series}"
        );
    }
    assert!(
        !plan.contains("data-series=\"purchase\""),
        "narrowed to login"
    );
    let top = ok(
        &site,
        &format!("/applications/shop?{W}&event=login&property=plan&top=1"),
    );
    assert_eq!(
        table_after(&top, "<h2>Values of plan</h2>"),
        rows(&[&["free", "4", "100.0 %"]])
    );
    let seats = ok(
        &site,
        &format!("/applications/shop?{W}&event=login&property=seats"),
    );
    assert_eq!(
        table_after(&seats, "<h2>Values of seats</h2>"),
        rows(&[
            &["1", "2", "50.0 %"],
            &["2", "1", "25.0 %"],
            &["3", "1", "25.0 %"]
        ])
    );

    // An event known only outside the window: the page, saying the window is empty.
    let old = text(&ok(&site, &format!("/applications/shop?{W}&event=old")));
    assert!(old.contains("shop · old"), "{old}");
    assert!(
        old.contains("This event has no properties in this window"),
        "{old}"
    );

    // Narrowed to one event with no property, the chart's one series is that event.
    let purchase = ok(&site, &format!("/applications/shop?{W}&event=purchase"));
    let chart = &purchase[purchase.find("<figure class=\"chart\"").expect("a chart")..];
    let chart = &chart[..chart.find("</figure>").expect("the chart ends")];
    assert_eq!(chart.matches("<g class=\"series\"").count(), 1, "{chart}");
    assert!(chart.contains("data-series=\"purchase\""), "{chart}");
}

/// Issue 13: as in the original dashboard, a property without an event means all events of
/// the application (it answered 400 before): the chart split by the property, its values and
/// the properties of every event, on the page, in CSV and in the JSON API.
#[test]
fn a_property_without_an_event_counts_all_events() {
    let site = site();
    let formula = "=HYPERLINK(\"x\")";
    // No event chosen: the properties of all of shop's events, each linking to its values.
    let page = ok(&site, &format!("/applications/shop?{W}"));
    assert_eq!(
        table_after(&page, "<h2>Properties of all events</h2>"),
        rows(&[
            &["amount", "3"],
            &["label", "1"],
            &["plan", "3"],
            &["seats", "3"]
        ])
    );
    assert!(
        page.contains(&format!(
            "href=\"/applications/shop?window=custom&amp;{}&amp;property=plan\"",
            W.replace('&', "&amp;")
        )),
        "{page}"
    );

    let plan = ok(&site, &format!("/applications/shop?{W}&property=plan"));
    assert_eq!(
        table_after(&plan, "<h2>Values of plan</h2>"),
        rows(&[
            &["free", "4", "44.4 %"],
            &["pro", "4", "44.4 %"],
            &[formula, "1", "11.1 %"]
        ])
    );
    assert!(text(&plan).contains("Events over time, by plan"), "{plan}");
    for series in ["free", "pro", "=HYPERLINK(&quot;x&quot;)"] {
        assert!(
            plan.contains(&format!("data-series=\"{series}\"")),
            "{series}: {plan}"
        );
    }
    assert!(
        !plan.contains("data-series=\"login\""),
        "split by plan, not by event"
    );
    // The state stays in the URL: the window picker keeps the property.
    assert!(
        plan.contains("href=\"/applications/shop?window=7d&amp;property=plan\""),
        "{plan}"
    );

    assert_eq!(
        site.get(&format!("/applications/shop/values.csv?{W}&property=plan"))
            .body,
        "value,count\r\nfree,4\r\npro,4\r\n\"'=HYPERLINK(\"\"x\"\")\",1\r\n"
    );
    assert_eq!(
        site.get(&format!("/applications/shop/properties.csv?{W}"))
            .body,
        "property,distinct_values\r\namount,3\r\nlabel,1\r\nplan,3\r\nseats,3\r\n"
    );

    // The original's call: `property` with no `event_name`.
    let api = site.get(&format!(
        "/api/application/shop?{W}&property=plan&time_range=1d"
    ));
    assert_eq!(api.status, 200, "{}", api.body);
    let api = api.json();
    let days = [
        ms(datetime!(2026-11-02 00:00 UTC)),
        ms(datetime!(2026-11-03 00:00 UTC)),
        ms(datetime!(2026-11-04 00:00 UTC)),
    ];
    assert_eq!(api["event_name"], json!(null));
    assert_eq!(api["property_name"], "plan");
    assert_eq!(
        api["values"],
        json!([
            {"value": "free", "count": 4},
            {"value": "pro", "count": 4},
            {"value": formula, "count": 1},
        ])
    );
    assert_eq!(
        api["properties"],
        json!([
            {"name": "amount", "distinct_values": 3},
            {"name": "label", "distinct_values": 1},
            {"name": "plan", "distinct_values": 3},
            {"name": "seats", "distinct_values": 3},
        ])
    );
    assert_eq!(
        api["data"],
        json!([
            {"label": "free", "data": [[days[0], 2], [days[1], 1], [days[2], 1]]},
            {"label": "pro", "data": [[days[0], 1], [days[1], 1], [days[2], 2]]},
            {"label": formula, "data": [[days[0], 0], [days[1], 1], [days[2], 0]]},
        ])
    );
}

#[test]
fn csv_of_every_table() {
    let site = site();
    let csv = |target: &str, file: &str| {
        let reply = site.get(target);
        assert_eq!(reply.status, 200, "GET {target}: {}", reply.body);
        assert_eq!(
            reply.header("content-type"),
            Some("text/csv; charset=utf-8")
        );
        assert_eq!(
            reply.header("content-disposition"),
            Some(format!("attachment; filename=\"{file}\"").as_str()),
            "GET {target}"
        );
        reply.body
    };
    assert_eq!(
        csv(&format!("/applications.csv?{W}"), "applications.csv"),
        format!("application,events,unique_users\r\nshop,10,4\r\nblog,3,2\r\n{HOSTILE},2,2\r\n")
    );
    assert_eq!(
        csv(
            &format!("/applications/shop/events.csv?{W}"),
            "shop-events.csv"
        ),
        format!("event,count,unique_users\r\nlogin,6,3\r\npurchase,3,2\r\n{HOSTILE},1,1\r\n")
    );
    assert_eq!(
        csv(
            &format!("/applications/shop/properties.csv?{W}&event=purchase"),
            "shop-properties.csv"
        ),
        "property,distinct_values\r\namount,3\r\nplan,2\r\n"
    );
    // A value a spreadsheet would run as a formula stays text; a negative number stays a number.
    assert_eq!(
        csv(
            &format!("/applications/shop/values.csv?{W}&event=purchase&property=plan"),
            "shop-values.csv"
        ),
        "value,count\r\npro,2\r\n\"'=HYPERLINK(\"\"x\"\")\",1\r\n"
    );
    assert_eq!(
        csv(
            &format!("/applications/shop/values.csv?{W}&event=purchase&property=amount"),
            "shop-values.csv"
        ),
        "value,count\r\n\"-5\",1\r\n10,1\r\n20,1\r\n"
    );
    // The hostile application's file name is cleaned; its events are quoted as CSV needs.
    assert_eq!(
        csv(
            &format!("/applications/{HOSTILE_URL}/events.csv?{W}"),
            "_script_alert_1___script_-events.csv"
        ),
        "event,count,unique_users\r\n\"\"\"quotes\"\"\",2,2\r\n"
    );
    // No property chosen: the values table is only its header.
    assert_eq!(
        csv(
            &format!("/applications/shop/values.csv?{W}&event=login"),
            "shop-values.csv"
        ),
        "value,count\r\n"
    );
    let unknown = site.get(&format!("/applications/shop/users.csv?{W}"));
    assert_eq!(unknown.status, 404);
    assert!(text(&unknown.body).contains("use events, properties or values"));
}

fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).expect("milliseconds")
}

#[test]
fn json_api_with_the_originals_parameters_and_the_new_ones() {
    let site = site();
    let days = [
        ms(datetime!(2026-11-02 00:00 UTC)),
        ms(datetime!(2026-11-03 00:00 UTC)),
        ms(datetime!(2026-11-04 00:00 UTC)),
    ];
    let get = |target: &str| {
        let reply = site.get(target);
        assert_eq!(reply.status, 200, "GET {target}: {}", reply.body);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        reply.json()
    };
    let events = json!([
        {"name": "login", "count": 6, "unique_users": 3},
        {"name": "purchase", "count": 3, "unique_users": 2},
        {"name": HOSTILE, "count": 1, "unique_users": 1},
    ]);

    // The original's names: `event_name`, `property`, `time_range`.
    let original = get(&format!(
        "/api/application/shop?{W}&event_name=login&property=plan&time_range=1d"
    ));
    let span = original["span"].clone();
    assert_eq!(
        original,
        json!({
            "application_name": "shop",
            "event_name": "login",
            "property_name": "plan",
            "window": "custom",
            "filters": [],
            "earliest_ms": days[0],
            "latest_ms": ms(datetime!(2026-11-05 00:00 UTC)),
            "span": span,
            "span_key": "day",
            "span_requested": "day",
            "notes": [],
            "events": events,
            "properties": [
                {"name": "plan", "distinct_values": 2},
                {"name": "seats", "distinct_values": 3},
            ],
            "values": [{"value": "free", "count": 4}, {"value": "pro", "count": 2}],
            "data": [
                {"label": "free", "data": [[days[0], 2], [days[1], 1], [days[2], 1]]},
                {"label": "pro", "data": [[days[0], 0], [days[1], 1], [days[2], 1]]},
            ],
            "unique_users": [
                {"label": "Unique users", "data": [[days[0], 1], [days[1], 2], [days[2], 1]]},
            ],
            // `plan` holds no numbers: its statistic has no series.
            "numbers": [],
            // The window (3 days): 10 events of 4 users; the 3 days before: `login` of u9 once.
            "summary": {
                "current": {"events": 10, "unique_users": 4, "events_per_user": 2.5},
                "previous": {"events": 1, "unique_users": 1, "events_per_user": 1.0},
                "events_change": 9.0,
                "unique_users_change": 3.0,
                "events_per_user_change": 1.5,
            },
        })
    );
    // The page shows the same, as cards.
    let page = ok(&site, &format!("/applications/shop?{W}"));
    for said in [
        "<p class=\"value\">10</p>",
        "▲ 900 %",
        "1 in the previous 3 days",
        "<p class=\"value\">2.50</p>",
        "▲ 150 %",
    ] {
        assert!(page.contains(said), "{said} on the page");
    }
    assert!(
        span.as_str().is_some_and(|s| !s.is_empty()),
        "the span is named: {span}"
    );
    // The new names give the same answer.
    assert_eq!(
        get(&format!(
            "/api/application/shop?{W}&event=login&property=plan&span=day"
        )),
        original
    );

    // No event chosen: the chart is split by event; the properties of all events, no values.
    let all = get(&format!("/api/application/shop?{W}&span=day"));
    assert_eq!(all["events"], events);
    assert_eq!(all["properties"].as_array().map(Vec::len), Some(4), "{all}");
    assert_eq!(all["values"], json!(null));
    assert_eq!(all["event_name"], json!(null));
    let series = all["data"].as_array().expect("series");
    let by_label = |label: &str| {
        series
            .iter()
            .find(|s| s["label"] == label)
            .unwrap_or_else(|| panic!("no series {label} in {all}"))["data"]
            .clone()
    };
    assert_eq!(
        by_label("login"),
        json!([[days[0], 2], [days[1], 2], [days[2], 2]])
    );
    assert_eq!(
        by_label("purchase"),
        json!([[days[0], 1], [days[1], 1], [days[2], 1]])
    );
    assert_eq!(
        by_label(HOSTILE),
        json!([[days[0], 0], [days[1], 1], [days[2], 0]])
    );
    assert_eq!(series.len(), 3, "no OTHER series: {all}");
    assert_eq!(
        all["unique_users"][0]["data"],
        json!([[days[0], 1], [days[1], 3], [days[2], 2]])
    );

    // A preset window, and an hourly span.
    let live = get("/api/application/live?window=24h&time_range=1h");
    assert_eq!(live["window"], "24h");
    assert_eq!(
        live["events"],
        json!([{"name": "ping", "count": 1, "unique_users": 1}])
    );
    let points = live["data"][0]["data"].as_array().expect("points");
    assert!(points.len() >= 24, "hourly buckets over 24 hours: {live}");
    assert_eq!(
        points
            .iter()
            .map(|p| p[1].as_i64().unwrap_or(0))
            .sum::<i64>(),
        1
    );
    // The original dashboard's bare call: the default window (30 days).
    assert_eq!(get("/api/application/live")["window"], "30d");
}

#[test]
fn hostile_names_render_as_text() {
    let site = site();
    let hostile = |page: &str, what: &str| {
        assert_eq!(
            page.matches("<script").count(),
            1,
            "{what}: the only script element is the dashboard's own:\n{page}"
        );
        assert!(
            !page.contains(QUOTES),
            "{what}: a raw \"quotes\" in:\n{page}"
        );
        assert!(!page.contains("alert(1)</"), "{what}");
    };
    let list = ok(&site, &format!("/applications?{W}"));
    hostile(&list, "the list");
    assert!(list.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    let app = ok(&site, &format!("/applications/{HOSTILE_URL}?{W}"));
    hostile(&app, "the hostile application");
    assert!(app.contains("&quot;quotes&quot;"));
    assert_eq!(
        table_after(&app, "<h2>Events</h2>"),
        rows(&[&[QUOTES, "2", "2", "100.0 %"]])
    );
    assert!(app.contains("data-series=\"&quot;quotes&quot;\""), "{app}");

    let event = ok(
        &site,
        &format!("/applications/shop?{W}&event={HOSTILE_URL}&property=label"),
    );
    hostile(&event, "the hostile event");
    assert_eq!(
        table_after(&event, "<h2>Values of label</h2>"),
        rows(&[&[QUOTES, "1", "100.0 %"]])
    );
    assert!(
        event.contains("data-series=\"&quot;quotes&quot;\""),
        "{event}"
    );
    let shop = ok(&site, &format!("/applications/shop?{W}"));
    assert!(
        shop.contains("data-series=\"&lt;script&gt;alert(1)&lt;/script&gt;\""),
        "{shop}"
    );

    // Hostile text in error pages is escaped too.
    for target in [
        format!("/applications/{HOSTILE_URL}x?{W}"),
        format!("/applications/shop?{W}&event={HOSTILE_URL}x"),
        format!("/applications?window={HOSTILE_URL}"),
        format!("/nowhere/{HOSTILE_URL}"),
    ] {
        let reply = site.get(&target);
        assert!(reply.status >= 400, "{target}");
        hostile(&reply.body, &target);
        if !target.starts_with("/nowhere") {
            assert!(
                reply.body.contains("&lt;script&gt;alert(1)"),
                "{target}: {}",
                reply.body
            );
        }
    }
    let api = site.get(&format!("/api/application/{HOSTILE_URL}?{W}"));
    assert_eq!(api.json()["application_name"], HOSTILE);
}

#[test]
fn not_found_and_bad_parameters() {
    let site = site();
    let not_found = |target: &str, says: &str| {
        let reply = site.get(target);
        assert_eq!(reply.status, 404, "GET {target}: {}", reply.body);
        let body = text(&reply.body);
        assert!(body.contains(says), "GET {target}: {body}");
    };
    not_found(
        "/applications/nope",
        "There is no application named \"nope\"",
    );
    not_found(
        &format!("/application/nope?{W}"),
        "There is no application named \"nope\"",
    );
    not_found(
        &format!("/applications/shop?{W}&event=nope"),
        "The application \"shop\" has no event named \"nope\"",
    );
    not_found(
        &format!("/applications/nope/events.csv?{W}"),
        "no application named \"nope\"",
    );
    not_found("/nowhere", "There is no page at /nowhere");
    not_found("/applications/shop/deeper/still", "There is no page");
    let api = site.get("/api/application/nope");
    assert_eq!(api.status, 404);
    assert!(
        api.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("no application named"))
    );

    let bad = |target: &str, name: &str| {
        let reply = site.get(target);
        assert_eq!(reply.status, 400, "GET {target}: {}", reply.body);
        let body = if target.starts_with("/api/") {
            reply.json()["error"].as_str().expect("an error").to_owned()
        } else {
            text(&reply.body)
        };
        assert!(
            body.contains(&format!("the parameter `{name}`")),
            "GET {target} names `{name}`: {body}"
        );
    };
    bad("/applications?window=1y", "window");
    bad("/applications/shop?span=fortnight", "span");
    bad("/applications/shop?from=2026-13-01&to=2026-12-01", "from");
    bad("/applications/shop?window=custom&from=2026-11-01", "to");
    bad("/applications/shop?from=2026-11-08&to=2026-11-01", "to");
    bad(
        &format!("/applications/shop?{W}&event=login&property=not-a-key"),
        "property",
    );
    bad("/applications/shop?event=login&top=0", "top");
    bad("/applications.csv?window=forever", "window");
    bad("/applications/shop/events.csv?span=x", "span");
    bad("/api/application/shop?time_range=2d", "time_range");
    bad("/api/application/shop?top=many&event=login", "top");
}

#[test]
fn static_files_are_cached_and_revalidated() {
    let site = site();
    for (path, kind) in [
        ("/static/style.css", "text/css; charset=utf-8"),
        ("/static/chart.js", "text/javascript; charset=utf-8"),
    ] {
        let first = site.get(path);
        assert_eq!(first.status, 200, "{path}");
        assert_eq!(first.header("content-type"), Some(kind));
        assert_eq!(first.header("cache-control"), Some("public, max-age=86400"));
        assert!(!first.body.is_empty());
        let tag = first.header("etag").expect("an ETag").to_owned();
        let again = site.request("GET", path, &[("If-None-Match", &tag)]);
        assert_eq!(again.status, 304, "{path}");
        assert!(again.body.is_empty());
        assert_eq!(
            again.header("etag"),
            Some(tag.as_str()),
            "a 304 repeats the tag"
        );
        for listed in [
            format!("\"stale\", {tag}"),
            format!("W/{tag}"),
            "*".to_owned(),
        ] {
            let again = site.request("GET", path, &[("If-None-Match", &listed)]);
            assert_eq!(again.status, 304, "{path} with If-None-Match: {listed}");
        }
        let stale = site.request("GET", path, &[("If-None-Match", "\"stale\"")]);
        assert_eq!(stale.status, 200);
        assert_eq!(stale.body, first.body);
    }
    let page = ok(&site, "/applications");
    assert!(page.contains("href=\"/static/style.css\""));
    assert!(page.contains("src=\"/static/chart.js\""));
    assert_eq!(site.get("/static/nothing.js").status, 404);
    // The icon browsers ask for: none, without a 404 in their console.
    let icon = site.get("/favicon.ico");
    assert_eq!(icon.status, 204);
    assert!(icon.body.is_empty());
}

#[test]
fn a_stopped_backend_gives_503_and_the_dashboard_keeps_running() {
    let mut site = site();
    let target = format!("/applications/shop?{W}");
    let before = ok(&site, &target);

    site.backend_mut().stop();
    let started = Instant::now();
    let down = site.get(&target);
    let took = started.elapsed();
    assert_eq!(down.status, 503, "{}", down.body);
    let body = text(&down.body);
    assert!(body.contains("Backend unavailable"), "{body}");
    assert!(
        body.contains("The analytics backend could not answer ("),
        "a reason: {body}"
    );
    assert!(took < Duration::from_secs(30), "a 503 took {took:?}");
    let health = site.get("/healthz");
    assert_eq!(health.status, 503);
    assert_eq!(health.json()["status"], "degraded");
    let api = site.get(&format!("/api/application/shop?{W}"));
    assert_eq!(api.status, 503);
    assert!(api.json()["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(site.get("/applications.csv").status, 503);
    assert_eq!(site.get("/static/style.css").status, 200, "still serving");

    // The backend comes back on the same port: the same page again.
    site.backend_mut().resume();
    let after = ok(&site, &target);
    assert_eq!(
        table_after(&after, "<h2>Events</h2>"),
        table_after(&before, "<h2>Events</h2>")
    );
    assert_eq!(site.get("/healthz").status, 200);
}

/// Issue 13: the dashboard's page views go to an index of their own (`spoor_meta`), so they
/// are not listed among the applications it shows (they were, as `spoor-dashboard`).
#[test]
fn page_views_are_logged_apart_in_their_own_index() {
    let site = Site::start(&events(), true);
    ok(&site, &format!("/applications?{W}"));
    ok(&site, &format!("/applications/shop?{W}&event=login"));
    let api = site.get(&format!(
        "/api/application/shop?{W}&event_name=login&property=plan"
    ));
    assert_eq!(api.status, 200);
    site.flush_meta();

    let list = ok(&site, "/applications?window=24h");
    let apps: Vec<String> = table_after(&list, "<table")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(apps, ["live"], "the page views are not an application here");
    let api = site.get("/api/applications?window=24h").json();
    assert_eq!(
        api,
        json!({
            "index": "spoor",
            "window": "24h",
            "filters": [],
            "notes": [],
            "applications": [{"name": "live", "events": 1, "unique_users": 1}],
            // Nothing the 24 hours before: no change to state.
            "summary": {
                "current": {"events": 1, "unique_users": 1, "events_per_user": 1.0},
                "previous": {"events": 0, "unique_users": 0, "events_per_user": null},
                "events_change": null,
                "unique_users_change": null,
                "events_per_user_change": null,
            },
        })
    );

    // In their own index: each page view once (CSV and API lists are not page views), with
    // what was asked as properties.
    let meta = Retriever::with_index(&site.config(), DEFAULT_META_INDEX).expect("a retriever");
    let window = Window::Last24Hours;
    assert_eq!(
        meta.applications(&[], &window).expect("applications"),
        [Application {
            name: META_APPLICATION.to_owned(),
            events: 3,
            unique_users: 0
        }]
    );
    let names: Vec<(String, u64)> = meta
        .events(META_APPLICATION, &[], &window)
        .expect("events")
        .into_iter()
        .map(|e| (e.name, e.events))
        .collect();
    assert_eq!(
        names,
        [
            ("api_app_details".to_owned(), 1),
            ("app_details".to_owned(), 1),
            ("list_applications".to_owned(), 1)
        ]
    );
    let keys: Vec<String> = meta
        .properties(META_APPLICATION, Some("api_app_details"), &[], &window)
        .expect("properties")
        .into_iter()
        .map(|p| p.key)
        .collect();
    assert_eq!(keys, ["application", "ev_name", "prop_name", "window"]);
    for (event, property, value) in [
        ("api_app_details", "application", "shop"),
        ("api_app_details", "ev_name", "login"),
        ("api_app_details", "prop_name", "plan"),
        ("api_app_details", "window", "custom"),
        ("app_details", "ev_name", "login"),
    ] {
        assert_eq!(
            meta.values(META_APPLICATION, Some(event), property, None, &[], &window)
                .expect("values"),
            [ValueCount {
                value: value.to_owned(),
                count: 1
            }],
            "{event} {property}"
        );
    }
    // Not an application of the index read (a page view itself, so asked last).
    assert_eq!(
        site.get(&format!("/applications/{META_APPLICATION}?window=24h"))
            .status,
        404
    );
}

/// The circles of each series of the first chart after `marker`: one per point.
fn points_per_series(page: &str, marker: &str) -> Vec<usize> {
    let start = page
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in the page"));
    let chart = &page[start..];
    let chart = &chart[..chart.find("</figure>").expect("the chart ends")];
    chart
        .split("<g class=\"series\"")
        .skip(1)
        .map(|group| {
            group[..group.find("</g>").unwrap_or(group.len())]
                .matches("<circle")
                .count()
        })
        .collect()
}

/// Issue 12, finding 1: a window and span chosen in the URL asked for any number of buckets (a
/// plain GET of 0001-01-01 to 9999-12-30 by day grew the dashboard past 7 GB). Now each chart
/// has at most 1,000 points: a span too fine is coarsened to the next that fits and the page,
/// the JSON and the CSV say so; a window not even years fit is a 400 naming the limit, answered
/// at once.
#[test]
fn a_window_too_long_for_its_span_is_coarsened_or_refused_at_once() {
    let site = site();
    let timed = |target: &str| {
        let started = Instant::now();
        let reply = site.get(target);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(20), "GET {target} took {took:?}");
        reply
    };

    // Ten years by day is 3,652 points: shown by week, and the page says so.
    let target = "/applications/shop?from=2017-01-01&to=2026-12-31&span=day";
    let page = timed(target);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        text(&page.body).contains("Shown by week: by day would be 3,652 points, more than 1,000."),
        "GET {target}: {}",
        text(&page.body)
    );
    for points in points_per_series(&page.body, "<figure class=\"chart\"") {
        assert_eq!(
            points, 522,
            "weeks from Sunday 2017-01-01 to Sunday 2026-12-27"
        );
    }

    // The issue's second request: 2000-01-01 to 2026-12-01 by hour was a 586 MB page.
    let target = "/applications/shop?from=2000-01-01&to=2026-12-01&span=hour";
    let page = timed(target);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.len() < 1_000_000,
        "a bounded page: {} bytes",
        page.body.len()
    );
    let words = text(&page.body);
    assert!(
        words.contains("Shown by month: by hour would be 235,968 points, more than 1,000."),
        "{words}"
    );
    // Both charts, every series: a point a month, 2000-01 to 2026-12.
    let events = points_per_series(&page.body, "<figure class=\"chart\"");
    assert_eq!(
        events, [324; 4],
        "login, purchase, old and the hostile event"
    );
    let users_at = page
        .body
        .rfind("<figure class=\"chart\"")
        .expect("two charts");
    assert_eq!(points_per_series(&page.body[users_at..], "<figure"), [324]);
    // The picker keeps the span asked for; the charts are drawn by month.
    assert!(page.body.contains("span=hour"), "links keep the view");

    // The JSON API coarsens the same way and reports the span used.
    let api = timed(&target.replace("/applications/", "/api/application/"));
    assert_eq!(api.status, 200, "{}", api.body);
    assert!(api.body.len() < 200_000, "{} bytes", api.body.len());
    let api = api.json();
    assert_eq!(
        (&api["span"], &api["span_key"], &api["span_requested"]),
        (&json!("1mon"), &json!("month"), &json!("hour"))
    );
    assert_eq!(
        api["notes"],
        json!(["Shown by month: by hour would be 235,968 points, more than 1,000."])
    );
    for series in api["data"].as_array().expect("series") {
        assert_eq!(
            series["data"].as_array().map(Vec::len),
            Some(324),
            "{series}"
        );
    }
    // The CSV tables have no time axis; the same window gives the same table.
    let csv = timed("/applications/shop/events.csv?from=2000-01-01&to=2026-12-01&span=hour");
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(
        csv.body,
        format!(
            "event,count,unique_users\r\nlogin,8,4\r\npurchase,3,2\r\n{HOSTILE},1,1\r\nold,1,1\r\n"
        )
    );

    // The issue's first request: not even by year does 0001 to 9999 fit. Refused, naming the
    // limit and what to do, on every route.
    let span = "from=0001-01-01&to=9999-12-30&span=day";
    for target in [
        format!("/applications/shop?{span}"),
        format!("/applications?{span}"),
        format!("/applications/shop/events.csv?{span}"),
        format!("/applications.csv?{span}"),
    ] {
        let reply = timed(&target);
        assert_eq!(reply.status, 400, "GET {target}: {}", reply.body);
        let words = text(&reply.body);
        assert!(
            words.contains(
                "would need 9,999 points a chart even by year, more than the 1,000 a chart shows"
            ) && words.contains("`from` and `to` at most 1,000 years apart"),
            "GET {target}: {words}"
        );
    }
    let api = timed(&format!("/api/application/shop?{span}"));
    assert_eq!(api.status, 400, "{}", api.body);
    assert!(
        api.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("more than the 1,000 a chart shows")),
        "{}",
        api.body
    );
    // A thousand years by year fits.
    let millennium = timed("/applications/shop?from=1027-01-01&to=2026-12-31&span=year");
    assert_eq!(millennium.status, 200, "{}", millennium.body);
    for points in points_per_series(&millennium.body, "<figure class=\"chart\"") {
        assert_eq!(points, 1000);
    }

    // The values listed are bounded too: `top` takes at most 1,000.
    let top = timed(&format!(
        "/applications/shop?{W}&event=login&property=plan&top=1001"
    ));
    assert_eq!(top.status, 400, "{}", top.body);
    assert!(
        text(&top.body).contains("the parameter `top`"),
        "{}",
        top.body
    );
    assert_eq!(
        timed(&format!(
            "/applications/shop?{W}&event=login&property=plan&top=1000"
        ))
        .status,
        200
    );
}

/// Issue 12, finding 1, over all time: the charts cover the days with events, so a span too
/// fine for them is coarsened as for any window (before, all time by day asked for a bucket a
/// day from the first event to the last, however far apart).
#[test]
fn all_time_charts_are_planned_over_the_days_with_events() {
    let mut events = events();
    for line in [
        r#"1971-01-01T10:00:00.000000Z application="ancient" event="boot" distinct_id="u1""#,
        r#"2026-11-03T10:00:00.000000Z application="ancient" event="boot" distinct_id="u2""#,
        r#"2026-11-03T11:00:00.000000Z application="ancient" event="login" distinct_id="u2""#,
    ] {
        events.push(Event::decode_line(line).expect("a valid line"));
    }
    let site = Site::start(&events, false);
    let started = Instant::now();
    let page = ok(&site, "/applications/ancient?window=all&span=day");
    assert!(started.elapsed() < Duration::from_secs(20));
    let days =
        (time::macros::date!(2026 - 11 - 04) - time::macros::date!(1971 - 01 - 01)).whole_days();
    assert!(
        text(&page).contains(&format!(
            "Shown by month: by day would be {},{:03} points, more than 1,000.",
            days / 1000,
            days % 1000
        )),
        "{}",
        text(&page)
    );
    // A point a month from January 1971 to November 2026, in both charts.
    let months = 55 * 12 + 11;
    assert_eq!(
        points_per_series(&page, "<figure class=\"chart\""),
        [months, months]
    );
    let api = site
        .get("/api/application/ancient?window=all&span=day")
        .json();
    assert_eq!(api["span_key"], "month");
    let boot = &api["data"][0];
    assert_eq!(boot["label"], "boot");
    let points = boot["data"].as_array().expect("points");
    assert_eq!(points.len(), months);
    assert_eq!(points[0][0], ms(datetime!(1971-01-01 00:00 UTC)));
    assert_eq!(points[0][1], 1);

    // Narrowed to an event, the charts cover that event's days: one day, drawn by day.
    let login = site
        .get("/api/application/ancient?window=all&span=day&event=login")
        .json();
    assert_eq!(login["span_key"], "day");
    assert_eq!(login["notes"], json!([]));
    assert_eq!(
        login["data"][0]["data"],
        json!([[ms(datetime!(2026-11-03 00:00 UTC)), 1]])
    );

    // The list: every trend over the same days (to the `live` event of an hour ago), by
    // month, and it says so.
    let last =
        (OffsetDateTime::now_utc() - time::Duration::hours(1)).max(datetime!(2026-11-03 11:00 UTC));
    let months = usize::try_from((last.year() - 1971) * 12 + i32::from(u8::from(last.month())))
        .expect("months");
    let list = ok(&site, "/applications?window=all&span=day");
    assert!(
        text(&list).contains("Shown by month: by day would be"),
        "{}",
        text(&list)
    );
    for trend in list.split("<path class=\"line\" d=\"").skip(1) {
        let path = &trend[..trend.find('"').expect("the path ends")];
        assert_eq!(path.matches('L').count() + 1, months, "{path}");
    }
}

/// Issue 12, finding 1: tables keep at most 1,000 rows (the largest first) on the page, in
/// CSV and in JSON, and say so; the list draws trends for its 50 largest applications.
#[test]
fn tables_and_trends_are_bounded() {
    let at = datetime!(2026-11-03 10:00 UTC);
    let mut events: Vec<Event> = (0..1_005)
        .map(|i| {
            Event::builder("many", format!("e{i:04}"), at)
                .distinct_id("u1")
                .build()
                .expect("a valid event")
        })
        .collect();
    events.extend((0..3).map(|_| {
        Event::builder("many", "e1004", at)
            .build()
            .expect("a valid event")
    }));
    events.extend((0..55).map(|i| {
        Event::builder(format!("app{i:02}"), "view", at)
            .build()
            .expect("a valid event")
    }));
    let site = Site::start(&events, false);

    let page = ok(&site, &format!("/applications/many?{W}"));
    let rows = table_after(&page, "<h2>Events</h2>");
    assert_eq!(rows.len(), 1_000);
    assert_eq!(rows[0][..2], ["e1004", "4"], "the largest first");
    assert!(
        text(&page).contains("The 1,000 largest of 1,005 events are listed."),
        "{}",
        text(&page)
    );
    let csv = site.get(&format!("/applications/many/events.csv?{W}"));
    assert_eq!(csv.body.lines().count(), 1 + 1_000);
    let api = site.get(&format!("/api/application/many?{W}")).json();
    assert_eq!(api["events"].as_array().map(Vec::len), Some(1_000));
    assert_eq!(
        api["notes"],
        json!(["The 1,000 largest of 1,005 events are listed."])
    );

    let list = ok(&site, &format!("/applications?{W}"));
    assert_eq!(table_after(&list, "<table").len(), 56);
    assert_eq!(list.matches("<svg class=\"sparkline\"").count(), 50);
    assert!(
        text(&list).contains("Trends are drawn for the 50 largest applications."),
        "{}",
        text(&list)
    );
}

/// Issue 12, finding 11: no response of the dashboard may be framed by another site
/// (clickjacking), leak its URL (with the application and event names) as a referrer, or be
/// sniffed as another type: pages, JSON, CSV, static files, redirects and errors alike.
#[test]
fn every_response_forbids_framing_referrers_and_sniffing() {
    let site = site();
    let check = |what: &str, reply: &super::Reply| {
        assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{what}");
        let policy = reply.header("content-security-policy").unwrap_or_default();
        assert!(
            policy.contains("frame-ancestors 'none'") && policy.contains("default-src 'self'"),
            "{what}: {policy:?}"
        );
        assert_eq!(
            reply.header("referrer-policy"),
            Some("no-referrer"),
            "{what}"
        );
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
    };
    let style = site.get("/static/style.css");
    check("GET /static/style.css", &style);
    let tag = style.header("etag").expect("an ETag");
    check(
        "a 304",
        &site.request("GET", "/static/style.css", &[("If-None-Match", tag)]),
    );
    check(
        "POST /applications",
        &site.request("POST", "/applications", &[]),
    );
    check(
        "HEAD /applications",
        &site.request("HEAD", "/applications", &[]),
    );
    for target in [
        "/".to_owned(),
        "/applications".to_owned(),
        format!("/applications/shop?{W}&event=login&property=plan"),
        format!("/api/application/shop?{W}"),
        format!("/applications/shop/events.csv?{W}"),
        format!("/applications.csv?{W}"),
        "/static/chart.js".to_owned(),
        "/favicon.ico".to_owned(),
        "/healthz".to_owned(),
        "/nowhere".to_owned(),
        "/applications?window=1y".to_owned(),
        "/api/application/nope".to_owned(),
        "/applications/shop?from=0001-01-01&to=9999-12-30".to_owned(),
    ] {
        check(&format!("GET {target}"), &site.get(&target));
    }
    // The policy lets the pages work: their script and styles are the dashboard's own files,
    // with no inline script or event handler to block.
    let page = ok(&site, &format!("/applications/shop?{W}"));
    assert_eq!(page.matches("<script").count(), 1);
    assert!(page.contains("<script src=\"/static/chart.js\" defer>"));
    assert!(!page.contains(" onclick=") && !page.contains(" onload="));
}

/// People: the users with the most events (page, JSON), each linking to their timeline, and a
/// user's events newest first with their properties (page, JSON), paged.
#[test]
fn top_users_and_a_users_timeline() {
    let site = site();
    let api = site.get(&format!("/api/application/shop/users?{W}"));
    assert_eq!(api.status, 200, "{}", api.body);
    assert_eq!(
        api.json(),
        json!({
            "application_name": "shop",
            "event_name": null,
            "window": "custom",
            "filters": [],
            "users": [
                {"distinct_id": "u1", "events": 4},
                {"distinct_id": "u2", "events": 3},
                {"distinct_id": "u3", "events": 1},
                {"distinct_id": "u4", "events": 1},
            ],
        })
    );
    let of_purchase = site
        .get(&format!("/api/application/shop/users?{W}&event=purchase"))
        .json();
    assert_eq!(
        of_purchase["users"],
        json!([{"distinct_id": "u2", "events": 2}, {"distinct_id": "u1", "events": 1}])
    );
    let page = ok(&site, &format!("/applications/shop?{W}"));
    assert!(
        page.contains("href=\"/applications/shop/users/u1?window=custom&amp;from=2026-11-02&amp;to=2026-11-04\""),
        "user ids open their timeline"
    );

    let timeline = site.get(&format!("/api/application/shop/users/u2?{W}"));
    assert_eq!(timeline.status, 200, "{}", timeline.body);
    assert_eq!(
        timeline.json(),
        json!({
            "application_name": "shop",
            "distinct_id": "u2",
            "window": "custom",
            "filters": [],
            "offset": 0,
            "limit": 50,
            "more": false,
            "events": [
                {"time": "2026-11-04T14:00:00Z", "time_ms": ms(datetime!(2026-11-04 14:00 UTC)),
                 "event": "purchase", "properties": {"amount": "-5", "plan": "pro"}},
                {"time": "2026-11-03T13:00:00Z", "time_ms": ms(datetime!(2026-11-03 13:00 UTC)),
                 "event": "purchase", "properties": {"amount": "20", "plan": "=HYPERLINK(\"x\")"}},
                {"time": "2026-11-03T09:00:00Z", "time_ms": ms(datetime!(2026-11-03 09:00 UTC)),
                 "event": "login", "properties": {"plan": "pro", "seats": "3"}},
            ],
        })
    );
    let html = ok(&site, &format!("/applications/shop/users/u2?{W}"));
    for said in [
        "2026-11-04 14:00:00",
        "=HYPERLINK(&quot;x&quot;)",
        "<span class=\"key\">seats</span>",
    ] {
        assert!(html.contains(said), "{said} on the timeline");
    }
    assert!(!html.contains("Older"), "one page");
    // Past the first page, and a hostile id rendered as text.
    let second = site
        .get(&format!("/api/application/shop/users/u2?{W}&offset=2"))
        .json();
    assert_eq!(second["events"].as_array().map(Vec::len), Some(1));
    let hostile = ok(
        &site,
        &format!("/applications/shop/users/{HOSTILE_URL}?{W}"),
    );
    assert!(!hostile.contains(HOSTILE) && hostile.contains("No events of this user"));
    let bad = site.get(&format!("/api/application/shop/users/u2?{W}&offset=-1"));
    assert_eq!(bad.status, 400, "{}", bad.body);
    let past = site.get(&format!("/api/application/shop/users/u2?{W}&offset=9999"));
    assert_eq!(past.status, 400, "{}", past.body);
    let nobody = site.get(&format!("/api/application/nosuchapp/users?{W}"));
    assert_eq!(nobody.status, 404, "{}", nobody.body);
}

/// Numbers: a statistic of a numeric property per bucket (JSON route and page), with gaps where a
/// bucket has no number, and the statistic chosen in the URL.
#[test]
fn numbers_of_a_property_over_time() {
    let site = site();
    let days = [
        ms(datetime!(2026-11-02 00:00 UTC)),
        ms(datetime!(2026-11-03 00:00 UTC)),
        ms(datetime!(2026-11-04 00:00 UTC)),
    ];
    // `amount` of `purchase`: 10, 20 and -5, one a day.
    for (agg, want) in [("sum", [10.0, 20.0, -5.0]), ("max", [10.0, 20.0, -5.0])] {
        let api = site.get(&format!(
            "/api/application/shop/numbers?{W}&span=day&event=purchase&property=amount&agg={agg}"
        ));
        assert_eq!(api.status, 200, "{}", api.body);
        let api = api.json();
        assert_eq!(api["agg"], agg);
        assert_eq!(
            api["data"],
            json!([{"label": "value", "data": [[days[0], want[0]], [days[1], want[1]], [days[2], want[2]]]}])
        );
    }
    // `seats` of `login`, averaged per day; of `purchase`, none: every bucket a gap.
    let seats = site
        .get(&format!(
            "/api/application/shop/numbers?{W}&span=day&event=login&property=seats&agg=avg"
        ))
        .json();
    assert_eq!(
        seats["data"],
        json!([{"label": "value", "data": [[days[0], 1.0], [days[1], 3.0], [days[2], 2.0]]}])
    );
    let no_seats = site
        .get(&format!(
            "/api/application/shop/numbers?{W}&span=day&event=purchase&property=seats"
        ))
        .json();
    let gaps: Vec<bool> = no_seats["data"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["data"].as_array().into_iter().flatten())
        .map(|p| p[1].is_null())
        .collect();
    assert!(gaps.iter().all(|g| *g), "no number, no value: {no_seats}");
    let empty = ok(
        &site,
        &format!("/applications/shop?{W}&span=day&event=purchase&property=seats"),
    );
    assert!(empty.contains("No numbers in this window"));
    let page = ok(
        &site,
        &format!("/applications/shop?{W}&span=day&event=purchase&property=amount"),
    );
    for said in [
        "Sum of amount over time (purchase)",
        "data-value=\"-5\"",
        "aria-current=\"page\">sum",
    ] {
        assert!(page.contains(said), "{said} on the page");
    }
    let bad = site.get(&format!(
        "/api/application/shop/numbers?{W}&property=amount&agg=mode"
    ));
    assert_eq!(bad.status, 400, "{}", bad.body);
    let none = site.get(&format!("/api/application/shop/numbers?{W}"));
    assert_eq!(none.status, 400, "{}", none.body);
}
