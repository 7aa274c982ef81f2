//! The funnel: how many users went through ordered steps within a conversion window.
//!
//! # Semantics
//!
//! Those of ClickHouse's `windowFunnel` and PostHog's "ordered" funnels, over each user's events
//! of some step in the funnel's order of events (below). A user reaches step `k` when some chain
//! of their events `e1, e2, …, ek` in that order has `ei` matching step `i` and `tk − t1 ≤
//! within`; other events may come between, and each event stands for one step of a chain. The
//! chain need not start at the user's first step-1 event: a later start that still converts
//! counts. For each step the answer has the users who reached it and, from step 2, the median
//! over those users of the time from step `k − 1` to step `k` (of the first event at which they
//! reached step `k`, on the chain with the latest start, from its latest step-`k − 1` event;
//! of an even count of users, the larger middle time, as Splunk's `median`).
//!
//! **The order of events** is by time, oldest first; events at the same instant come in the
//! order of the first step they match, then of the set of steps they match read as a binary
//! number (step `k` worth `2^(k−1)`), so that an event matching only step 2 comes before one
//! matching steps 2 and 3. Events at one instant that match the same steps are interchangeable,
//! so the order the search gives them changes no count and no time: the answer depends only on
//! the events, never on the order they were written or are read in.
//!
//! **Breakdown.** With a breakdown, each user is counted under the value the property had on
//! their first step-1 event in the window (first touch); when several step-1 events share that
//! first instant, under the least of their values (byte-wise), a value before none.
//!
//! # The SPL
//!
//! The events of the steps in the funnel's order, then one `streamstats` per step carrying by
//! user the latest start of a chain that reached the step before (a running `max`: a later start
//! leaves the most time to finish), the `windowFunnel` recurrence written as SPL:
//!
//! ```text
//! search index=… application=… | where application=…
//! | eval spoor_rank=case(C1, 1, C2, 2, …), spoor_mask=if(C1, 1, 0) + if(C2, 2, 0) + …
//! | where isnotnull(spoor_rank) | sort 0 _time, spoor_rank, spoor_mask
//! | eval spoor_s1=if(C1, _time, null())
//! | streamstats current=f max(spoor_s1) as spoor_c1 [, min(spoor_s1) as spoor_m1] by distinct_id
//! | eval spoor_s2=if(C2 AND _time-spoor_c1<=W, spoor_c1, null()) [, spoor_b=<first touch>]
//! | eval spoor_t2=if(isnotnull(spoor_s2), _time, null()), spoor_d2=if(isnotnull(spoor_s2), _time-spoor_c1, null())
//! | streamstats current=f max(spoor_s2) as spoor_c2, max(spoor_t2) as spoor_p2 by distinct_id
//! | …
//! | stats count(spoor_s1) as spoor_n1, first(spoor_d2) as spoor_d2, … [, min(spoor_b) as breakdown] by distinct_id
//! | where spoor_n1>0
//! [| eventstats median(spoor_d2) as spoor_a2, …]
//! | stats count as step1, count(spoor_d2) as step2, …, median(spoor_d2) as time2, … [, max(spoor_a2) as overall_time2, … by breakdown]
//! ```
//!
//! The first touch is `=` and the property's value (`~` without it) on a step-1 row at the
//! user's first step-1 instant (`spoor_m1`, the earliest start before the row, is null or that
//! instant): never a number, so `min` compares the values as strings.
//!
//! Why each command means what the semantics say, from Splunk's pages:
//! - `sort 0` sorts every row (`0`: no limit), ascending on each key
//!   (<https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/sort>);
//!   rows equal on every key are interchangeable (above), so whether the sort is stable does
//!   not matter.
//! - `streamstats current=f … by distinct_id` gives each row the aggregate of the earlier rows of
//!   its user, in the order the rows come, without the row itself; with no `window` every
//!   earlier row counts
//!   (<https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/streamstats>).
//!   The 9.4 page also says that without `window` or `time_window` the `max_stream_window` of
//!   `limits.conf` (10,000 events) applies. spoor's engine has no such bound. Where a Splunk
//!   does bound it, a funnel whose search reads more events than `max_stream_window` loses
//!   chains that began further back. To avoid that, raise `max_stream_window` above the events
//!   a funnel reads (the events of its steps in the window), or narrow the window or the
//!   filters. This has not been checked on a live Splunk.
//! - In `eval`, a comparison with a null value is not true, so `if` takes its third argument
//!   (<https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/eval>).
//! - `stats first(x)` is the value of the first row having `x` in the order the rows reach it:
//!   after the sort, the earliest
//!   (<https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/statistical-and-charting-functions/event-order-functions>);
//!   `count(x)` counts the rows having `x`; `median` is the middle number; `min` of values that
//!   are not numbers is the least in lexicographic order
//!   (<https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/statistical-and-charting-functions/aggregate-functions>).
//! - `eventstats` without `by` gives every row the aggregate over all the rows
//!   (<https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/eventstats>).
//!
//! The starts reaching a step never go down from one row to the next (each is a running `max`
//! of the step before), so the latest row that reached step `k − 1` is on the chain with the
//! latest start: `spoor_p{k−1}` is that chain's step-`k − 1` time.

