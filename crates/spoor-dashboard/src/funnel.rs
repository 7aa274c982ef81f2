//! The funnel page: its parameters (read from the query string and kept in every link), the
//! question asked, the page (a builder, a bar chart, a table of the steps, the breakdown), and
//! its JSON and CSV.
//!
//! Parameters (all optional but `steps`; without steps the page shows the builder only):
//!
//! | parameter | meaning | example |
//! |---|---|---|
//! | `steps` | the steps' events, in order, `,`-separated (`\,` and `\\` inside a name) | `steps=visit,signup,purchase` |
//! | `step` | the same, one per parameter (what the page's form sends; empty ones skipped) | `step=visit&step=signup` |
//! | `within` | the conversion window: a number and `m`, `h`, `d` or `w`, 1 minute to 90 days (default `7d`) | `within=1h` |
//! | `breakdown` | a property of step 1 to split the users by (their first step-1 event's value) | `breakdown=plan` |
//! | `filter.N` | a filter on step `N`'s events (from 1), repeatable, as `filter=` | `filter.3=amount>=10` |

use std::time::Duration;

use maud::{Markup, html};
use spoor::answer::{FunnelGroup, FunnelReport, FunnelStep};
use spoor::{AsyncRetriever, Filter, Funnel, FunnelError, Key, Step};
use spoor_proto::form::Form;

use crate::chart::group;
use crate::data::{self, PageError, QuestionPage};
use crate::pages;
use crate::params::{self, BadParam, View, bad, filter_list};
use spoor::MAX_FUNNEL_STEPS as MAX_STEPS;

/// The parameters of the steps' filters, step by step.
const STEP_FILTERS: [&str; MAX_STEPS] = [
    "filter.1",
    "filter.2",
    "filter.3",
    "filter.4",
    "filter.5",
    "filter.6",
    "filter.7",
    "filter.8",
    "filter.9",
    "filter.10",
];

/// A step of `event` holding to `filters` (a funnel's, or a retention's start or return).
pub(crate) fn step(event: &str, filters: &[Filter]) -> Step {
    filters.iter().cloned().fold(Step::new(event), Step::filter)
}

/// What `steps` takes.
const STEPS: &str = "2 to 10 steps, each an event, in order: steps=visit,signup,purchase";

/// What `within` takes.
const WITHIN: &str = "a conversion window from 1 minute to 90 days: a number and m, h, d or w, like 30m, 12h, 7d or 2w";

/// The conversion window unless one is asked for.
pub(crate) const DEFAULT_WITHIN: &str = "7d";

/// A funnel as the page's parameters state it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FunnelParams {
    /// The steps' events and filters, in order.
    pub(crate) steps: Vec<(String, Vec<Filter>)>,
    /// The conversion window as written (`7d`).
    pub(crate) within_key: String,
    /// The conversion window.
    pub(crate) within: Duration,
    /// The breakdown's property.
    pub(crate) breakdown: Option<Key>,
}

impl Default for FunnelParams {
    fn default() -> Self {
        Self {
            steps: Vec::new(),
            within_key: DEFAULT_WITHIN.to_owned(),
            within: Duration::from_secs(7 * 86_400),
            breakdown: None,
        }
    }
}

/// Reads a duration written as a whole number and a unit: `30m`, `12h`, `7d`, `2w`.
pub(crate) fn duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = text.split_at(split);
    let n: u64 = n.parse().ok()?;
    let unit = match unit {
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    n.checked_mul(unit).map(Duration::from_secs)
}

/// Splits `a,b\,c` into `a` and `b,c`.
fn split_steps(text: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        let last = out.len() - 1;
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    out[last].push(next);
                }
            }
            ',' => out.push(String::new()),
            c => out[last].push(c),
        }
    }
    out
}

fn escape_step(event: &str) -> String {
    event.replace('\\', "\\\\").replace(',', "\\,")
}

