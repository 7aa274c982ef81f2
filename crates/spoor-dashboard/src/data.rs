//! What each page shows, asked of the backend through spoor's Retriever (the questions of a
//! page run at once). The charts' span and window are planned first ([`plan`](crate::plan)):
//! nothing is asked that would give a chart more than [`MAX_POINTS`](crate::plan::MAX_POINTS)
//! points, and tables keep at most [`MAX_ROWS`] rows.

use std::future::Future;
use std::num::NonZeroU32;

use spoor::answer::{
    Application, Chart, EventCount, NumberChart, Property, Summary, Timeline, UserCount, ValueCount,
};
use spoor::{AsyncRetriever, Filter, OverTime, Page, Span, Split, Window};
use time::{Date, Duration, Month, OffsetDateTime, Time, UtcOffset};

use crate::chart::group;
use crate::params::{BadParam, View};
use crate::plan::{self, MAX_ROWS, MAX_TRENDS, Plan, TooLong};

/// The users the application page lists (the JSON route takes `top`).
const TOP_USERS: u32 = 20;
/// The events a timeline page shows.
pub(crate) const TIMELINE_PAGE: u32 = 50;

/// The values listed for a property unless `top` says otherwise.
const DEFAULT_TOP: u32 = 50;

/// Why a page could not be made.
#[derive(Debug)]
pub(crate) enum PageError {
    /// A query parameter is wrong: 400.
    BadParam(BadParam),
    /// No such application or event: 404.
    NotFound(String),
    /// The window is too long for any span to chart it in few enough points: 400.
    TooLong(TooLong),
    /// The answer would be larger than a page shows (a retention of too many cohorts and
    /// periods): 400, saying what to ask instead.
    TooLarge(String),
    /// The backend failed or is unreachable: 503.
    Backend(spoor::Error),
}

impl From<spoor::Error> for PageError {
    fn from(err: spoor::Error) -> Self {
        match err {
            spoor::Error::TooLarge(why) => Self::TooLarge(why),
            err => Self::Backend(err),
        }
    }
}

impl From<BadParam> for PageError {
    fn from(err: BadParam) -> Self {
        Self::BadParam(err)
    }
}

impl From<TooLong> for PageError {
    fn from(err: TooLong) -> Self {
        Self::TooLong(err)
    }
}

/// Whether a page draws charts (HTML and JSON) or only lists its tables (CSV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// Tables and charts.
    Charts,
    /// Tables only: no chart is asked for.
    Tables,
}

/// The applications list: each with its trend over the window (the first [`MAX_TRENDS`]).
#[derive(Debug)]
pub(crate) struct ListPage {
    pub(crate) view: View,
    /// The index the page reads.
    pub(crate) index: String,
    pub(crate) apps: Vec<(Application, Option<Vec<u64>>)>,
    /// Every application's events, users and events per user, beside the previous window's
    /// (pages and JSON only).
    pub(crate) summary: Option<Summary>,
    /// What the page leaves out or shows otherwise than asked, in words.
    pub(crate) notes: Vec<String>,
}

/// An application's page.
#[derive(Debug)]
pub(crate) struct AppPage {
    pub(crate) name: String,
    /// The index the page reads.
    pub(crate) index: String,
    pub(crate) view: View,
    /// The charts' span and window (for tables only, the view's as planned).
    pub(crate) plan: Plan,
    pub(crate) events: Vec<EventCount>,
    pub(crate) chart: Chart,
    pub(crate) users: Chart,
    /// The properties of the chosen event, or of all the application's events.
    pub(crate) properties: Vec<Property>,
    /// The chosen property's values (in the chosen event, or in all events).
    pub(crate) values: Option<Vec<ValueCount>>,
    /// Events, users and events per user, beside the previous window's (pages and JSON only).
    pub(crate) summary: Option<Summary>,
    /// The users with the most events (of the chosen event, when one is), pages and JSON only.
    pub(crate) top_users: Option<Vec<UserCount>>,
    /// The chosen property's statistic over time, when a property is chosen (pages and JSON).
    pub(crate) numbers: Option<NumberChart>,
    /// What the page leaves out or shows otherwise than asked, in words.
    pub(crate) notes: Vec<String>,
}

/// How a table's rows are ordered, for the note saying which were kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// The largest first.
    BySize,
    /// By name.
    ByName,
}

