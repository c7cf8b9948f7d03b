//! The module layering documented in `src/lib.rs` holds: no module imports
//! from a layer above its own.

// The check is shared with hetal-nostd's own layering test.
#[path = "../../hetal-nostd/tests/support/layering.rs"]
mod layering;

/// Lowest first, as in the crate documentation.
const LAYERS: [&str; 17] = [
    "reproducible",
    "ckks",
    "error",
    "engine",
    "circuits",
    "ckks_engine",
    "linalg",
    "softmax",
    "data",
    "train",
    "io",
    "job",
    "protocol",
    "extract",
    "demo",
    "bench",
    "cli",
];

#[test]
fn the_layer_check_finds_upward_imports() {
    layering::self_test();
}

#[test]
fn no_module_imports_from_a_higher_layer() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let violations = layering::crate_violations(&src, &LAYERS);
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
