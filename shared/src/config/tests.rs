//! The example config loads; every kind of mistake is refused with the field it is in.

use super::*;

const EXAMPLE: &str = include_str!("../../../config/fabric.example.yaml");
const SCHEMA: &str = include_str!("../../../config/fabric.schema.json");

fn error_for(yaml: &str) -> String {
    match Config::from_yaml(yaml) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(error) => error.to_string(),
    }
}

/// The example with `from` replaced by `to` (which must occur in it).
fn example_with(from: &str, to: &str) -> String {
    assert!(EXAMPLE.contains(from), "the example has no {from:?}");
    EXAMPLE.replacen(from, to, 1)
}

#[test]
fn when_the_example_config_is_loaded_then_every_section_is_there() {
    let config = Config::from_yaml(EXAMPLE).expect("the example is valid");
    assert_eq!(config.regions.len(), 3);
    assert_eq!(config.sharing_regions(), config.regions.as_slice());
    assert_eq!(config.documents.share.len(), 3);
    assert_eq!(
        config.execution_role.permission_model,
        PermissionModel::SelfManaged
    );
    let patch = config.profile("patch-baseline").expect("profile exists");
    assert_eq!(patch.waves().len(), 2);
    let dimensions = [("InstanceId".to_owned(), "i-0abc".to_owned())].into();
    let matched = config
        .match_alarm("fabric-ServerCpuTooHigh", &dimensions)
        .expect("rule matches");
    assert_eq!(matched.rule.profile.as_str(), "restart-instance");
}

#[test]
fn when_a_region_is_invalid_then_the_error_names_its_path_and_line() {
    let message = error_for(&example_with(
        "regions: [us-east-1, us-west-2, eu-central-1]",
        "regions: [us-east-1, useast2]",
    ));
    assert!(message.contains("regions[1]"), "{message}");
    assert!(message.contains("\"useast2\""), "{message}");
    assert!(message.contains("line"), "{message}");
}

#[test]
fn when_a_rate_control_value_is_invalid_then_the_error_names_the_profile_field() {
    let message = error_for(&example_with(
        "target_location_max_concurrency: \"2\"",
        "target_location_max_concurrency: \"0\"",
    ));
    assert!(
        message.contains("run_profiles.patch-baseline.waves[0].target_locations[0].target_location_max_concurrency"),
        "{message}"
    );
}

#[test]
fn when_a_field_is_unknown_then_it_is_refused_by_name() {
    let message = error_for(&example_with("results_role_name:", "results_role:"));
    assert!(message.contains("results_role"), "{message}");
}

#[test]
fn when_an_alarm_rule_names_a_missing_profile_then_the_rule_is_named() {
    let message = error_for(&example_with(
        "profile: restart-instance",
        "profile: reboot",
    ));
    assert!(message.contains("alarm_rules[0].profile"), "{message}");
    assert!(message.contains("reboot"), "{message}");
}

#[test]
fn when_a_profile_breaks_a_cross_field_rule_then_the_profile_is_named() {
    let message = error_for(&example_with(
        "    target_parameter_name: InstanceId\n    target_locations:",
        "    target_locations:",
    ));
    assert!(message.contains("run_profiles.patch-scan-web"), "{message}");
    assert!(message.contains("target_parameter_name"), "{message}");
}

#[test]
fn when_the_topic_or_bucket_is_malformed_then_each_is_named() {
    let message = error_for(&example_with(
        "arn:aws:sns:us-east-1:111122223333:automation-fabric-reports",
        "automation-fabric-reports",
    ));
    assert!(message.contains("notifications.topic_arn"), "{message}");
    let message = error_for(&example_with(
        "bucket: automation-fabric-reports-111122223333",
        "bucket: Reports_Bucket",
    ));
    assert!(message.contains("reports.bucket"), "{message}");
}

#[test]
fn when_the_file_is_not_yaml_then_the_error_says_where() {
    let message = error_for("central_account: [unclosed");
    assert!(message.contains("line"), "{message}");
}

#[test]
fn when_a_config_is_huge_then_it_is_read_within_the_limit_or_refused() {
    let accounts: Vec<String> = (0..100_000)
        .map(|n| format!("\"{:012}\"", 100_000_000_000_u64 + n))
        .collect();
    let big = example_with(
        "exclude_accounts: [ou-ab12-canary01, \"111122223333\"]",
        &format!("exclude_accounts: [{}]", accounts.join(", ")),
    );
    let config = Config::from_yaml(&big).expect("100,000 accounts is a valid config");
    let organization = &config.profile("patch-baseline").expect("exists").waves[1];
    assert_eq!(
        organization.target_locations[0].exclude_accounts.len(),
        100_000
    );
    let too_big = " ".repeat(MAX_CONFIG_BYTES + 1);
    assert!(matches!(
        Config::from_yaml(&too_big),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn when_the_schema_is_generated_then_it_matches_the_published_file() {
    // Compared as JSON values, not text: a dev-dependency turns on serde_json's
    // `preserve_order` in test builds, which changes the key order but not the schema.
    let generated = serde_json::to_value(Config::json_schema()).expect("serializes");
    let published: serde_json::Value = serde_json::from_str(SCHEMA).expect("the file is JSON");
    assert!(
        generated == published,
        "config/fabric.schema.json is stale: regenerate it with `cargo run -p fabric-cli -- config schema > config/fabric.schema.json`"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(crate::fuzz_cases(1024)))]

    #[test]
    fn loading_the_example_with_one_line_changed_never_panics_and_names_the_problem(
        line in 0..200usize,
        replacement in "[ -~]{0,40}",
        keep_indent in proptest::bool::ANY,
    ) {
        let lines: Vec<&str> = EXAMPLE.lines().collect();
        let index = line % lines.len();
        let indent: String = lines[index].chars().take_while(|c| *c == ' ').collect();
        let changed = if keep_indent { format!("{indent}{replacement}") } else { replacement.clone() };
        let mut text: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        text[index] = changed;
        if let Err(error) = Config::from_yaml(&text.join("\n")) {
            proptest::prop_assert!(error.is_bad_input(), "{error:?}");
            proptest::prop_assert!(
                matches!(error, crate::Error::InvalidConfig { .. }),
                "{error:?}"
            );
            proptest::prop_assert!(!error.to_string().is_empty());
        }
    }
}
