//! The export decoder on the export fixtures, split at every byte.

use proptest::prelude::*;
use spoor_proto::search::{ExportDecoder, ExportItem};
use spoor_proto::{Level, Message};

use crate::fixture;

/// Decodes `bytes` pushed in pieces cut at `cuts`, pulling after every push.
fn decode(bytes: &[u8], cuts: &[usize]) -> Vec<ExportItem> {
    let mut decoder = ExportDecoder::new();
    let mut items = Vec::new();
    let mut at = 0;
    for &cut in cuts {
        decoder.push(&bytes[at..cut]).unwrap();
        items.extend(std::iter::from_fn(|| decoder.next_item()).map(Result::unwrap));
        at = cut;
    }
    decoder.push(&bytes[at..]).unwrap();
    decoder.finish();
    items.extend(std::iter::from_fn(|| decoder.next_item()).map(Result::unwrap));
    assert!(decoder.is_finished());
    items
}

fn rows(items: &[ExportItem]) -> Vec<Vec<(String, String)>> {
    items
        .iter()
        .filter_map(|i| match i {
            ExportItem::Row(r) => Some(
                r.iter()
                    .map(|(k, v)| (k.to_owned(), v.values().join("|")))
                    .collect(),
            ),
            ExportItem::Message(_) => None,
        })
        .collect()
}

#[test]
fn previews_are_dropped_and_the_final_set_kept() {
    let items = decode(fixture!("export.json").as_bytes(), &[]);
    let counts: Vec<Vec<(String, String)>> = rows(&items);
    let expected: Vec<Vec<(String, String)>> = [
        ("Andy-PC", "1701"),
        ("andy-pc", "3"),
        ("three.four.com", "1512"),
    ]
    .into_iter()
    .map(|(h, c)| {
        vec![
            ("host".to_owned(), h.to_owned()),
            ("count".to_owned(), c.to_owned()),
        ]
    })
    .collect();
    assert_eq!(counts, expected);
}

#[test]
fn event_rows_and_messages() {
    let items = decode(fixture!("export-events.json").as_bytes(), &[]);
    assert_eq!(items.len(), 4);
    assert!(
        matches!(&items[2], ExportItem::Message(m) if *m == Message::new(Level::Warn, "Search results might be incomplete: the search process on peer idx2 ended prematurely."))
    );
    let ExportItem::Row(first) = &items[0] else {
        panic!()
    };
    assert_eq!(
        first.get_str("_raw"),
        Some(r#"2026-11-28T12:00:00.123456Z application="shop" event="login" distinct_id="u42""#)
    );
    assert_eq!(first.get("_si").unwrap().values(), ["idx1", "spoor"]);
}

#[test]
fn every_single_split_point_gives_the_same_items() {
    for body in [fixture!("export.json"), fixture!("export-events.json")] {
        let whole = decode(body.as_bytes(), &[]);
        for cut in 0..=body.len() {
            assert_eq!(decode(body.as_bytes(), &[cut]), whole, "cut at {cut}");
        }
    }
}

proptest! {
    #[test]
    fn any_splits_give_the_same_items(mut cuts in proptest::collection::vec(0usize..2000, 0..8)) {
        let body = fixture!("export-events.json").as_bytes();
        for c in &mut cuts {
            *c %= body.len() + 1;
        }
        cuts.sort_unstable();
        prop_assert_eq!(decode(body, &cuts), decode(body, &[]));
    }
}
