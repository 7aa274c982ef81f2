//! The Retriever: the questions of `spoor-spl`'s builders, asked of Splunk (or spoor's engine),
//! with typed answers. [`Retriever`] blocks; [`AsyncRetriever`] is the same over tokio.

use std::num::NonZeroU32;

use spoor_event::Key;
use spoor_proto::Config;
use spoor_proto::search::{Row, SearchParams};
use spoor_spl::ast::Span;
use spoor_spl::build::{self, Funnel, Index, OverTime, Retention, Stat, WindowedQuery};
use spoor_spl::filter::Filter;

use time::OffsetDateTime;

use crate::answer::{
    self, Application, Chart, EventCount, FunnelReport, NumberChart, Property, RetentionReport,
    Summary, Timeline, UserCount, ValueCount,
};
use crate::{Error, Page, Window};

/// The users [`Retriever::top_users`] lists unless told otherwise.
pub const DEFAULT_TOP_USERS: NonZeroU32 = NonZeroU32::new(50).expect("50 is not zero");

/// The index spoor writes to and reads from unless told otherwise.
pub const DEFAULT_INDEX: &str = "spoor";

/// One question: the query, the window's job parameters.
struct Question {
    query: String,
    params: SearchParams,
}

impl Question {
    fn new(query: &WindowedQuery, window: &Window) -> Self {
        Self {
            query: query.to_string(),
            params: window.params(),
        }
    }
}

fn index(name: &str) -> Result<Index, Error> {
    Index::new(name).map_err(|e| Error::InvalidName(e.to_string()))
}

fn parse_key(name: &str) -> Result<Key, Error> {
    Key::new(name).map_err(|e| Error::InvalidName(e.to_string()))
}