use std::fmt;
use std::time::Duration;

use spoor_event::Key;
use spoor_event::field::{APPLICATION, DISTINCT_ID, EVENT};

use crate::ast::{
    Aggregation, BinaryOp, Command, Eval, EvalFunction, Eventstats, Expr, Field, Function, Number,
    Query, Sort, SortKey, Stats, Streamstats,
};
use crate::filter::Filter;
use crate::modifier::TimeWindow;

use super::{Index, WindowedQuery, filtered};

/// The fewest steps a funnel has.
pub const MIN_STEPS: usize = 2;
/// The most steps a funnel has.
pub const MAX_STEPS: usize = 10;
/// The shortest conversion window: a minute.
pub const MIN_WITHIN: Duration = Duration::from_secs(60);
/// The longest conversion window: 90 days.
pub const MAX_WITHIN: Duration = Duration::from_secs(90 * 86_400);

/// The column of the users who reached step `k` (from 1): `step1`, `step2`, ….
pub fn users_column(k: usize) -> String {
    format!("step{k}")
}

/// The column of the median seconds from step `k − 1` to step `k` (from 2): `time2`, ….
pub fn time_column(k: usize) -> String {
    format!("time{k}")
}

/// The column of the median seconds from step `k − 1` to step `k` over every user, beside each
/// breakdown value's (from 2): `overall_time2`, …; only with a breakdown.
pub fn overall_time_column(k: usize) -> String {
    format!("overall_time{k}")
}

/// The column of a breakdown's value: [`TOUCHED`] and the property's value on the user's first
/// step-1 event, or [`UNTOUCHED`] when that event lacks the property.
pub const BREAKDOWN: &str = "breakdown";

/// What starts a [`BREAKDOWN`] value the user's first step-1 event had (`=pro`).
pub const TOUCHED: &str = "=";

/// The [`BREAKDOWN`] of users whose first step-1 event lacks the property.
pub const UNTOUCHED: &str = "~";

/// One step of a funnel (or the start or return of a retention): an event, with conditions on
/// its properties.
///
/// ```
/// use spoor_spl::build::Step;
///
/// let step = Step::new("purchase").filter("plan=pro".parse()?);
/// assert_eq!(step.condition().to_string(), r#"event="purchase" AND analytics_prop__plan="pro""#);
/// # Ok::<(), spoor_spl::filter::FilterError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    event: String,
    filters: Vec<Filter>,
}

impl Step {
    /// Every event named `event`.
    pub fn new(event: impl Into<String>) -> Self {
        Self {
            event: event.into(),
            filters: Vec::new(),
        }
    }

    /// Only those of its events that pass `filter` too.
    #[must_use]
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filters.push(filter);
        self
    }

    /// The event's name.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The conditions on its properties.
    pub fn filters(&self) -> &[Filter] {
        &self.filters
    }

    /// The exact condition an event matches the step by.
    pub fn condition(&self) -> Expr {
        let event = Expr::binary(
            BinaryOp::Eq,
            Expr::field(Field::known(EVENT)),
            Expr::string(self.event.clone()),
        );
        let all = std::iter::once(event).chain(self.filters.iter().map(Filter::expr));
        Expr::all(all).unwrap_or_else(|| Expr::call(EvalFunction::Null, []))
    }
}