/// Keeps the first [`MAX_ROWS`] of `rows`, saying so in `notes` when some are left out.
fn keep_rows<T>(rows: &mut Vec<T>, what: &str, order: Order, notes: &mut Vec<String>) {
    if rows.len() > MAX_ROWS {
        let (kept, total) = (group(MAX_ROWS as u128), group(rows.len() as u128));
        notes.push(match order {
            Order::BySize => format!("The {kept} largest of {total} {what} are listed."),
            Order::ByName => format!("The first {kept} of {total} {what} (by name) are listed."),
        });
        rows.truncate(MAX_ROWS);
    }
}

/// A chart with no buckets, for pages that draw none.
fn no_chart(span: Span) -> Chart {
    Chart {
        span,
        times: Vec::new(),
        series: Vec::new(),
    }
}

/// The applications list over the view's window, the largest first, with a trend each (for
/// [`Need::Charts`]: the first [`MAX_TRENDS`], over one window and span).
pub(crate) async fn list(
    retriever: &AsyncRetriever,
    view: View,
    need: Need,
) -> Result<ListPage, PageError> {
    let window = view.window();
    // A window no span can chart is refused before anything is asked.
    let known = plan::bounds(&view, OffsetDateTime::now_utc());
    if known.is_some() {
        plan::plan(&view, known)?;
    }
    let filters = &view.filters;
    let mut apps = retriever.applications(filters, &window).await?;
    apps.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.name.cmp(&b.name)));
    let mut notes = Vec::new();
    keep_rows(&mut apps, "applications", Order::BySize, &mut notes);
    if need == Need::Tables {
        let apps = apps.into_iter().map(|a| (a, None)).collect();
        return Ok(ListPage {
            view,
            index: retriever.index().to_owned(),
            apps,
            summary: None,
            notes,
        });
    }
    let drawn = &apps[..apps.len().min(MAX_TRENDS)];
    if drawn.len() < apps.len() {
        notes.push(format!(
            "Trends are drawn for the {} largest applications.",
            group(MAX_TRENDS as u128)
        ));
    }
    // Every trend over the same window and span; for all time, the days with any events.
    let covered = match known {
        Some(bounds) => Some(bounds),
        None => {
            let extents = join_all(
                drawn
                    .iter()
                    .map(|app| extent(retriever, &app.name, None, filters)),
            )
            .await;
            let mut union: Option<(OffsetDateTime, OffsetDateTime)> = None;
            for extent in extents {
                if let Some((start, end)) = extent? {
                    union = Some(union.map_or((start, end), |(s, e)| (s.min(start), e.max(end))));
                }
            }
            union
        }
    };
    let plan = plan::plan(&view, covered)?;
    notes.extend(plan.note.clone());
    let trends = drawn.iter().map(|app| {
        let plan = &plan;
        async move {
            let over = OverTime::new(plan.span()).split(Split::None);
            retriever
                .events_over_time(&app.name, &over, filters, &plan.window)
                .await
                .map(|chart| {
                    chart
                        .series
                        .first()
                        .map(|s| s.values.clone())
                        .unwrap_or_default()
                })
        }
    });
    let (trends, summary) =
        tokio::join!(join_all(trends), retriever.summary(None, filters, &window));
    let mut trends = trends.into_iter();
    let mut rows = Vec::with_capacity(apps.len());
    for app in apps {
        let trend = trends.next().transpose()?;
        rows.push((app, trend));
    }
    Ok(ListPage {
        view,
        index: retriever.index().to_owned(),
        apps: rows,
        summary: Some(summary?),
        notes,
    })
}

