//! Funnels and retention (issue 14) through the dashboard binary: events at known times sent
//! with spoor's Tracker, then the exact answer from the JSON routes, the page's chart, table,
//! builder and breakdown links, the CSV, and a 400 that says what to write for each bad
//! parameter.

use std::time::Duration;

use serde_json::Value;
use spoor::{Event, Tracker};
use time::OffsetDateTime;

use crate::running::Running;

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// `(user, event, seconds after the start, plan, amount)`.
type Sent = (
    &'static str,
    &'static str,
    i64,
    Option<&'static str>,
    Option<i64>,
);

/// Worked out by hand for the funnel visit → signup → purchase within a day:
/// - u1 goes through in two hours (an hour a step), on plan pro;
/// - u2 signs up two days after visiting: step 1 only;
/// - u3 visits, comes back three days later and goes through from that visit (half an hour a
///   step): a later start converts;
/// - u4 signs up before visiting: step 1 only (the order counts);
/// - u5 visits on plan free and signs up ten minutes later, buys nothing.
///
/// Step 1: 5 users; step 2: u1, u3, u5 (median of 3600, 1800, 600 s: 1800); step 3: u1, u3
/// (of 3600 and 1800, the larger middle: 3600).
const EVENTS: [Sent; 14] = [
    ("u1", "visit", 0, Some("pro"), None),
    ("u1", "signup", HOUR, None, None),
    ("u1", "purchase", 2 * HOUR, None, Some(5)),
    ("u2", "visit", 0, None, None),
    ("u2", "signup", 2 * DAY, None, None),
    ("u3", "visit", 0, None, None),
    ("u3", "visit", 3 * DAY, None, None),
    ("u3", "signup", 3 * DAY + HOUR / 2, None, None),
    ("u3", "purchase", 3 * DAY + HOUR, None, Some(20)),
    ("u4", "signup", 0, None, None),
    ("u4", "visit", HOUR, None, None),
    ("u5", "visit", 5 * HOUR, Some("free"), None),
    ("u5", "signup", 5 * HOUR + 600, None, None),
    // Another application's events are not counted.
    ("u9", "visit", 0, None, None),
];

fn send(dash: &Running, start: OffsetDateTime) {
    let tracker = Tracker::new(&dash.config(), "shop").expect("a tracker");
    let events: Vec<Event> = EVENTS
        .iter()
        .map(|&(user, event, at, plan, amount)| {
            let app = if user == "u9" { "blog" } else { "shop" };
            let mut builder =
                Event::builder(app, event, start + time::Duration::seconds(at)).distinct_id(user);
            if let Some(plan) = plan {
                builder = builder.property("plan", plan);
            }
            if let Some(amount) = amount {
                builder = builder.property("amount", amount);
            }
            builder.build().expect("an event")
        })
        .collect();
    tracker.track_events(&events).expect("queued");
    tracker
        .shutdown(Duration::from_secs(10))
        .expect("delivered");
    dash.wait_for("shop", 13);
}

/// `(users, median seconds)` of each step of a JSON funnel's `steps`.
fn steps(steps: &Value) -> Vec<(u64, Option<f64>)> {
    steps
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["users"].as_u64().expect("users"),
                s["median_seconds"].as_f64(),
            )
        })
        .collect()
}

