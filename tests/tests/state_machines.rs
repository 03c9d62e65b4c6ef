//! The state machines (`statemachines/*.asl.json`) against the code and the SAM template: their
//! graphs (every Next, Catch and Choice transition, every terminal state) are the ones the
//! local driver walks, every Lambda task retries Lambda's transient errors
//! and the fabric's retryable ones, every task has a failure path, every placeholder is
//! substituted by `infra/template.yaml` (and every substitution used), every function the
//! template deploys is a workspace package (and every package deployed), and no ARN is
//! hard-coded.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use fabric_tests::{LAMBDA_INVOKE, state_machine_text, workspace};
use serde_json::Value;
use std::collections::BTreeSet;

/// The service integrations the state machines use: no resource ARN, only the integration.
const SQS_SEND: &str = "arn:aws:states:::sqs:sendMessage";

/// Lambda's transient errors, and a function that crashed or ran out of memory (its
/// process exited mid-invocation: `Runtime.ExitError`, or `Lambda.Unknown` when Lambda could
/// not say): every step is idempotent, so each is retried.
const LAMBDA_TRANSIENT_ERRORS: [&str; 6] = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.Unknown",
    "Runtime.ExitError",
];

fn state_machine(name: &str) -> Value {
    serde_json::from_str(&state_machine_text(name)).expect("valid JSON")
}

/// Every state of a machine, Parallel branches included: (name, state).
fn all_states(machine: &Value) -> Vec<(String, Value)> {
    let mut states = Vec::new();
    for (name, state) in machine["States"].as_object().expect("States") {
        states.push((name.clone(), state.clone()));
        for branch in state["Branches"].as_array().into_iter().flatten() {
            states.extend(all_states(branch));
        }
        if state["ItemProcessor"].is_object() {
            states.extend(all_states(&state["ItemProcessor"]));
        }
    }
    states
}

/// A Choice rule's test as the driver's graph writes it (`IsNull true`, `StringEquals "x"`).
fn rule_test(rule: &Value) -> String {
    for op in [
        "IsNull",
        "BooleanEquals",
        "StringEquals",
        "NumericGreaterThanEquals",
    ] {
        if let Some(value) = rule.get(op) {
            return format!("{op} {value}");
        }
    }
    panic!("a Choice rule the driver does not know: {rule}");
}

/// The top-level graph of a state machine, derived from its ASL: every transition (`Next`,
/// each `Catch`, each Choice rule in order, `Default`) written as the driver's graph writes
/// it, and every terminal state with its type (and a Fail's `Error`).
fn asl_graph(machine: &Value) -> (String, Vec<String>, Vec<String>) {
    let mut edges = Vec::new();
    let mut terminals = Vec::new();
    for (name, state) in machine["States"].as_object().expect("States") {
        match state["Type"].as_str().expect("a Type") {
            "Succeed" => terminals.push(format!("{name}: Succeed")),
            "Fail" => terminals.push(format!(
                "{name}: Fail {}",
                state["Error"].as_str().expect("an Error")
            )),
            "Choice" => {
                for rule in state["Choices"].as_array().expect("Choices") {
                    let variable = rule["Variable"].as_str().expect("a Variable");
                    let next = rule["Next"].as_str().expect("a Next");
                    edges.push(format!("{name} --{variable} {}--> {next}", rule_test(rule)));
                }
                let default = state["Default"].as_str().expect("a Default");
                edges.push(format!("{name} --Default--> {default}"));
            }
            _ => {
                if let Some(next) = state["Next"].as_str() {
                    edges.push(format!("{name} --Next--> {next}"));
                }
                for catch in state["Catch"].as_array().into_iter().flatten() {
                    let next = catch["Next"].as_str().expect("a Catch Next");
                    edges.push(format!("{name} --Catch--> {next}"));
                }
            }
        }
    }
    let start = machine["StartAt"].as_str().expect("StartAt").to_owned();
    (start, edges, terminals)
}