impl FunnelParams {
    /// Reads a query string: `None` when it names no step.
    pub(crate) fn parse(query: &str) -> Result<Option<Self>, BadParam> {
        let form = Form::decode(query);
        let mut params = Self::default();
        // Each step keeps the number it is given in the query (`filter.N` refers to it), and
        // empty ones are dropped with their filters.
        let numbered: Vec<(usize, String)> = match form.get("steps") {
            Some(steps) if !steps.trim().is_empty() => {
                split_steps(steps).into_iter().enumerate().collect()
            }
            _ => form
                .pairs()
                .iter()
                .filter(|(k, _)| k == "step")
                .map(|(_, v)| v.clone())
                .enumerate()
                .collect(),
        };
        if numbered.len() > MAX_STEPS {
            let names: Vec<&str> = numbered.iter().map(|(_, e)| e.as_str()).collect();
            return Err(bad("steps", names.join(","), STEPS));
        }
        // A step filter names a step position the query has.
        if let Some((key, _)) = form.pairs().iter().find(|(k, _)| {
            k.starts_with("filter.") && !STEP_FILTERS[..numbered.len()].contains(&k.as_str())
        }) {
            return Err(bad(
                "filter.N",
                key.clone(),
                format!(
                    "filter.1 to filter.{} (a filter on a step the funnel has: it has {} \
                     step positions)",
                    numbered.len(),
                    numbered.len()
                ),
            ));
        }
        for ((_, event), name) in numbered.iter().zip(STEP_FILTERS) {
            let event = event.trim();
            if event.is_empty() {
                continue;
            }
            params
                .steps
                .push((event.to_owned(), filter_list(&form, name)?));
        }
        if let Some(within) = form.get("within").map(str::trim).filter(|v| !v.is_empty()) {
            params.within = duration(within).ok_or_else(|| bad("within", within, WITHIN))?;
            params.within_key = within.to_owned();
        }
        if let Some(key) = form
            .get("breakdown")
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            params.breakdown = Some(
                Key::new(key)
                    .map_err(|e| bad("breakdown", key, format!("a property key ({e})")))?,
            );
        }
        if params.steps.is_empty() {
            return Ok(None);
        }
        params.funnel()?;
        Ok(Some(params))
    }

    /// The funnel to ask.
    pub(crate) fn funnel(&self) -> Result<Funnel, BadParam> {
        let steps = self
            .steps
            .iter()
            .map(|(event, filters)| step(event, filters));
        let funnel = Funnel::new(steps, self.within).map_err(|e| match e {
            FunnelError::Steps(_) => bad("steps", self.steps_text(), STEPS),
            _ => bad("within", &self.within_key, WITHIN),
        })?;
        Ok(match &self.breakdown {
            Some(key) => funnel.breakdown(key.clone()),
            None => funnel,
        })
    }

    fn steps_text(&self) -> String {
        let names: Vec<String> = self.steps.iter().map(|(e, _)| escape_step(e)).collect();
        names.join(",")
    }

    /// The funnel's parameters as query pairs, for [`View::page`]: every link of the page
    /// keeps them.
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![("steps", self.steps_text())];
        if self.within_key != DEFAULT_WITHIN {
            pairs.push(("within", self.within_key.clone()));
        }
        if let Some(key) = &self.breakdown {
            pairs.push(("breakdown", key.as_str().to_owned()));
        }
        for ((_, filters), name) in self.steps.iter().zip(STEP_FILTERS) {
            pairs.extend(filters.iter().map(|f| (name, f.to_string())));
        }
        pairs
    }

    /// The label of step `i` (from 0): its event, and its filters in parentheses.
    pub(crate) fn label(&self, i: usize) -> String {
        let Some((event, filters)) = self.steps.get(i) else {
            return String::new();
        };
        if filters.is_empty() {
            return event.clone();
        }
        let filters: Vec<String> = filters.iter().map(ToString::to_string).collect();
        format!("{event} ({})", filters.join(", "))
    }
}

/// A share `0.0..=1.0` as a percentage with one decimal; `–` for none.
fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "–".to_owned(), |s| format!("{:.1} %", s * 100.0))
}

