//! The SSM Automation simulator driven by boto3 and the AWS CLI (`tests/clients/*.py`), on a
//! private stack seeded as those tests expect: 5 onboarded accounts in 3 Regions, the last
//! without the execution role, the first with an instance scripted to fail.

#![allow(clippy::expect_used, clippy::panic, clippy::print_stdout)] // a test fails by panicking, and says what it ran

use fabric_simulator::stack::local_dir;
use fabric_tests::{seeded_stack, workspace};

#[tokio::test]
async fn when_boto3_and_the_aws_cli_drive_the_simulator_then_every_client_check_passes() {
    let org = seeded_stack(&[
        "--accounts",
        "5",
        "--onboard",
        "--without-role",
        "1",
        "--failing-instances",
        "1",
    ])
    .await;
    let workspace = workspace();
    let output = tokio::process::Command::new(local_dir(&workspace).join("venv/bin/pytest"))
        .args(["-q", "tests/clients"])
        .current_dir(&workspace)
        .env("FABRIC_ENDPOINT", org.stack.endpoint())
        .env("FABRIC_SEED", &org.seed_file)
        .output()
        .await
        .expect("pytest runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the client checks failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary = stdout
        .lines()
        .rev()
        .find(|line| line.contains("passed"))
        .unwrap_or_default();
    println!("boto3 and AWS CLI checks: {summary}");
    assert!(
        !summary.contains("failed") && !summary.contains("error"),
        "{summary}"
    );
}
