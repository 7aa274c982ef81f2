//! What a page shows, read from its query string: the time window, the span of the charts, the
//! chosen event and property, and the filters on properties. Every value is checked; a bad one
//! is an error naming the parameter, for a 400 page. Links are written back from the same type
//! ([`View::href`]), so the URL always holds the whole state of the page.

use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroU32;

use spoor::{Filter, FilterError, Stat, Test, Window};
use spoor_proto::form::{Form, encode_component};
use time::macros::format_description;
use time::{Date, OffsetDateTime, Time};

use crate::plan::{MAX_TOP, Step};

/// The time window a page shows: a preset, or whole days of the calendar (`window=custom` with
/// `from` and `to`). [`Display`](fmt::Display) writes the `window` parameter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Period {
    /// `24h`.
    Last24Hours,
    /// `7d`.
    Last7Days,
    /// `30d`, the default.
    #[default]
    Last30Days,
    /// `90d`.
    Last90Days,
    /// `all`.
    AllTime,
    /// `custom`: the days `from` to `to`, both included (`from` ≤ `to`, each a day with a
    /// next day, in the years 1 to 9999, as [`View::parse`] checks).
    Custom {
        /// The first day.
        from: Date,
        /// The last day.
        to: Date,
    },
}

impl Period {
    /// The presets, in the order the window picker lists them.
    pub(crate) const PRESETS: [Self; 5] = [
        Self::Last24Hours,
        Self::Last7Days,
        Self::Last30Days,
        Self::Last90Days,
        Self::AllTime,
    ];

    /// The preset a `window` parameter names (`custom` is none: it needs its days).
    pub(crate) fn preset(key: &str) -> Option<Self> {
        Self::PRESETS.into_iter().find(|p| p.key() == key)
    }

    /// The `window` parameter's value.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Last24Hours => "24h",
            Self::Last7Days => "7d",
            Self::Last30Days => "30d",
            Self::Last90Days => "90d",
            Self::AllTime => "all",
            Self::Custom { .. } => "custom",
        }
    }

    /// Whether it is a custom window.
    pub(crate) fn is_custom(self) -> bool {
        matches!(self, Self::Custom { .. })
    }

    /// The window to ask over.
    pub(crate) fn window(self) -> Window {
        match self {
            Self::Last24Hours => Window::Last24Hours,
            Self::Last7Days => Window::Last7Days,
            Self::Last30Days => Window::Last30Days,
            Self::Last90Days => Window::Last90Days,
            Self::AllTime => Window::AllTime,
            Self::Custom { from, to } => {
                let start = from.with_time(Time::MIDNIGHT).assume_utc();
                // `View::parse` took only days with a next day.
                let end = to
                    .next_day()
                    .unwrap_or(to)
                    .with_time(Time::MIDNIGHT)
                    .assume_utc();
                Window::between(start, end).unwrap_or(Window::Last30Days)
            }
        }
    }

    /// A human name of the window.
    pub(crate) fn label(self) -> String {
        match self {
            Self::Last24Hours => "Last 24 hours".to_owned(),
            Self::Last7Days => "Last 7 days".to_owned(),
            Self::Last30Days => "Last 30 days".to_owned(),
            Self::Last90Days => "Last 90 days".to_owned(),
            Self::AllTime => "All time".to_owned(),
            Self::Custom { from, to } => format!("{from} to {to}"),
        }
    }

    /// What the window before this one is called: "previous 24 hours", "previous 8 days"
    /// (a custom window of 8 days), for the summary's comparison.
    pub(crate) fn previous_label(self) -> String {
        match self {
            Self::Last24Hours => "previous 24 hours".to_owned(),
            Self::Last7Days => "previous 7 days".to_owned(),
            Self::Last30Days => "previous 30 days".to_owned(),
            Self::Last90Days => "previous 90 days".to_owned(),
            Self::Custom { from, to } => {
                let days = (to - from).whole_days() + 1;
                if days == 1 {
                    "day before".to_owned()
                } else {
                    format!("previous {days} days")
                }
            }
            Self::AllTime => "previous window".to_owned(),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The span of a page's charts as chosen (`span`): `auto`, or a step, which the charts may
/// still coarsen (see [`plan`](crate::plan)). [`Display`](fmt::Display) writes the `span`
/// parameter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum SpanChoice {
    /// `auto`, the default: one that reads well over the window.
    #[default]
    Auto,
    /// `hour`, `day`, `week`, `month` or `year`.
    Fixed(Step),
}

impl SpanChoice {
    /// Every choice, in the order the span picker lists them.
    pub(crate) const ALL: [Self; 6] = [
        Self::Auto,
        Self::Fixed(Step::Hour),
        Self::Fixed(Step::Day),
        Self::Fixed(Step::Week),
        Self::Fixed(Step::Month),
        Self::Fixed(Step::Year),
    ];

    /// The choice a `span` parameter names, or the original dashboard's `time_range` (`1h`,
    /// `1d`, `1w`, `1mon`).
    pub(crate) fn from_param(text: &str) -> Option<Self> {
        let step = match text {
            "auto" => return Some(Self::Auto),
            "1h" => Step::Hour,
            "1d" => Step::Day,
            "1w" => Step::Week,
            "1mon" => Step::Month,
            key => Step::of_key(key)?,
        };
        Some(Self::Fixed(step))
    }

    /// The `span` parameter's value.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Fixed(step) => step.key(),
        }
    }

    /// Its name on the page.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Auto => "Auto",
            Self::Fixed(Step::Hour) => "Hour",
            Self::Fixed(Step::Day) => "Day",
            Self::Fixed(Step::Week) => "Week",
            Self::Fixed(Step::Month) => "Month",
            Self::Fixed(Step::Year) => "Year",
        }
    }
}