/// A wait as people read one: `45 s`, `12 min`, `3.5 h`, `2.1 days`.
pub(crate) fn wait(time: Duration) -> String {
    match time.as_secs_f64() {
        s if s < 90.0 => format!("{s:.0} s"),
        s if s < 90.0 * 60.0 => format!("{:.0} min", s / 60.0),
        s if s < 36.0 * 3_600.0 => format!("{:.1} h", s / 3_600.0),
        s => format!("{:.1} days", s / 86_400.0),
    }
}

/// The `viewBox` of the bar chart.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 40.0;
const SIDE: f64 = 12.0;

/// The steps as bars, each as tall as its share of step 1, with the users lost since the step
/// before drawn pale above it; every bar says its users and conversion in a `<title>`.
fn chart(title: &str, labels: &[String], steps: &[FunnelStep]) -> Markup {
    let first = steps.first().map_or(0, |s| s.users);
    let slot = (WIDTH - 2.0 * SIDE) / steps.len().max(1) as f64;
    let bar = slot * 0.62;
    let plot = HEIGHT - TOP - BOTTOM;
    let height = |users: u64| {
        if first == 0 {
            0.0
        } else {
            plot * users as f64 / first as f64
        }
    };
    let label = |i: usize| labels.get(i).map_or("", String::as_str);
    html! {
        figure.chart.funnel-chart {
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } width="100%" role="img" aria-label=(title) {
                line.axis x1=(SIDE) x2=(WIDTH - SIDE) y1=(TOP + plot) y2=(TOP + plot) {}
                @for (i, step) in steps.iter().enumerate() {
                    @let x = SIDE + slot * i as f64 + (slot - bar) / 2.0;
                    @let h = height(step.users);
                    @let before = if i == 0 { step.users } else { steps[i - 1].users };
                    @let lost = (height(before) - h).max(0.0);
                    g.step {
                        title {
                            "Step " (i + 1) ": " (label(i)) " · " (group(u128::from(step.users))) " users · "
                            (percent(step.from_first)) " of step 1"
                            @if i > 0 { " · " (percent(step.from_previous)) " of step " (i) }
                        }
                        @if lost > 0.0 {
                            rect.lost x=(format!("{x:.1}")) y=(format!("{:.1}", TOP + plot - h - lost)) width=(format!("{bar:.1}")) height=(format!("{lost:.1}")) {}
                        }
                        rect.kept x=(format!("{x:.1}")) y=(format!("{:.1}", TOP + plot - h)) width=(format!("{bar:.1}")) height=(format!("{h:.1}")) {}
                        text.value x=(format!("{:.1}", x + bar / 2.0)) y=(format!("{:.1}", TOP + plot - h - lost - 6.0)) text-anchor="middle" {
                            (group(u128::from(step.users))) " · " (percent(step.from_first))
                        }
                        text.label x=(format!("{:.1}", x + bar / 2.0)) y=(format!("{:.1}", HEIGHT - BOTTOM + 18.0)) text-anchor="middle" {
                            (i + 1) ". " (short(label(i), (slot / 7.0) as usize))
                        }
                    }
                }
            }
        }
    }
}

