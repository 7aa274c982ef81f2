//! Retention: of the users who first did a start event in a period, how many came back, period
//! after period.
//!
//! # Semantics
//!
//! A user's cohort is the period (day, week or month) of their first start event in the window.
//! They are retained in period `p` (from 0, the cohort's own period) when they did the return
//! event in it, at or after that first start event. Periods are calendar periods: days from
//! midnight, weeks from Sunday midnight, months from midnight of the 1st, in the search's time
//! zone on Splunk and in UTC on spoor's engine. Events outside the window are not read, so a
//! period past the window's end has no users.
//!
//! # The SPL
//!
//! ```text
//! search index=… application=… | where application=…
//! | eval spoor_start=if(S, _time, null())
//! | eventstats min(spoor_start) as spoor_first by distinct_id
//! | where isnotnull(spoor_first)
//! | eval cohort=relative_time(spoor_first, "@w0")
//! | eventstats dc(distinct_id) as size by cohort
//! | eval period=if(R AND _time>=spoor_first, round((relative_time(_time, "@w0") - cohort) / 604800), if(_time=spoor_first, -1, null()))
//! | stats dc(distinct_id) as users, max(size) as size by cohort, period
//! ```
//!
//! `eventstats` gives every row its group's aggregate without taking rows away
//! (<https://help.splunk.com/splunk-enterprise/spl-search-reference/9.0/search-commands/eventstats>);
//! `relative_time(t, "@w0")` snaps a time down to the period's start
//! (<https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/evaluation-functions/date-and-time-functions>);
//! `stats … by` leaves out the rows lacking a `by` field. The period number is the distance
//! between two period starts divided by the period's length, rounded: exact for days and weeks
//! (a day of a daylight-saving change is an hour off, far from half a day) and for months (from
//! one 1st to another `k` months later is within 3 days of `k` mean months of 30.436875 days).
//! Each cohort's members keep one row (period `-1` unless it is a return in period 0), so a
//! cohort nobody returned to still has its size.

use std::fmt;

use spoor_event::field::{APPLICATION, DISTINCT_ID};

use crate::ast::{
    Aggregation, BinaryOp, Command, Eval, EvalFunction, Eventstats, Expr, Field, Function, Number,
    Query, Stats, UnaryOp,
};
use crate::filter::Filter;
use crate::modifier::{Relative, Snap, TimeWindow};

use super::{Index, Step, WindowedQuery, filtered};

/// The column of a cohort's start (epoch seconds).
pub const COHORT: &str = "cohort";
/// The column of the period number from the cohort's (`-1`: members who did not return in
/// period 0; ignore it but for [`SIZE`]).
pub const PERIOD: &str = "period";
/// The column of the users of the cohort retained in the period.
pub const USERS: &str = "users";
/// The column of the cohort's size.
pub const SIZE: &str = "size";

/// The length of a retention period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Period {
    /// Days, from midnight.
    Day,
    /// Weeks, from Sunday midnight (as `timechart` and `@w0`).
    Week,
    /// Calendar months, from the 1st.
    Month,
}

impl Period {
    /// Every period, shortest first.
    pub const ALL: [Self; 3] = [Self::Day, Self::Week, Self::Month];

    /// Its name in URLs: `day`, `week`, `month`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    /// The period named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The snap to the period's start.
    pub fn snap(self) -> Snap {
        match self {
            Self::Day => Snap::Day,
            Self::Week => Snap::Week(time::Weekday::Sunday),
            Self::Month => Snap::Month,
        }
    }

