//! The demo data set: realistic events of several applications over the last 90 days, tracked
//! through spoor's Tracker like any application's, so the dashboard is useful in its first
//! minute.

use std::collections::HashMap;
use std::time::Duration;

use spoor::{OnFull, Tracker};
use spoor_engine::generate::{Generator, Spec};
use spoor_proto::Config;
use time::OffsetDateTime;

/// Events the demo has unless told otherwise.
pub const DEFAULT_EVENTS: usize = 200_000;

/// Tracks `events` generated events (ending now) to `index` on the backend of `config`,
/// calling `progress` with the count tracked so far every 1 %. Returns how many were delivered.
///
/// # Errors
///
/// [`spoor::Error`] when the index and sourcetype cannot be set up or delivery fails.
pub fn seed(
    config: &Config,
    index: &str,
    events: usize,
    mut progress: impl FnMut(usize),
) -> Result<u64, spoor::Error> {
    let mut spec = Spec::benchmark(events, OffsetDateTime::now_utc());
    spec.users = u32::try_from(events / 20)
        .unwrap_or(u32::MAX)
        .clamp(50, 100_000);
    let mut trackers: HashMap<String, Tracker> = HashMap::new();
    let step = (events / 100).max(1);
    for (i, event) in Generator::new(spec).enumerate() {
        let tracker = match trackers.get(event.application()) {
            Some(tracker) => tracker,
            None => {
                let tracker = Tracker::builder(config, event.application())
                    .index(index)
                    .queue_capacity(50_000)
                    .on_full(OnFull::Block(Duration::from_secs(120)))
                    .build()?;
                if trackers.is_empty() {
                    tracker.setup()?;
                }
                trackers
                    .entry(event.application().to_owned())
                    .or_insert(tracker)
            }
        };
        let properties = event
            .properties()
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()));
        tracker.track_at(event.name(), event.distinct_id(), properties, event.time())?;
        if (i + 1) % step == 0 {
            progress(i + 1);
        }
    }
    let mut sent = 0;
    for tracker in trackers.values() {
        tracker.shutdown(Duration::from_secs(300))?;
        sent += tracker.stats().sent;
    }
    progress(events);
    Ok(sent)
}