/// `text` cut to `max` characters with an ellipsis.
fn short(text: &str, max: usize) -> String {
    let max = max.max(4);
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

/// The steps as a table: users, conversion from the step before and from step 1, the users
/// lost, and the median time from the step before.
fn table(caption: Markup, labels: &[String], steps: &[FunnelStep]) -> Markup {
    html! {
        div.table-scroll { table.data.funnel {
            caption { (caption) }
            thead { tr {
                th { "Step" } th.num { "Users" } th.num { "From previous" } th.num { "From step 1" }
                th.num { "Dropped" } th.num { "Median time" }
            } }
            tbody {
                @for (i, step) in steps.iter().enumerate() {
                    tr {
                        td { (i + 1) ". " (labels.get(i).map_or("", String::as_str)) }
                        td.num { (group(u128::from(step.users))) }
                        td.num { (percent(step.from_previous)) }
                        td.num { (percent(step.from_first)) }
                        td.num {
                            @if i > 0 { (group(u128::from(steps[i - 1].users.saturating_sub(step.users)))) } @else { "–" }
                        }
                        td.num { @if let Some(m) = step.median_time { (wait(m)) } @else { "–" } }
                    }
                }
            }
        } }
    }
}

/// The builder: the current steps and an empty one to add (up to ten), the window and the
/// breakdown, as a GET form to `path` keeping the rest of the view.
fn form(path: &str, view: &View, params: Option<&FunnelParams>, events: &[String]) -> Markup {
    // Each step's filters in fields of their own, and one more empty field to add one.
    let mut rows: Vec<(String, Vec<String>)> = params
        .map(|p| {
            p.steps
                .iter()
                .map(|(event, filters)| {
                    let mut fields: Vec<String> = filters.iter().map(ToString::to_string).collect();
                    fields.push(String::new());
                    (event.clone(), fields)
                })
                .collect()
        })
        .unwrap_or_default();
    let wanted = (rows.len() + 1).clamp(3, MAX_STEPS);
    while rows.len() < wanted {
        rows.push((String::new(), vec![String::new()]));
    }
    let within = params.map_or(DEFAULT_WITHIN, |p| p.within_key.as_str());
    let breakdown = params
        .and_then(|p| p.breakdown.as_ref())
        .map_or("", Key::as_str);
    html! {
        form.funnel-form method="get" action=(path) {
            (pages::hidden_fields(&view.without_page(), &[]))
            datalist #funnel-events { @for e in events { option value=(e) {} } }
            ol.steps {
                @for ((i, (event, filters)), name) in rows.iter().enumerate().zip(STEP_FILTERS) {
                    li {
                        label { "Step " (i + 1) " " input type="text" name="step" value=(event) list="funnel-events" placeholder="event" autocomplete="off"; }
                        @for filter in filters {
                            label { " where " input type="text" name=(name) value=(filter) placeholder="plan=pro (optional)" autocomplete="off" spellcheck="false"; }
                        }
                    }
                }
            }
            div.funnel-options {
                label { "Within " input type="text" name="within" value=(within) size="5" placeholder="7d" spellcheck="false"; }
                label { " Breakdown by " input type="text" name="breakdown" value=(breakdown) placeholder="property (optional)" spellcheck="false"; }
                " " button type="submit" { "Show funnel" }
            }
        }
    }
}

/// The path of an application's funnel page.
pub(crate) fn path(app: &str) -> String {
    format!("{}/funnel", pages::app_path(app))
}

/// What the funnel page and its JSON and CSV show.
pub(crate) type FunnelPage = QuestionPage<FunnelParams, FunnelReport>;

/// Reads the funnel's parameters from `query` and asks it, with the application's events.
pub(crate) async fn fetch(
    retriever: &AsyncRetriever,
    name: &str,
    mut view: View,
    query: &str,
) -> Result<FunnelPage, PageError> {
    let params = FunnelParams::parse(query)?;
    let funnel = params.as_ref().map(FunnelParams::funnel).transpose()?;
    view.page = params.as_ref().map(FunnelParams::pairs).unwrap_or_default();
    let (filters, window) = (view.filters.clone(), view.window());
    let report = async {
        match &funnel {
            Some(funnel) => retriever
                .funnel(name, funnel, &filters, &window)
                .await
                .map(Some),
            None => Ok(None),
        }
    };
    data::question(retriever, name, view, params, report).await
}

/// The funnel page: the window, the filters, the builder, and the answer as a chart, a table
/// and, with a breakdown, a table of the values.
/// What the page says beside the answer: each step whose event the application has none of in
/// the window (a typo reads as a drop to no one otherwise).
pub(crate) fn notes(page: &FunnelPage) -> Vec<String> {
    let Some(params) = &page.params else {
        return Vec::new();
    };
    params
        .steps
        .iter()
        .enumerate()
        .filter(|(_, (event, _))| !page.events.contains(event))
        .map(|(i, (event, _))| {
            format!(
                "No event named “{event}” in this window: step {} reaches no one.",
                i + 1
            )
        })
        .collect()
}

pub(crate) fn render(page: &FunnelPage) -> Markup {
    let view = &page.view;
    let here = path(&page.name);
    let app = pages::app_path(&page.name);
    let outside = view.without_page();
    let labels: Vec<String> = page
        .params
        .as_ref()
        .map(|p| (0..p.steps.len()).map(|i| p.label(i)).collect())
        .unwrap_or_default();
    let title = format!("Funnel · {}", page.name);
    html! {
        (pages::layout(&title, Some(&page.index), html! {
            nav.crumbs {
                a href=(outside.href("/applications")) { "Applications" }
                " / " a href=(outside.href(&app)) { (page.name) }
                " / " span { "Funnel" }
            }
            h1 { "Funnel" }
            p.window { (view.period.label()) }
            (pages::picker(&here, view, false))
            (pages::filter_bar(&here, view))
            (form(&here, view, page.params.as_ref(), &page.events))
            @for note in notes(page) { p.note role="note" { (note) } }
            @match (&page.report, &page.params) {
                (Some(report), Some(params)) => {
                    @let chart_title = format!("Users through {} steps within {}", params.steps.len(), params.within_key);
                    section.chart-block {
                        h2 { (chart_title) }
                        (pages::filtered(view))
                        (chart(&chart_title, &labels, &report.steps))
                        (table(html! {
                            "Each step counts the users who did it after the steps before, within " (params.within_key) " of their step 1 "
                            (pages::csv_link(view.href(&format!("{here}.csv"))))
                        }, &labels, &report.steps))
                    }
                    @if let Some(key) = &params.breakdown {
                        (groups(view, &here, params, key, &report.groups))
                    }
                }
                _ => {
                    p.empty { "Name two to ten steps, in order, to see how many users go through them." }
                }
            }
        }))
    }
}

/// The most values of a breakdown the page lists (a property of many values, a URL or an id,
/// would make a table of thousands of rows).
const MAX_GROUPS: usize = 50;

/// The breakdown: a row a value (of step 1's first event), the users at each step and the
/// conversion from step 1 to the last; each value adds its filter to step 1.
fn groups(
    view: &View,
    here: &str,
    params: &FunnelParams,
    key: &Key,
    groups: &[FunnelGroup],
) -> Markup {
    let on_step_1 = |filter: Filter| {
        let mut params = params.clone();
        if let Some((_, filters)) = params.steps.first_mut()
            && !filters.contains(&filter)
        {
            filters.push(filter);
        }
        let mut view = view.clone();
        view.page = params.pairs();
        view.href(here)
    };
    let steps = groups.first().map_or(0, |g| g.steps.len());
    html! {
        section {
            h2 { "By " (key.as_str()) }
            @if groups.is_empty() {
                p.empty { "No user did step 1 in this window." }
            } @else {
                div.table-scroll { table.data.funnel-groups {
                    caption {
                        "Users by the value of " (key.as_str()) " on their first step-1 event; a value keeps step 1 to the events with it"
                        @if groups.len() > MAX_GROUPS {
                            " (the " (MAX_GROUPS) " values with the most users of " (group(groups.len() as u128)) "; all of them in the CSV and JSON)"
                        }
                    }
                    thead { tr {
                        th { (key.as_str()) }
                        @for i in 0..steps { th.num { "Step " (i + 1) } }
                        th.num { "Converted" }
                    } }
                    tbody {
                        @for g in groups.iter().take(MAX_GROUPS) {
                            @let filter = match &g.value {
                                Some(value) => params::equals(key.as_str(), value),
                                None => format!("{}!=*", key.as_str()).parse().ok(),
                            };
                            tr {
                                td {
                                    @match (&g.value, filter) {
                                        (Some(value), Some(f)) => { a href=(on_step_1(f)) title="The same funnel with step 1 kept to its events with this value (any of them, not only a user's first)" { (value) } }
                                        (Some(value), None) => { (value) }
                                        (None, Some(f)) => { a.none href=(on_step_1(f)) { "(none)" } }
                                        (None, None) => { "(none)" }
                                    }
                                }
                                @for s in &g.steps { td.num { (group(u128::from(s.users))) } }
                                td.num { (percent(g.steps.last().and_then(|s| s.from_first))) }
                            }
                        }
                    }
                } }
            }
        }
    }
}

/// One step as JSON.
fn step_json(i: usize, params: &FunnelParams, step: &FunnelStep) -> serde_json::Value {
    serde_json::json!({
        "step": i + 1,
        "event": step.event,
        "filters": params.steps.get(i).map(|(_, f)| f.iter().map(ToString::to_string).collect::<Vec<_>>()).unwrap_or_default(),
        "users": step.users,
        "from_previous": step.from_previous,
        "from_first": step.from_first,
        "median_seconds": step.median_time.map(|d| d.as_secs_f64()),
    })
}

/// The page's answer as JSON: the funnel as read, its steps, and its breakdown's groups.
pub(crate) fn json(page: &FunnelPage) -> serde_json::Value {
    let (Some(params), Some(report)) = (&page.params, &page.report) else {
        return serde_json::json!({ "application_name": page.name, "steps": [] });
    };
    let steps = |steps: &[FunnelStep]| -> Vec<serde_json::Value> {
        steps
            .iter()
            .enumerate()
            .map(|(i, s)| step_json(i, params, s))
            .collect()
    };
    serde_json::json!({
        "application_name": page.name,
        "notes": notes(page),
        "window": page.view.period.key(),
        "filters": page.view.filters.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "within": params.within_key,
        "within_seconds": params.within.as_secs(),
        "breakdown": params.breakdown.as_ref().map(Key::as_str),
        "steps": steps(&report.steps),
        "groups": report.groups.iter().map(|g| serde_json::json!({
            "value": g.value,
            "steps": steps(&g.steps),
        })).collect::<Vec<_>>(),
    })
}

/// The page's answer as CSV: a row a step of all the users (`users` is `all`), then, with a
/// breakdown, of the users of each value (`with_value` and the value, or `without_value` for
/// those whose first step-1 event lacked the property).
pub(crate) fn csv(page: &FunnelPage) -> String {
    let (Some(params), Some(report)) = (&page.params, &page.report) else {
        return spoor::csv::table(&COLUMNS, std::iter::empty::<[String; 8]>());
    };
    let row = |users: &str, value: &str, i: usize, s: &FunnelStep| {
        let number = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
        [
            users.to_owned(),
            value.to_owned(),
            (i + 1).to_string(),
            params.label(i),
            s.users.to_string(),
            number(s.from_previous),
            number(s.from_first),
            number(s.median_time.map(|d| d.as_secs_f64())),
        ]
    };
    let overall = report
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| row("all", "", i, s));
    let by_value = report.groups.iter().flat_map(|g| {
        let (users, value) = match &g.value {
            Some(value) => ("with_value", value.as_str()),
            None => ("without_value", ""),
        };
        g.steps
            .iter()
            .enumerate()
            .map(|(i, s)| row(users, value, i, s))
            .collect::<Vec<_>>()
    });
    spoor::csv::table(&COLUMNS, overall.chain(by_value))
}

