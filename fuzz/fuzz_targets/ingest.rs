#![no_main]
//! The event ingest parser: any bytes, no panic; errors name events that exist.

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    if let Err(hearth_host::events::ingest::IngestError::Invalid { total, errors }) =
        hearth_host::events::ingest::parse(bytes, 1_000, 1_800_000_000_000, "washer")
    {
        assert!(errors.iter().all(|error| error.index < total));
    }
});