/// Runs futures at once, in order (a dependency-free `join_all` for a handful of futures).
async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, future) in out.iter_mut().zip(pinned.iter_mut()) {
            if slot.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *slot = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// An application's page: its events, charts (for [`Need::Charts`]), the properties of the
/// chosen event (of all events when none is chosen) and the chosen property's values.
pub(crate) async fn application(
    retriever: &AsyncRetriever,
    name: &str,
    view: View,
    need: Need,
) -> Result<AppPage, PageError> {
    let window = view.window();
    // The charts' plan comes before any other question: a window no span can chart is refused
    // at once, and over all time the charts cover the days with events.
    let plan = chart_plan(retriever, name, &view, need).await?;
    let span = plan.span();
    let split = view.property.as_deref().map(by_property).transpose()?;
    // No event: all events, by event or by the chosen property (as the original's `event="*"`);
    // one event: not split, or by the chosen property.
    let over = match (&view.event, split) {
        (None, None) => OverTime::new(span),
        (None, Some(split)) => OverTime::new(span).split(split),
        (Some(event), split) => OverTime::new(span)
            .event(event.clone())
            .split(split.unwrap_or(Split::None)),
    };
    let event = view.event.as_deref();
    let top = view.top.or(NonZeroU32::new(DEFAULT_TOP));
    let charts = need == Need::Charts;
    let numbers_over = over.clone().split(Split::None);
    let filters = &view.filters;
    let (events, chart, users, properties, values, summary, top_users, numbers) = tokio::join!(
        retriever.events(name, filters, &window),
        async {
            if charts {
                retriever
                    .events_over_time(name, &over, filters, &plan.window)
                    .await
            } else {
                Ok(no_chart(span))
            }
        },
        async {
            if charts {
                retriever
                    .unique_users_over_time(name, event, span, filters, &plan.window)
                    .await
            } else {
                Ok(no_chart(span))
            }
        },
        retriever.properties(name, event, filters, &window),
        async {
            match &view.property {
                Some(p) => retriever
                    .values(name, event, p, top, filters, &window)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        },
        async {
            if charts {
                retriever
                    .summary(Some(name), filters, &window)
                    .await
                    .map(Some)
            } else {
                Ok(None)
            }
        },
        async {
            if charts {
                retriever
                    .top_users(name, event, NonZeroU32::new(TOP_USERS), filters, &window)
                    .await
                    .map(Some)
            } else {
                Ok(None)
            }
        },
        async {
            match (&view.property, charts) {
                (Some(p), true) => retriever
                    .numbers(name, &numbers_over, p, view.stat, filters, &plan.window)
                    .await
                    .map(Some),
                _ => Ok(None),
            }
        },
    );
    let mut events = events?;
    // The largest first, as the share column reads best (the backend answers by name).
    events.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.name.cmp(&b.name)));
    exists(retriever, name, event, &events, &view).await?;
    let mut chart = chart?;
    if let (Some(event), None) = (event, &view.property) {
        // One event, not split: its one series is that event (the backend calls it `count`).
        for series in &mut chart.series {
            event.clone_into(&mut series.name);
        }
    }
    // The legend reads as the table: the largest series first, "Other" last.
    chart.series.sort_by(|a, b| {
        let total = |s: &spoor::answer::Series| s.values.iter().sum::<u64>();
        (a.name == spoor::OTHER)
            .cmp(&(b.name == spoor::OTHER))
            .then_with(|| total(b).cmp(&total(a)))
            .then_with(|| a.name.cmp(&b.name))
    });
    let mut users = users?;
    for series in &mut users.series {
        "Unique users".clone_into(&mut series.name);
    }
    let mut notes: Vec<String> = plan.note.iter().cloned().collect();
    keep_rows(&mut events, "events", Order::BySize, &mut notes);
    let mut properties = properties?;
    keep_rows(&mut properties, "properties", Order::ByName, &mut notes);
    Ok(AppPage {
        name: name.to_owned(),
        index: retriever.index().to_owned(),
        view,
        plan,
        events,
        chart,
        users,
        properties,
        values: values?,
        summary: summary?,
        top_users: top_users?,
        numbers: numbers?,
        notes,
    })
}

/// The spans the first and last events are looked for at, coarse to fine: a century, a year, a
/// day. The first covers any time in a few buckets (years 0 to 9999: at most 101); each next
/// one looks only inside the first and the last non-empty bucket of the one before (at most
/// 100, then 366 buckets).
const PROBES: [(u32, Probe); 3] = [(1200, Probe::Months), (12, Probe::Months), (1, Probe::Days)];

#[derive(Debug, Clone, Copy)]
enum Probe {
    Months,
    Days,
}

fn probe_span((count, unit): (u32, Probe)) -> Span {
    let count = NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN);
    match unit {
        Probe::Months => Span::new(count, Span::MONTH.unit),
        Probe::Days => Span::new(count, Span::DAY.unit),
    }
}

/// The end of the bucket of `(count, unit)` starting at `start` (UTC); the last instant a date
/// can have when that is past year 9999.
fn probe_end(start: OffsetDateTime, (count, unit): (u32, Probe)) -> OffsetDateTime {
    let start = start.to_offset(UtcOffset::UTC);
    let end = match unit {
        Probe::Days => start.checked_add(Duration::days(i64::from(count))),
        Probe::Months => {
            let index = i64::from(start.year()) * 12 + i64::from(u8::from(start.month())) - 1
                + i64::from(count);
            i32::try_from(index.div_euclid(12))
                .ok()
                .zip(u8::try_from(index.rem_euclid(12) + 1).ok())
                .and_then(|(year, month)| {
                    let month = Month::try_from(month).ok()?;
                    Date::from_calendar_date(year, month, 1).ok()
                })
                .map(|date| date.with_time(Time::MIDNIGHT).assume_utc())
        }
    };
    end.filter(|e| e.year() <= 9999)
        .unwrap_or_else(|| Date::MAX.with_time(Time::MIDNIGHT).assume_utc())
        .max(start)
}