/// The CSV's columns.
const COLUMNS: [&str; 8] = [
    "users",
    "breakdown_value",
    "step",
    "step_label",
    "reached",
    "from_previous",
    "from_first",
    "median_seconds",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("30m"), Some(Duration::from_secs(1_800)));
        assert_eq!(duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(duration("2w"), Some(Duration::from_secs(1_209_600)));
        for bad in ["", "d", "7", "7x", "-1d", "1.5h", "99999999999999999999d"] {
            assert_eq!(duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn steps_and_filters_round_trip_through_the_query() {
        let query = "steps=visit,sign\\,up,purchase&within=1h&breakdown=plan&filter.3=amount%3E%3D10&filter.3=plan%3Dpro";
        let params = FunnelParams::parse(query).unwrap().unwrap();
        assert_eq!(params.steps.len(), 3);
        assert_eq!(params.steps[1].0, "sign,up");
        assert_eq!(params.steps[2].1.len(), 2);
        assert_eq!(params.within, Duration::from_secs(3_600));
        let query: Form = params
            .pairs()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let again = FunnelParams::parse(&query.encode()).unwrap().unwrap();
        assert_eq!(again, params);
    }

    #[test]
    fn the_form_s_empty_steps_are_skipped_with_their_filters() {
        let query = "step=visit&filter.1=&step=&filter.2=plan%3Dpro&step=buy&filter.3=plan%3Dteam";
        let params = FunnelParams::parse(query).unwrap().unwrap();
        let events: Vec<&str> = params.steps.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(events, ["visit", "buy"]);
        assert!(params.steps[0].1.is_empty());
        assert_eq!(params.steps[1].1[0].to_string(), "plan=team");
    }

    #[test]
    fn bad_parameters_say_what_to_write() {
        assert_eq!(FunnelParams::parse("within=7d").unwrap(), None);
        let one = FunnelParams::parse("steps=visit").unwrap_err();
        assert_eq!(one.name, "steps");
        assert!(one.to_string().contains("2 to 10 steps"), "{one}");
        let long = FunnelParams::parse("steps=a,b&within=91d").unwrap_err();
        assert_eq!(long.name, "within");
        let unit = FunnelParams::parse("steps=a,b&within=7y").unwrap_err();
        assert!(unit.to_string().contains("like 30m"), "{unit}");
        let filter = FunnelParams::parse("steps=a,b&filter.2=amount%3Cten").unwrap_err();
        assert_eq!(filter.name, "filter.2");
        assert!(filter.to_string().contains("not a number"), "{filter}");
        // A filter on a step the funnel does not have is refused, not dropped.
        let past = FunnelParams::parse("steps=a,b&filter.3=amount%3E1").unwrap_err();
        assert!(past.to_string().contains("filter.1 to filter.2"), "{past}");
        let zero = FunnelParams::parse("steps=a,b&filter.0=amount%3E1").unwrap_err();
        assert_eq!(zero.value, "filter.0");
        // A value's spaces are kept, as in `filter=`.
        let spaced = FunnelParams::parse("steps=a,b&filter.1=plan%3Dpro%20")
            .unwrap()
            .unwrap();
        assert_eq!(spaced.steps[0].1[0].to_string(), "plan=pro ");
    }

    #[test]
    fn figures_read_as_people_say_them() {
        assert_eq!(percent(Some(1.0 / 3.0)), "33.3 %");
        assert_eq!(percent(None), "–");
        assert_eq!(wait(Duration::from_secs(42)), "42 s");
        assert_eq!(wait(Duration::from_secs(600)), "10 min");
        assert_eq!(wait(Duration::from_secs(7_200)), "2.0 h");
        assert_eq!(wait(Duration::from_secs(3 * 86_400)), "3.0 days");
    }

    #[test]
    fn the_step_limit_is_spoor_s() {
        let steps = |n: usize| (0..n).map(|i| Step::new(format!("e{i}")));
        let day = Duration::from_secs(86_400);
        assert!(Funnel::new(steps(MAX_STEPS), day).is_ok());
        assert!(Funnel::new(steps(MAX_STEPS + 1), day).is_err());
        let eleven: Vec<String> = (0..11).map(|i| format!("step=e{i}")).collect();
        assert_eq!(
            FunnelParams::parse(&eleven.join("&")).unwrap_err().name,
            "steps"
        );
    }

    fn step(event: &str, users: u64, first: u64, previous: u64) -> FunnelStep {
        let share = |base: u64| (base > 0).then(|| users as f64 / base as f64);
        FunnelStep {
            event: event.to_owned(),
            users,
            from_previous: (previous != users || event != "visit")
                .then(|| share(previous))
                .flatten(),
            from_first: share(first),
            median_time: None,
        }
    }

    #[test]
    fn the_chart_draws_finite_bars_even_with_no_users() {
        let labels = ["a".to_owned(), "b".to_owned()];
        let svg = chart("t", &labels, &[step("a", 0, 0, 0), step("b", 0, 0, 0)]).into_string();
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        let labels = ["visit".to_owned(), "<buy>".to_owned()];
        let svg = chart(
            "t",
            &labels,
            &[step("visit", 100, 100, 100), step("<buy>", 25, 100, 100)],
        )
        .into_string();
        assert!(svg.contains("25 · 25.0 %"), "{svg}");
        assert!(svg.contains("&lt;buy&gt;"), "{svg}");
        assert!(!svg.contains("<buy>"), "{svg}");
    }
}
