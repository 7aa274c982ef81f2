//! The retention page: its parameters (read from the query string and kept in every link), the
//! question asked, the page (a form and the cohort table shaded by percentage), and its JSON
//! and CSV.
//!
//! | parameter | meaning | example |
//! |---|---|---|
//! | `start` | the event that puts a user in a cohort (their first in the window) | `start=signup` |
//! | `return` | the event that counts as coming back | `return=login` |
//! | `period` | `day`, `week` (default) or `month`: the cohorts' and the periods' length | `period=week` |
//! | `filter.start`, `filter.return` | a filter on the start or the return events, repeatable, as `filter=` | `filter.return=plan=pro` |

use maud::{Markup, html};
use spoor::answer::{Cohort, RetentionReport};
use spoor::{AsyncRetriever, Filter, Period, Retention};
use spoor_proto::form::Form;
use time::macros::format_description;

use crate::chart::group;
use crate::data::{self, PageError, QuestionPage};
use crate::pages::share;
use crate::params::{BadParam, View, bad, filter_list};
use crate::{funnel, pages};

/// A retention question as the page's parameters state it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RetentionParams {
    /// The start event and its filters.
    pub(crate) start: (String, Vec<Filter>),
    /// The return event and its filters.
    pub(crate) back: (String, Vec<Filter>),
    /// The period.
    pub(crate) period: Period,
}

impl RetentionParams {
    /// Reads a query string: `None` when it names no start event.
    pub(crate) fn parse(query: &str) -> Result<Option<Self>, BadParam> {
        let form = Form::decode(query);
        let get = |k: &str| form.get(k).map(str::trim).filter(|v| !v.is_empty());
        let period = match get("period") {
            None => Period::Week,
            Some(p) => {
                Period::from_name(p).ok_or_else(|| bad("period", p, "day, week or month"))?
            }
        };
        let Some(start) = get("start") else {
            return Ok(None);
        };
        // Coming back is doing the start event again, with its filters, unless another is
        // named.
        let start = (start.to_owned(), filter_list(&form, "filter.start")?);
        let back = match get("return") {
            Some(back) if back != start.0 || form.get("filter.return").is_some() => {
                (back.to_owned(), filter_list(&form, "filter.return")?)
            }
            _ => start.clone(),
        };
        Ok(Some(Self {
            start,
            back,
            period,
        }))
    }

    /// The question to ask.
    pub(crate) fn question(&self) -> Retention {
        Retention {
            start: funnel::step(&self.start.0, &self.start.1),
            back: funnel::step(&self.back.0, &self.back.1),
            period: self.period,
        }
    }

    /// The question's parameters as query pairs, for [`View::page`]: every link of the page
    /// keeps them.
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![("start", self.start.0.clone())];
        pairs.extend(self.start.1.iter().map(|f| ("filter.start", f.to_string())));
        // Coming back to the start event with its filters is what no `return` says.
        if self.back != self.start {
            pairs.push(("return", self.back.0.clone()));
            pairs.extend(self.back.1.iter().map(|f| ("filter.return", f.to_string())));
        }
        if self.period != Period::Week {
            pairs.push(("period", self.period.name().to_owned()));
        }
        pairs
    }
}

/// A cell's shade: more retained, darker; white text on the darker half.
fn shade(percent: f64) -> String {
    let alpha = 0.06 + 0.84 * (percent / 100.0).clamp(0.0, 1.0);
    let ink = if alpha > 0.5 { "#fff" } else { "#111827" };
    format!("background:rgba(37,99,235,{alpha:.2});color:{ink}")
}

/// A cohort's first day, as the page writes it.
fn day(cohort: &Cohort) -> String {
    cohort
        .start
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// The period's name in a column's heading.
fn unit(period: Period) -> &'static str {
    match period {
        Period::Day => "Day",
        Period::Week => "Week",
        _ => "Month",
    }
}