/// The questions, written once for both retrievers: `$ask` runs a [`Question`] and gives its
/// rows (`.await`ed in the async one).
macro_rules! questions {
    ($($kw:ident)?; $(.$await:ident)?) => {
        /// Every application in the window: events and unique users, by name.
        ///
        /// # Errors
        ///
        /// [`Error::Splunk`] when the search fails, [`Error::Answer`] for rows of another
        /// shape.
        pub $($kw)? fn applications(&self, filters: &[Filter], window: &Window) -> Result<Vec<Application>, Error> {
            let query = build::applications(&self.index, filters, window.time_window());
            answer::applications(self.ask(Question::new(&query, window))$(.$await)??)
        }

        /// Events, unique users and events per user in the window, of `application` (of every
        /// application when `None`), beside the same for the window of the same length just
        /// before it ([`Window::previous`]; none for all time).
        ///
        /// # Errors
        ///
        /// As [`applications`](Self::applications).
        pub $($kw)? fn summary(&self, application: Option<&str>, filters: &[Filter], window: &Window) -> Result<Summary, Error> {
            let ask = |window: &Window| Question::new(&build::totals(&self.index, application, filters, window.time_window()), window);
            let current = answer::totals(self.ask(ask(window))$(.$await)??)?;
            let previous = match window.previous(OffsetDateTime::now_utc()) {
                Some(previous) => Some(answer::totals(self.ask(ask(&previous))$(.$await)??)?),
                None => None,
            };
            Ok(Summary { current, previous })
        }

        /// `stat` of the numeric property `key` of `application`'s events per bucket, for the
        /// event and split `over` says (revenue: [`Stat::Sum`] of `amount` over `purchase`).
        /// Values that are not numbers are ignored; a bucket without a number has none.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidName`] for a key no event can have, else as
        /// [`applications`](Self::applications).
        pub $($kw)? fn numbers(
            &self,
            application: &str,
            over: &OverTime,
            key: &str,
            stat: Stat,
            filters: &[Filter],
            window: &Window,
        ) -> Result<NumberChart, Error> {
            let key = parse_key(key)?;
            let query = build::numbers(&self.index, application, over, &key, stat, filters, window.time_window());
            answer::number_chart(self.ask(Question::new(&query, window))$(.$await)??, over.span(), stat)
        }

        /// The users of `application` with the most events in the window (of `event` only,
        /// when given), the most first, at most `top` (`None`: 50).
        ///
        /// # Errors
        ///
        /// As [`applications`](Self::applications).
        pub $($kw)? fn top_users(
            &self,
            application: &str,
            event: Option<&str>,
            top: Option<NonZeroU32>,
            filters: &[Filter],
            window: &Window,
        ) -> Result<Vec<UserCount>, Error> {
            let top = top.unwrap_or(DEFAULT_TOP_USERS);
            let query = build::top_users(&self.index, application, event, top, filters, window.time_window());
            answer::users(self.ask(Question::new(&query, window))$(.$await)??)
        }

        /// One user's events in `application` over the window, newest first, a [`Page`] at a
        /// time, with their properties.
        ///
        /// # Errors
        ///
        /// As [`applications`](Self::applications).
        pub $($kw)? fn timeline(
            &self,
            application: &str,
            distinct_id: &str,
            page: Page,
            filters: &[Filter],
            window: &Window,
        ) -> Result<Timeline, Error> {
            // One row more than the page tells whether another follows.
            let reach = page.offset() + page.limit() + 1;
            let reach = NonZeroU32::new(reach).unwrap_or(NonZeroU32::MIN);
            let query = build::user_events(&self.index, application, distinct_id, reach, filters, window.time_window());
            let rows = self.ask(Question::new(&query, window))$(.$await)??;
            answer::timeline(rows, page.offset() as usize, page.limit() as usize)
        }

        /// The events of `application` in the window: counts and unique users, by name.
        ///
        /// # Errors
        ///
        /// As [`applications`](Self::applications).
        pub $($kw)? fn events(&self, application: &str, filters: &[Filter], window: &Window) -> Result<Vec<EventCount>, Error> {
            let query = build::events(&self.index, application, filters, window.time_window());
            answer::events(self.ask(Question::new(&query, window))$(.$await)??)
        }

        /// The properties of `event` in `application` (of all its events when `event` is
        /// `None`), each with its number of distinct values, by key.
        ///
        /// # Errors
        ///
        /// As [`applications`](Self::applications).
        pub $($kw)? fn properties(
            &self,
            application: &str,
            event: Option<&str>,
            filters: &[Filter],
            window: &Window,
        ) -> Result<Vec<Property>, Error> {
            let query = build::properties(&self.index, application, event, filters, window.time_window());
            answer::properties(self.ask(Question::new(&query, window))$(.$await)??)
        }

        /// The values of property `key` in `event` of `application` (in all its events when
        /// `event` is `None`), the most frequent first, at most `top` (`None`: all of them).
        ///
        /// # Errors
        ///
        /// [`Error::InvalidName`] for a key no event can have, else as
        /// [`applications`](Self::applications).
        pub $($kw)? fn values(
            &self,
            application: &str,
            event: Option<&str>,
            key: &str,
            top: Option<NonZeroU32>,
            filters: &[Filter],
            window: &Window,
        ) -> Result<Vec<ValueCount>, Error> {
            let key = parse_key(key)?;
            let query = build::property_values(&self.index, application, event, &key, top, filters, window.time_window());
            answer::values(self.ask(Question::new(&query, window))$(.$await)??)
        }

        /// Events of `application` per bucket, split as `over` says (by event, by a property's
        /// top values with the rest as `OTHER`, or not at all). Empty buckets are `0`.
        ///
        /// # Errors
        ///
        /// As [`applications`](Self::applications).
        pub $($kw)? fn events_over_time(
            &self,
            application: &str,
            over: &OverTime,
            filters: &[Filter],
            window: &Window,
        ) -> Result<Chart, Error> {
            let query = build::events_over_time(&self.index, application, over, filters, window.time_window());
            answer::chart(self.ask(Question::new(&query, window))$(.$await)??, over.span())
        }

        /// The users of `application` who went through `funnel`'s steps in order within its
        /// conversion window, step by step, and per breakdown value when it has one (see
        /// [`FunnelReport`] for an example, and `spoor_spl::build::funnel` for the exact
        /// semantics: ClickHouse's `windowFunnel`). `filters` apply to every event read;
        /// each step's own filters to its events only.
        ///
        /// # Errors
        ///
        /// As [`applications`](Self::applications).
        pub $($kw)? fn funnel(
            &self,
            application: &str,
            funnel: &Funnel,
            filters: &[Filter],
            window: &Window,
        ) -> Result<FunnelReport, Error> {
            let query = build::funnel(&self.index, application, funnel, filters, window.time_window());
            answer::funnel(self.ask(Question::new(&query, window))$(.$await)??, funnel)
        }

        /// The cohorts of `application`'s users by the period of their first `question.start`
        /// event in the window, and who of each did `question.back` in each period from then
        /// on, to the last period the window reaches, or to the current one when the window
        /// ends later (see [`RetentionReport`] for an example, and `spoor_spl::build::retention`
        /// for the exact semantics). Periods are in UTC.
        ///
        /// # Errors
        ///
        /// As [`applications`](Self::applications).
        pub $($kw)? fn retention(
            &self,
            application: &str,
            question: &Retention,
            filters: &[Filter],
            window: &Window,
        ) -> Result<RetentionReport, Error> {
            let query = build::retention(&self.index, application, question, filters, window.time_window());
            let rows = self.ask(Question::new(&query, window))$(.$await)??;
            // Periods that have not begun are not listed, whatever the window's end.
            let now = OffsetDateTime::now_utc();
            let end = window.instants(now).map(|(_, latest)| latest.min(now));
            answer::retention(rows, question.period, end)
        }

        /// Unique users of `application` (of `event` only, when given) per bucket.
        ///
        /// # Errors
        ///
        /// As [`applications`](Self::applications).
        pub $($kw)? fn unique_users_over_time(
            &self,
            application: &str,
            event: Option<&str>,
            span: Span,
            filters: &[Filter],
            window: &Window,
        ) -> Result<Chart, Error> {
            let query = build::unique_users_over_time(&self.index, application, event, span, filters, window.time_window());
            answer::chart(self.ask(Question::new(&query, window))$(.$await)??, span)
        }
    };
}

