#![no_main]
//! `hearth.toml` parsing and validation: any text, no panic; a manifest that parses
//! round-trips through `to_toml`.

libfuzzer_sys::fuzz_target!(|text: &str| {
    if let Ok(manifest) = text.parse::<hearth_package::Manifest>() {
        let again: hearth_package::Manifest = manifest.to_toml().parse().expect("a valid manifest round-trips");
        assert_eq!(again, manifest);
    }
});
