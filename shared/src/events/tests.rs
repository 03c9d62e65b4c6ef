//! Every fixture (real event shapes from AWS documentation) read and normalized, and the ways
//! an event can be wrong.

use super::*;
use proptest::prelude::*;

/// One fixture: its file name, its text, and what `expected.json` says it must become.
struct Fixture {
    name: String,
    json: String,
    trigger: String,
    account_id: Option<String>,
}

/// Every fixture of `tests/fixtures/events`, with its expectation from `expected.json` (the one
/// list of expectations, shared with the CLI's tests).
fn fixtures() -> &'static [Fixture] {
    static FIXTURES: std::sync::OnceLock<Vec<Fixture>> = std::sync::OnceLock::new();
    FIXTURES.get_or_init(read_fixtures)
}

fn read_fixtures() -> Vec<Fixture> {
    let directory =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/events");
    let manifest: serde_json::Map<String, Value> = serde_json::from_str(
        &std::fs::read_to_string(directory.join("expected.json"))
            .expect("expected.json is readable"),
    )
    .expect("expected.json is a JSON object");
    manifest
        .into_iter()
        .map(|(name, expected)| Fixture {
            json: std::fs::read_to_string(directory.join(&name)).expect(&name),
            trigger: expected["trigger"]
                .as_str()
                .expect("a trigger name")
                .to_owned(),
            account_id: expected["account_id"].as_str().map(str::to_owned),
            name,
        })
        .collect()
}

fn fixture(name: &str) -> &'static str {
    &fixtures()
        .iter()
        .find(|fixture| fixture.name == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
        .json
}

fn parse(json: &str) -> Result<TriggerEvent> {
    TriggerEvent::from_slice(json.as_bytes())
}

fn expect_error(json: &str) -> Error {
    match parse(json) {
        Ok(event) => panic!("expected an error, got {event:?}"),
        Err(error) => error,
    }
}

#[test]
fn when_every_fixture_file_is_listed_then_none_is_left_untested() {
    let directory =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/events");
    let on_disk = std::fs::read_dir(directory)
        .expect("fixtures directory")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.to_ascii_lowercase().ends_with(".json") && name != "expected.json")
        .count();
    assert_eq!(fixtures().len(), on_disk);
}

#[test]
fn when_each_fixture_is_read_then_it_becomes_its_trigger_about_its_account() {
    for Fixture {
        name,
        json,
        trigger,
        account_id,
    } in fixtures()
    {
        let event = parse(json).unwrap_or_else(|error| panic!("{name}: {error}"));
        let written = serde_json::to_value(&event).expect("a trigger serializes");
        assert_eq!(written["trigger"], trigger.as_str(), "{name}: {written}");
        assert_eq!(
            event.trigger.account_id().map(AccountId::as_str),
            account_id.as_deref(),
            "{name}"
        );
        let read_back: TriggerEvent = serde_json::from_value(written).expect("reads back");
        assert_eq!(read_back, event, "{name}: the trigger round-trips");
    }
}

#[test]
fn when_each_eventbridge_fixture_is_rewritten_then_the_envelope_round_trips() {
    for Fixture { name, json, .. } in fixtures()
        .iter()
        .filter(|f| !f.name.starts_with("run-input"))
    {
        let envelope: EventBridgeEvent<Value> = serde_json::from_str(json).expect(name);
        let rewritten = serde_json::to_string(&envelope).expect("serializes");
        let again: EventBridgeEvent<Value> = serde_json::from_str(&rewritten).expect(name);
        assert_eq!(again, envelope, "{name}");
        assert_eq!(
            TriggerEvent::from_eventbridge(&again).expect(name),
            parse(json).expect(name),
            "{name}: the rewritten event means the same"
        );
    }
}

#[test]
fn when_the_same_event_is_delivered_again_then_the_key_is_the_same_and_differs_between_events() {
    let mut keys = std::collections::BTreeSet::new();
    for Fixture { name, json, .. } in fixtures() {
        let first = parse(json).expect(name).idempotency_key;
        assert_eq!(parse(json).expect(name).idempotency_key, first, "{name}");
        assert!(
            keys.insert(first),
            "{name}: its key collides with another fixture's"
        );
    }
}

#[test]
fn when_an_alarm_fires_then_its_dimensions_and_location_are_kept() {
    let event = parse(fixture("cloudwatch-alarm-metric-alarm.json")).expect("metric alarm");
    let Trigger::Alarm {
        dimensions,
        region,
        alarm_name,
        ..
    } = event.trigger
    else {
        panic!("expected an alarm, got {:?}", event.trigger);
    };
    assert_eq!(alarm_name, "fabric-ServerCpuTooHigh");
    assert_eq!(region.as_str(), "us-west-2");
    assert_eq!(
        dimensions.get("InstanceId").map(String::as_str),
        Some("i-0abcd1234ef567890")
    );
}