/// The cohorts as a table: first all of them together (with more than one), then one row a
/// cohort, its size, then a cell a period with the share retained, shaded by it, and the count
/// under it; periods past the window's end are blank.
fn table(caption: Markup, report: &RetentionReport) -> Markup {
    let periods = longest(report);
    let all: u64 = report.cohorts.iter().map(|c| c.size).sum();
    let cell = |users: u64, of: u64, percent: f64| {
        html! {
            td.num.cell style=(shade(percent)) title={ (group(u128::from(users))) " of " (group(u128::from(of))) " users" } {
                (format!("{percent:.1}")) " %"
                small.count { (group(u128::from(users))) }
            }
        }
    };
    html! {
        div.table-scroll { table.data.retention {
            caption { (caption) }
            thead { tr {
                th { "Cohort" } th.num { "Users" }
                @for p in 0..periods { th.num { (unit(report.period)) " " (p) } }
            } }
            tbody {
                @if report.cohorts.len() > 1 {
                    tr.average {
                        td.time { "All cohorts" }
                        td.num { (group(u128::from(all))) }
                        @for (users, of) in average(report) {
                            (cell(users, of, share(users, of)))
                        }
                    }
                }
                @for cohort in &report.cohorts {
                    tr {
                        td.time { (day(cohort)) }
                        td.num { (group(u128::from(cohort.size))) }
                        @for p in 0..periods {
                            @if let Some(kept) = cohort.periods.get(p) {
                                (cell(kept.users, cohort.size, kept.percent))
                            } @else {
                                td.num.future {}
                            }
                        }
                    }
                }
            }
        } }
    }
}

/// The periods of the longest cohort: the table's columns.
fn longest(report: &RetentionReport) -> usize {
    report
        .cohorts
        .iter()
        .map(|c| c.periods.len())
        .max()
        .unwrap_or(0)
}

/// The cohorts taken together, period by period: the users retained of every cohort that has
/// reached the period, and those cohorts' users (a weighted average, as Mixpanel's and
/// PostHog's first row).
fn average(report: &RetentionReport) -> Vec<(u64, u64)> {
    let periods = longest(report);
    (0..periods)
        .map(|p| {
            report
                .cohorts
                .iter()
                .filter_map(|c| c.periods.get(p).map(|kept| (kept.users, c.size)))
                .fold((0u64, 0u64), |(u, s), (users, size)| (u + users, s + size))
        })
        .collect()
}

/// The question's form, a GET to `path` keeping the rest of the view.
fn form(path: &str, view: &View, params: Option<&RetentionParams>, events: &[String]) -> Markup {
    let start = params.map(|p| p.start.0.as_str()).unwrap_or_default();
    let back = params
        .filter(|p| p.back != p.start)
        .map(|p| p.back.0.as_str())
        .unwrap_or_default();
    let period = params.map_or(Period::Week, |p| p.period);
    let filters = |side: &(String, Vec<Filter>)| -> Vec<String> {
        side.1
            .iter()
            .map(ToString::to_string)
            .chain([String::new()])
            .collect()
    };
    let (start_filters, back_filters) = params.map_or_else(
        || (vec![String::new()], vec![String::new()]),
        |p| (filters(&p.start), filters(&p.back)),
    );
    html! {
        form.retention-form method="get" action=(path) {
            (pages::hidden_fields(&view.without_page(), &[]))
            datalist #retention-events { @for e in events { option value=(e) {} } }
            p {
                label { "Users who did " input type="text" name="start" value=(start) list="retention-events" placeholder="event" required autocomplete="off"; }
                @for f in &start_filters {
                    label { " where " input type="text" name="filter.start" value=(f) placeholder="plan=pro (optional)" autocomplete="off" spellcheck="false"; }
                }
            }
            p {
                label { "and came back to do " input type="text" name="return" value=(back) list="retention-events" placeholder="the same event" autocomplete="off"; }
                @for f in &back_filters {
                    label { " where " input type="text" name="filter.return" value=(f) placeholder="amount>0 (optional)" autocomplete="off" spellcheck="false"; }
                }
            }
            p {
                label { "by " select name="period" {
                    @for p in Period::ALL {
                        option value=(p.name()) selected[p == period] { (p.name()) }
                    }
                } }
                " " button type="submit" { "Show retention" }
            }
        }
    }
}

