//! The dashboard in a real browser: Debian's chromium, driven by npm's `playwright-core`
//! running `tests/browser/dashboard.js`, over the dashboard seeded with demo data.
//!
//! The script loads the largest application's page, reports the series the first chart draws,
//! clicks an event in the events table, reports the series again, opens the first top user's
//! timeline, clicks the first value of the application's first property (which adds the filter
//! `property=value`) and then the chip's remove link, builds a funnel of the two most frequent
//! events with the funnel page's form (broken down by a property of the first) and clicks its first value,
//! and saves screenshots (`dashboard-screenshot.png`, `…-all-events.png`, `…-timeline.png`,
//! `…-filtered.png` and `…-funnel.png` in the target folder). This test compares what the browser saw with the page's data from
//! `/api/application/{name}` (filtered too) and `/api/application/{name}/users/{id}`.
//!
//! The tools come from the environment, as `.ci/run` sets it (see `spoor_testkit::browser`).

use std::path::PathBuf;
use std::time::Instant;

use serde_json::Value;
use spoor_dashboard::demo;
use spoor_testkit::browser::Browser;

use super::Site;
use crate::external_clients::{root, run};
use crate::facades::Backend;

/// Events of the demo data set the browser looks at.
const DEMO_EVENTS: usize = 20_000;

/// Where the screenshot goes: the target folder cargo builds in.
fn screenshot_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|v| !v.is_empty())
        .map_or_else(|| root().join("target"), PathBuf::from);
    std::fs::create_dir_all(&target).expect("the target folder");
    target.join("dashboard-screenshot.png")
}

/// The series names of the JSON API's `data`, in order.
fn labels(api: &Value) -> Vec<String> {
    api["data"]
        .as_array()
        .expect("`data` in the JSON")
        .iter()
        .map(|s| s["label"].as_str().expect("a label").to_owned())
        .collect()
}

