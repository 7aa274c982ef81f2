//! A generator of realistic analytics events: the demo data set of the dashboard and the data of
//! the engine's benchmarks.
//!
//! Deterministic for a seed. Events come in time order, spread evenly over the span with a
//! little jitter; applications, event names, users and property values are skewed the way real
//! traffic is (a few are frequent, most are rare). Every event may carry the common keys
//! (browser, country, page, …); the rare keys go with the events they belong to (a purchase's
//! payment method, a search's query).

use spoor_event::{Event, Value};
use time::{Duration, OffsetDateTime};

const APPLICATIONS: [&str; 8] = [
    "shop", "blog", "mobile", "admin", "api", "docs", "support", "billing",
];
const EVENT_NAMES: [&str; 24] = [
    "page_view",
    "login",
    "logout",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "checkout",
    "purchase",
    "signup",
    "share",
    "comment",
    "like",
    "download",
    "upload",
    "invite",
    "upgrade",
    "downgrade",
    "error",
    "settings_changed",
    "password_reset",
    "export",
    "import",
    "notification_opened",
    "video_played",
];
/// Keys most events carry some of, and their number of distinct values.
const COMMON_KEYS: [(&str, u32); 10] = [
    ("browser", 6),
    ("os", 5),
    ("plan", 4),
    ("country", 60),
    ("page", 400),
    ("referrer", 40),
    ("device", 3),
    ("language", 25),
    ("version", 30),
    ("campaign", 15),
];
/// Every property key the generator can give an event, sorted.
pub fn property_keys() -> Vec<&'static str> {
    let mut keys: Vec<&str> = COMMON_KEYS
        .iter()
        .chain(&RARE_KEYS)
        .map(|(key, _)| *key)
        .collect();
    keys.sort_unstable();
    keys
}

/// Keys few events carry.
const RARE_KEYS: [(&str, u32); 20] = [
    ("coupon", 50),
    ("error_code", 20),
    ("experiment", 8),
    ("variant", 3),
    ("payment_method", 5),
    ("currency", 10),
    ("amount", 5000),
    ("items", 20),
    ("query", 2000),
    ("results", 100),
    ("file_type", 12),
    ("file_size", 3000),
    ("team_size", 50),
    ("role", 4),
    ("theme", 3),
    ("timezone", 30),
    ("screen", 15),
    ("duration_ms", 5000),
    ("retry", 5),
    ("source_app", 8),
];
/// The rare keys each event name carries (indexes into [`RARE_KEYS`]), in the order of
/// [`EVENT_NAMES`]: a purchase has a payment method and an amount, a search a query, an upload
/// a file type; the common keys (browser, country, …) go with any event.
const EVENT_RARE_KEYS: [&[usize]; 24] = [
    &[2, 3, 16, 19],     // page_view: experiment, variant, screen, source_app
    &[13, 15, 19, 18],   // login: role, timezone, source_app, retry
    &[17, 16],           // logout: duration_ms, screen
    &[8, 9, 19],         // search: query, results, source_app
    &[7, 6, 5, 0],       // add_to_cart: items, amount, currency, coupon
    &[7, 6],             // remove_from_cart: items, amount
    &[7, 6, 5, 0, 4],    // checkout: items, amount, currency, coupon, payment_method
    &[6, 5, 4, 0, 7],    // purchase: amount, currency, payment_method, coupon, items
    &[13, 12, 19, 2, 3], // signup: role, team_size, source_app, experiment, variant
    &[19, 16],           // share: source_app, screen
    &[16, 17],           // comment: screen, duration_ms
    &[16],               // like: screen
    &[10, 11, 17],       // download: file_type, file_size, duration_ms
    &[10, 11, 18, 17],   // upload: file_type, file_size, retry, duration_ms
    &[12, 13],           // invite: team_size, role
    &[6, 5, 4, 12],      // upgrade: amount, currency, payment_method, team_size
    &[6, 12],            // downgrade: amount, team_size
    &[1, 18, 16],        // error: error_code, retry, screen
    &[14, 15, 13],       // settings_changed: theme, timezone, role
    &[18, 19],           // password_reset: retry, source_app
    &[10, 11, 17],       // export: file_type, file_size, duration_ms
    &[10, 11, 18],       // import: file_type, file_size, retry
    &[19, 16, 2],        // notification_opened: source_app, screen, experiment
    &[17, 16, 3],        // video_played: duration_ms, screen, variant
];
const BROWSERS: [&str; 6] = ["chrome", "firefox", "safari", "edge", "opera", "samsung"];
const SYSTEMS: [&str; 5] = ["windows", "macos", "linux", "ios", "android"];
const PLANS: [&str; 4] = ["free", "pro", "team", "enterprise"];
const DEVICES: [&str; 3] = ["desktop", "mobile", "tablet"];

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// How many events.
    pub events: usize,
    /// How many applications (at most 8).
    pub applications: usize,
    /// How many event names (at most 24).
    pub event_names: usize,
    /// How many distinct users.
    pub users: u32,
    /// The most properties of one event (at most 30).
    pub max_properties: usize,
    /// The last instant of the data; events span `days` days up to it.
    pub end: OffsetDateTime,
    /// How many days the events span.
    pub days: u32,
    /// The seed: the same spec gives the same events.
    pub seed: u64,
}

