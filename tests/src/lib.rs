//! Shared helpers for hetal's cross-crate tests (the tests live in `tests/tests/`).
