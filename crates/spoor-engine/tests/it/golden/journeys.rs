//! Golden funnels and retention: `spoor-spl`'s funnel and retention builders over a small data
//! set of their own (`fixtures/engine/journeys.log`), each answer worked out by hand from the
//! semantics in the builders' module docs (`spoor_spl::build::funnel`,
//! `spoor_spl::build::retention`), and checked against the engine and the reference evaluator.
//!
//! Each application of the data set is one story: `funnel` (chains from a later start, a
//! conversion just inside and just outside the window, steps at one instant written backwards,
//! steps out of order, a user without a step 1, events without a user), `repeat` (a step after
//! itself), `touch` (property filters on a step, a breakdown with a user lacking the property
//! and a tie at the first instant), `ties` (events at one instant matching different steps,
//! written in either order), and `days`, `weeks`, `months` (retention by each period, across
//! month and year ends and the leap day, with cohorts nobody came back to).

use std::time::Duration;

use spoor_engine::{Engine, EventMeta};
use spoor_event::Key;
use spoor_spl::build::{self, Funnel, Index, Period, Retention, Step};
use spoor_spl::filter::Filter;
use time::OffsetDateTime;
use time::macros::datetime;

use super::{ALL_TIME, Case, DataSet, NONE, any_window, case};
use crate::support::TempDir;

/// The journeys, for index `journeys` with spoor's sourcetype.
const JOURNEYS: &str = include_str!("../../fixtures/journeys.log");
/// When the lines arrive (every line has its own time).
const ARRIVAL: OffsetDateTime = datetime!(2029-06-01 00:00 UTC);

/// Ingests the journeys into a fresh engine's index `journeys`.
pub(super) fn load() -> DataSet {
    let dir = TempDir::new("golden-journeys");
    let (engine, _) = Engine::open(dir.path()).expect("opens");
    let store = engine.store();
    store.create_index("journeys").expect("creates journeys");
    store
        .set_props("spoor", spoor_event::props::SETTINGS.iter().copied())
        .expect("sets props");
    let meta = EventMeta::new("spoor", "journeys.log", "web-1");
    let stored = engine
        .ingest("journeys", &meta, JOURNEYS, ARRIVAL)
        .expect("ingests");
    let records: Vec<_> = stored.records.into_iter().map(|(_, r)| r).collect();
    assert_eq!(records.len(), 75, "every fixture line is one event");
    let props = store.props();
    let indexes = store.indexes();
    DataSet {
        _dir: dir,
        engine,
        records,
        props,
        indexes,
    }
}

fn journeys() -> Index {
    Index::new("journeys").expect("valid")
}

fn step(event: &str, filters: &[&str]) -> Step {
    filters.iter().fold(Step::new(event), |step, f| {
        step.filter(f.parse::<Filter>().expect("a filter"))
    })
}

fn funnel(steps: &[Step], within_seconds: u64) -> Funnel {
    Funnel::new(steps.to_vec(), Duration::from_secs(within_seconds)).expect("a funnel")
}

fn funnel_case(
    name: &'static str,
    application: &str,
    funnel: &Funnel,
    fields: &[&str],
    rows: &[&[&str]],
) -> Case {
    let query = build::funnel(&journeys(), application, funnel, &[], any_window());
    case(name, query.query().clone(), ALL_TIME, fields, rows)
}

fn retention_case(name: &'static str, application: &str, period: Period, rows: &[&[&str]]) -> Case {
    let question = Retention {
        start: Step::new("signup"),
        back: Step::new("login"),
        period,
    };
    let query = build::retention(&journeys(), application, &question, &[], any_window());
    case(
        name,
        query.query().clone(),
        ALL_TIME,
        &["cohort", "period", "users", "size"],
        rows,
    )
}

