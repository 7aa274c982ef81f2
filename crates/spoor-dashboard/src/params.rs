//! What a page shows, read from its query string: the time window, the span of the charts, the
//! chosen event and property. Every value is checked; a bad one is an error naming the
//! parameter, for a 400 page. Links are written back from the same type, so the URL always
//! holds the whole state of the page.

use std::fmt;
use std::num::NonZeroU32;

use spoor::{Stat, Window};
use spoor_proto::form::{Form, encode_component};
use time::macros::format_description;
use time::{Date, OffsetDateTime, Time};

use crate::plan::MAX_TOP;

/// The window presets, as they appear in URLs.
pub(crate) const WINDOWS: [(&str, &str); 5] = [
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("all", "All time"),
];

/// The spans, as they appear in URLs.
pub(crate) const SPANS: [(&str, &str); 6] = [
    ("auto", "Auto"),
    ("hour", "Hour"),
    ("day", "Day"),
    ("week", "Week"),
    ("month", "Month"),
    ("year", "Year"),
];

/// A query parameter with a value the dashboard does not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadParam {
    /// The parameter.
    pub(crate) name: &'static str,
    /// What it was given.
    pub(crate) value: String,
    /// What it takes.
    pub(crate) expected: &'static str,
}

impl fmt::Display for BadParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid value {:?} for the parameter `{}`: expected {}",
            self.value, self.name, self.expected
        )
    }
}

/// The state of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct View {
    /// The window's key (`24h`, `7d`, `30d`, `90d`, `all`, `custom`).
    pub(crate) window_key: String,
    /// Custom window's first day.
    pub(crate) from: Option<Date>,
    /// Custom window's last day (included).
    pub(crate) to: Option<Date>,
    /// The span's key (`auto`, `hour`, `day`, `week`, `month`, `year`): the one chosen, which
    /// the charts may coarsen (see [`plan`](crate::plan)).
    pub(crate) span_key: String,
    /// The chosen event.
    pub(crate) event: Option<String>,
    /// The chosen property (of the chosen event; with none chosen, of all events, as the
    /// original's `property` without `event_name`).
    pub(crate) property: Option<String>,
    /// How many values of the property to list (at most [`MAX_TOP`]).
    pub(crate) top: Option<NonZeroU32>,
    /// What the numbers chart of the chosen property computes (`agg`; default `sum`).
    pub(crate) stat: Stat,
}

impl Default for View {
    fn default() -> Self {
        Self {
            window_key: "30d".to_owned(),
            from: None,
            to: None,
            span_key: "auto".to_owned(),
            event: None,
            property: None,
            top: None,
            stat: Stat::Sum,
        }
    }
}

fn date(name: &'static str, value: &str) -> Result<Date, BadParam> {
    Date::parse(value, format_description!("[year]-[month]-[day]"))
        .ok()
        // A day after it must exist too (the window ends at the next midnight).
        .filter(|d| d.next_day().is_some() && (1..=9999).contains(&d.year()))
        .ok_or_else(|| BadParam {
            name,
            value: value.to_owned(),
            expected: "a date like 2026-11-28 (years 1 to 9999)",
        })
}