/// A funnel: its steps, its conversion window and an optional breakdown.
///
/// ```
/// use std::time::Duration;
/// use spoor_spl::build::{Funnel, Step};
///
/// let steps = ["visit", "signup", "purchase"].map(Step::new);
/// let funnel = Funnel::new(steps, Duration::from_secs(7 * 86_400))?;
/// assert_eq!(funnel.steps().len(), 3);
/// assert!(Funnel::new([Step::new("visit")], Duration::from_secs(3_600)).is_err());
/// # Ok::<(), spoor_spl::build::FunnelError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Funnel {
    steps: Vec<Step>,
    within: Duration,
    breakdown: Option<Key>,
}

/// Why a funnel cannot be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FunnelError {
    /// Fewer than [`MIN_STEPS`] or more than [`MAX_STEPS`] steps.
    Steps(usize),
    /// A window shorter than [`MIN_WITHIN`] or longer than [`MAX_WITHIN`].
    Within(Duration),
}

impl fmt::Display for FunnelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Steps(n) => write!(
                f,
                "a funnel has {MIN_STEPS} to {MAX_STEPS} steps, not {n}: name each step's event \
                 in order"
            ),
            Self::Within(d) => write!(
                f,
                "a funnel's conversion window is 1 minute to 90 days, not {} seconds",
                d.as_secs()
            ),
        }
    }
}

impl std::error::Error for FunnelError {}

impl Funnel {
    /// A funnel of `steps` (2 to 10, in order) that users go through within `within` (a minute
    /// to 90 days, in whole seconds) from their first step.
    ///
    /// # Errors
    ///
    /// [`FunnelError`] when the steps or the window are out of bounds.
    pub fn new(
        steps: impl IntoIterator<Item = Step>,
        within: Duration,
    ) -> Result<Self, FunnelError> {
        let steps: Vec<Step> = steps.into_iter().collect();
        if !(MIN_STEPS..=MAX_STEPS).contains(&steps.len()) {
            return Err(FunnelError::Steps(steps.len()));
        }
        if !(MIN_WITHIN..=MAX_WITHIN).contains(&within) {
            return Err(FunnelError::Within(within));
        }
        Ok(Self {
            steps,
            within: Duration::from_secs(within.as_secs()),
            breakdown: None,
        })
    }

