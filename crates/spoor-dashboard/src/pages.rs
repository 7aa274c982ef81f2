//! The pages, as maud templates: one layout, the applications list, an application's page and
//! the error page. Every name and value goes through maud's escaping.

use maud::{DOCTYPE, Markup, html};
use spoor::Stat;
use spoor::answer::{
    Application, EventCount, NumberChart, Property, Summary, UserCount, ValueCount,
};
use spoor_proto::form::encode_component;
use time::macros::format_description;

use crate::chart::{self, NumberPlot, Plot, group};
use crate::data::{AppPage, ListPage, TimelinePage};
use crate::params::{Period, SpanChoice, View, equals, today};

/// Partial: the page around the content; the footer names the index read, when given.
pub(crate) fn layout(title: &str, index: Option<&str>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · spoor" }
                link rel="stylesheet" href="/static/style.css";
                script src="/static/chart.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/applications" { "spoor" }
                    nav { a href="/applications" { "Applications" } }
                }
                main { (content) }
                footer {
                    "spoor " (env!("CARGO_PKG_VERSION"))
                    @if let Some(index) = index { " · index " code { (index) } }
                    " · times in UTC"
                }
            }
        }
    }
}

/// The path of an application's page.
pub(crate) fn app_path(name: &str) -> String {
    format!("/applications/{}", encode_component(name))
}

/// Partial: the time-window and span pickers, linking to `path` with the view changed (the
/// span picker only for pages with charts over time, `spans`).
pub(crate) fn picker(path: &str, view: &View, spans: bool) -> Markup {
    // The date fields show the window in effect: a preset's first and last day, or the custom
    // days; over all time, the last 30 days as a starting point.
    let (from, to) = match crate::plan::bounds(view, time::OffsetDateTime::now_utc()) {
        Some((start, end)) => (
            start.date(),
            end.checked_sub(time::Duration::NANOSECOND)
                .unwrap_or(end)
                .date(),
        ),
        None => (today() - time::Duration::days(30), today()),
    };
    html! {
        div.picker {
            nav.windows aria-label="Time window" {
                @for period in Period::PRESETS {
                    a href=(view.with_period(period).href(path))
                        aria-current=[(view.period == period).then_some("page")] { (period.label()) }
                }
            }
            form.custom method="get" action=(path) {
                input type="hidden" name="window" value="custom";
                (hidden_fields(view, &["window", "from", "to"]))
                label { "From " input type="date" name="from" required
                    value=(from.to_string()); }
                label { "to " input type="date" name="to" required
                    value=(to.to_string()); }
                button type="submit" aria-current=[view.period.is_custom().then_some("page")] { "Apply" }
            }
            @if spans { nav.spans aria-label="Span" {
                "Span: "
                @for span in SpanChoice::ALL {
                    a href=(view.with_span(span).href(path))
                        aria-current=[(view.span == span).then_some("page")] { (span.label()) }
                }
            } }
        }
    }
}

/// Partial: the fields of a `GET` form that keep the view's parameters but those in `except`
/// (the ones the form itself sets).
pub(crate) fn hidden_fields(view: &View, except: &[&str]) -> Markup {
    html! {
        @for (name, value) in view.hidden(except) {
            input type="hidden" name=(name) value=(value);
        }
    }
}

/// Partial: the filter bar: the active filters as chips, each with a link that removes it, a
/// field that adds one (a `GET` form keeping the rest of the view), and a link that clears
/// them all. Links go to `path`.
pub(crate) fn filter_bar(path: &str, view: &View) -> Markup {
    html! {
        section.filters aria-label="Filters" {
            @if !view.filters.is_empty() {
                ul.chips {
                    @for filter in &view.filters {
                        @let text = filter.to_string();
                        li.chip {
                            span.chip-text { (text) }
                            a.chip-remove href=(view.without_filter(filter).href(path))
                                aria-label={ "Remove the filter " (text) } title="Remove" { "×" }
                        }
                    }
                    li { a.clear href=(view.without_filters().href(path)) { "Clear filters" } }
                }
            }
            form.filter-add method="get" action=(path) {
                (hidden_fields(view, &[]))
                label {
                    "Filter "
                    input type="text" name="filter" placeholder="plan=pro" autocomplete="off"
                        spellcheck="false" aria-describedby="filter-help";
                }
                button type="submit" { "Add" }
                small #filter-help {
                    "key=value, key!=value, key=a|b (one of), key!=a|b (none of), amount<10 (<=, >, >=), key=* (has it), key!=* (lacks it)"
                }
            }
        }
    }
}

