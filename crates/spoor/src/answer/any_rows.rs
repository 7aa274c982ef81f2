//! Rows of any shape are read without a panic: an answer or `Error::Answer`.

use std::time::Duration;

use proptest::prelude::*;
use spoor_proto::search::{Row, Value};
use spoor_spl::build::{Funnel, Period, Step};
use time::macros::datetime;

const COUNTS: &[&str] = &["3", "3", "3", "3", "2", "1", "0", "x"];
const TIMES: &[&str] = &["0.5", "60", "3600.000001", "60", "60", "60", "NaN", "-1"];
/// Each column, and values for it: mostly of its kind, some not.
const COLUMNS: [(&str, &[&str]); 11] = [
    ("step1", COUNTS),
    ("step2", COUNTS),
    ("step3", COUNTS),
    ("time2", TIMES),
    ("time3", TIMES),
    ("overall_time2", TIMES),
    ("breakdown", &["=pro", "=free", "~", "=", "pro", ""]),
    (
        "cohort",
        &[
            "1830297600",
            "1832976000",
            "1832976000.000000",
            "0.5",
            "253402300800",
            "-1e300",
            "x",
        ],
    ),
    ("period", &["-1", "0", "1", "2", "12", "-2", "1000001", "x"]),
    ("users", COUNTS),
    ("size", COUNTS),
];

/// Rows of mostly the expected columns, with values of every kind.
fn rows() -> impl Strategy<Value = Vec<Row>> {
    let cells = proptest::collection::vec(
        proptest::option::weighted(0.97, any::<proptest::sample::Index>()),
        COLUMNS.len(),
    );
    let row = cells.prop_map(|cells| {
        Row::new(
            cells
                .into_iter()
                .zip(COLUMNS)
                .filter_map(|(i, (column, values))| {
                    let value = values[i?.index(values.len())];
                    Some((column.to_owned(), Value::Single(value.to_owned())))
                })
                .collect(),
        )
    });
    proptest::collection::vec(row, 0..4)
}

proptest! {
    #![proptest_config(spoor_testkit::proptest_config_with_cases(256))]

    #[test]
    fn funnels_and_retention_never_panic(rows in rows(), breakdown: bool, period in 0..3usize, end: Option<bool>) {
        let steps = ["a", "b", "c"].map(Step::new);
        let mut funnel = Funnel::new(steps, Duration::from_secs(60)).unwrap();
        if breakdown {
            funnel = funnel.breakdown("plan".parse().unwrap());
        }
        let _ = super::funnel(rows.clone(), &funnel);
        let end = end.map(|late| if late { datetime!(2031-01-01 0:00 UTC) } else { datetime!(2028-01-01 0:00 UTC) });
        let _ = super::retention(rows, Period::ALL[period], end);
    }
}
