//! From the outside, on a real `hearth serve`: a plugin built against WIT 0.1 and one
//! built against 0.2 uploaded over HTTP side by side, and a washer that relays its
//! vendor cloud's messages as they are (Home Connect, Matter).

use crate::server::*;
use serde_json::{Value, json};

#[test]
fn a_0_1_and_a_0_2_plugin_take_vendor_shaped_events_over_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let operator = "hth_test_operator_token_0123456789";
    let (child, port) = serve(dir.path(), operator, &["--dev-allow-unsigned-packages"]);
    let with_washers = |path: &str, id: &str| {
        let text = std::fs::read_to_string(path).unwrap();
        let text = text.replace("id = \"test.hearth.recorder\"", &format!("id = \"{id}\""));
        text.replace("topics = [\"appliance.fridge.>\"", "topics = [\"appliance.washer.>\", \"appliance.fridge.>\"")
    };
    let plugins = ["test.hearth.recorder-v01", "test.hearth.recorder-v02"];
    let old = with_washers(hearth_test_components::V0_1_RECORDER_MANIFEST, plugins[0]);
    assert!(old.contains("api = \"0.1\"") && old.contains("appliance.washer.>"), "{old}");
    install_unsigned(port, operator, hearth_test_components::V0_1_RECORDER, &old);
    let new = with_washers(hearth_test_components::RECORDER_PLUGIN_MANIFEST, plugins[1]);
    install_unsigned(port, operator, hearth_test_components::RECORDER_PLUGIN, &new);
    // A 0.1 component under a manifest that claims 0.2 is refused, in the documented shape.
    let boundary = "b0undary";
    let claims_new = old.replace("api = \"0.1\"", "api = \"0.2\"").replace(plugins[0], "test.hearth.liar");
    let mut body = format!("--{boundary}\r\ncontent-disposition: form-data; name=\"manifest\"\r\n\r\n{claims_new}\r\n--{boundary}\r\ncontent-disposition: form-data; name=\"component\"; filename=\"p.wasm\"\r\n\r\n").into_bytes();
    body.extend_from_slice(&std::fs::read(hearth_test_components::V0_1_RECORDER).unwrap());
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (status, refused) =
        http(port, "POST", "/v1/plugins", operator, &format!("multipart/form-data; boundary={boundary}"), &body);
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_component", "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("set api = \"0.1\""), "{refused}");

    register(port, operator, "h1", &[("washer-1", "washer")]);
    let user = token(port, operator, "user", "h1");
    for plugin in plugins {
        let grant = json!({"device_kinds": ["washer"], "devices": []});
        assert_eq!(json_call(port, "PUT", &format!("/v1/me/grants/{plugin}"), &user, grant).0, 204);
    }
    let washer = token(port, operator, "device", "washer-1");

    // Home Connect: the program state in one event, the key with no catalogue place on ext.
    let home_connect = json!({"haId": "BOSCH-WAV28K40-000000000001", "items": [
        {"key": "BSH.Common.Status.OperationState", "value": "BSH.Common.EnumType.OperationState.Run",
         "timestamp": hearth_host::clock::now_ms() / 1000},
        {"key": "BSH.Common.Option.RemainingProgramTime", "value": 75, "unit": "minutes"},
        {"key": "BSH.Common.Status.RemoteControlStartAllowed", "value": true},
    ]});
    let (status, receipts) = json_call(port, "POST", "/v1/events", &washer, home_connect.clone());
    assert_eq!(status, 202, "{receipts}");
    assert_eq!(receipts["receipts"].as_array().unwrap().len(), 2, "{receipts}");
    let (status, again) = json_call(port, "POST", "/v1/events", &washer, home_connect);
    assert_eq!(status, 202);
    assert!(again["receipts"].as_array().unwrap().iter().all(|receipt| receipt["duplicate"] == true), "{again}");

    // Matter: a numeric OperationalState (2 = paused) from the same washer.
    let matter = json!({"cluster": 96, "attribute": 4, "value": 2, "endpoint": 1});
    let (status, receipts) = json_call(port, "POST", "/v1/events", &washer, matter);
    assert_eq!(status, 202, "{receipts}");

    // A message the adapter cannot read is refused whole, naming the item.
    let bad = json!([{"haId": "X", "key": "BSH.Common.Status.OperationState", "value": "Exploded"}]);
    let (status, refused) = json_call(port, "POST", "/v1/events", &washer, bad);
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["events"][0]["index"], 0, "{refused}");
    assert!(refused["error"]["events"][0]["reason"].as_str().unwrap().contains("unexpected value"), "{refused}");

    for plugin in plugins {
        poll(&format!("{plugin} has both washer states"), || {
            let (_, status) = json_call(port, "GET", &format!("/v1/plugins/{plugin}"), operator, Value::Null);
            status["status"]["delivered"] == 2
        });
        let (_, status) = json_call(port, "GET", &format!("/v1/plugins/{plugin}"), operator, Value::Null);
        assert_eq!(status["status"]["failed"], 0, "{status}");
    }
    stop(child);
}