#[test]
fn funnels_and_retention_answer_exactly_on_every_route() {
    let dash = Running::start("journeys", &["--no-demo", "--no-meta"]);
    // Noon, ten days ago: every event falls in the default 30-day window, and the first
    // visits in one day.
    let today = OffsetDateTime::now_utc().replace_time(time::Time::MIDNIGHT);
    let start = today - time::Duration::days(10) + time::Duration::hours(12);
    send(&dash, start);

    let api = "/api/application/shop/funnel?steps=visit,signup,purchase&within=1d";
    let funnel = dash.json(api);
    assert_eq!(
        steps(&funnel["steps"]),
        [(5, None), (3, Some(1_800.0)), (2, Some(3_600.0))],
        "{funnel}"
    );
    assert_eq!(funnel["steps"][1]["from_previous"].as_f64(), Some(0.6));
    assert_eq!(funnel["steps"][2]["from_first"].as_f64(), Some(0.4));
    assert_eq!(funnel["within_seconds"].as_u64(), Some(DAY as u64));

    // A filter on step 3 (u1 paid 5, u3 paid 20), and a filter on every event (only plan
    // pro's: u1's visit, the only event with a plan of pro, starts no chain past step 1).
    let on_step = dash.json(&format!("{api}&filter.3=amount%3E%3D10"));
    assert_eq!(steps(&on_step["steps"])[2], (1, Some(1_800.0)), "{on_step}");
    let everywhere = dash.json(&format!("{api}&filter=plan%3Dpro"));
    assert_eq!(
        steps(&everywhere["steps"]),
        [(1, None), (0, None), (0, None)],
        "{everywhere}"
    );

    // The breakdown by the plan of the first visit: none (u2, u3, u4), then free (u5) and pro
    // (u1): the most users first, ties by value.
    let by_plan = dash.json(&format!("{api}&breakdown=plan"));
    let groups: Vec<(Option<String>, Vec<u64>)> = by_plan["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            let users = steps(&g["steps"]).into_iter().map(|(u, _)| u).collect();
            (g["value"].as_str().map(str::to_owned), users)
        })
        .collect();
    assert_eq!(
        groups,
        [
            (None, vec![3, 1, 1]),
            (Some("free".to_owned()), vec![1, 1, 0]),
            (Some("pro".to_owned()), vec![1, 1, 1]),
        ],
        "{by_plan}"
    );

    // The page: the builder filled in, the chart, the table, the breakdown's links, the CSV.
    let (status, page) = dash.get(
        "/applications/shop/funnel?steps=visit,signup,purchase&within=1d&breakdown=plan&filter=amount!%3D*",
    );
    assert_eq!(status, 200, "{page}");
    for expected in [
        "Users through 3 steps within 1d",
        "<svg",
        "value=\"visit\"",
        "name=\"breakdown\" value=\"plan\"",
        "Filtered: amount!=*",
    ] {
        assert!(page.contains(expected), "{expected:?} missing: {page}");
    }
    // The window's links keep the funnel.
    assert!(
        page.contains("window=7d&amp;filter=amount%21%3D%2A&amp;steps=visit%2Csignup%2Cpurchase&amp;within=1d&amp;breakdown=plan"),
        "{page}"
    );
    let (status, csv) =
        dash.get("/applications/shop/funnel.csv?steps=visit,signup,purchase&within=1d");
    assert_eq!(status, 200, "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[2].starts_with("all,,2,signup,3,0.6,0.6,1800"),
        "{csv}"
    );

    // Retention by day from the first visit, coming back to visit: all five first visited on
    // the start's day; u3 came back three days later.
    let retention = dash.json("/api/application/shop/retention?start=visit&period=day");
    let cohorts = retention["cohorts"].as_array().expect("cohorts");
    assert_eq!(cohorts.len(), 1, "{retention}");
    assert_eq!(cohorts[0]["size"].as_u64(), Some(5));
    let retained: Vec<u64> = cohorts[0]["retained"]
        .as_array()
        .expect("retained")
        .iter()
        .map(|n| n.as_u64().expect("a count"))
        .collect();
    assert_eq!(&retained[..5], [5, 0, 0, 1, 0], "{retention}");
    // Periods run to the window's end (today, partly).
    assert_eq!(retained.len(), 11, "{retention}");
    // Coming back to buy: u1 on day 0, u3 on day 3.
    let buying =
        dash.json("/api/application/shop/retention?start=visit&return=purchase&period=day");
    let retained = &buying["cohorts"][0]["retained"];
    assert_eq!(retained[0].as_u64(), Some(1), "{buying}");
    assert_eq!(retained[3].as_u64(), Some(1), "{buying}");
    let (status, page) = dash.get("/applications/shop/retention?start=visit&period=day");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Day 3") && page.contains("20.0 %"), "{page}");

    // The application page links to both.
    let (_, app) = dash.get("/applications/shop");
    assert!(app.contains("href=\"/applications/shop/funnel\""), "{app}");
    assert!(
        app.contains("href=\"/applications/shop/retention\""),
        "{app}"
    );

    // Bad parameters: a 400 naming each and what to write.
    for (target, parameter, says) in [
        (
            "/api/application/shop/funnel?steps=visit",
            "steps",
            "2 to 10 steps",
        ),
        (
            "/api/application/shop/funnel",
            "steps",
            "steps=visit,signup,purchase",
        ),
        (
            "/api/application/shop/funnel?steps=a,b&within=91d",
            "within",
            "1 minute to 90 days",
        ),
        (
            "/api/application/shop/funnel?steps=a,b&within=soon",
            "within",
            "like 30m",
        ),
        (
            "/api/application/shop/funnel?steps=a,b&filter.2=amount%3Cten",
            "filter.2",
            "not a number",
        ),
        (
            "/api/application/shop/funnel?steps=a,b&filter.3=amount%3E1",
            "filter.N",
            "filter.1 to filter.2",
        ),
        (
            "/api/application/shop/funnel?steps=a,b&breakdown=a%20b",
            "breakdown",
            "property key",
        ),
        (
            "/api/application/shop/retention?start=visit&period=year",
            "period",
            "day, week or month",
        ),
        ("/api/application/shop/retention", "start", "start=signup"),
    ] {
        let (status, body) = dash.get(target);
        assert_eq!(status, 400, "{target}: {body}");
        let error: Value = serde_json::from_str(&body).expect("json");
        let text = error["error"].as_str().unwrap_or_default();
        assert!(
            text.contains(parameter) && text.contains(says),
            "{target}: {body}"
        );
    }
    let (status, page) =
        dash.get("/applications/shop/funnel?steps=visit&within=1d&filter=plan%3Dpro");
    assert_eq!(status, 400, "{page}");
    // The way back keeps the window and the filters.
    assert!(
        page.contains("href=\"/applications/shop/funnel?filter=plan%3Dpro\""),
        "{page}"
    );
    // An application never tracked: a 404, as its page.
    for target in [
        "/api/application/nosuchapp/funnel?steps=a,b",
        "/api/application/nosuchapp/retention?start=a",
        "/applications/nosuchapp/funnel",
    ] {
        let (status, body) = dash.get(target);
        assert_eq!(status, 404, "{target}: {body}");
        assert!(
            body.contains("no event was ever tracked"),
            "{target}: {body}"
        );
    }
    // A step event the window has none of is said, not left to read as a drop.
    let (_, page) = dash.get("/applications/shop/funnel?steps=visit,sigup");
    assert!(page.contains("No event named “sigup”"), "{page}");
    let typo = dash.json("/api/application/shop/funnel?steps=visit,sigup");
    assert_eq!(
        typo["notes"],
        serde_json::json!(["No event named “sigup” in this window: step 2 reaches no one."]),
        "{typo}"
    );
}