    /// Split the users by the value of property `key` on their first step-1 event.
    #[must_use]
    pub fn breakdown(mut self, key: Key) -> Self {
        self.breakdown = Some(key);
        self
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The conversion window.
    pub fn within(&self) -> Duration {
        self.within
    }

    /// The breakdown's property, when there is one.
    pub fn breakdown_key(&self) -> Option<&Key> {
        self.breakdown.as_ref()
    }
}

/// The users of `application` who went through `funnel`'s steps in the window (every event
/// passing `filters`), as the [module's](self) semantics say.
///
/// Columns: [`BREAKDOWN`] when the funnel has one (one row per value), then `step1`…`stepN`
/// ([`users_column`]) and `time2`…`timeN` ([`time_column`], absent when no user reached the
/// step), and with a breakdown `overall_time2`…`overall_timeN` ([`overall_time_column`], the
/// same in every row). Without a breakdown, one row (all zero when no user did step 1).
///
/// ```
/// use std::time::Duration;
/// use spoor_spl::build::{self, Funnel, Index, Step};
/// use spoor_spl::modifier::{TimeModifier, TimeWindow};
///
/// let index = Index::new("spoor")?;
/// let steps = [Step::new("signup"), Step::new("purchase")];
/// let funnel = Funnel::new(steps, Duration::from_secs(86_400))?;
/// let window = TimeWindow::new("-30d@d".parse()?, TimeModifier::Now);
/// let query = build::funnel(&index, "shop", &funnel, &[], window);
/// assert_eq!(
///     query.to_string(),
///     concat!(
///         r#"search index="spoor" application="shop" | where application="shop""#,
///         r#" | eval spoor_rank=case(event="signup", 1, event="purchase", 2),"#,
///         r#" spoor_mask=if(event="signup", 1, 0) + if(event="purchase", 2, 0)"#,
///         r#" | where isnotnull(spoor_rank) | sort limit=0 +_time, +spoor_rank, +spoor_mask"#,
///         r#" | eval spoor_s1=if(event="signup", _time, null())"#,
///         r#" | streamstats current=false max(spoor_s1) as spoor_c1 by distinct_id"#,
///         r#" | eval spoor_s2=if(event="purchase" AND _time - spoor_c1<=86400, spoor_c1, null())"#,
///         r#" | eval spoor_d2=if(isnotnull(spoor_s2), _time - spoor_c1, null())"#,
///         r#" | stats count(spoor_s1) as spoor_n1, first(spoor_d2) as spoor_d2 by distinct_id"#,
///         r#" | where spoor_n1>0"#,
///         r#" | stats count as step1, count(spoor_d2) as step2, median(spoor_d2) as time2"#,
///     )
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn funnel(
    index: &Index,
    application: &str,
    funnel: &Funnel,
    filters: &[Filter],
    window: TimeWindow,
) -> WindowedQuery {
    let (search, mut commands) = filtered(index, &[(APPLICATION, application)], filters);
    let name = |prefix: &str, k: usize| Field::known(&format!("spoor_{prefix}{k}"));
    let value = |prefix: &str, k: usize| Expr::field(name(prefix, k));
    let time = || Expr::field(Field::known("_time"));
    let null = || Expr::call(EvalFunction::Null, []);
    let is_set = |field: Expr| Expr::call(EvalFunction::IsNotNull, [field]);
    let number = |n: usize| Expr::number(Number::from(u32::try_from(n).unwrap_or(u32::MAX)));
    let rank = Field::known("spoor_rank");
    let mask = Field::known("spoor_mask");
    let user = Field::known(DISTINCT_ID);
    let steps = &funnel.steps;

    // The events of some step, oldest first; at one instant by the first step they match, then
    // by the set of steps they match.
    let ranks = steps
        .iter()
        .enumerate()
        .flat_map(|(i, step)| [step.condition(), number(i + 1)]);
    let bits = steps.iter().enumerate().map(|(i, step)| {
        Expr::call(
            EvalFunction::If,
            [step.condition(), number(1 << i), Expr::number(0)],
        )
    });
    let sum = bits
        .reduce(|a, b| Expr::binary(BinaryOp::Add, a, b))
        .unwrap_or_else(|| Expr::number(0));
    let key = |field: &Field| SortKey {
        field: field.clone(),
        descending: false,
    };
    commands.extend([
        Command::Eval(Eval::new([
            (rank.clone(), Expr::call(EvalFunction::Case, ranks)),
            (mask.clone(), sum),
        ])),
        Command::where_(is_set(Expr::field(rank.clone()))),
        Command::Sort(Sort {
            limit: Some(0),
            keys: vec![key(&Field::known("_time")), key(&rank), key(&mask)],
        }),
        Command::Eval(Eval::new([(
            name("s", 1),
            Expr::call(EvalFunction::If, [steps[0].condition(), time(), null()]),
        )])),
    ]);

    let within = u32::try_from(funnel.within.as_secs()).unwrap_or(u32::MAX);
    for k in 2..=steps.len() {
        // The latest start of a chain at step k − 1 before this row, (from step 3) the latest
        // time such a chain got there, and (at step 2, for a breakdown) the first start.
        let mut carried =
            vec![Aggregation::apply(Function::Max, name("s", k - 1)).alias(name("c", k - 1))];
        if k > 2 {
            carried
                .push(Aggregation::apply(Function::Max, name("t", k - 1)).alias(name("p", k - 1)));
        } else if funnel.breakdown.is_some() {
            carried.push(Aggregation::apply(Function::Min, name("s", 1)).alias(name("m", 1)));
        }
        commands.push(Command::Streamstats(Streamstats {
            current: Some(false),
            window: None,
            global: None,
            aggregations: carried,
            by: vec![user.clone()],
        }));
        let in_time = Expr::binary(
            BinaryOp::Le,
            Expr::binary(BinaryOp::Subtract, time(), value("c", k - 1)),
            Expr::number(within),
        );
        let reached = Expr::all([steps[k - 1].condition(), in_time]).unwrap_or_else(null);
        let mut reach = vec![(
            name("s", k),
            Expr::call(EvalFunction::If, [reached, value("c", k - 1), null()]),
        )];
        if let (2, Some(key)) = (k, &funnel.breakdown) {
            reach.push((Field::known("spoor_b"), first_touch(&steps[0], key)));
        }
        commands.push(Command::Eval(Eval::new(reach)));
        // At step 2 the chain's step-1 time is its start.
        let before = if k == 2 { "c" } else { "p" };
        let mut marks = Vec::new();
        if k < steps.len() {
            marks.push((
                name("t", k),
                Expr::call(EvalFunction::If, [is_set(value("s", k)), time(), null()]),
            ));
        }
        marks.push((
            name("d", k),
            Expr::call(
                EvalFunction::If,
                [
                    is_set(value("s", k)),
                    Expr::binary(BinaryOp::Subtract, time(), value(before, k - 1)),
                    null(),
                ],
            ),
        ));
        commands.push(Command::Eval(Eval::new(marks)));
    }

    // Per user: did step 1, and the time to each later step the first time it was reached.
    let mut per_user = vec![Aggregation::apply(Function::Count, name("s", 1)).alias(name("n", 1))];
    per_user.extend(
        (2..=steps.len())
            .map(|k| Aggregation::apply(Function::First, name("d", k)).alias(name("d", k))),
    );
    let breakdown = funnel.breakdown.as_ref().map(|_| Field::known(BREAKDOWN));
    if breakdown.is_some() {
        per_user.push(
            Aggregation::apply(Function::Min, Field::known("spoor_b"))
                .alias(Field::known(BREAKDOWN)),
        );
    }
    commands.push(Command::Stats(Stats {
        aggregations: per_user,
        by: vec![user],
    }));
    commands.push(Command::where_(Expr::binary(
        BinaryOp::Gt,
        value("n", 1),
        Expr::number(0),
    )));

    let mut totals = vec![Aggregation::count().alias(Field::known(&users_column(1)))];
    totals.extend((2..=steps.len()).map(|k| {
        Aggregation::apply(Function::Count, name("d", k)).alias(Field::known(&users_column(k)))
    }));
    totals.extend((2..=steps.len()).map(|k| {
        Aggregation::apply(Function::Median, name("d", k)).alias(Field::known(&time_column(k)))
    }));
    if breakdown.is_some() {
        // The medians over all the users, beside each group's.
        commands.push(Command::Eventstats(Eventstats {
            aggregations: (2..=steps.len())
                .map(|k| Aggregation::apply(Function::Median, name("d", k)).alias(name("a", k)))
                .collect(),
            by: Vec::new(),
        }));
        totals.extend((2..=steps.len()).map(|k| {
            Aggregation::apply(Function::Max, name("a", k))
                .alias(Field::known(&overall_time_column(k)))
        }));
    }
    commands.push(Command::Stats(Stats {
        aggregations: totals,
        by: breakdown.into_iter().collect(),
    }));
    WindowedQuery::new(Query { search, commands }, window)
}

/// On a step-1 row at the user's first step-1 instant, the breakdown's value: [`TOUCHED`] and
/// the property's value, or [`UNTOUCHED`] without it.
fn first_touch(first: &Step, key: &Key) -> Expr {
    let time = || Expr::field(Field::known("_time"));
    let earliest = Expr::field(Field::known("spoor_m1"));
    let at_first = Expr::any([
        Expr::call(EvalFunction::IsNull, [earliest.clone()]),
        Expr::binary(BinaryOp::Eq, earliest, time()),
    ])
    .unwrap_or_else(|| Expr::call(EvalFunction::Null, []));
    let property = || Expr::field(Field::from(key));
    let touch = Expr::call(
        EvalFunction::If,
        [
            Expr::call(EvalFunction::IsNull, [property()]),
            Expr::string(UNTOUCHED),
            Expr::binary(BinaryOp::Concat, Expr::string(TOUCHED), property()),
        ],
    );
    let condition = Expr::all([first.condition(), at_first])
        .unwrap_or_else(|| Expr::call(EvalFunction::Null, []));
    Expr::call(
        EvalFunction::If,
        [condition, touch, Expr::call(EvalFunction::Null, [])],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modifier::TimeModifier;

    fn window() -> TimeWindow {
        TimeWindow::new(
            TimeModifier::Epoch {
                seconds: 0,
                nanos: 0,
            },
            TimeModifier::Now,
        )
    }

    #[test]
    fn bounds_are_checked() {
        let day = Duration::from_secs(86_400);
        let steps = |n: usize| (0..n).map(|i| Step::new(format!("e{i}")));
        assert_eq!(Funnel::new(steps(1), day), Err(FunnelError::Steps(1)));
        assert_eq!(Funnel::new(steps(11), day), Err(FunnelError::Steps(11)));
        assert!(Funnel::new(steps(2), day).is_ok());
        assert!(Funnel::new(steps(10), day).is_ok());
        let short = Duration::from_secs(59);
        assert_eq!(
            Funnel::new(steps(2), short),
            Err(FunnelError::Within(short))
        );
        assert!(Funnel::new(steps(2), MIN_WITHIN).is_ok());
        assert!(Funnel::new(steps(2), MAX_WITHIN).is_ok());
        let long = MAX_WITHIN + Duration::from_secs(1);
        assert_eq!(Funnel::new(steps(2), long), Err(FunnelError::Within(long)));
        assert_eq!(
            FunnelError::Steps(1).to_string(),
            "a funnel has 2 to 10 steps, not 1: name each step's event in order"
        );
    }

    #[test]
    fn three_steps_with_filters_and_a_breakdown_print_and_parse_back() {
        let index = Index::new("spoor").unwrap();
        let steps = [
            Step::new("visit"),
            Step::new("signup").filter("plan=pro|team".parse().unwrap()),
            Step::new("purchase").filter("amount>=10".parse().unwrap()),
        ];
        let funnel = Funnel::new(steps, Duration::from_secs(7 * 86_400))
            .unwrap()
            .breakdown(Key::new("source").unwrap());
        let filters = ["country=fr".parse().unwrap()];
        let query = super::funnel(&index, "shop", &funnel, &filters, window());
        let text = query.to_string();
        assert!(text.starts_with(
            r#"search index="spoor" application="shop" analytics_prop__country="fr" | where application="shop" AND analytics_prop__country="fr""#
        ), "{text}");
        assert!(text.contains(r#"spoor_mask=if(event="visit", 1, 0) + if(event="signup" AND in(analytics_prop__plan, "pro", "team"), 2, 0) + if(event="purchase" AND tonumber(analytics_prop__amount)>=10, 4, 0) | where isnotnull(spoor_rank) | sort limit=0 +_time, +spoor_rank, +spoor_mask"#), "{text}");
        assert!(
            text.contains("max(spoor_s1) as spoor_c1, min(spoor_s1) as spoor_m1 by distinct_id"),
            "{text}"
        );
        assert!(text.contains(r#"spoor_b=if(event="visit" AND (isnull(spoor_m1) OR spoor_m1=_time), if(isnull(analytics_prop__source), "~", "=" . analytics_prop__source), null())"#), "{text}");
        assert!(
            text.contains("max(spoor_s2) as spoor_c2, max(spoor_t2) as spoor_p2"),
            "{text}"
        );
        assert!(
            text.contains(r#"spoor_d3=if(isnotnull(spoor_s3), _time - spoor_p2, null())"#),
            "{text}"
        );
        assert!(text.ends_with(
            "min(spoor_b) as breakdown by distinct_id | where spoor_n1>0 | eventstats median(spoor_d2) as spoor_a2, median(spoor_d3) as spoor_a3 | stats count as step1, count(spoor_d2) as step2, count(spoor_d3) as step3, median(spoor_d2) as time2, median(spoor_d3) as time3, max(spoor_a2) as overall_time2, max(spoor_a3) as overall_time3 by breakdown"
        ), "{text}");
        let parsed: Query = text.parse().unwrap();
        assert_eq!(&parsed, query.query());
    }
}