impl View {
    /// Reads a query string. The original dashboard's names are read too: `event_name` for
    /// `event`, and `time_range` (its chart span: `1h`, `1d`, `1w`, `1mon`) for `span`.
    pub(crate) fn parse(query: &str) -> Result<Self, BadParam> {
        let form = Form::decode(query);
        let mut view = Self::default();
        let get = |k: &str| form.get(k).map(str::trim).filter(|v| !v.is_empty());
        if let Some(w) = get("window") {
            if w != "custom" && !WINDOWS.iter().any(|(k, _)| *k == w) {
                return Err(BadParam {
                    name: "window",
                    value: w.to_owned(),
                    expected: "24h, 7d, 30d, 90d, all or custom",
                });
            }
            view.window_key = w.to_owned();
        }
        view.from = get("from").map(|v| date("from", v)).transpose()?;
        view.to = get("to").map(|v| date("to", v)).transpose()?;
        if view.from.is_some() || view.to.is_some() {
            view.window_key = "custom".to_owned();
        }
        if view.window_key == "custom" {
            let (Some(from), Some(to)) = (view.from, view.to) else {
                return Err(BadParam {
                    name: if view.from.is_none() { "from" } else { "to" },
                    value: String::new(),
                    expected: "both `from` and `to` for a custom window",
                });
            };
            if from > to {
                return Err(BadParam {
                    name: "to",
                    value: to.to_string(),
                    expected: "a day on or after `from`",
                });
            }
        }
        let span = get("span").or_else(|| get("time_range"));
        if let Some(s) = span {
            view.span_key = match s {
                "auto" | "hour" | "day" | "week" | "month" | "year" => s.to_owned(),
                "1h" => "hour".to_owned(),
                "1d" => "day".to_owned(),
                "1w" => "week".to_owned(),
                "1mon" => "month".to_owned(),
                _ => {
                    return Err(BadParam {
                        name: if get("span").is_some() {
                            "span"
                        } else {
                            "time_range"
                        },
                        value: s.to_owned(),
                        expected: "auto, hour, day, week, month or year (or 1h, 1d, 1w, 1mon)",
                    });
                }
            };
        }
        view.event = get("event")
            .or_else(|| get("event_name"))
            .map(str::to_owned);
        view.property = get("property").map(str::to_owned);
        if let Some(agg) = get("agg") {
            view.stat = Stat::from_name(agg).ok_or_else(|| BadParam {
                name: "agg",
                value: agg.to_owned(),
                expected: "sum, avg, min, max, median, perc90 or perc99",
            })?;
        }
        if let Some(top) = get("top") {
            let bad = || BadParam {
                name: "top",
                value: top.to_owned(),
                expected: "a whole number of values from 1 to 1000",
            };
            let n: NonZeroU32 = top.parse().map_err(|_| bad())?;
            if n.get() > MAX_TOP {
                return Err(bad());
            }
            view.top = Some(n);
        }
        Ok(view)
    }

    /// The window to ask over.
    pub(crate) fn window(&self) -> Window {
        match (self.window_key.as_str(), self.from, self.to) {
            ("24h", ..) => Window::Last24Hours,
            ("7d", ..) => Window::Last7Days,
            ("90d", ..) => Window::Last90Days,
            ("all", ..) => Window::AllTime,
            ("custom", Some(from), Some(to)) => {
                let start = from.with_time(Time::MIDNIGHT).assume_utc();
                // `parse` took only days with a next day.
                let end = to
                    .next_day()
                    .unwrap_or(to)
                    .with_time(Time::MIDNIGHT)
                    .assume_utc();
                Window::between(start, end).unwrap_or(Window::Last30Days)
            }
            _ => Window::Last30Days,
        }
    }

    /// A human name of the window.
    pub(crate) fn window_label(&self) -> String {
        match (self.window_key.as_str(), self.from, self.to) {
            ("custom", Some(from), Some(to)) => format!("{from} to {to}"),
            (key, ..) => WINDOWS
                .iter()
                .find(|(k, _)| *k == key)
                .map_or_else(|| key.to_owned(), |(_, label)| (*label).to_owned()),
        }
    }

    /// What the window before this one is called: "previous 24 hours", "previous 8 days"
    /// (a custom window of 8 days), for the summary's comparison.
    pub(crate) fn previous_label(&self) -> String {
        match (self.window_key.as_str(), self.from, self.to) {
            ("24h", ..) => "previous 24 hours".to_owned(),
            ("7d", ..) => "previous 7 days".to_owned(),
            ("30d", ..) => "previous 30 days".to_owned(),
            ("90d", ..) => "previous 90 days".to_owned(),
            ("custom", Some(from), Some(to)) => {
                let days = (to - from).whole_days() + 1;
                if days == 1 {
                    "day before".to_owned()
                } else {
                    format!("previous {days} days")
                }
            }
            _ => "previous window".to_owned(),
        }
    }