/// Partial: what a chart or table is filtered to, under its heading ("plan=pro · amount>=10");
/// nothing without filters.
pub(crate) fn filtered(view: &View) -> Markup {
    html! {
        @if let Some(label) = view.filters_label() {
            p.filtered { "Filtered: " (label) }
        }
    }
}

/// Partial: what a table is filtered to, for its caption (" · plan=pro · amount>=10").
fn filtered_caption(view: &View) -> Markup {
    html! {
        @if let Some(label) = view.filters_label() {
            span.filtered { " · " (label) }
        }
    }
}

/// A title with the filters after it, for a chart's accessible name.
fn with_filters(title: &str, view: &View) -> String {
    match view.filters_label() {
        Some(label) => format!("{title} ({label})"),
        None => title.to_owned(),
    }
}

/// Partial: the summary cards (events, unique users, events per user), each with the change
/// from the window of the same length before.
fn summary_cards(summary: &Summary, view: &View) -> Markup {
    let current = &summary.current;
    let before = summary.previous.as_ref();
    let per_user = |t: &spoor::answer::Totals| {
        t.events_per_user()
            .map_or_else(|| "–".to_owned(), |v| format!("{v:.2}"))
    };
    let cards = [
        (
            "Events",
            group(u128::from(current.events)),
            summary.events_change(),
            before.map(|b| group(u128::from(b.events))),
        ),
        (
            "Unique users",
            group(u128::from(current.unique_users)),
            summary.users_change(),
            before.map(|b| group(u128::from(b.unique_users))),
        ),
        (
            "Events per user",
            per_user(current),
            summary.per_user_change(),
            before.map(per_user),
        ),
    ];
    html! {
        section.cards aria-label="Summary" {
            @for (name, value, change, previous) in cards {
                div.card {
                    h2 { (name) }
                    p.value { (value) }
                    @if let Some(previous) = previous {
                        p.change {
                            @match change {
                                Some(c) if c > 0.0005 => { span.up { "▲ " (percent(c)) } " · " }
                                Some(c) if c < -0.0005 => { span.down { "▼ " (percent(-c)) } " · " }
                                Some(_) => { span.same { "no change" } " · " }
                                None => {}
                            }
                            (previous) " in the " (view.period.previous_label())
                        }
                    }
                }
            }
        }
    }
}

/// A relative change as a percentage: `12.5 %`, `240 %`.
fn percent(change: f64) -> String {
    let pct = change * 100.0;
    if pct >= 100.0 {
        format!("{} %", group(pct.round() as u128))
    } else {
        format!("{pct:.1} %")
    }
}

/// Partial: what the page shows otherwise than asked (a coarser span, rows left out).
fn notes(notes: &[String]) -> Markup {
    html! {
        @for note in notes {
            p.note role="note" { (note) }
        }
    }
}

/// `part` of `total` in percent; `0` of nothing.
pub(crate) fn share(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 * 100.0 / total as f64
    }
}

/// Partial: a share as a number and a bar.
fn share_cell(part: u64, total: u64) -> Markup {
    let pct = share(part, total);
    html! {
        td.num.share {
            span.bar style={ "width:" (format!("{pct:.1}")) "%" } {}
            (format!("{pct:.1}")) " %"
        }
    }
}

/// Partial: a link to download a table.
pub(crate) fn csv_link(href: String) -> Markup {
    html! { a.csv href=(href) download { "CSV" } }
}

/// The applications list.
pub(crate) fn applications(page: &ListPage) -> Markup {
    let view = &page.view;
    let total: u64 = page.apps.iter().map(|(a, _)| a.events).sum();
    layout(
        "Applications",
        Some(&page.index),
        html! {
            h1 { "Applications" }
            p.window { (view.period.label()) }
            (picker("/applications", view, true))
            (filter_bar("/applications", view))
            @if let Some(summary) = &page.summary { (summary_cards(summary, view)) }
            (notes(&page.notes))
            @if page.apps.is_empty() {
                @if view.filters.is_empty() {
                    p.empty { "No events in this window. Track some with spoor's Tracker, or choose a longer window." }
                } @else {
                    p.empty { "No events pass the filters in this window: remove one, or choose a longer window." }
                }
            } @else {
                div.table-scroll { table.data {
                    caption { "Applications, " (view.period.label()) (filtered_caption(view)) " " (csv_link(view.href("/applications.csv"))) }
                    thead { tr { th { "Application" } th.num { "Events" } th.num { "Unique users" } th.num { "Share" } th { "Trend" } } }
                    tbody {
                        @for (app, trend) in &page.apps {
                            (application_row(app, trend, total, view))
                        }
                    }
                } }
            }
        },
    )
}

