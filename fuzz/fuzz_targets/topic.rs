#![no_main]
//! Topic patterns and matching: no panic; a valid topic matches itself.

libfuzzer_sys::fuzz_target!(|input: (&str, &str)| {
    let (pattern, topic) = input;
    use hearth_package::topic::{matches, validate_pattern, validate_topic};
    if validate_topic(topic).is_ok() {
        assert!(matches(topic, topic));
        if validate_pattern(pattern).is_ok() {
            let _ = matches(pattern, topic);
        }
    }
});