    /// The query string of this view (only what differs from the defaults), `?`-prefixed
    /// when not empty.
    pub(crate) fn query(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if self.window_key != "30d" {
            pairs.push(("window", self.window_key.clone()));
        }
        if self.window_key == "custom" {
            if let Some(from) = self.from {
                pairs.push(("from", from.to_string()));
            }
            if let Some(to) = self.to {
                pairs.push(("to", to.to_string()));
            }
        }
        if self.span_key != "auto" {
            pairs.push(("span", self.span_key.clone()));
        }
        if let Some(event) = &self.event {
            pairs.push(("event", event.clone()));
        }
        if let Some(property) = &self.property {
            pairs.push(("property", property.clone()));
        }
        if self.stat != Stat::Sum {
            pairs.push(("agg", self.stat.name().to_owned()));
        }
        if let Some(top) = self.top {
            pairs.push(("top", top.to_string()));
        }
        if pairs.is_empty() {
            return String::new();
        }
        let encoded: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode_component(v)))
            .collect();
        format!("?{}", encoded.join("&"))
    }

    /// This view with another window.
    pub(crate) fn with_window(&self, key: &str) -> Self {
        Self {
            window_key: key.to_owned(),
            from: None,
            to: None,
            ..self.clone()
        }
    }

    /// This view with another span.
    pub(crate) fn with_span(&self, key: &str) -> Self {
        Self {
            span_key: key.to_owned(),
            ..self.clone()
        }
    }

    /// This view narrowed to `event` (`None`: all events), with no property.
    pub(crate) fn with_event(&self, event: Option<&str>) -> Self {
        Self {
            event: event.map(str::to_owned),
            property: None,
            ..self.clone()
        }
    }

    /// This view with the numbers chart computing `stat`.
    pub(crate) fn with_stat(&self, stat: Stat) -> Self {
        Self {
            stat,
            ..self.clone()
        }
    }

    /// This view with `property` chosen (`None`: none).
    pub(crate) fn with_property(&self, property: Option<&str>) -> Self {
        Self {
            property: property.map(str::to_owned),
            ..self.clone()
        }
    }
}

/// Today's date in UTC, for the custom window's inputs.
pub(crate) fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_back_every_parameter() {
        let v = View::parse("window=custom&from=2026-11-01&to=2026-11-07&span=day&event=log%20in&property=plan&top=5").unwrap();
        assert_eq!(v.window_key, "custom");
        assert_eq!(v.event.as_deref(), Some("log in"));
        assert_eq!(View::parse(&v.query()[1..]).unwrap(), v);
        assert_eq!(crate::plan::preferred(&v), crate::plan::Step::Day);
        assert!(matches!(v.window(), Window::Between { .. }));
        assert_eq!(View::parse("").unwrap().query(), "");
    }

    #[test]
    fn the_originals_names_are_read() {
        let v = View::parse("event_name=login&property=plan&time_range=1w").unwrap();
        assert_eq!(
            (v.event.as_deref(), v.span_key.as_str()),
            (Some("login"), "week")
        );
    }

    #[test]
    fn a_property_needs_no_event() {
        let v = View::parse("property=plan").unwrap();
        assert_eq!(
            (v.event.as_deref(), v.property.as_deref()),
            (None, Some("plan"))
        );
        assert_eq!(v.query(), "?property=plan");
        // Choosing an event starts its own properties afresh; the window keeps the property.
        assert_eq!(v.with_event(Some("login")).query(), "?event=login");
        assert_eq!(v.with_window("7d").query(), "?window=7d&property=plan");
    }

    #[test]
    fn bad_values_name_the_parameter() {
        for (query, name) in [
            ("window=1y", "window"),
            ("span=fortnight", "span"),
            ("time_range=2d", "time_range"),
            ("from=2026-13-01&to=2026-12-01", "from"),
            ("window=custom&from=2026-11-01", "to"),
            ("from=2026-11-08&to=2026-11-01", "to"),
            ("from=2026-01-01&to=9999-12-31", "to"),
            ("from=0000-12-31&to=2026-12-01", "from"),
            ("from=2026-01-01&to=+10000-01-01", "to"),
            ("event=x&top=0", "top"),
            ("event=x&top=1001", "top"),
            ("event=x&top=99999999999", "top"),
        ] {
            assert_eq!(View::parse(query).unwrap_err().name, name, "{query}");
        }
    }

    #[test]
    fn auto_spans_fit_the_window() {
        use crate::plan::{Step, preferred};
        let step = |q: &str| preferred(&View::parse(q).unwrap());
        assert_eq!(step("window=24h"), Step::Hour);
        assert_eq!(step("window=90d"), Step::Day);
        assert_eq!(step("window=all"), Step::Week);
        assert_eq!(step("from=2020-01-01&to=2026-01-01"), Step::Month);
        assert_eq!(step("from=1900-01-01&to=2026-01-01"), Step::Year);
        assert_eq!(step("window=7d&span=year"), Step::Year);
        assert_eq!(
            View::parse("top=1000&event=x")
                .unwrap()
                .top
                .map(NonZeroU32::get),
            Some(1000)
        );
    }
}
