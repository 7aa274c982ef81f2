//! End-to-end tests across spoor's crates live in `tests/it`; this library is empty.
