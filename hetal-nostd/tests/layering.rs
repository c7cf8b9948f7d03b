//! The module layering documented in `src/lib.rs` holds: no module imports
//! from a layer above its own.

mod support;

/// Lowest first, as in the crate documentation.
const LAYERS: [&str; 10] = [
    "math",
    "params",
    "ring",
    "encoding",
    "keys",
    "encrypt",
    "decrypt",
    "evk",
    "encapsulation",
    "wire",
];

#[test]
fn the_layer_check_finds_upward_imports() {
    support::layering::self_test();
}

#[test]
fn no_module_imports_from_a_higher_layer() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let violations = support::layering::crate_violations(&src, &LAYERS);
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
