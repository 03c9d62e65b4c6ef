//! The `fabric` binary as a user runs it: every event fixture explained, every kind of bad
//! input refused with exit 2 and a message naming the problem, configs checked.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fabric(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fabric"))
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fabric starts");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(input.as_bytes())
            .expect("stdin takes the input");
    }
    child.wait_with_output().expect("fabric ends")
}

fn explain(stdin: &str) -> Output {
    fabric(&["explain-event", "--json", "-"], Some(stdin))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(repo().join("tests/fixtures/events").join(name)).expect(name)
}

#[test]
fn when_each_fixture_is_explained_as_json_then_trigger_and_account_are_right() {
    let expected: serde_json::Map<String, Value> =
        serde_json::from_str(&fixture("expected.json")).expect("expected.json is an object");
    assert!(expected.len() >= 21);
    for (name, expectation) in expected {
        let path = format!("tests/fixtures/events/{name}");
        let output = fabric(&["explain-event", "--json", &path], None);
        assert_eq!(output.status.code(), Some(0), "{name}: {}", stderr(&output));
        let printed: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
        assert_eq!(printed["trigger"], expectation["trigger"], "{name}");
        assert_eq!(
            printed.get("account_id"),
            expectation.get("account_id"),
            "{name}"
        );
        let key = printed["idempotency_key"].as_str().expect("a key");
        assert!(!key.is_empty() && key.len() <= 80, "{name}: {key}");
        let needs_reason = ["ignored", "account_creation_failed"]
            .contains(&printed["trigger"].as_str().unwrap_or(""));
        assert!(
            !needs_reason || printed["reason"].is_string(),
            "{name}: {printed}"
        );
    }
}