/// The start of the first and of the last bucket of `chart` with events.
fn non_empty(chart: &Chart) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let full = |i: &usize| {
        chart
            .series
            .iter()
            .any(|s| s.values.get(*i).is_some_and(|v| *v > 0))
    };
    let first = (0..chart.times.len()).find(full)?;
    let last = (0..chart.times.len()).rev().find(full)?;
    Some((chart.times[first], chart.times[last]))
}

/// The instants from the first day with events of `application` (of `event` only, when given;
/// those that pass `filters` only) to the end of the last one; `None` when it has none. Found by charting the events at a
/// century, then a year, then a day, each time only inside the first and the last non-empty
/// bucket: at most five questions, none with more than a few hundred buckets.
async fn extent(
    retriever: &AsyncRetriever,
    application: &str,
    event: Option<&str>,
    filters: &[Filter],
) -> Result<Option<(OffsetDateTime, OffsetDateTime)>, PageError> {
    let ask = |probe: (u32, Probe), window: Window| async move {
        let mut over = OverTime::new(probe_span(probe)).split(Split::None);
        if let Some(event) = event {
            over = over.event(event.to_owned());
        }
        retriever
            .events_over_time(application, &over, filters, &window)
            .await
            .map(|chart| non_empty(&chart))
    };
    let [coarsest, finer @ ..] = PROBES;
    let Some((first, last)) = ask(coarsest, Window::AllTime).await? else {
        return Ok(None);
    };
    let (mut start, mut end) = (first, probe_end(last, coarsest));
    let (mut first, mut last, mut width) = (first, last, coarsest);
    for probe in finer {
        let inside = |at: OffsetDateTime| {
            Window::between(at, probe_end(at, width)).unwrap_or(Window::AllTime)
        };
        let (head, tail) = if first == last {
            let both = ask(probe, inside(first)).await?;
            (both, both)
        } else {
            tokio::try_join!(ask(probe, inside(first)), ask(probe, inside(last)))?
        };
        // An edge the finer look does not find (a backend bucketing otherwise) stays as it was.
        if let (Some((head, _)), Some((_, tail))) = (head, tail) {
            (first, last, width) = (head, tail, probe);
            (start, end) = (head, probe_end(tail, probe));
        } else {
            break;
        }
    }
    Ok(Some((start.to_offset(UtcOffset::UTC), end)))
}

/// 404 unless the application (and the chosen event) has events in the window or ever;
/// `in_window` are its events in the view's window, as filtered. Filters that no event passes
/// are no 404: an application exists whatever its events hold.
async fn exists(
    retriever: &AsyncRetriever,
    name: &str,
    event: Option<&str>,
    in_window: &[EventCount],
    view: &View,
) -> Result<(), PageError> {
    let found = |events: &[EventCount]| match event {
        Some(e) => events.iter().any(|x| x.name == e),
        None => !events.is_empty(),
    };
    if found(in_window) {
        return Ok(());
    }
    let ever = if view.window() == Window::AllTime && view.filters.is_empty() {
        in_window.to_vec()
    } else {
        retriever.events(name, &[], &Window::AllTime).await?
    };
    if found(&ever) {
        return Ok(());
    }
    Err(PageError::NotFound(match event {
        Some(e) if !ever.is_empty() => {
            format!("The application {name:?} has no event named {e:?}.")
        }
        _ => format!("There is no application named {name:?}: no event was ever tracked for it."),
    }))
}

/// Milliseconds since the epoch, as the original dashboard's charts take them.
pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The span as the original's `time_range` names it (`1d`, `1mon`; a year is `12mon`).
pub(crate) fn span_name(span: Span) -> String {
    span.to_string()
}

/// The split by a property chosen in the URL, or why it is no property key.
fn by_property(property: &str) -> Result<Split, BadParam> {
    Ok(Split::Property(property.parse().map_err(|_| BadParam {
        name: "property",
        value: property.to_owned(),
        expected: "a property key (letters, digits and `_`, starting with a letter)".into(),
    })?))
}

/// The charts' plan of an application's page: over the view's window, or for all time over the
/// days with events (looked for only when charts are drawn), with its partly covered buckets.
async fn chart_plan(
    retriever: &AsyncRetriever,
    name: &str,
    view: &View,
    need: Need,
) -> Result<Plan, PageError> {
    let now = OffsetDateTime::now_utc();
    let covered = match plan::bounds(view, now) {
        Some(bounds) => Some(bounds),
        None if need == Need::Charts => {
            extent(retriever, name, view.event.as_deref(), &view.filters).await?
        }
        None => None,
    };
    let mut plan = plan::plan(view, covered)?;
    if let Some(covered) = covered {
        plan.partial = plan::partial(plan.step, covered, view.window() == Window::AllTime, now);
    }
    Ok(plan)
}