impl fmt::Display for SpanChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The most filters one request may carry (`filter=`, repeated).
pub(crate) const MAX_FILTERS: usize = 20;

/// A query parameter with a value the dashboard does not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadParam {
    /// The parameter.
    pub(crate) name: &'static str,
    /// What it was given.
    pub(crate) value: String,
    /// What it takes.
    pub(crate) expected: Cow<'static, str>,
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
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct View {
    /// The time window (`window`, and `from` and `to` for a custom one).
    pub(crate) period: Period,
    /// The span chosen (`span`), which the charts may coarsen (see [`plan`](crate::plan)).
    pub(crate) span: SpanChoice,
    /// The chosen event.
    pub(crate) event: Option<String>,
    /// The chosen property (of the chosen event; with none chosen, of all events, as the
    /// original's `property` without `event_name`).
    pub(crate) property: Option<String>,
    /// How many values of the property to list (at most [`MAX_TOP`]).
    pub(crate) top: Option<NonZeroU32>,
    /// What the numbers chart of the chosen property computes (`agg`; default `sum`).
    pub(crate) stat: Stat,
    /// Conditions on properties every question of the page holds to, all at once (`filter=`,
    /// repeated; at most [`MAX_FILTERS`], each once, in the order given).
    pub(crate) filters: Vec<Filter>,
    /// The parameters of the page's own question (a funnel's steps, a retention's events),
    /// set by that page after [`parse`](Self::parse) and kept by every link it makes; none on
    /// the other pages.
    pub(crate) page: Vec<(&'static str, String)>,
}

impl Default for View {
    fn default() -> Self {
        Self {
            period: Period::default(),
            span: SpanChoice::default(),
            event: None,
            property: None,
            top: None,
            stat: Stat::Sum,
            filters: Vec::new(),
            page: Vec::new(),
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
            expected: "a date like 2026-11-28 (years 1 to 9999)".into(),
        })
}

impl View {
    /// Reads a query string. The original dashboard's names are read too: `event_name` for
    /// `event`, and `time_range` (its chart span: `1h`, `1d`, `1w`, `1mon`) for `span`.
    pub(crate) fn parse(query: &str) -> Result<Self, BadParam> {
        let form = Form::decode(query);
        let mut view = Self::default();
        let get = |k: &str| form.get(k).map(str::trim).filter(|v| !v.is_empty());
        let window = get("window");
        if let Some(w) = window
            && w != "custom"
            && Period::preset(w).is_none()
        {
            return Err(BadParam {
                name: "window",
                value: w.to_owned(),
                expected: "24h, 7d, 30d, 90d, all or custom".into(),
            });
        }
        let from = get("from").map(|v| date("from", v)).transpose()?;
        let to = get("to").map(|v| date("to", v)).transpose()?;
        view.period = if from.is_some() || to.is_some() || window == Some("custom") {
            let (Some(from), Some(to)) = (from, to) else {
                return Err(BadParam {
                    name: if from.is_none() { "from" } else { "to" },
                    value: String::new(),
                    expected: "both `from` and `to` for a custom window".into(),
                });
            };
            if from > to {
                return Err(BadParam {
                    name: "to",
                    value: to.to_string(),
                    expected: "a day on or after `from`".into(),
                });
            }
            Period::Custom { from, to }
        } else {
            window.and_then(Period::preset).unwrap_or_default()
        };
        let (span_name, span) = match get("span") {
            Some(span) => ("span", Some(span)),
            None => ("time_range", get("time_range")),
        };
        if let Some(s) = span {
            view.span = SpanChoice::from_param(s).ok_or_else(|| BadParam {
                name: span_name,
                value: s.to_owned(),
                expected: "auto, hour, day, week, month or year (or 1h, 1d, 1w, 1mon)".into(),
            })?;
        }
        view.event = get("event")
            .or_else(|| get("event_name"))
            .map(str::to_owned);
        view.property = get("property").map(str::to_owned);
        if let Some(agg) = get("agg") {
            view.stat = Stat::from_name(agg).ok_or_else(|| BadParam {
                name: "agg",
                value: agg.to_owned(),
                expected: "sum, avg, min, max, median, perc90 or perc99".into(),
            })?;
        }
        if let Some(top) = get("top") {
            let bad = || BadParam {
                name: "top",
                value: top.to_owned(),
                expected: "a whole number of values from 1 to 1000".into(),
            };
            let n: NonZeroU32 = top.parse().map_err(|_| bad())?;
            if n.get() > MAX_TOP {
                return Err(bad());
            }
            view.top = Some(n);
        }
        view.filters = filters(&form)?;
        Ok(view)
    }

    /// The window to ask over.
    pub(crate) fn window(&self) -> Window {
        self.period.window()
    }

    /// The parameters of this view that differ from the defaults, in the order links write
    /// them (the filters last, one `filter` each).
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs: Vec<(&'static str, String)> = Vec::new();
        if self.period != Period::default() {
            pairs.push(("window", self.period.to_string()));
        }
        if let Period::Custom { from, to } = self.period {
            pairs.push(("from", from.to_string()));
            pairs.push(("to", to.to_string()));
        }
        if self.span != SpanChoice::default() {
            pairs.push(("span", self.span.to_string()));
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
        pairs.extend(self.filters.iter().map(|f| ("filter", f.to_string())));
        pairs.extend(self.page.iter().cloned());
        pairs
    }

    /// The URL of the page at `path` showing this view (only what differs from the defaults;
    /// `path` alone when nothing does): the one way the pages write a link, so every link keeps
    /// the whole state (window, span, event, property, filters…). `href("")` is the query
    /// string.
    pub(crate) fn href(&self, path: &str) -> String {
        self.href_with(path, &[])
    }

    /// [`href`](Self::href) with parameters of the page's own after the view's (a listing's
    /// `offset`).
    pub(crate) fn href_with(&self, path: &str, extra: &[(&str, String)]) -> String {
        let pairs = self.pairs();
        let all = pairs
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .chain(extra.iter().map(|(k, v)| (*k, v.as_str())));
        let mut url = path.to_owned();
        for (i, (k, v)) in all.enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(k);
            url.push('=');
            url.push_str(&encode_component(v));
        }
        url
    }

    /// The parameters of this view but those named in `except`, for the hidden fields of a
    /// form that changes those (a form's `GET` sends only its fields).
    pub(crate) fn hidden(&self, except: &[&str]) -> Vec<(&'static str, String)> {
        let mut pairs = self.pairs();
        pairs.retain(|(k, _)| !except.contains(k));
        pairs
    }

    /// This view without the page's own parameters ([`page`](Self::page)): for links to other
    /// pages, and the hidden fields of a form that sets them.
    pub(crate) fn without_page(&self) -> Self {
        let mut view = self.clone();
        view.page.clear();
        view
    }

    /// This view with `filter` added (kept once: a filter already there changes nothing).
    pub(crate) fn with_filter(&self, filter: Filter) -> Self {
        let mut view = self.clone();
        if !view.filters.contains(&filter) {
            view.filters.push(filter);
        }
        view
    }

    /// This view without `filter`.
    pub(crate) fn without_filter(&self, filter: &Filter) -> Self {
        let mut view = self.clone();
        view.filters.retain(|f| f != filter);
        view
    }

    /// This view with no filters.
    pub(crate) fn without_filters(&self) -> Self {
        Self {
            filters: Vec::new(),
            ..self.clone()
        }
    }

    /// The filters as people write them, `plan=pro · amount>=10`; `None` with none.
    pub(crate) fn filters_label(&self) -> Option<String> {
        (!self.filters.is_empty()).then(|| {
            self.filters
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" · ")
        })
    }

    /// This view with another window.
    pub(crate) fn with_period(&self, period: Period) -> Self {
        Self {
            period,
            ..self.clone()
        }
    }

    /// This view with another span.
    pub(crate) fn with_span(&self, span: SpanChoice) -> Self {
        Self {
            span,
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

/// The filters of a query string: every `filter=` in order, each once.
fn filters(form: &Form) -> Result<Vec<Filter>, BadParam> {
    filter_list(form, "filter")
}

/// The filters of the parameter `name` (`filter`, a funnel step's `filter.2`, a retention's
/// `filter.start`), in order, each once, at most [`MAX_FILTERS`]; an empty one (a filter field
/// sent blank) is none. The text is read as it is, spaces and all, so a value with spaces
/// round-trips.
pub(crate) fn filter_list(form: &Form, name: &'static str) -> Result<Vec<Filter>, BadParam> {
    let mut filters: Vec<Filter> = Vec::new();
    for (_, text) in form.pairs().iter().filter(|(k, _)| k == name) {
        if text.trim().is_empty() {
            continue;
        }
        let filter = text.parse().map_err(|err: FilterError| {
            bad(
                name,
                text.clone(),
                format!("a filter such as plan=pro or amount>=10 ({err})"),
            )
        })?;
        if !filters.contains(&filter) {
            filters.push(filter);
        }
    }
    if filters.len() > MAX_FILTERS {
        return Err(bad(
            name,
            format!("{} filters", filters.len()),
            format!("at most {MAX_FILTERS} filters; remove some"),
        ));
    }
    Ok(filters)
}

/// A [`BadParam`]: the parameter, the value it was given, and what it takes.
pub(crate) fn bad(
    name: &'static str,
    value: impl Into<String>,
    expected: impl Into<Cow<'static, str>>,
) -> BadParam {
    BadParam {
        name,
        value: value.into(),
        expected: expected.into(),
    }
}

/// The filter "`key` is `value`", written so that any value round-trips (`\|`, `\\`, a lone
/// `*` escaped); `None` when `key` is no property key.
/// `None` too for an empty value, which no filter's text can say.
pub(crate) fn equals(key: &str, value: &str) -> Option<Filter> {
    if value.is_empty() {
        return None;
    }
    Some(Filter::new(
        key.parse().ok()?,
        Test::Equals(value.to_owned()),
    ))
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
        assert!(v.period.is_custom());
        assert_eq!(v.span, SpanChoice::Fixed(Step::Day));
        assert_eq!(v.event.as_deref(), Some("log in"));
        assert_eq!(View::parse(&v.href("")[1..]).unwrap(), v);
        assert_eq!(crate::plan::preferred(&v), Step::Day);
        assert!(matches!(v.window(), Window::Between { .. }));
        assert_eq!(View::parse("").unwrap().href(""), "");
    }

    #[test]
    fn windows_and_spans_read_back_from_what_they_write() {
        for period in Period::PRESETS {
            assert_eq!(Period::preset(&period.to_string()), Some(period));
            let view = View::default().with_period(period);
            assert_eq!(View::parse(&view.href("").replace('?', "")).unwrap(), view);
        }
        assert_eq!(Period::preset("custom"), None);
        assert_eq!(View::parse("").unwrap().period, Period::Last30Days);
        for span in SpanChoice::ALL {
            assert_eq!(SpanChoice::from_param(&span.to_string()), Some(span));
            let view = View::default().with_span(span);
            assert_eq!(View::parse(&view.href("").replace('?', "")).unwrap(), view);
        }
        let custom = View::parse("window=7d&from=2026-11-01&to=2026-11-08").unwrap();
        assert_eq!(custom.period.label(), "2026-11-01 to 2026-11-08");
        assert_eq!(custom.period.previous_label(), "previous 8 days");
        assert_eq!(
            custom.href(""),
            "?window=custom&from=2026-11-01&to=2026-11-08"
        );
        assert_eq!(custom.with_period(Period::AllTime).href(""), "?window=all");
    }

    #[test]
    fn the_originals_names_are_read() {
        let v = View::parse("event_name=login&property=plan&time_range=1w").unwrap();
        assert_eq!(
            (v.event.as_deref(), v.span),
            (Some("login"), SpanChoice::Fixed(Step::Week))
        );
        assert_eq!(v.href(""), "?span=week&event=login&property=plan");
    }

    #[test]
    fn a_property_needs_no_event() {
        let v = View::parse("property=plan").unwrap();
        assert_eq!(
            (v.event.as_deref(), v.property.as_deref()),
            (None, Some("plan"))
        );
        assert_eq!(v.href(""), "?property=plan");
        // Choosing an event starts its own properties afresh; the window keeps the property.
        assert_eq!(v.with_event(Some("login")).href(""), "?event=login");
        assert_eq!(
            v.with_period(Period::Last7Days).href(""),
            "?window=7d&property=plan"
        );
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
    fn filters_are_read_in_order_once_and_written_back() {
        let v = View::parse(
            "filter=plan%3Dpro&window=7d&filter=amount%3E%3D10&filter=plan%3Dpro&filter=",
        )
        .unwrap();
        let texts: Vec<String> = v.filters.iter().map(ToString::to_string).collect();
        assert_eq!(texts, ["plan=pro", "amount>=10"]);
        assert_eq!(
            v.href("/applications/shop"),
            "/applications/shop?window=7d&filter=plan%3Dpro&filter=amount%3E%3D10"
        );
        assert_eq!(View::parse(&v.href("")[1..]).unwrap(), v);
        assert_eq!(v.filters_label().as_deref(), Some("plan=pro · amount>=10"));
        // Every other link keeps them; removing one keeps the rest.
        assert!(
            v.with_period(Period::Last24Hours)
                .href("")
                .ends_with("&filter=plan%3Dpro&filter=amount%3E%3D10")
        );
        assert!(
            v.with_event(Some("login"))
                .href("")
                .contains("filter=plan%3Dpro")
        );
        assert_eq!(
            v.without_filter(&v.filters[0]).href(""),
            "?window=7d&filter=amount%3E%3D10"
        );
        assert_eq!(v.without_filters().href(""), "?window=7d");
        assert_eq!(
            v.with_filter(v.filters[1].clone()),
            v,
            "a filter is kept once"
        );
        assert_eq!(
            v.href_with("/p", &[("offset", "50".to_owned())]),
            "/p?window=7d&filter=plan%3Dpro&filter=amount%3E%3D10&offset=50"
        );
        // A form that sets the window keeps the rest as hidden fields.
        let hidden: Vec<&str> = v.hidden(&["window"]).iter().map(|(k, _)| *k).collect();
        assert_eq!(hidden, ["filter", "filter"]);
    }

    #[test]
    fn a_bad_filter_is_a_400_that_says_what_to_write() {
        for (query, says) in [
            ("filter=plan", "has no operator: write key=value"),
            ("filter=amount%3Cten", "not a number"),
            ("filter=user-agent%3Dx", "filter key"),
            ("filter=plan%3D", "has no value"),
        ] {
            let bad = View::parse(query).unwrap_err();
            assert_eq!(bad.name, "filter", "{query}");
            let text = bad.to_string();
            assert!(text.contains(says), "{query}: {text}");
            assert!(text.starts_with("invalid value"), "{text}");
        }
        let many: String = (0..=MAX_FILTERS)
            .map(|i| format!("filter=k{i}%3D1&"))
            .collect();
        let bad = View::parse(&many).unwrap_err();
        assert!(bad.to_string().contains("at most 20 filters"), "{bad}");
    }

    #[test]
    fn a_values_filter_round_trips_through_its_link() {
        for value in [
            "pro",
            "a|b",
            r"back\slash",
            "*",
            "*pro",
            " spaced out ",
            "a&b=c#d?e%f+g",
            "ünï ✓",
            r"\",
            "|",
        ] {
            let filter = equals("plan", value).unwrap();
            let link = View::default()
                .with_filter(filter)
                .href("/applications/shop");
            let query = link.split_once('?').map(|(_, q)| q).unwrap();
            let back = View::parse(query).unwrap_or_else(|e| panic!("{value:?}: {e}"));
            assert_eq!(
                back.filters.iter().map(Filter::test).collect::<Vec<_>>(),
                [&Test::Equals(value.to_owned())],
                "{value:?} via {link}"
            );
        }
        assert_eq!(equals("plan", ""), None, "no filter says an empty value");
        assert_eq!(equals("user-agent", "x"), None, "nor a key that is none");
    }

    proptest::proptest! {
        #![proptest_config(spoor_testkit::proptest_config_with_cases(64))]

        /// Any value of any property reads back from the link that filters to it.
        #[test]
        fn any_value_round_trips(key in "[a-z][a-z0-9_]{0,8}", value in "\\PC{1,16}") {
            let filter = equals(&key, &value).unwrap();
            let view = View::default().with_filter(filter.clone());
            let back = View::parse(&view.href("")[1..]).unwrap();
            proptest::prop_assert_eq!(back.filters, vec![filter]);
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
