//! Paths of the plugin components the tests load, built once by this crate's
//! build script: the example plugins and the hostile fixtures in `tests/fixtures`.
#![allow(clippy::panic)] // test support: a missing fixture is a broken build

include!(concat!(env!("OUT_DIR"), "/components.rs"));

/// Reads a component built by this crate.
pub fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|error| panic!("reading {path}: {error}"))
}
