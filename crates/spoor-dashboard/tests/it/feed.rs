//! A user's own events into the dashboard binary, the three ways its README gives: HEC with the
//! token kept in `credentials.json`, spoor's Rust `Tracker` over the embedded engine's REST
//! API, and `spoor.js` in a real browser on pages of another origin (so CORS is exercised);
//! each then counted on the application's page and in `/api/application/{name}`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::Value;
use spoor::Tracker;
use spoor_testkit::browser::Browser;

use crate::running::{Running, counts, http, tally};

/// `/api/application/{app}?window=all{more}` once it counts `want` events (the intake delivers
/// within a second or two), or what it last said.
fn events_of(dash: &Running, app: &str, more: &str, want: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = dash.get(&format!("/api/application/{app}?window=all{more}"));
        let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let total: u64 = json["events"]
            .as_array()
            .map_or(0, |es| es.iter().filter_map(|e| e["count"].as_u64()).sum());
        if (status == 200 && total >= want) || Instant::now() > deadline {
            return json;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A site on another origin than the dashboard's: each path a page loading the dashboard's
/// `spoor.js` with its own `data-app`.
fn test_site(listener: TcpListener, dashboard: &str) {
    let dashboard = dashboard.to_owned();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head);
            let path = head.split_whitespace().nth(1).unwrap_or("/");
            let app = match path {
                "/refused" => "refusedapp",
                "/dnt" => "dntapp",
                _ => "webapp",
            };
            let page = format!(
                "<!doctype html><html><head><title>a shop</title>\
                 <script defer src=\"http://{dashboard}/spoor.js\" data-app=\"{app}\"></script>\
                 </head><body><h1>A shop</h1></body></html>"
            );
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
}

#[test]
#[allow(
    clippy::print_stderr,
    reason = "the test says how long the browser took"
)]
fn events_come_in_three_ways_and_are_counted() {
    // The test site listens first, so the dashboard can allow its origin.
    let site_listener = TcpListener::bind("127.0.0.1:0").expect("a test site");
    let site_port = site_listener.local_addr().expect("address").port();
    let site = format!("127.0.0.1:{site_port}");
    let allowed = format!("http://127.0.0.1:{site_port}");
    let dash = Running::start(
        "feed",
        &["--no-demo", "--no-meta", "--allow-origin", &allowed],
    );

    // 1. HEC, with the token kept in credentials.json.
    let kept: Value =
        serde_json::from_slice(&std::fs::read(dash.data.join("credentials.json")).expect("kept"))
            .expect("json");
    let token = kept["hec_token"].as_str().expect("token");
    let mut batch = String::new();
    for (event, n) in [("login", 3), ("logout", 2)] {
        for i in 0..n {
            batch.push_str(&format!(
                r#"{{"index":"spoor","sourcetype":"spoor","event":"application=\"hecapp\" event=\"{event}\" distinct_id=\"u{i}\""}}"#
            ));
        }
    }
    let (status, reply) = http(
        &dash.hec,
        "POST",
        "/services/collector/event",
        &[("Authorization", &format!("Splunk {token}"))],
        &batch,
    );
    assert_eq!(status, 200, "{reply}");

    // 2. spoor's Tracker, over the engine's REST API with the kept login.
    let config = dash.config();
    let tracker = Tracker::new(&config, "rustapp").expect("tracker");
    for i in 0..4 {
        tracker
            .track("purchase", Some(&format!("u{i}")), [("amount", 10 + i)])
            .expect("tracked");
    }
    tracker
        .shutdown(Duration::from_secs(10))
        .expect("delivered");

    assert_eq!(
        counts(&events_of(&dash, "hecapp", "", 5)),
        [("login".to_owned(), 3), ("logout".to_owned(), 2)]
    );
    assert_eq!(
        counts(&events_of(&dash, "rustapp", "", 4)),
        [("purchase".to_owned(), 4)]
    );

    // 3. spoor.js in a browser, on pages of another origin.
    let Some(browser) = Browser::find() else {
        return;
    };
    test_site(site_listener, &dash.addr);
    let mut command = browser.script("track.js");
    command
        .env("SPOOR_PAGE_URL", format!("http://{site}/"))
        .env(
            "SPOOR_REFUSED_URL",
            format!("http://localhost:{site_port}/refused"),
        )
        .env("SPOOR_DNT_URL", format!("http://{site}/dnt"));
    let started = Instant::now();
    let outcome = spoor_testkit::process::run(command, Duration::from_secs(120));
    eprintln!("the browser took {:.1} s", started.elapsed().as_secs_f64());
    assert!(outcome.succeeded(), "{}", outcome.describe());
    let report: Value = serde_json::from_str(outcome.report().expect("a report")).expect("json");
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
    let id = report["id"].as_str().expect("an anonymous id");
    assert_eq!(id.len(), 32, "{report}");
    assert_eq!(report["id_again"], id, "the id is kept across pages");
    assert_eq!(report["cookies"], "", "no cookies");
    assert_eq!(report["refused"], "blocked", "{report}");
    let requests = report["requests"].as_array().expect("requests");
    assert!(
        requests
            .iter()
            .all(|r| r["page"] != "dnt" && r["method"] == "POST"),
        "nothing is sent when the browser asks not to be tracked: {report}"
    );
    assert!(
        requests.iter().any(|r| r["body"]
            .as_str()
            .is_some_and(|b| b.contains(&format!("\"distinct_id\":\"{id}\"")))),
        "{report}"
    );

    // The page view of each visit, two sign-ups (the bad property left out of the second),
    // and the checkout sent as the page was left.
    let api = events_of(&dash, "webapp", "", 5);
    assert_eq!(
        counts(&api),
        [
            ("checkout".to_owned(), 1),
            ("pageview".to_owned(), 2),
            ("signup".to_owned(), 2)
        ],
        "{api}"
    );
    let users: u64 = api["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["unique_users"].as_u64().expect("users"))
        .max()
        .unwrap_or(0);
    assert_eq!(users, 1, "one anonymous visitor");
    let plans = events_of(&dash, "webapp", "&event=signup&property=plan", 5);
    assert_eq!(
        tally(&plans["values"], "value", "count"),
        [("free".to_owned(), 1), ("pro".to_owned(), 1)]
    );
    let (status, page) = dash.get("/applications/webapp?window=all");
    assert_eq!(status, 200);
    assert!(
        page.contains("pageview") && page.contains("checkout"),
        "the page lists them"
    );

    // Nothing from the refused origin, nor from the browser that asked not to be tracked.
    let (_, list) = dash.get("/applications.csv?window=all");
    assert!(
        !list.contains("refusedapp") && !list.contains("dntapp"),
        "{list}"
    );
}
