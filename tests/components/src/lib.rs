//! Paths of the plugin components the tests load, built once by this crate's
//! build script: the example plugins and the hostile fixtures in `tests/fixtures`.
#![allow(clippy::panic)] // test support: a missing fixture is a broken build

include!(concat!(env!("OUT_DIR"), "/components.rs"));

/// Reads a component built by this crate.
pub fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|error| panic!("reading {path}: {error}"))
}

/// A component padded with a custom section to `size` bytes: still the same plugin.
pub fn padded(component: &[u8], size: usize) -> Vec<u8> {
    let name = b"padding";
    // Section id, a 5-byte LEB128 length (fixed width, so the size comes out exact),
    // the name's length and the name, then the payload.
    let header = 1 + 5 + 1 + name.len();
    let content_len = (1 + name.len() + (size - component.len() - header)) as u32;
    let mut out = component.to_vec();
    out.push(0);
    for index in 0..5 {
        let byte = ((content_len >> (7 * index)) & 0x7f) as u8;
        out.push(if index < 4 { byte | 0x80 } else { byte });
    }
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.resize(size, 0);
    out
}
