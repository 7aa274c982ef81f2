//! Every question of the Retriever but funnels and retention (those are in [`super::journeys`])
//! with random property filters, blocking and async, over the v1 and the v2 search API, against
//! the answers [`super::retriever`]'s plain reference gives over the events that pass every
//! filter as [`reference::holds`] reads the filters' documented semantics.

use proptest::prelude::*;
use spoor::{AsyncRetriever, Event, Filter, Key, Retriever, Test};

use super::Backend;
use super::journeys::reference;
use super::retriever::{PLANS, check_async, check_blocking, event, expected, spec, window};

/// The values filters compare with: every plan, and text no event has but that a
/// case-insensitive or wildcard match would take for one (`PRO`, `pro*`, `p*`), and some
/// amounts as text.
fn value() -> impl Strategy<Value = String> {
    let others = ["PRO", "pro*", "p*", "pro ", "a", "7", "3", "2.5"];
    proptest::sample::select(PLANS.iter().chain(&others).copied().collect::<Vec<_>>())
        .prop_map(str::to_owned)
}

fn values() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::btree_set(value(), 2..=3).prop_map(|v| v.into_iter().collect())
}

fn threshold() -> impl Strategy<Value = f64> {
    proptest::sample::select(vec![-2.0, -0.5, 0.0, 2.5, 3.0, 7.5, 10.0, 1000.0])
}

fn test() -> impl Strategy<Value = Test> {
    prop_oneof![
        value().prop_map(Test::Equals),
        value().prop_map(Test::NotEquals),
        values().prop_map(Test::OneOf),
        values().prop_map(Test::NoneOf),
        threshold().prop_map(Test::Less),
        threshold().prop_map(Test::AtMost),
        threshold().prop_map(Test::Greater),
        threshold().prop_map(Test::AtLeast),
        Just(Test::Exists),
        Just(Test::Missing),
    ]
}

/// A filter on `plan`, `amount`, or a key no event has.
fn filter() -> impl Strategy<Value = Filter> {
    let key = proptest::sample::select(vec!["plan", "plan", "amount", "amount", "coupon"]);
    (key, test()).prop_map(|(key, test)| Filter::new(Key::new(key).expect("a key"), test))
}

proptest! {
    #![proptest_config(spoor_testkit::proptest_config_with_cases(4))]

    /// Both retrievers, over both search APIs, answer every question with 1 to 3 filters as the
    /// plain reference over the events that pass them all.
    #[test]
    fn filtered_answers_equal_the_reference(
        specs in proptest::collection::vec(spec(), 1..300),
        filter_sets in proptest::collection::vec(proptest::collection::vec(filter(), 1..=3), 3),
    ) {
        for filters in &filter_sets {
            for f in filters {
                let text = f.to_string();
                prop_assert_eq!(&text.parse::<Filter>().ok(), &Some(f.clone()), "{}", text);
            }
        }
        let events: Vec<Event> = specs.iter().map(event).collect();
        let expected: Vec<_> = filter_sets
            .iter()
            .map(|filters| {
                let passing: Vec<Event> = events
                    .iter()
                    .filter(|e| filters.iter().all(|f| reference::holds(f, e)))
                    .cloned()
                    .collect();
                expected(&passing, window().1)
            })
            .collect();
        for version in ["8.2.0", "9.4.0"] {
            let backend = Backend::start(version);
            backend.store("spoor", &events);
            let config = backend.config(false);
            let blocking = Retriever::new(&config).unwrap();
            blocking.connect().unwrap();
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let r = runtime.block_on(async {
                let r = AsyncRetriever::new(&config).unwrap();
                r.connect().await.unwrap();
                r
            });
            for (filters, exp) in filter_sets.iter().zip(&expected) {
                check_blocking(&blocking, exp, filters);
                runtime.block_on(check_async(&r, exp, filters));
            }
        }
    }
}