impl Spec {
    /// The benchmark's data set: 5 applications, 20 event names, 100,000 users, 0 to 6
    /// properties from 10 common and 20 rare keys, over 90 days up to `end`.
    pub fn benchmark(events: usize, end: OffsetDateTime) -> Self {
        Self {
            events,
            applications: 5,
            event_names: 20,
            users: 100_000,
            max_properties: 6,
            end,
            days: 90,
            seed: 0x5eed_5eed,
        }
    }
}

/// The events of a [`Spec`], in time order.
///
/// ```
/// use spoor_engine::generate::{Generator, Spec};
/// use time::macros::datetime;
///
/// let events: Vec<_> = Generator::new(Spec::benchmark(1_000, datetime!(2026-11-28 0:00 UTC))).collect();
/// assert_eq!(events.len(), 1_000);
/// assert!(events.windows(2).all(|w| w[0].time() <= w[1].time()));
/// assert!(events.iter().all(|e| e.properties().len() <= 6));
/// ```
#[derive(Debug, Clone)]
pub struct Generator {
    spec: Spec,
    next: usize,
    rng: SplitMix,
    start: OffsetDateTime,
    step_micros: i64,
}

impl Generator {
    /// Starts generating.
    pub fn new(spec: Spec) -> Self {
        let span = i64::from(spec.days) * 86_400_000_000;
        let step_micros = span / i64::try_from(spec.events.max(1)).unwrap_or(i64::MAX);
        Self {
            start: spec.end - Duration::days(i64::from(spec.days)),
            rng: SplitMix(spec.seed),
            next: 0,
            step_micros: step_micros.max(1),
            spec,
        }
    }
}

impl Iterator for Generator {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        if self.next >= self.spec.events {
            return None;
        }
        let i = i64::try_from(self.next).unwrap_or(i64::MAX);
        self.next += 1;
        let rng = &mut self.rng;
        let jitter = rng.below(self.step_micros as u64) as i64;
        let time = self.start + Duration::microseconds(i * self.step_micros + jitter);

        let application = APPLICATIONS[rng.skewed(self.spec.applications.min(APPLICATIONS.len()))];
        let event = rng.skewed(self.spec.event_names.min(EVENT_NAMES.len()));
        let name = EVENT_NAMES[event];
        let own_rare = EVENT_RARE_KEYS[event];
        let mut builder = Event::builder(application, name, time);
        // Most events belong to a user; a few are anonymous.
        if rng.below(20) != 0 {
            let user = rng.skewed(self.spec.users as usize);
            builder = builder.distinct_id(format!("user-{user:06}"));
        }
        // Never more than the keys this event can have.
        let count = (rng.below(self.spec.max_properties.min(30) as u64 + 1) as usize)
            .min(COMMON_KEYS.len() + own_rare.len());
        let mut taken: Vec<usize> = Vec::with_capacity(count);
        while taken.len() < count {
            // Four in five properties are common ones; the others are the event's own.
            let key = if rng.below(5) == 0 {
                10 + own_rare[rng.skewed(own_rare.len())]
            } else {
                rng.skewed(COMMON_KEYS.len())
            };
            if !taken.contains(&key) {
                taken.push(key);
            }
        }
        for key in taken {
            let (name, values) = if key < 10 {
                COMMON_KEYS[key]
            } else {
                RARE_KEYS[key - 10]
            };
            let pick = rng.skewed(values as usize);
            let value = match name {
                "browser" => Value::from(BROWSERS[pick]),
                "os" => Value::from(SYSTEMS[pick]),
                "plan" => Value::from(PLANS[pick]),
                "device" => Value::from(DEVICES[pick]),
                "page" => Value::from(format!("/page/{pick}")),
                "amount" => Value::Float(pick as f64 / 4.0),
                "items" | "results" | "file_size" | "team_size" | "duration_ms" | "retry" => {
                    Value::Int(pick as i64)
                }
                "experiment" => Value::Bool(pick.is_multiple_of(2)),
                _ => Value::from(format!("{name}-{pick}")),
            };
            builder = builder.property(name, value);
        }
        Some(builder.build().expect("generated events are valid"))
    }
}

/// SplitMix64: small, fast and good enough for test data.
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// In `0..n`, low values far more likely than high ones (roughly Zipf-like).
    fn skewed(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64) * u * u * u) as usize % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rare_keys_go_with_their_events() {
        let end = OffsetDateTime::UNIX_EPOCH + Duration::days(100);
        for event in Generator::new(Spec::benchmark(20_000, end)) {
            let e = EVENT_NAMES.iter().position(|n| *n == event.name()).unwrap();
            for (key, _) in event.properties() {
                let common = COMMON_KEYS.iter().any(|(k, _)| *k == key.as_str());
                let own = EVENT_RARE_KEYS[e]
                    .iter()
                    .any(|&r| RARE_KEYS[r].0 == key.as_str());
                assert!(common || own, "{} has {}", event.name(), key.as_str());
            }
        }
    }
}