/// Asks spoor's questions of Splunk, blocking the calling thread.
///
/// Every question takes `filters`: conditions on properties ([`Filter`], e.g. `plan=pro`,
/// `amount>=10`, `coupon!=*`) that every event it counts must pass, all of them; `&[]` for
/// none. They are exact on Splunk too (a search term narrows what is read, a `where` decides).
///
/// ```no_run
/// use spoor::{Retriever, Window};
///
/// let config = spoor_splunk::load_config(&spoor_proto::ConfigBuilder::new())?;
/// let retriever = Retriever::new(&config)?;
/// for app in retriever.applications(&[], &Window::Last7Days)? {
///     println!("{}: {} events, {} users", app.name, app.events, app.unique_users);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Retriever {
    client: spoor_splunk::blocking::Client,
    index: Index,
}

impl Retriever {
    /// A retriever of the [`DEFAULT_INDEX`].
    ///
    /// # Errors
    ///
    /// [`Error::Splunk`] when the configuration cannot make a client.
    pub fn new(config: &Config) -> Result<Self, Error> {
        Self::with_index(config, DEFAULT_INDEX)
    }

    /// A retriever of the events in `index`, e.g. the original Python tracker's
    /// `sample_analytics`. Nothing is asked yet: a name Splunk cannot have is refused here.
    ///
    /// ```
    /// use spoor::Retriever;
    ///
    /// let config = spoor_proto::ConfigBuilder::new().build()?;
    /// let retriever = Retriever::with_index(&config, "sample_analytics")?;
    /// assert_eq!(retriever.index(), "sample_analytics");
    /// assert!(matches!(
    ///     Retriever::with_index(&config, "Sample Analytics"),
    ///     Err(spoor::Error::InvalidName(_))
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] for a name Splunk refuses, [`Error::Splunk`] as [`new`](Self::new).
    pub fn with_index(config: &Config, index_name: &str) -> Result<Self, Error> {
        Ok(Self {
            client: spoor_splunk::blocking::Client::new(config)?,
            index: index(index_name)?,
        })
    }

    /// The index this retriever reads.
    pub fn index(&self) -> &str {
        self.index.as_str()
    }

    /// Reads the server's version once, so searches use the API it has (`search/v2` from
    /// Splunk 9.0.2). Without it the v1 endpoints are used, which every version has.
    ///
    /// # Errors
    ///
    /// [`Error::Splunk`] when the server cannot be reached.
    pub fn connect(&self) -> Result<(), Error> {
        self.client.server_info()?;
        Ok(())
    }

    fn ask(&self, question: Question) -> Result<Vec<Row>, Error> {
        Ok(self.client.search(&question.query, question.params)?.rows)
    }

    questions!(;);
}

/// Asks spoor's questions of Splunk, over tokio.
#[derive(Debug)]
pub struct AsyncRetriever {
    client: spoor_splunk::tokio::Client,
    index: Index,
}

impl AsyncRetriever {
    /// A retriever of the [`DEFAULT_INDEX`].
    ///
    /// # Errors
    ///
    /// [`Error::Splunk`] when the configuration cannot make a client.
    pub fn new(config: &Config) -> Result<Self, Error> {
        Self::with_index(config, DEFAULT_INDEX)
    }

    /// A retriever of the events in `index`, as [`Retriever::with_index`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] for a name Splunk refuses, [`Error::Splunk`] as [`new`](Self::new).
    pub fn with_index(config: &Config, index_name: &str) -> Result<Self, Error> {
        Ok(Self {
            client: spoor_splunk::tokio::Client::new(config)?,
            index: index(index_name)?,
        })
    }

    /// The index this retriever reads.
    pub fn index(&self) -> &str {
        self.index.as_str()
    }

    /// As [`Retriever::connect`].
    ///
    /// # Errors
    ///
    /// [`Error::Splunk`] when the server cannot be reached.
    pub async fn connect(&self) -> Result<(), Error> {
        self.client.server_info().await?;
        Ok(())
    }

    async fn ask(&self, question: Question) -> Result<Vec<Row>, Error> {
        Ok(self
            .client
            .search(&question.query, question.params)
            .await?
            .rows)
    }

    questions!(async; .await);
}