/// The chosen property's statistic over time, alone (the JSON route's): the charts' plan, the
/// chart, and a 404 for an application or event never tracked.
pub(crate) async fn numbers(
    retriever: &AsyncRetriever,
    name: &str,
    view: &View,
    property: &str,
) -> Result<(Plan, NumberChart), PageError> {
    by_property(property)?;
    let plan = chart_plan(retriever, name, view, Need::Charts).await?;
    let mut over = OverTime::new(plan.span()).split(Split::None);
    if let Some(event) = &view.event {
        over = over.event(event.clone());
    }
    let chart = retriever
        .numbers(
            name,
            &over,
            property,
            view.stat,
            &view.filters,
            &plan.window,
        )
        .await?;
    if chart.series.is_empty() {
        let events = retriever
            .events(name, &view.filters, &view.window())
            .await?;
        exists(retriever, name, view.event.as_deref(), &events, view).await?;
    }
    Ok((plan, chart))
}

/// The users of an application with the most events (of the view's event, when chosen), at most
/// the view's `top` (default 50).
pub(crate) async fn users(
    retriever: &AsyncRetriever,
    name: &str,
    view: &View,
) -> Result<Vec<UserCount>, PageError> {
    let window = view.window();
    let users = retriever
        .top_users(
            name,
            view.event.as_deref(),
            view.top,
            &view.filters,
            &window,
        )
        .await?;
    if users.is_empty() {
        let events = retriever.events(name, &view.filters, &window).await?;
        exists(retriever, name, view.event.as_deref(), &events, view).await?;
    }
    Ok(users)
}

/// A user's timeline page.
#[derive(Debug)]
pub(crate) struct TimelinePage {
    pub(crate) name: String,
    pub(crate) distinct_id: String,
    pub(crate) view: View,
    pub(crate) page: Page,
    pub(crate) timeline: Timeline,
}

/// One page of a user's events in an application, newest first, from `offset`.
pub(crate) async fn timeline(
    retriever: &AsyncRetriever,
    name: &str,
    distinct_id: &str,
    view: View,
    offset: u32,
) -> Result<TimelinePage, PageError> {
    let page = Page::new(offset, TIMELINE_PAGE).map_err(|e| BadParam {
        name: "offset",
        value: offset.to_string(),
        expected: if matches!(e, spoor::Error::InvalidPage(_)) {
            "an offset below 9,950 (narrow the window to see older events)".into()
        } else {
            "a whole number".into()
        },
    })?;
    let timeline = retriever
        .timeline(name, distinct_id, page, &view.filters, &view.window())
        .await?;
    Ok(TimelinePage {
        name: name.to_owned(),
        distinct_id: distinct_id.to_owned(),
        view,
        page,
        timeline,
    })
}

/// What a page of one question with parameters of its own (a funnel, a retention) shows: the
/// question as its parameters state it, its answer, and the application's events for the
/// form's suggestions.
pub(crate) struct QuestionPage<P, R> {
    /// The application.
    pub(crate) name: String,
    /// The index read.
    pub(crate) index: String,
    /// The window and the filters (every event counted passes them), with the question's own
    /// parameters in [`View::page`].
    pub(crate) view: View,
    /// The question; none before the page is told one.
    pub(crate) params: Option<P>,
    /// The application's events in the window.
    pub(crate) events: Vec<String>,
    /// The answer.
    pub(crate) report: Option<R>,
}

/// The page of a question: its answer (`report`, asked over `view`'s window and filters) and
/// the application's events in the window beside it.
pub(crate) async fn question<P, R>(
    retriever: &AsyncRetriever,
    name: &str,
    view: View,
    params: Option<P>,
    report: impl std::future::Future<Output = Result<Option<R>, spoor::Error>>,
) -> Result<QuestionPage<P, R>, PageError> {
    let window = view.window();
    let (events, report) = tokio::join!(retriever.events(name, &[], &window), report);
    let events = events?;
    // An application never tracked is a 404, as its page is.
    exists(retriever, name, None, &events, &view).await?;
    Ok(QuestionPage {
        name: name.to_owned(),
        index: retriever.index().to_owned(),
        events: events.into_iter().map(|e| e.name).collect(),
        report: report?,
        params,
        view,
    })
}