fn application_row(app: &Application, trend: &Option<Vec<u64>>, total: u64, view: &View) -> Markup {
    html! {
        tr {
            td { a href=(view.with_event(None).href(&app_path(&app.name))) { (app.name) } }
            td.num { (group(u128::from(app.events))) }
            td.num { (group(u128::from(app.unique_users))) }
            (share_cell(app.events, total))
            td.trend {
                @if let Some(trend) = trend {
                    (chart::sparkline(trend, &format!("{} events over time", app.name)))
                }
            }
        }
    }
}

/// An application's page.
pub(crate) fn application(page: &AppPage) -> Markup {
    let view = &page.view;
    let path = app_path(&page.name);
    let total: u64 = page.events.iter().map(|e| e.events).sum();
    let title = match &view.event {
        Some(event) => format!("{} · {event}", page.name),
        None => page.name.clone(),
    };
    let chart_title = match (&view.event, &view.property) {
        (None, None) => "Events over time, by event".to_owned(),
        (None, Some(property)) => format!("Events over time, by {property}"),
        (Some(event), None) => format!("{event} over time"),
        (Some(event), Some(property)) => format!("{event} over time, by {property}"),
    };
    // Said plainly: whose users are counted, and over what.
    let users_title = match &view.event {
        None => format!("Unique users of {} over time (any event)", page.name),
        Some(event) => format!("Unique users who did {event} over time"),
    };
    html! {
        (layout(&title, Some(&page.index), html! {
            nav.crumbs {
                a href=(view.with_event(None).href("/applications")) { "Applications" }
                " / " a href=(view.with_event(None).href(&path)) { (page.name) }
                @if let Some(event) = &view.event { " / " span { (event) } }
            }
            h1 { (title) }
            @let plain = view.with_event(None).with_property(None);
            nav.questions aria-label="Questions" {
                a href=(plain.href(&crate::funnel::path(&page.name))) { "Funnel" }
                a href=(plain.href(&crate::retention::path(&page.name))) { "Retention" }
            }
            p.window { (view.period.label()) }
            (picker(&path, view, true))
            (filter_bar(&path, view))
            @if let Some(summary) = &page.summary { (summary_cards(summary, view)) }
            (notes(&page.notes))
            section.chart-block {
                h2 { (chart_title) }
                (filtered(view))
                (chart::render(&Plot {
                    chart: &page.chart,
                    title: &with_filters(&chart_title, view),
                    unit: "events",
                    stacked: true,
                    partial: page.plan.partial,
                    links: &series_links(page, &path),
                }))
            }
            section.chart-block {
                h2 { (users_title) }
                (filtered(view))
                (chart::render(&Plot {
                    chart: &page.users,
                    title: &with_filters(&users_title, view),
                    unit: "users",
                    stacked: false,
                    partial: page.plan.partial,
                    links: &[],
                }))
            }
            (events_table(page, &path, total))
            (properties_table(page, &page.properties, &path))
            @if let Some(values) = &page.values { (values_table(page, values, &path)) }
            @if let (Some(numbers), Some(property)) = (&page.numbers, &view.property) {
                (numbers_section(page, numbers, property, &path))
            }
            @if let Some(users) = &page.top_users { (users_table(page, users, &path)) }
        }))
    }
}

/// Where each series of the events chart's legend leads: a property's value adds the filter
/// `property=value`, an event (the chart by event) chooses it; "Other" leads nowhere.
fn series_links(page: &AppPage, path: &str) -> Vec<Option<String>> {
    let view = &page.view;
    page.chart
        .series
        .iter()
        .map(|series| {
            if series.name == spoor::OTHER {
                return None;
            }
            match (&view.event, &view.property) {
                (_, Some(property)) => {
                    equals(property, &series.name).map(|f| view.with_filter(f).href(path))
                }
                (None, None) => Some(view.with_event(Some(&series.name)).href(path)),
                (Some(_), None) => None,
            }
        })
        .collect()
}