#[test]
fn when_an_event_is_explained_in_words_then_it_says_what_happens_next() {
    let output = fabric(
        &[
            "explain-event",
            "tests/fixtures/events/org-create-account-result-succeeded.json",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("account 444455556666 was created by Organizations"),
        "{text}"
    );
    assert!(text.contains("next: onboard it"), "{text}");
}

#[test]
fn when_the_event_is_not_json_then_it_exits_2_saying_so() {
    let output = explain("{\"source\": \"aws.organizations\",");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("not valid JSON"),
        "{}",
        stderr(&output)
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn when_the_detail_has_the_wrong_shape_then_it_exits_2_naming_the_field() {
    let event = fixture("org-move-account.json").replace(
        "\"requestParameters\": {",
        "\"requestParameters\": [1], \"unused\": {",
    );
    let output = explain(&event);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("detail.requestParameters"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn when_an_account_id_is_invalid_then_it_exits_2_naming_the_rule() {
    let event = fixture("org-close-account.json").replace(
        "\"accountId\": \"444455556666\"",
        "\"accountId\": \"44445555666\"",
    );
    let output = explain(&event);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("detail.requestParameters.accountId"),
        "{message}"
    );
    assert!(message.contains("exactly 12 digits"), "{message}");
}

#[test]
fn when_the_event_is_of_an_unknown_kind_then_it_exits_2_naming_it() {
    let output = explain(r#"{"source": "aws.s3", "detail-type": "Object Created", "detail": {}}"#);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("aws.s3"), "{}", stderr(&output));
}

#[test]
fn when_the_event_file_is_missing_then_it_exits_2() {
    let output = fabric(&["explain-event", "no/such/event.json"], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no/such/event.json"));
}

#[test]
fn when_the_example_config_is_checked_then_it_is_valid_and_the_template_parameters_are_printed() {
    let output = fabric(
        &["config", "check", "--json", "config/fabric.example.yaml"],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(summary["valid"], true);
    let parameters = &summary["template_parameters"];
    assert_eq!(parameters["AlarmNamePrefix"], "fabric-");
    assert_eq!(
        parameters["ReportBucketName"],
        "automation-fabric-reports-111122223333"
    );
}

#[test]
fn when_a_config_is_invalid_then_it_exits_2_naming_the_field() {
    let directory = std::env::temp_dir().join(format!("fabric-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temp dir");
    let path = directory.join("bad.yaml");
    let example =
        std::fs::read_to_string(repo().join("config/fabric.example.yaml")).expect("example");
    std::fs::write(
        &path,
        example.replace(
            "central_account: \"111122223333\"",
            "central_account: \"1111\"",
        ),
    )
    .expect("written");
    let output = fabric(
        &["config", "check", path.to_str().expect("utf-8 path")],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("central_account"),
        "{}",
        stderr(&output)
    );
    std::fs::remove_dir_all(&directory).ok();
}

#[test]
fn when_the_usage_is_wrong_then_it_exits_2() {
    assert_eq!(fabric(&["explain-event"], None).status.code(), Some(2));
    assert_eq!(fabric(&["no-such-command"], None).status.code(), Some(2));
    assert_eq!(fabric(&["--help"], None).status.code(), Some(0));
}

#[test]
fn when_a_run_has_no_deployed_state_machine_then_it_exits_2_naming_the_ways_to_run_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_fabric"))
        .current_dir(repo())
        .args([
            "run",
            "patch-baseline",
            "--config",
            "config/fabric.example.yaml",
        ])
        .env_remove("FABRIC_RUN_STATE_MACHINE_ARN")
        .output()
        .expect("fabric runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr(&output);
    assert!(stderr.contains("--state-machine"), "{stderr}");
    assert!(stderr.contains("--in-process"), "{stderr}");
}

/// A local port nothing listens on: bound, then let go.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free local port");
    listener.local_addr().expect("a bound address").port()
}

/// `fabric plan patch-baseline` (and `extra` arguments) in an environment with no AWS setting
/// but `settings`: no profile, config files that do not exist, no instance metadata, and the
/// endpoint at a local port nothing listens on.
fn plan_with_only(settings: &[(&str, &str)], extra: &[&str]) -> (Output, std::time::Duration) {
    let missing = repo().join("no-such-directory");
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let mut command = Command::new(env!("CARGO_BIN_EXE_fabric"));
    command
        .current_dir(repo())
        .args([
            "plan",
            "patch-baseline",
            "--config",
            "config/fabric.example.yaml",
        ])
        .args(extra);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            command.env_remove(name);
        }
    }
    command
        .env("AWS_CONFIG_FILE", missing.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", missing.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", endpoint)
        .envs(settings.iter().copied());
    let started = std::time::Instant::now();
    let output = command.output().expect("fabric runs");
    (output, started.elapsed())
}

#[test]
fn when_there_are_no_credentials_then_one_short_line_says_to_set_them() {
    let (output, _) = plan_with_only(&[], &[]);

    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.chars().count() < 300, "{stderr}");
    assert!(stderr.starts_with("error: organizations "), "{stderr}");
    assert!(stderr.contains("found no AWS credentials"), "{stderr}");
    assert!(stderr.contains("eval \"$(fabric local env)\""), "{stderr}");
    assert!(
        stderr.contains("(run with --verbose for details)"),
        "{stderr}"
    );
}

/// A local instance metadata service that refuses every request (`403`, as a proxy does where
/// the machine is no EC2 instance), and its address.
fn refusing_metadata_service() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free local port");
    let address = listener.local_addr().expect("a bound address");
    std::thread::spawn(move || {
        for mut connection in listener.incoming().flatten() {
            let mut request = [0_u8; 4096];
            let _ = std::io::Read::read(&mut connection, &mut request);
            let _ = connection.write_all(
                b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    format!("http://{address}")
}

#[test]
fn when_the_instance_metadata_service_refuses_too_then_the_line_still_says_no_credentials() {
    let metadata = refusing_metadata_service();
    let settings = [
        ("AWS_EC2_METADATA_DISABLED", "false"),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", metadata.as_str()),
    ];
    let (output, _) = plan_with_only(&settings, &[]);

    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.chars().count() < 300, "{stderr}");
    assert!(stderr.contains("found no AWS credentials"), "{stderr}");
    assert!(stderr.contains("eval \"$(fabric local env)\""), "{stderr}");
}

#[test]
fn when_there_are_no_credentials_and_verbose_then_the_sdk_detail_follows_the_line() {
    let (output, _) = plan_with_only(&[], &["--verbose"]);

    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr(&output);
    let mut lines = stderr.lines();
    let line = lines.next().unwrap_or_default();
    assert!(line.contains("found no AWS credentials"), "{stderr}");
    assert!(!line.contains("--verbose"), "{stderr}");
    let detail = lines.collect::<Vec<_>>().join("\n");
    assert!(detail.contains("DispatchFailure"), "{stderr}");
    assert!(
        detail.contains("no providers in chain provided credentials"),
        "{stderr}"
    );
}

#[test]
fn when_the_endpoint_cannot_be_reached_then_one_line_says_to_start_the_local_stack() {
    // One attempt: the fabric's 8, with backoff, would take half a minute to fail.
    let credentials = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_MAX_ATTEMPTS", "1"),
    ];
    let (output, took) = plan_with_only(&credentials, &[]);

    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.chars().count() < 300, "{stderr}");
    assert!(stderr.starts_with("error: organizations "), "{stderr}");
    assert!(stderr.contains("could not reach the endpoint"), "{stderr}");
    assert!(stderr.contains("AWS_ENDPOINT_URL"), "{stderr}");
    assert!(stderr.contains("`fabric local up`"), "{stderr}");
    assert!(took < std::time::Duration::from_secs(20), "took {took:?}");
}

#[test]
fn when_a_listing_command_is_asked_for_help_then_it_offers_output_formats_and_json() {
    let commands: [&[&str]; 6] = [
        &["plan", "-h"],
        &["report", "-h"],
        &["status", "-h"],
        &["onboard", "-h"],
        &["offboard", "-h"],
        &["reconcile", "-h"],
    ];
    for command in commands {
        let output = fabric(command, None);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{command:?}: {}",
            stderr(&output)
        );
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(help.contains("--output <FORMAT>"), "{command:?}: {help}");
        assert!(help.contains("table, json, csv"), "{command:?}: {help}");
        assert!(help.contains("--json"), "{command:?}: {help}");
    }
}

#[test]
fn when_an_output_format_is_unknown_or_given_twice_then_it_exits_2_before_any_call() {
    let unknown = fabric(
        &[
            "plan",
            "patch-baseline",
            "--config",
            "config/fabric.example.yaml",
            "--output",
            "xml",
        ],
        None,
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("table, json, csv"),
        "{}",
        stderr(&unknown)
    );
    let twice = fabric(&["report", "run-1", "--json", "--output", "csv"], None);
    assert_eq!(twice.status.code(), Some(2));
    assert!(stderr(&twice).contains("--output"), "{}", stderr(&twice));
}
