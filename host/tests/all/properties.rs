//! Property tests (proptest) of the event ingest parser: it never panics on any
//! input, accepts every well-formed catalogue event, and refuses a batch whole.

use hearth_host::events::ingest::{IngestError, parse};
use proptest::prelude::*;
use serde_json::{Value, json};

const NOW: u64 = 1_800_000_000_000;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("id".to_owned()),
                    Just("topic".to_owned()),
                    Just("body".to_owned()),
                    Just("time_ms".to_owned()),
                    "[a-z_]{1,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn inventory() -> impl Strategy<Value = Value> {
    (
        "[a-z][a-z ]{0,20}",
        prop_oneof![Just("added"), Just("removed"), Just("counted")],
        0u32..=1_000_000,
        prop_oneof![Just("pieces"), Just("grams"), Just("millilitres")],
        "[a-zA-Z0-9_-]{1,40}",
    )
        .prop_map(|(item, action, amount, unit, id)| {
            json!({"id": id, "topic": "appliance.fridge.inventory",
                "body": {"item": item, "action": action, "quantity": {"amount": amount, "unit": unit}}})
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&bytes, 1_000, NOW);
    }

    #[test]
    fn arbitrary_json_never_panics_and_errors_name_their_event(value in json_value()) {
        match parse(value.to_string().as_bytes(), 1_000, NOW) {
            Err(IngestError::Invalid { total, errors }) => {
                prop_assert!(!errors.is_empty() && errors.iter().all(|error| error.index < total));
            }
            Ok(events) => prop_assert!(!events.is_empty() || value == json!([])),
            Err(_) => {}
        }
    }

    #[test]
    fn well_formed_events_are_accepted_with_their_ids(events in proptest::collection::vec(inventory(), 1..20)) {
        let parsed = parse(Value::Array(events.clone()).to_string().as_bytes(), 1_000, NOW).unwrap();
        prop_assert_eq!(parsed.len(), events.len());
        for (event, parsed) in events.iter().zip(&parsed) {
            prop_assert_eq!(event["id"].as_str().unwrap(), parsed.id.as_str());
            prop_assert_eq!(parsed.time_ms, NOW);
        }
    }

    #[test]
    fn one_bad_event_refuses_the_whole_batch(events in proptest::collection::vec(inventory(), 1..20), at in any::<proptest::sample::Index>()) {
        let mut events = events;
        let at = at.index(events.len());
        events[at]["body"]["quantity"]["amount"] = json!(-1);
        match parse(Value::Array(events).to_string().as_bytes(), 1_000, NOW) {
            Err(IngestError::Invalid { errors, .. }) => {
                prop_assert_eq!(errors.len(), 1);
                prop_assert_eq!(errors[0].index, at);
            }
            other => prop_assert!(false, "expected the batch refused, got {:?}", other.map(|events| events.len())),
        }
    }
}