fn events_table(page: &AppPage, path: &str, total: u64) -> Markup {
    let view = &page.view;
    html! {
        section {
            h2 { "Events" }
            @if page.events.is_empty() {
                p.empty { "No events in this window" (filtered_caption(view)) "." }
            } @else {
                div.table-scroll { table.data {
                    caption { "Events of " (page.name) (filtered_caption(view)) " " (csv_link(view.href(&format!("{path}/events.csv")))) }
                    thead { tr { th { "Event" } th.num { "Count" } th.num { "Unique users" } th.num { "Share" } } }
                    tbody {
                        @for e in &page.events { (event_row(e, view, path, total)) }
                    }
                } }
                @if view.event.is_some() {
                    p { a href=(view.with_event(None).href(path)) { "Show all events" } }
                }
            }
        }
    }
}

fn event_row(e: &EventCount, view: &View, path: &str, total: u64) -> Markup {
    let chosen = view.event.as_deref() == Some(e.name.as_str());
    html! {
        tr.chosen[chosen] {
            td { a href=(view.with_event(Some(&e.name)).href(path)) aria-current=[chosen.then_some("true")] { (e.name) } }
            td.num { (group(u128::from(e.events))) }
            td.num { (group(u128::from(e.unique_users))) }
            (share_cell(e.events, total))
        }
    }
}

fn properties_table(page: &AppPage, properties: &[Property], path: &str) -> Markup {
    let view = &page.view;
    html! {
        section {
            @if let Some(event) = &view.event {
                h2 { "Properties of " (event) }
            } @else {
                h2 { "Properties of all events" }
            }
            @if properties.is_empty() {
                p.empty {
                    @if view.event.is_some() { "This event has no properties in this window." }
                    @else { "No event has properties in this window." }
                }
            } @else {
                div.table-scroll { table.data {
                    caption { "Properties" (filtered_caption(view)) " " (csv_link(view.href(&format!("{path}/properties.csv")))) }
                    thead { tr { th { "Property" } th.num { "Distinct values" } } }
                    tbody {
                        @for p in properties {
                            @let chosen = view.property.as_deref() == Some(p.key.as_str());
                            tr.chosen[chosen] {
                                td { a href=(view.with_property(Some(&p.key)).href(path)) aria-current=[chosen.then_some("true")] { (p.key) } }
                                td.num { (group(u128::from(p.distinct_values))) }
                            }
                        }
                    }
                } }
            }
        }
    }
}

/// What a numbers chart shows, in words: "sum of amount".
pub(crate) fn stat_words(stat: Stat, property: &str) -> String {
    let name = match stat {
        Stat::Sum => "sum",
        Stat::Avg => "average",
        Stat::Min => "minimum",
        Stat::Max => "maximum",
        Stat::Median => "median",
        Stat::Perc90 => "90th percentile",
        Stat::Perc99 => "99th percentile",
        _ => stat.name(),
    };
    format!("{name} of {property}")
}

