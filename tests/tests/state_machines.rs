//! The state machines (`statemachines/*.asl.json`) against the code and the SAM template: their
//! task sequence is the one the CLI runs, every Lambda task retries Lambda's transient errors
//! and the fabric's retryable ones, every task has a failure path, every placeholder is
//! substituted by `infra/template.yaml` (and every substitution used), every function the
//! template deploys is a workspace package (and every package deployed), and no ARN is
//! hard-coded.

#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

use fabric_tests::{LAMBDA_INVOKE, state_machine_text, workspace};
use serde_json::Value;
use std::collections::{BTreeSet, VecDeque};

/// The service integrations the state machines use: no resource ARN, only the integration.
const SQS_SEND: &str = "arn:aws:states:::sqs:sendMessage";

const LAMBDA_TRANSIENT_ERRORS: [&str; 4] = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
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

/// The Task states in the order they are first reached from `StartAt` along the normal edges
/// (`Next`, `Default`, `Choices`, Parallel branches in order), leaving `Catch` paths out.
fn task_sequence(machine: &Value) -> Vec<String> {
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([(
        machine.clone(),
        machine["StartAt"].as_str().expect("StartAt").to_owned(),
    )]);
    while let Some((scope, name)) = queue.pop_front() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let state = &scope["States"][&name];
        assert!(
            state.is_object(),
            "state {name} is referenced but not defined"
        );
        if state["Type"] == "Task" {
            order.push(name.clone());
        }
        // Branches (and a Map's processor) come before what follows, in their declared order.
        let processor = state["ItemProcessor"]
            .is_object()
            .then(|| &state["ItemProcessor"]);
        for branch in state["Branches"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(processor)
            .rev()
        {
            let start = branch["StartAt"]
                .as_str()
                .expect("branch StartAt")
                .to_owned();
            queue.push_front((branch.clone(), start));
        }
        let mut next: Vec<&str> = state["Choices"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|choice| choice["Next"].as_str())
            .collect();
        next.extend(state["Next"].as_str());
        next.extend(state["Default"].as_str());
        for target in next {
            queue.push_back((scope.clone(), target.to_owned()));
        }
    }
    order
}

#[test]
fn when_the_onboarding_state_machine_is_read_then_its_tasks_are_the_cli_steps_in_order() {
    assert_eq!(
        task_sequence(&state_machine("account-onboarding")),
        fabric::onboarding::ONBOARDING_STEPS
    );
}

#[test]
fn when_the_run_state_machine_is_read_then_its_tasks_are_the_cli_steps_in_order() {
    assert_eq!(
        task_sequence(&state_machine("multi-location-run")),
        fabric::runs::RUN_STEPS
    );
}

#[test]
fn every_task_retries_transient_errors_and_has_a_failure_path() {
    for name in ["account-onboarding", "multi-location-run"] {
        let machine = state_machine(name);
        for (state_name, state) in all_states(&machine)
            .into_iter()
            .filter(|(_, s)| s["Type"] == "Task")
        {
            let lambda = state["Resource"] == LAMBDA_INVOKE;
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