    /// Its length in seconds; for months the mean Gregorian month (2,629,746 s), by which the
    /// distance between two 1sts, rounded, is their number of months.
    pub fn seconds(self) -> u32 {
        match self {
            Self::Day => 86_400,
            Self::Week => 604_800,
            Self::Month => 2_629_746,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A retention question: who did `start`, and who of them did `back` later.
#[derive(Debug, Clone, PartialEq)]
pub struct Retention {
    /// The event that puts a user in a cohort (their first in the window).
    pub start: Step,
    /// The event that counts as coming back.
    pub back: Step,
    /// The cohorts' and the periods' length.
    pub period: Period,
}

/// The cohorts of `application` in the window and the users retained in each period, as the
/// [module's](self) semantics say (every event passing `filters`).
///
/// Columns: [`COHORT`], [`PERIOD`], [`USERS`], [`SIZE`]; one row for each cohort and period
/// some member has a row in, by cohort then period.
///
/// ```
/// use spoor_spl::build::{self, Index, Period, Retention, Step};
/// use spoor_spl::modifier::{TimeModifier, TimeWindow};
///
/// let index = Index::new("spoor")?;
/// let question = Retention { start: Step::new("signup"), back: Step::new("login"), period: Period::Week };
/// let window = TimeWindow::new("-12w@w0".parse()?, TimeModifier::Now);
/// let query = build::retention(&index, "shop", &question, &[], window);
/// assert_eq!(
///     query.to_string(),
///     concat!(
///         r#"search index="spoor" application="shop" | where application="shop""#,
///         r#" | eval spoor_start=if(event="signup", _time, null())"#,
///         r#" | eventstats min(spoor_start) as spoor_first by distinct_id"#,
///         r#" | where isnotnull(spoor_first)"#,
///         r#" | eval cohort=relative_time(spoor_first, "@w0")"#,
///         r#" | eventstats dc(distinct_id) as size by cohort"#,
///         r#" | eval period=if(event="login" AND _time>=spoor_first, round((relative_time(_time, "@w0") - cohort) / 604800), if(_time=spoor_first, -1, null()))"#,
///         r#" | stats dc(distinct_id) as users, max(size) as size by cohort, period"#,
///     )
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn retention(
    index: &Index,
    application: &str,
    question: &Retention,
    filters: &[Filter],
    window: TimeWindow,
) -> WindowedQuery {
    let (search, mut commands) = filtered(index, &[(APPLICATION, application)], filters);
    let field = |name: &str| Field::known(name);
    let value = |name: &str| Expr::field(Field::known(name));
    let null = || Expr::call(EvalFunction::Null, []);
    let user = field(DISTINCT_ID);
    let snap = |time: Expr| {
        Expr::relative_time(
            time,
            Relative {
                offset: None,
                snap: Some(question.period.snap()),
                after: None,
            },
        )
    };
    let returned = Expr::all([
        question.back.condition(),
        Expr::binary(BinaryOp::Ge, value("_time"), value("spoor_first")),
    ])
    .unwrap_or_else(null);
    let period = Expr::call(
        EvalFunction::Round,
        [Expr::binary(
            BinaryOp::Divide,
            Expr::binary(BinaryOp::Subtract, snap(value("_time")), value(COHORT)),
            Expr::number(Number::from(question.period.seconds())),
        )],
    );
    let member = Expr::call(
        EvalFunction::If,
        [
            Expr::binary(BinaryOp::Eq, value("_time"), value("spoor_first")),
            Expr::unary(UnaryOp::Negate, Expr::number(1)),
            null(),
        ],
    );
    commands.extend([
        Command::Eval(Eval::new([(
            field("spoor_start"),
            Expr::call(
                EvalFunction::If,
                [question.start.condition(), value("_time"), null()],
            ),
        )])),
        Command::Eventstats(Eventstats {
            aggregations: vec![
                Aggregation::apply(Function::Min, field("spoor_start")).alias(field("spoor_first")),
            ],
            by: vec![user.clone()],
        }),
        Command::where_(Expr::call(EvalFunction::IsNotNull, [value("spoor_first")])),
        Command::Eval(Eval::new([(field(COHORT), snap(value("spoor_first")))])),
        Command::Eventstats(Eventstats {
            aggregations: vec![
                Aggregation::apply(Function::DistinctCount, user.clone()).alias(field(SIZE)),
            ],
            by: vec![field(COHORT)],
        }),
        Command::Eval(Eval::new([(
            field(PERIOD),
            Expr::call(EvalFunction::If, [returned, period, member]),
        )])),
        Command::Stats(Stats {
            aggregations: vec![
                Aggregation::apply(Function::DistinctCount, user).alias(field(USERS)),
                Aggregation::apply(Function::Max, field(SIZE)).alias(field(SIZE)),
            ],
            by: vec![field(COHORT), field(PERIOD)],
        }),
    ]);
    WindowedQuery::new(Query { search, commands }, window)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modifier::TimeModifier;

    #[test]
    fn each_period_prints_and_parses_back() {
        let index = Index::new("spoor").unwrap();
        for period in Period::ALL {
            assert_eq!(Period::from_name(period.name()), Some(period));
            let question = Retention {
                start: Step::new("signup").filter("plan=pro".parse().unwrap()),
                back: Step::new("purchase").filter("amount>0".parse().unwrap()),
                period,
            };
            let window = TimeWindow::new("-90d@d".parse().unwrap(), TimeModifier::Now);
            let filters = ["country!=*".parse().unwrap()];
            let query = retention(&index, "shop", &question, &filters, window);
            let text = query.to_string();
            let parsed: Query = text.parse().unwrap();
            assert_eq!(&parsed, query.query(), "{text}");
            assert!(text.contains(&format!("/ {}", period.seconds())), "{text}");
        }
    }
}
