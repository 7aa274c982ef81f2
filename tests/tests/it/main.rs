//! End-to-end tests across spoor's crates: one test binary, a module per concern.

mod dashboard;
mod external_clients;
mod facades;
mod layering;
mod packaging;