/// The driver's graph, written as [`asl_graph`] writes the ASL's.
fn driver_graph(graph: &fabric::driver::graph::Graph) -> (String, Vec<String>, Vec<String>) {
    use fabric::driver::graph::Terminal;
    let edges = graph.edges.iter().map(ToString::to_string).collect();
    let terminals = graph
        .terminals
        .iter()
        .map(|(name, terminal)| match terminal {
            Terminal::Succeed => format!("{name}: Succeed"),
            Terminal::Fail(error) => format!("{name}: Fail {error}"),
        })
        .collect();
    (graph.start_at.to_owned(), edges, terminals)
}

fn sorted(mut graph: (String, Vec<String>, Vec<String>)) -> (String, Vec<String>, Vec<String>) {
    graph.1.sort();
    graph.2.sort();
    graph
}

/// The Choice rules of each state, in their order (order decides which rule wins), states by
/// name.
fn choice_order(edges: &[String]) -> Vec<&String> {
    let mut rules: Vec<&String> = edges
        .iter()
        .filter(|edge| !edge.contains("--Next-->") && !edge.contains("--Catch-->"))
        .collect();
    // A stable sort: each state's rules keep their order.
    rules.sort_by_key(|edge| edge.split(" --").next().unwrap_or_default().to_owned());
    rules
}

#[test]
fn when_the_onboarding_state_machine_is_read_then_the_driver_walks_the_same_graph() {
    let asl = asl_graph(&state_machine("account-onboarding"));
    let driver = driver_graph(&fabric::driver::onboarding::GRAPH);
    assert_eq!(
        choice_order(&asl.1),
        choice_order(&driver.1),
        "Choice rules in order"
    );
    assert_eq!(sorted(asl), sorted(driver));
}

#[test]
fn when_the_run_state_machine_is_read_then_the_driver_walks_the_same_graph() {
    let asl = asl_graph(&state_machine("multi-location-run"));
    let driver = driver_graph(&fabric::driver::run::GRAPH);
    assert_eq!(
        choice_order(&asl.1),
        choice_order(&driver.1),
        "Choice rules in order"
    );
    assert_eq!(sorted(asl), sorted(driver));
}

#[test]
fn when_a_task_retries_then_it_retries_as_often_as_the_driver() {
    for name in ["account-onboarding", "multi-location-run"] {
        for (state_name, state) in all_states(&state_machine(name)) {
            if state["Resource"] != LAMBDA_INVOKE {
                continue;
            }
            let fabric_retry = state["Retry"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|retry| {
                    retry["ErrorEquals"]
                        .as_array()
                        .is_some_and(|errors| errors.iter().any(|e| e == "Fabric.Retryable"))
                })
                .unwrap_or_else(|| panic!("{name}/{state_name} retries Fabric.Retryable"));
            assert_eq!(
                fabric_retry["MaxAttempts"],
                fabric::driver::RETRY_ATTEMPTS,
                "{name}/{state_name}"
            );
        }
    }
}

#[test]
fn every_task_retries_transient_errors_and_has_a_failure_path() {
    for name in ["account-onboarding", "multi-location-run"] {
        let machine = state_machine(name);
        for (state_name, state) in all_states(&machine)
            .into_iter()
            .filter(|(_, s)| s["Type"] == "Task")
        {
            // A Lambda task, waiting for a token or not, retries Lambda's transient errors.
            let lambda = state["Resource"] == LAMBDA_INVOKE
                || state["Resource"] == format!("{LAMBDA_INVOKE}.waitForTaskToken");
            let retried: BTreeSet<&str> = state["Retry"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|rule| rule["ErrorEquals"].as_array().into_iter().flatten())
                .filter_map(Value::as_str)
                .collect();
            let expected: &[&str] = if lambda {
                &LAMBDA_TRANSIENT_ERRORS
            } else {
                &["States.ALL"]
            };
            for error in expected.iter().chain(lambda.then_some(&"Fabric.Retryable")) {
                assert!(
                    retried.contains(error),
                    "{name}/{state_name} does not retry {error}"
                );
            }
            let in_branch = !machine["States"]
                .as_object()
                .expect("States")
                .contains_key(&state_name);
            let caught = state["Catch"]
                .as_array()
                .is_some_and(|rules| !rules.is_empty());
            assert!(caught || in_branch, "{name}/{state_name} has no Catch");
        }
        for (state_name, state) in all_states(&machine)
            .into_iter()
            .filter(|(_, s)| s["Type"] == "Parallel")
        {
            assert!(
                state["Catch"]
                    .as_array()
                    .is_some_and(|rules| !rules.is_empty()),
                "{name}/{state_name} has no Catch"
            );
        }
    }
}

