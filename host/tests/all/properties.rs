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

/// A Home Connect or Matter message with arbitrary keys, values and units, some
/// of them ones the adapters know.
fn vendor_message() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        any::<bool>().prop_map(Value::from),
        "[A-Za-z.]{0,40}".prop_map(Value::from),
        Just(json!("BSH.Common.EnumType.OperationState.Run")),
        Just(json!("BSH.Common.EnumType.EventPresentState.Present")),
        Just(json!("Cooking.Oven.Program.HeatingMode.HotAir")),
        Just(Value::Null),
    ];
    let key = prop_oneof![
        Just("BSH.Common.Status.OperationState".to_owned()),
        Just("BSH.Common.Status.DoorState".to_owned()),
        Just("BSH.Common.Root.ActiveProgram".to_owned()),
        Just("BSH.Common.Event.ProgramFinished".to_owned()),
        Just("Cooking.Oven.Option.SetpointTemperature".to_owned()),
        Just("BSH.Common.Status.BatteryLevel".to_owned()),
        "[A-Za-z.]{0,30}",
    ];
    let unit = prop_oneof![Just("°C"), Just("°F"), Just("seconds"), Just("minutes"), Just(""), Just("bar")];
    let home_connect = proptest::collection::vec((key, scalar.clone(), unit), 1..6).prop_map(|items| {
        let items: Vec<Value> =
            items.into_iter().map(|(key, value, unit)| json!({"key": key, "value": value, "unit": unit})).collect();
        json!({"haId": "BOSCH-X", "items": items})
    });
    let id = prop_oneof![0u64..0x500, Just(0x0060), Just(0x0061), Just(0x002F), Just(0x0202)];
    let matter = proptest::collection::vec((id.clone(), 0u64..16, scalar), 1..6).prop_map(|reports| {
        let reports: Vec<Value> = reports
            .into_iter()
            .map(|(cluster, attribute, value)| json!({"cluster": cluster, "attribute": attribute, "value": value}))
            .collect();
        json!({"reports": reports})
    });
    prop_oneof![home_connect, matter]
}

const KINDS: &[&str] = &[
    "fridge",
    "oven",
    "water-purifier",
    "air-conditioner",
    "washer",
    "dryer",
    "dishwasher",
    "cooktop",
    "hood",
    "coffee-maker",
    "robot-vacuum",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever a vendor cloud relays, from any kind of device: no panic, and what is
    /// accepted is a catalogue topic of that kind or an `ext.` topic, never the
    /// host's own.
    #[test]
    fn vendor_messages_map_into_the_catalogue_or_ext(message in vendor_message(), kind in 0..KINDS.len()) {
        if let Ok(events) = parse(message.to_string().as_bytes(), 1_000, NOW, KINDS[kind]) {
            for event in events {
                let catalogue = hearth_host::events::catalog::kinds_for(&event.topic);
                prop_assert!(
                    event.topic.starts_with("ext.") || catalogue.is_some_and(|kinds| kinds.contains(&KINDS[kind])),
                    "{} from a {}", event.topic, KINDS[kind]
                );
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&bytes, 1_000, NOW, "fridge");
    }

    #[test]
    fn arbitrary_json_never_panics_and_errors_name_their_event(value in json_value()) {
        match parse(value.to_string().as_bytes(), 1_000, NOW, "fridge") {
            Err(IngestError::Invalid { total, errors }) => {
                prop_assert!(!errors.is_empty() && errors.iter().all(|error| error.index < total));
            }
            Ok(events) => prop_assert!(!events.is_empty() || value == json!([])),
            Err(_) => {}
        }
    }

    #[test]
    fn well_formed_events_are_accepted_with_their_ids(events in proptest::collection::vec(inventory(), 1..20)) {
        let parsed = parse(Value::Array(events.clone()).to_string().as_bytes(), 1_000, NOW, "fridge").unwrap();
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
        match parse(Value::Array(events).to_string().as_bytes(), 1_000, NOW, "fridge") {
            Err(IngestError::Invalid { errors, .. }) => {
                prop_assert_eq!(errors.len(), 1);
                prop_assert_eq!(errors[0].index, at);
            }
            other => prop_assert!(false, "expected the batch refused, got {:?}", other.map(|events| events.len())),
        }
    }
}
