//! hetal's cross-crate tests live in `tests/tests/`; this library target is empty.