/// The series names the browser saw, in order, and each one's sum of points.
fn seen(report: &Value, key: &str) -> Vec<(String, u64)> {
    report[key]
        .as_array()
        .unwrap_or_else(|| panic!("`{key}` in the browser's report: {report}"))
        .iter()
        .map(|s| {
            let name = s["name"].as_str().expect("a series name").to_owned();
            assert_eq!(
                s["titled"], true,
                "every point of {name} has a tooltip title"
            );
            let sum = s["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(|v| v.as_u64().expect("a count"))
                .sum();
            (name, sum)
        })
        .collect()
}

/// Each series of the JSON API with the sum of its points.
fn totals(api: &Value) -> Vec<(String, u64)> {
    api["data"]
        .as_array()
        .expect("`data`")
        .iter()
        .map(|s| {
            let sum = s["data"]
                .as_array()
                .expect("points")
                .iter()
                .map(|p| p[1].as_u64().expect("a count"))
                .sum();
            (s["label"].as_str().expect("a label").to_owned(), sum)
        })
        .collect()
}

#[test]
#[allow(
    clippy::print_stderr,
    reason = "the test says where its screenshot is and how long the browser took"
)]
fn a_browser_draws_the_chart_and_choosing_an_event_changes_it() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let backend = Backend::start("9.4.0");
    let started = Instant::now();
    let sent = demo::seed(
        &backend.config(true),
        spoor::DEFAULT_INDEX,
        DEMO_EVENTS,
        |_| {},
    )
    .expect("seed the demo");
    assert_eq!(sent, DEMO_EVENTS as u64, "every demo event is delivered");
    eprintln!(
        "seeded {DEMO_EVENTS} demo events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let site = Site::over(backend, false);

    // The largest application, and its second event (the first is what the page leads with).
    let apps = site.get("/applications.csv");
    assert_eq!(apps.status, 200, "{}", apps.body);
    let app = apps
        .body
        .lines()
        .nth(1)
        .and_then(|l| l.split(',').next())
        .expect("an application in the demo")
        .to_owned();
    let encoded = spoor_proto::form::encode_component(&app);
    let path = format!("/applications/{encoded}");
    let api = site.get(&format!("/api/application/{encoded}"));
    assert_eq!(api.status, 200, "{}", api.body);
    let api = api.json();
    let event = api["events"][1]["name"]
        .as_str()
        .expect("a second event")
        .to_owned();
    let narrowed = site.get(&format!(
        "/api/application/{encoded}?event={}",
        spoor_proto::form::encode_component(&event)
    ));
    assert_eq!(narrowed.status, 200, "{}", narrowed.body);
    let narrowed = narrowed.json();
    assert_ne!(
        labels(&api),
        labels(&narrowed),
        "choosing {event} changes the data"
    );

    // The property whose first value the browser clicks.
    let property = api["properties"][0]["name"]
        .as_str()
        .expect("a property in the demo")
        .to_owned();

    // The funnel the browser builds: the application's two most frequent events, in order,
    // broken down by a property of the first.
    let first = api["events"][0]["name"].as_str().expect("a first event");
    let funnel_steps = format!("{first},{event}");
    let of_first = site.get(&format!(
        "/api/application/{encoded}?event={}",
        spoor_proto::form::encode_component(first)
    ));
    assert_eq!(of_first.status, 200, "{}", of_first.body);
    let breakdown = of_first.json()["properties"][0]["name"]
        .as_str()
        .expect("a property of the first event")
        .to_owned();

    let screenshot = screenshot_path();
    let _ = std::fs::remove_file(&screenshot);
    let mut command = browser.script("dashboard.js");
    command
        .env("SPOOR_PAGE_URL", format!("http://{}{path}", site.addr()))
        .env("SPOOR_CLICK_EVENT", &event)
        .env("SPOOR_FILTER_PROPERTY", &property)
        .env("SPOOR_FUNNEL_STEPS", &funnel_steps)
        .env("SPOOR_FUNNEL_BREAKDOWN", &breakdown)
        .env("SPOOR_SCREENSHOT", &screenshot);
    let started = Instant::now();
    let outcome = run(command);
    assert!(
        outcome.status.success(),
        "the browser script failed: {}",
        outcome.describe()
    );
    eprintln!(
        "the browser took {:.1} s; screenshot: {}",
        started.elapsed().as_secs_f64(),
        screenshot.display()
    );
    let report: Value = outcome
        .stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON report from the script: {}", outcome.describe()));

    assert_eq!(report["status"], 200, "{report}");
    assert_eq!(report["title"], format!("{app} · spoor"), "{report}");
    assert_eq!(
        report["problems"],
        serde_json::json!([]),
        "the page ran cleanly"
    );
    assert_eq!(
        report["charts"], 2,
        "events and unique users over time: {report}"
    );
    // The chart draws the API's series with the API's numbers, before and after the click.
    assert_eq!(seen(&report, "before"), totals(&api), "{report}");
    assert_eq!(seen(&report, "after"), totals(&narrowed), "{report}");
    assert!(
        labels(&api).contains(&event),
        "the unnarrowed chart has a series for {event}"
    );
    assert_eq!(
        labels(&narrowed),
        std::slice::from_ref(&event),
        "narrowed to {event}, the chart's one series is that event"
    );
    assert_eq!(
        report["chosen"],
        event.as_str(),
        "the clicked row is marked"
    );
    for key in ["tooltip", "tooltip_after"] {
        assert!(
            report[key].as_str().is_some_and(|t| t.contains("event")),
            "hovering a point shows a tooltip with its count ({key}): {report}"
        );
    }
    assert_eq!(report["properties"], 1, "the event's properties are listed");
    // The first top user's id opens their timeline: their events, newest first, as the API
    // lists them.
    let timeline = &report["timeline"];
    let user = timeline["user"].as_str().expect("a user was clicked");
    assert_eq!(timeline["heading"], user, "{report}");
    let api = site.get(&format!(
        "/api/application/{encoded}/users/{}",
        spoor_proto::form::encode_component(user)
    ));
    assert_eq!(api.status, 200, "{}", api.body);
    let api = api.json();
    let listed = api["events"].as_array().expect("events");
    assert_eq!(
        timeline["rows"].as_u64(),
        Some(listed.len() as u64),
        "{report}"
    );
    assert!(!listed.is_empty());
    assert_eq!(
        timeline["first_event"].as_str().map(str::trim),
        listed[0]["event"].as_str(),
        "newest first, as the API"
    );
    // Clicking a value added its filter: one chip, saying it as the filter syntax writes it, and
    // the page's counts are the value's count, as the filtered API gives it.
    let filtered = &report["filtered"];
    let value = filtered["value"].as_str().expect("a value was clicked");
    let key = spoor_event::Key::new(&property).expect("a property key");
    let filter = spoor::Filter::new(key, spoor::Test::Equals(value.to_owned())).to_string();
    assert_eq!(filtered["chips"], serde_json::json!([filter]), "{report}");
    assert_eq!(
        filtered["subtitle"],
        format!("Filtered: {filter}"),
        "{report}"
    );
    let narrowed = site.get(&format!(
        "/api/application/{encoded}?filter={}",
        spoor_proto::form::encode_component(&filter)
    ));
    assert_eq!(narrowed.status, 200, "{}", narrowed.body);
    let events = narrowed.json()["summary"]["current"]["events"]
        .as_u64()
        .expect("a count");
    let shown = |key: &str| {
        filtered[key]
            .as_str()
            .map(|t| t.replace(',', ""))
            .unwrap_or_default()
    };
    assert_eq!(shown("events"), events.to_string(), "{report}");
    assert_eq!(
        shown("count"),
        events.to_string(),
        "the value's count: {report}"
    );
    assert_eq!(
        filtered["chips_after_remove"], 0,
        "the chip removes it: {report}"
    );

    // The funnel built with the form: a bar a step, and the users the funnel's API gives;
    // then a value of its breakdown keeps step 1 to it, and the users are the API's so
    // filtered.
    let funnel = &report["funnel"];
    let users = |api: &Value| -> Vec<u64> {
        api["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| s["users"].as_u64().expect("users"))
            .collect()
    };
    let asked = format!(
        "/api/application/{encoded}/funnel?steps={}&within=30d&breakdown={}",
        spoor_proto::form::encode_component(&funnel_steps),
        spoor_proto::form::encode_component(&breakdown)
    );
    let whole = site.get(&asked);
    assert_eq!(whole.status, 200, "{}", whole.body);
    let whole = whole.json();
    assert_eq!(funnel["bars"], 2, "{report}");
    assert_eq!(
        funnel["users"],
        serde_json::json!(users(&whole)),
        "{report}"
    );
    assert!(
        users(&whole)[0] > 0,
        "the demo has users at step 1: {whole}"
    );
    let value = funnel["value"]
        .as_str()
        .unwrap_or_else(|| panic!("a breakdown value to click: {report}"));
    let by = spoor_event::Key::new(&breakdown).expect("a property key");
    let filter = match whole["groups"][0]["value"].as_str() {
        Some(first) => {
            assert_eq!(value, first, "the values come as the API lists them");
            spoor::Filter::new(by, spoor::Test::Equals(value.to_owned())).to_string()
        }
        None => format!("{breakdown}!=*"),
    };
    assert_eq!(
        funnel["step_1_filters"],
        serde_json::json!([filter]),
        "{report}"
    );
    let narrowed = site.get(&format!(
        "{asked}&filter.1={}",
        spoor_proto::form::encode_component(&filter)
    ));
    assert_eq!(narrowed.status, 200, "{}", narrowed.body);
    assert_eq!(
        funnel["filtered_users"],
        serde_json::json!(users(&narrowed.json())),
        "{report}"
    );

    let png = std::fs::read(&screenshot).expect("the screenshot was saved");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "a PNG of the page ({} bytes)",
        png.len()
    );
}