/// The path of an application's retention page.
pub(crate) fn path(app: &str) -> String {
    format!("{}/retention", pages::app_path(app))
}

/// What the retention page and its JSON and CSV show.
pub(crate) type RetentionPage = QuestionPage<RetentionParams, RetentionReport>;

/// Reads the question from `query` and asks it, with the application's events.
pub(crate) async fn fetch(
    retriever: &AsyncRetriever,
    name: &str,
    mut view: View,
    query: &str,
) -> Result<RetentionPage, PageError> {
    let params = RetentionParams::parse(query)?;
    let question = params.as_ref().map(RetentionParams::question);
    view.page = params
        .as_ref()
        .map(RetentionParams::pairs)
        .unwrap_or_default();
    let (filters, window) = (view.filters.clone(), view.window());
    let report = async {
        match &question {
            Some(question) => retriever
                .retention(name, question, &filters, &window)
                .await
                .map(Some),
            None => Ok(None),
        }
    };
    data::question(retriever, name, view, params, report).await
}

/// The retention page: the window, the filters, the form and the cohort table.
pub(crate) fn render(page: &RetentionPage) -> Markup {
    let view = &page.view;
    let here = path(&page.name);
    let app = pages::app_path(&page.name);
    let outside = view.without_page();
    let title = format!("Retention · {}", page.name);
    html! {
        (pages::layout(&title, Some(&page.index), html! {
            nav.crumbs {
                a href=(outside.href("/applications")) { "Applications" }
                " / " a href=(outside.href(&app)) { (page.name) }
                " / " span { "Retention" }
            }
            h1 { "Retention" }
            p.window { (view.period.label()) }
            (pages::picker(&here, view, false))
            (pages::filter_bar(&here, view))
            (form(&here, view, page.params.as_ref(), &page.events))
            @match (&page.report, &page.params) {
                (Some(report), Some(params)) => {
                    section {
                        h2 { "Users who did " (params.start.0) ", coming back to " (params.back.0) ", by " (params.period.name()) }
                        (pages::filtered(view))
                        @if report.cohorts.is_empty() {
                            p.empty { "No user did " (params.start.0) " in this window." }
                        } @else {
                            (table(html! {
                                "Each row: the users whose first " (params.start.0) " in the window fell in that "
                                (params.period.name()) "; each cell: the share who did " (params.back.0) " in the "
                                (params.period.name()) " so many after it (0: the same one, from their first "
                                (params.start.0) " on) "
                                (pages::csv_link(view.href(&format!("{here}.csv"))))
                            }, report))
                        }
                    }
                }
                _ => {
                    p.empty { "Name the event that starts a cohort (and the one that counts as coming back) to see who returns." }
                }
            }
        }))
    }
}

