//! spoor's dashboard: applications, their events over time, properties and values, unique
//! users, over a chosen time window, drawn on the server as HTML and SVG.

pub mod chart;