/// Partial: the chosen property's statistic over time, with the statistics to choose from.
fn numbers_section(page: &AppPage, numbers: &NumberChart, property: &str, path: &str) -> Markup {
    let view = &page.view;
    let what = stat_words(view.stat, property);
    let title = match &view.event {
        Some(event) => format!("{what} over time ({event})"),
        None => format!("{what} over time"),
    };
    html! {
        section.chart-block {
            h2 { (capitalized(&title)) }
            nav.stats aria-label="Statistic" {
                @for stat in Stat::ALL {
                    a href=(view.with_stat(stat).href(path))
                        aria-current=[(view.stat == stat).then_some("page")] { (stat.name()) }
                }
            }
            (filtered(view))
            (chart::render_numbers(&NumberPlot {
                chart: numbers,
                title: &with_filters(&title, view),
                what: &what,
                partial: page.plan.partial,
            }))
            p.note { "Values that are not numbers are left out, as Splunk leaves them out." }
        }
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// The path of a user's timeline in an application.
pub(crate) fn user_path(app_path: &str, distinct_id: &str) -> String {
    format!("{app_path}/users/{}", encode_component(distinct_id))
}

fn users_table(page: &AppPage, users: &[UserCount], path: &str) -> Markup {
    let view = &page.view;
    let total: u64 = page.events.iter().map(|e| e.events).sum();
    html! {
        section {
            h2 {
                "Top users"
                @if let Some(event) = &view.event { " of " (event) }
            }
            @if users.is_empty() {
                p.empty { "No events with a user id in this window" (filtered_caption(view)) "." }
            } @else {
                div.table-scroll { table.data {
                    caption { "The " (users.len()) " users with the most events" (filtered_caption(view)) "; each opens their timeline" }
                    thead { tr { th { "User" } th.num { "Events" } th.num { "Share" } } }
                    tbody {
                        @for u in users {
                            tr {
                                td { a href=(view.with_event(None).href(&user_path(path, &u.distinct_id))) { (u.distinct_id) } }
                                td.num { (group(u128::from(u.events))) }
                                (share_cell(u.events, total))
                            }
                        }
                    }
                } }
            }
        }
    }
}

/// A user's timeline: their events newest first, a page at a time, with their properties.
pub(crate) fn timeline(page: &TimelinePage) -> Markup {
    let view = &page.view;
    let path = app_path(&page.name);
    let here = user_path(&path, &page.distinct_id);
    let title = format!("{} in {}", page.distinct_id, page.name);
    let (offset, limit) = (page.page.offset(), page.page.limit());
    let link = |offset: u32| {
        if offset == 0 {
            view.href(&here)
        } else {
            view.href_with(&here, &[("offset", offset.to_string())])
        }
    };
    html! {
        (layout(&title, None, html! {
            nav.crumbs {
                a href=(view.href("/applications")) { "Applications" }
                " / " a href=(view.href(&path)) { (page.name) }
                " / " span { "user " (page.distinct_id) }
            }
            h1 { (page.distinct_id) }
            p.window { "Events in " (page.name) ", " (view.period.label()) ", newest first" }
            (filter_bar(&here, view))
            @if page.timeline.events.is_empty() {
                p.empty { "No events of this user in this window" (filtered_caption(view)) "." }
            } @else {
                div.table-scroll { table.data.timeline {
                    caption { "Events " (group(u128::from(offset) + 1)) " to " (group(u128::from(offset) + page.timeline.events.len() as u128)) (filtered_caption(view)) }
                    thead { tr { th { "Time (UTC)" } th { "Event" } th { "Properties" } } }
                    tbody {
                        @for e in &page.timeline.events {
                            tr {
                                td.time { (e.time.format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second]")).unwrap_or_default()) }
                                td { a href=(view.with_event(Some(&e.name)).href(&path)) { (e.name) } }
                                td {
                                    @for (i, (k, v)) in e.properties.iter().enumerate() {
                                        @if i > 0 { ", " }
                                        span.key { (k) } "=" span.value { (v) }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
            nav.pager aria-label="Pages" {
                @if offset > 0 { a href=(link(offset.saturating_sub(limit))) rel="prev" { "← Newer" } }
                @if page.timeline.more { a href=(link(offset + limit)) rel="next" { "Older →" } }
            }
        }))
    }
}

fn values_table(page: &AppPage, values: &[ValueCount], path: &str) -> Markup {
    let view = &page.view;
    let total: u64 = values.iter().map(|v| v.count).sum();
    let property = view.property.as_deref().unwrap_or_default();
    html! {
        section {
            h2 { "Values of " (property) }
            @if values.is_empty() {
                p.empty { "No values in this window" (filtered_caption(view)) "." }
            } @else {
                div.table-scroll { table.data {
                    caption { "Values" (filtered_caption(view)) " " (csv_link(view.href(&format!("{path}/values.csv")))) }
                    thead { tr { th { "Value" } th.num { "Count" } th.num { "Share" } } }
                    tbody {
                        @for v in values {
                            tr {
                                td {
                                    // A value adds the filter `property=value`, escaped so any
                                    // value (with `|`, `\`, a lone `*`) reads back as itself.
                                    @match equals(property, &v.value) {
                                        Some(filter) => {
                                            a href=(view.with_filter(filter).href(path))
                                                title="Show only these events" { (v.value) }
                                        }
                                        None => { (v.value) }
                                    }
                                }
                                td.num { (group(u128::from(v.count))) }
                                (share_cell(v.count, total))
                            }
                        }
                    }
                } }
            }
        }
    }
}

/// An error page: what went wrong and what to do.
pub(crate) fn error(status: u16, title: &str, detail: &str) -> Markup {
    error_page(status, title, detail, None)
}

/// An error page with a link out of the mistake (`(text, href)`), e.g. the same page without
/// the filter it refused.
pub(crate) fn error_with_way_out(
    status: u16,
    title: &str,
    detail: &str,
    way_out: (&str, &str),
) -> Markup {
    error_page(status, title, detail, Some(way_out))
}

fn error_page(status: u16, title: &str, detail: &str, way_out: Option<(&str, &str)>) -> Markup {
    layout(
        title,
        None,
        html! {
            section.error {
                h1 { (status) " · " (title) }
                p { (detail) }
                @if let Some((text, href)) = way_out {
                    p { a href=(href) { (text) } }
                }
                p { a href="/applications" { "Back to the applications" } }
            }
        },
    )
}