/// The page's answer as JSON.
pub(crate) fn json(page: &RetentionPage) -> serde_json::Value {
    let (Some(params), Some(report)) = (&page.params, &page.report) else {
        return serde_json::json!({ "application_name": page.name, "cohorts": [] });
    };
    let filters = |f: &[Filter]| f.iter().map(ToString::to_string).collect::<Vec<_>>();
    serde_json::json!({
        "application_name": page.name,
        "window": page.view.period.key(),
        "filters": filters(&page.view.filters),
        "start": { "event": params.start.0, "filters": filters(&params.start.1) },
        "return": { "event": params.back.0, "filters": filters(&params.back.1) },
        "period": report.period.name(),
        "cohorts": report.cohorts.iter().map(|c| serde_json::json!({
            "start": c.start.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "start_ms": data::millis(c.start),
            "size": c.size,
            "retained": c.periods.iter().map(|p| p.users).collect::<Vec<_>>(),
            "percent": c.periods.iter().map(|p| p.percent).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "average_percent": average(report).into_iter().map(|(users, of)| share(users, of)).collect::<Vec<_>>(),
    })
}

/// The page's answer as CSV: a row a cohort and period.
pub(crate) fn csv(page: &RetentionPage) -> String {
    const COLUMNS: [&str; 5] = ["cohort", "size", "period", "retained", "percent"];
    let Some(report) = &page.report else {
        return spoor::csv::table(&COLUMNS, std::iter::empty::<[String; 5]>());
    };
    let rows = report.cohorts.iter().flat_map(|c| {
        c.periods.iter().enumerate().map(|(p, kept)| {
            [
                day(c),
                c.size.to_string(),
                p.to_string(),
                kept.users.to_string(),
                kept.percent.to_string(),
            ]
        })
    });
    spoor::csv::table(&COLUMNS, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The question read back from the query its links write.
    fn reread(params: &RetentionParams) -> RetentionParams {
        let query: Form = params
            .pairs()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        RetentionParams::parse(&query.encode()).unwrap().unwrap()
    }

    #[test]
    fn parameters_round_trip() {
        let query = "start=signup&return=login&period=month&filter.return=plan%3Dpro";
        let params = RetentionParams::parse(query).unwrap().unwrap();
        assert_eq!(params.period, Period::Month);
        assert_eq!(params.back.1[0].to_string(), "plan=pro");
        assert_eq!(reread(&params), params);
        let same = RetentionParams::parse("start=login").unwrap().unwrap();
        assert_eq!(same.back.0, "login");
        // Coming back to the start event keeps its filters, and says so by no `return`.
        let pro = RetentionParams::parse("start=buy&filter.start=plan%3Dpro")
            .unwrap()
            .unwrap();
        assert_eq!(pro.back, pro.start);
        assert!(
            !pro.pairs()
                .iter()
                .any(|(k, _)| *k == "return" || *k == "filter.return")
        );
        // Another return event, or the same one with other filters, is written out.
        let any = RetentionParams::parse(
            "start=buy&filter.start=plan%3Dpro&return=buy&filter.return=plan%3D*",
        )
        .unwrap()
        .unwrap();
        assert_eq!(any.back.1[0].to_string(), "plan=*");
        assert_eq!(reread(&any), any);
        assert_eq!(same.period, Period::Week);
        assert_eq!(RetentionParams::parse("period=day").unwrap(), None);
    }

    #[test]
    fn bad_parameters_say_what_to_write() {
        let err = RetentionParams::parse("start=a&period=year").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value \"year\" for the parameter `period`: expected day, week or month"
        );
        let err = RetentionParams::parse("start=a&filter.start=amount%3Cx").unwrap_err();
        assert_eq!(err.name, "filter.start");
    }

    #[test]
    fn cells_are_shaded_by_share_and_future_periods_blank() {
        use spoor::answer::Retained;
        let start = time::macros::datetime!(2026-11-01 00:00 UTC);
        let cohort = |days: i64, size: u64, kept: &[u64]| Cohort {
            start: start + time::Duration::days(days),
            size,
            periods: kept
                .iter()
                .map(|&users| Retained {
                    users,
                    percent: if size == 0 {
                        0.0
                    } else {
                        users as f64 * 100.0 / size as f64
                    },
                })
                .collect(),
        };
        let report = RetentionReport {
            period: Period::Week,
            cohorts: vec![cohort(0, 4, &[4, 1]), cohort(7, 0, &[0])],
        };
        let html = table(html! { "t" }, &report).into_string();
        // The cohorts together: week 0 is 4 of 4 users (the second cohort has none), week 1 is
        // 1 of the 4 of the only cohort that reached it.
        assert_eq!(average(&report), [(4, 4), (1, 4)]);
        assert!(html.contains("All cohorts"), "{html}");
        assert!(html.contains("Week 1"), "{html}");
        assert!(html.contains("2026-11-08"), "{html}");
        assert!(html.contains("25.0 %"), "{html}");
        assert!(html.contains("1 of 4 users"), "{html}");
        assert!(html.contains("future"), "{html}");
        assert!(!html.contains("NaN"), "{html}");
    }
}