#[test]
fn when_control_tower_reports_success_then_the_ou_is_kept() {
    let event =
        parse(fixture("ct-create-managed-account-succeeded.json")).expect("create managed account");
    assert!(matches!(
        event.trigger,
        Trigger::AccountJoined { via: JoinedVia::ControlTowerCreated, ou_id: Some(ref ou), .. }
            if ou.as_str() == "ou-ab12-cdef3456"
    ));
}

#[test]
fn when_the_input_is_not_json_then_the_error_says_so() {
    let error = expect_error("{\"source\": ");
    assert!(matches!(error, Error::MalformedEvent { .. }), "{error}");
    assert!(matches!(
        expect_error("[1, 2]"),
        Error::MalformedEvent { .. }
    ));
}

#[test]
fn when_the_detail_has_the_wrong_shape_then_the_error_names_the_field() {
    let json = fixture("org-remove-account.json").replace(
        "\"accountId\": \"444455556666\"",
        "\"accountId\": 444455556666",
    );
    let error = expect_error(&json);
    let message = error.to_string();
    assert!(matches!(error, Error::EventShape { .. }), "{message}");
    assert!(
        message.contains("detail.requestParameters.accountId"),
        "{message}"
    );
}

#[test]
fn when_an_account_id_in_an_event_is_invalid_then_the_error_names_it() {
    let json = fixture("org-create-account-result-succeeded.json")
        .replace("\"accountId\": \"444455556666\"", "\"accountId\": \"4444\"");
    let message = expect_error(&json).to_string();
    assert!(
        message.contains("createAccountStatus.accountId"),
        "{message}"
    );
    assert!(message.contains("exactly 12 digits"), "{message}");
}

#[test]
fn when_the_event_comes_from_an_unknown_source_then_it_is_unsupported() {
    let error = expect_error(
        r#"{"version":"0","id":"1","detail-type":"EC2 Instance State-change Notification",
            "source":"aws.ec2","account":"111122223333","time":"2024-05-14T09:21:57Z",
            "region":"us-east-1","resources":[],"detail":{}}"#,
    );
    assert!(matches!(error, Error::UnsupportedEvent { .. }), "{error}");
    assert!(error.to_string().contains("aws.ec2"));
}

#[test]
fn when_an_event_is_larger_than_the_limit_then_it_is_refused_before_parsing() {
    // Just over the limit, and a 10 MB event (what no Lambda payload can be, but a file given
    // to `fabric trigger` can).
    for filler in [MAX_EVENT_BYTES, 10 * 1024 * 1024] {
        let huge = format!(
            "{{\"manual\": {{\"requested_by\": \"{}\"}}}}",
            "x".repeat(filler)
        );
        let error = expect_error(&huge);
        assert!(
            matches!(error, Error::TooLarge { size, limit: MAX_EVENT_BYTES, .. } if size == huge.len()),
            "{error}"
        );
        assert!(
            error.to_string().contains("more than the 1048576 bytes"),
            "the message names the limit: {error}"
        );
    }
}

#[test]
fn when_a_run_input_names_both_a_profile_and_a_spec_then_it_is_refused() {
    let error = expect_error(
        r#"{"manual": {"requested_by": "ops", "profile": "patch", "spec": {"document": "Doc-Name"}}}"#,
    );
    assert!(error.to_string().contains("not both"), "{error}");
}

/// Arbitrary JSON, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
        "[0-9]{12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("detail".to_owned()),
                    Just("source".to_owned()),
                    Just("detail-type".to_owned()),
                    Just("eventName".to_owned()),
                    Just("requestParameters".to_owned()),
                    Just("schedule".to_owned()),
                    Just("manual".to_owned()),
                    "[a-zA-Z]{1,12}",
                ],
                inner,
                0..8
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::fuzz_cases(2048)))]

    #[test]
    fn reading_arbitrary_json_never_panics(value in json_value()) {
        assert_rejection_is_typed(TriggerEvent::from_value(&value));
    }

    #[test]
    fn reading_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        assert_rejection_is_typed(TriggerEvent::from_slice(&bytes));
    }

    #[test]
    fn reading_a_fixture_with_one_field_replaced_never_panics(
        index in 0..64usize, field in "[a-zA-Z]{1,16}", replacement in json_value()
    ) {
        let all = fixtures();
        let mut value: Value = serde_json::from_str(&all[index % all.len()].json).expect("fixture is JSON");
        if let Some(detail) = value.get_mut("detail").and_then(Value::as_object_mut) {
            detail.insert(field, replacement.clone());
        }
        assert_rejection_is_typed(TriggerEvent::from_value(&value));
        if let Some(object) = value.as_object_mut() {
            object.insert("detail".to_owned(), replacement);
        }
        assert_rejection_is_typed(TriggerEvent::from_value(&value));
    }
}

/// A rejected event is bad input (a typed error, not an AWS or internal one) with a message.
fn assert_rejection_is_typed(result: crate::Result<TriggerEvent>) {
    if let Err(error) = result {
        assert!(error.is_bad_input(), "{error:?}");
        assert!(!error.to_string().is_empty());
    }
}
