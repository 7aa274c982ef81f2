//! What each page shows, asked of the backend through spoor's Retriever (the questions of a
//! page run at once).

use std::future::Future;
use std::num::NonZeroU32;

use spoor::answer::{Application, Chart, EventCount, Property, ValueCount};
use spoor::{AsyncRetriever, OverTime, Span, Split, Window};

use crate::params::{BadParam, View};

/// The values listed for a property unless `top` says otherwise.
const DEFAULT_TOP: u32 = 50;

/// Why a page could not be made.
#[derive(Debug)]
pub(crate) enum PageError {
    /// A query parameter is wrong: 400.
    BadParam(BadParam),
    /// No such application or event: 404.
    NotFound(String),
    /// The backend failed or is unreachable: 503.
    Backend(spoor::Error),
}

impl From<spoor::Error> for PageError {
    fn from(err: spoor::Error) -> Self {
        Self::Backend(err)
    }
}

impl From<BadParam> for PageError {
    fn from(err: BadParam) -> Self {
        Self::BadParam(err)
    }
}

/// The applications list: each with its trend over the window.
#[derive(Debug)]
pub(crate) struct ListPage {
    pub(crate) view: View,
    pub(crate) apps: Vec<(Application, Vec<u64>)>,
}

/// An application's page.
#[derive(Debug)]
pub(crate) struct AppPage {
    pub(crate) name: String,
    pub(crate) view: View,
    pub(crate) events: Vec<EventCount>,
    pub(crate) chart: Chart,
    pub(crate) users: Chart,
    pub(crate) properties: Option<Vec<Property>>,
    pub(crate) values: Option<Vec<ValueCount>>,
}

pub(crate) async fn list(retriever: &AsyncRetriever, view: View) -> Result<ListPage, PageError> {
    let window = view.window();
    let mut apps = retriever.applications(&window).await?;
    apps.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.name.cmp(&b.name)));
    let span = view.span();
    let trends = apps.iter().map(|app| async {
        let over = OverTime::new(span).split(Split::None);
        retriever
            .events_over_time(&app.name, &over, &window)
            .await
            .map(|chart| {
                chart
                    .series
                    .first()
                    .map(|s| s.values.clone())
                    .unwrap_or_default()
            })
    });
    let mut rows = Vec::with_capacity(apps.len());
    for (app, trend) in apps.iter().zip(join_all(trends).await) {
        rows.push((app.clone(), trend?));
    }
    Ok(ListPage { view, apps: rows })
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

pub(crate) async fn application(
    retriever: &AsyncRetriever,
    name: &str,
    view: View,
) -> Result<AppPage, PageError> {
    let window = view.window();
    let span = view.span();
    let over = match (&view.event, &view.property) {
        (None, _) => OverTime::new(span),
        (Some(event), None) => OverTime::new(span).event(event.clone()).split(Split::None),
        (Some(event), Some(property)) => {
            let key = property.parse().map_err(|_| BadParam {
                name: "property",
                value: property.clone(),
                expected: "a property key (letters, digits and `_`, starting with a letter)",
            })?;
            OverTime::new(span)
                .event(event.clone())
                .split(Split::Property(key))
        }
    };
    let event = view.event.as_deref();
    let top = view.top.or(NonZeroU32::new(DEFAULT_TOP));
    let (events, chart, users, properties, values) = tokio::join!(
        retriever.events(name, &window),
        retriever.events_over_time(name, &over, &window),
        retriever.unique_users_over_time(name, event, span, &window),
        async {
            match event {
                Some(e) => retriever.properties(name, e, &window).await.map(Some),
                None => Ok(None),
            }
        },
        async {
            match (event, &view.property) {
                (Some(e), Some(p)) => retriever.values(name, e, p, top, &window).await.map(Some),
                _ => Ok(None),
            }
        },
    );
    let mut events = events?;
    // The largest first, as the share column reads best (the backend answers by name).
    events.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.name.cmp(&b.name)));
    exists(retriever, name, event, &events, &window).await?;
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
    Ok(AppPage {
        name: name.to_owned(),
        view,
        events,
        chart,
        users,
        properties: properties?,
        values: values?,
    })
}

/// 404 unless the application (and the chosen event) has events in the window or ever.
async fn exists(
    retriever: &AsyncRetriever,
    name: &str,
    event: Option<&str>,
    in_window: &[EventCount],
    window: &Window,
) -> Result<(), PageError> {
    let found = |events: &[EventCount]| match event {
        Some(e) => events.iter().any(|x| x.name == e),
        None => !events.is_empty(),
    };
    if found(in_window) {
        return Ok(());
    }
    let ever = if *window == Window::AllTime {
        in_window.to_vec()
    } else {
        retriever.events(name, &Window::AllTime).await?
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
pub(crate) fn millis(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The span as the original's `time_range` names it.
pub(crate) fn span_name(span: Span) -> String {
    span.to_string()
}