/// `infra/template.yaml`, CloudFormation's short-form tags read as tagged values.
fn template() -> serde_yaml_ng::Value {
    let text = std::fs::read_to_string(workspace().join("infra/template.yaml")).expect("readable");
    serde_yaml_ng::from_str(&text).expect("the template is YAML")
}

fn resources_of_type<'a>(
    template: &'a serde_yaml_ng::Value,
    kind: &str,
) -> Vec<(&'a str, &'a serde_yaml_ng::Value)> {
    template["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
        .map(|(name, resource)| (name.as_str().expect("a logical id"), resource))
        .collect()
}

#[test]
fn every_placeholder_is_substituted_by_the_template_and_no_arn_is_hard_coded() {
    let template = template();
    let machines = resources_of_type(&template, "AWS::Serverless::StateMachine");
    assert_eq!(machines.len(), 2, "both state machines are deployed");
    for (logical_id, machine) in machines {
        let uri = machine["Properties"]["DefinitionUri"]
            .as_str()
            .expect("a DefinitionUri");
        let path = workspace().join("infra").join(uri);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{logical_id}: {uri} cannot be read: {e}"));
        let placeholders: BTreeSet<&str> = text
            .split("${")
            .skip(1)
            .filter_map(|rest| rest.split('}').next())
            .collect();
        let substituted: BTreeSet<&str> = machine["Properties"]["DefinitionSubstitutions"]
            .as_mapping()
            .expect("DefinitionSubstitutions")
            .keys()
            .filter_map(serde_yaml_ng::Value::as_str)
            .collect();
        assert_eq!(
            placeholders, substituted,
            "{logical_id} ({uri}): every placeholder substituted, every substitution used"
        );
        let arns: Vec<&str> = text
            .match_indices("arn:aws")
            .map(|(at, _)| &text[at..(at + 40).min(text.len())])
            .collect();
        assert!(
            arns.iter()
                .all(|arn| arn.starts_with(LAMBDA_INVOKE) || arn.starts_with(SQS_SEND)),
            "{uri} hard-codes {arns:?}"
        );
    }
}

#[test]
fn every_function_the_template_deploys_is_a_workspace_package_and_every_package_is_deployed() {
    let template = template();
    let deployed: BTreeSet<String> = resources_of_type(&template, "AWS::Serverless::Function")
        .into_iter()
        .map(|(logical_id, function)| {
            assert_eq!(
                function["Metadata"]["BuildMethod"].as_str(),
                Some("rust-cargolambda"),
                "{logical_id}"
            );
            function["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{logical_id} names no binary"))
                .to_owned()
        })
        .collect();
    let packages: BTreeSet<String> = std::fs::read_dir(workspace().join("functions"))
        .expect("functions/")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("src/main.rs").exists())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(deployed, packages);
}

#[test]
fn every_function_a_state_machine_names_exists() {
    for name in ["account-onboarding", "multi-location-run"] {
        let text = std::fs::read_to_string(
            workspace()
                .join("statemachines")
                .join(format!("{name}.asl.json")),
        )
        .expect("readable");
        let placeholders: BTreeSet<&str> = text
            .split("${")
            .skip(1)
            .filter_map(|rest| rest.split('}').next())
            .collect();
        assert!(!placeholders.is_empty(), "{name} names no function");
        for placeholder in placeholders {
            let Some(function) = placeholder.strip_suffix("FunctionArn") else {
                continue; // not a function: the template test checks it is substituted
            };
            let package: String = function
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let dash = (i > 0 && c.is_ascii_uppercase()).then_some('-');
                    dash.into_iter()
                        .chain(std::iter::once(c.to_ascii_lowercase()))
                })
                .collect();
            assert!(
                workspace()
                    .join("functions")
                    .join(&package)
                    .join("Cargo.toml")
                    .exists(),
                "{name}: ${{{placeholder}}} names function {package}, which is not in functions/"
            );
        }
    }
}
