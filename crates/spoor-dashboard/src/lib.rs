//! spoor's dashboard: applications, their events over time, properties and values, and unique
//! users, over a chosen time window; HTML and SVG rendered on the server (maud), served by
//! hyper, with CSV and JSON of every table.
//!
//! It asks its questions through spoor's [`AsyncRetriever`](spoor::AsyncRetriever) (of the
//! index it was given) and logs its own page views through spoor's [`Tracker`](spoor::Tracker)
//! (application [`META_APPLICATION`], in an index of their own, [`DEFAULT_META_INDEX`] by
//! default: see [`meta_tracker`]), so Splunk and spoor's embedded engine are the same to it.
//!
//! # Routes
//!
//! - `/` redirects to `/applications`: every application with events, unique users, share
//!   and a trend line (`/applications.csv`).
//! - `/applications/{name}` (and the original `/application/{name}`): the window picker, the
//!   events table (choosing an event narrows the page), events over time (by event, or by a
//!   chosen property's top values), unique users over time, the properties of the chosen event
//!   (of all events when none is chosen) and the chosen property's values (in the chosen event,
//!   or in all events, as the original's `property` without an event); each table as CSV at
//!   `/applications/{name}/{events,properties,values}.csv`.
//! - `/applications/{name}/users/{distinct_id}`: a user's events in the application, newest
//!   first, 50 a page (`offset`), with their properties; the application page lists its top
//!   users, each linking here.
//! - `/api/applications`: the applications list as JSON (no trends), with the summary.
//! - `/api/application/{name}/numbers` (a statistic of a numeric `property` per bucket;
//!   `agg`: `sum`, `avg`, `min`, `max`, `median`, `perc90`, `perc99`).
//! - `/api/application/{name}/users` (the users with the most events; `event`, `top`) and
//!   `/api/application/{name}/users/{distinct_id}` (a user's timeline; `offset`).
//! - `/api/application/{name}`: the page's data as JSON, with the original's parameters
//!   (`event_name`, `property`, `time_range`) and the new ones (`window`, `from`, `to`,
//!   `span`, `event`, `top`).
//! - `POST /api/track`: events from browsers and servers, one JSON event or an array, checked
//!   whole and delivered through a [`Tracker`](spoor::Tracker) to the index read (see
//!   [`Dashboard::with_intake`] and [`TrackOptions`]); `GET /spoor.js`: the script that sends
//!   them from a web page (page views, custom events, an anonymous id in `localStorage`).
//! - `/healthz`, `/static/…`.
//!
//! Every page, JSON and CSV route takes `filter=` (repeatable, ANDed: `filter=plan=pro`,
//! `filter=amount>=10`, `filter=plan!=*`…, spoor's [`Filter`](spoor::Filter) syntax); every page
//! has a filter bar, keeps the filters in each of its links, and adds one when a property's value
//! is clicked.
//!
//! # Limits
//!
//! What a request chooses is bounded before anything is asked: a chart has at most 1,000
//! points (a span too fine is coarsened to the next that fits, and the page and the JSON say
//! so; a window not even years fit is a 400), a table at most 1,000 rows, `top` at most 1,000
//! values. `/api/track` is bounded in bytes, events and names, limited per client address, and
//! open only to the origins allowed. Every response refuses framing (`X-Frame-Options`, CSP `frame-ancestors`) and
//! referrers. The crate's README lists every bound.
//!
//! Out of scope: user accounts (it binds to loopback unless told otherwise), funnels and
//! retention.

pub mod chart;
mod data;
pub mod demo;
mod funnel;
mod indexes;
mod pages;
mod params;
mod plan;
mod retention;
mod server;
mod track;

pub use indexes::{BadIndexName, DEFAULT_META_INDEX, index_name, meta_tracker};
pub use server::{
    Dashboard, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_CLIENT, META_APPLICATION, default_listen, serve,
};
pub use track::{
    BadOrigin, MAX_BATCH_EVENTS, MAX_BODY_BYTES, MAX_NAME_BYTES, TrackOptions, allowed_origin,
};