/// The cases, each answer worked out by hand.
pub(super) fn cases() -> Vec<Case> {
    let three = funnel(
        &[
            step("visit", &[]),
            step("signup", &[]),
            step("purchase", &[]),
        ],
        3_600,
    );
    let source = Key::new("source").expect("valid");
    let touch = funnel(
        &[step("visit", &[]), step("purchase", &["plan=pro"])],
        3_600,
    )
    .breakdown(source);
    vec![
        // u1: the chain from the 10:00 visit is too slow (signup 100 min later), the one from
        // 11:30 converts: 600 s to signup, 2,400 s on to purchase. u2: purchase 3,600 s after
        // the visit, just inside (3,599.5 s and 0.5 s). u3: purchase 3,600.000001 s after, just
        // outside: step 2 only (1,800 s). u4: all three at one instant, written backwards: 0 s
        // and 0 s. u5: signup before the visit: step 1 only. u6: no visit; the events without a
        // user count for nobody. Medians: of 0, 600, 1800, 3599.5 the larger middle one, 1800;
        // of 0, 0.5, 2400, 0.5.
        funnel_case(
            "funnel: later starts, the window's edges, one instant, order",
            "funnel",
            &three,
            &["step1", "step2", "step3", "time2", "time3"],
            &[&["5", "4", "3", "1800", "0.5"]],
        ),
        funnel_case(
            "funnel of two steps: from the latest visit, the window's edges",
            "funnel",
            &funnel(&[step("visit", &[]), step("purchase", &[])], 3_600),
            &["step1", "step2", "time2"],
            // u1 3,000 s from the later visit, u2 3,600 s (inside), u3 3,600.000001 s
            // (outside), u4 0 s, u5 600 s. Median of 0, 600, 3000, 3600: the larger middle.
            &[&["5", "4", "3000"]],
        ),
        funnel_case(
            "funnel: a step after itself (a → a) within a minute",
            "repeat",
            &funnel(&[step("view", &[]), step("view", &[])], 60),
            &["step1", "step2", "time2"],
            // r1 30 s; r2 one view; r3 two views at one instant, 0 s; r4 61 s, outside; r5 the
            // second view starts a chain the third ends, 39 s. Median of 0, 30, 39.
            &[&["5", "3", "30"]],
        ),
        funnel_case(
            "funnel: a filter on a step, a breakdown by first touch",
            "touch",
            &touch,
            &["breakdown", "step1", "step2", "time2", "overall_time2"],
            // b1 ads, 10 s; b2 no source, a free purchase; b3 mail first, 15 s from its later
            // visit; b4 ads, no purchase; b5 mail and ads at one instant: ads, the least, 100 s.
            // Overall: median of 10, 15, 100.
            &[
                &["=ads", "3", "2", "100", "15"],
                &["=mail", "1", "1", "15", "15"],
                &["~", "1", "0", NONE, "15"],
            ],
        ),
        funnel_case(
            "funnel: one instant, events matching different steps, in either write order",
            "ties",
            &funnel(
                &[
                    step("visit", &[]),
                    step("page", &[]),
                    step("page", &["plan=pro"]),
                ],
                3_600,
            ),
            &["step1", "step2", "step3", "time2", "time3"],
            // The page matching step 2 only comes before the one matching steps 2 and 3,
            // whichever was written first: both users reach step 3.
            &[&["2", "2", "2", "10", "0"]],
        ),
        funnel_case(
            "funnel of nobody: zeros, and no median",
            "funnel",
            &funnel(&[step("nothing", &[]), step("visit", &[])], 3_600),
            &["step1", "step2", "time2"],
            &[&["0", "0", NONE]],
        ),
        // Cohort 2028-01-30 (1832803200): d1, d2, d4; d1 back that day and two days later, d2
        // the next day, d4 three days later (its second signup changes nothing). Cohort
        // 2028-01-31: d3, whose login came before the signup: nobody back. d6 never signed
        // up. Periods sort as strings.
        retention_case(
            "retention by day",
            "days",
            Period::Day,
            &[
                &["1832803200", "-1", "3", "3"],
                &["1832803200", "0", "1", "3"],
                &["1832803200", "1", "1", "3"],
                &["1832803200", "2", "1", "3"],
                &["1832803200", "3", "1", "3"],
                &["1832889600", "-1", "1", "1"],
            ],
        ),
        // Weeks from Sunday: w1 signs up on Saturday 2028-02-05 23:59:59, in the week of
        // Sunday 2028-01-30 (1832803200), and is back a second later (week 1) and two weeks
        // after; w2 logs in at the instant of the signup (week 0). w3: the next week
        // (1833408000), nobody back.
        retention_case(
            "retention by week",
            "weeks",
            Period::Week,
            &[
                &["1832803200", "-1", "2", "2"],
                &["1832803200", "0", "1", "2"],
                &["1832803200", "1", "1", "2"],
                &["1832803200", "3", "1", "2"],
                &["1833408000", "-1", "1", "1"],
            ],
        ),
        // m1: December 2027 (1827619200), back in January and February (the leap day). m2:
        // January 2028 (1830297600) from the 31st, back on February 1st and 29th (month 1
        // once), March 31st at 23:59:59.999999 (month 2), and in January 2029 (month 12); m4
        // of January never came back. m3: February (1832976000), back on March 1st.
        retention_case(
            "retention by month",
            "months",
            Period::Month,
            &[
                &["1827619200", "-1", "1", "1"],
                &["1827619200", "1", "1", "1"],
                &["1827619200", "2", "1", "1"],
                &["1830297600", "-1", "2", "2"],
                &["1830297600", "1", "1", "2"],
                &["1830297600", "12", "1", "2"],
                &["1830297600", "2", "1", "2"],
                &["1832976000", "-1", "1", "1"],
                &["1832976000", "1", "1", "1"],
            ],
        ),
    ]
}
