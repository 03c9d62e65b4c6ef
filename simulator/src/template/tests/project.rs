//! `infra/template.yaml` resolved as the local stack deploys it.

use super::*;

#[test]
fn when_the_project_template_is_resolved_then_functions_get_the_globals_and_keep_their_own() {
    let template = project(&[]);

    let account_events = properties(&template, "AccountEventsFunction");
    assert_eq!(
        account_events["Environment"]["Variables"],
        json!({
            "FABRIC_CONFIG": "/opt/fabric.yaml",
            "ONBOARDING_STATE_MACHINE_ARN":
                "arn:aws:states:us-east-1:123456789012:stateMachine:automation-fabric-account-onboarding",
        })
    );
    assert_eq!(account_events["Timeout"], json!(30));
    assert_eq!(account_events["MemorySize"], json!(256));
    assert_eq!(account_events["Runtime"], json!("provided.al2023"));
    assert_eq!(
        account_events["Layers"],
        json!(["arn:aws:lambda:us-east-1:123456789012:layer:automation-fabric-config:1"])
    );
    assert_eq!(
        account_events["DeadLetterQueue"]["TargetArn"],
        json!("arn:aws:sqs:us-east-1:123456789012:automation-fabric-AccountEventsDeadLetterQueue")
    );
    let start_run = properties(&template, "StartRunFunction");
    assert_eq!(
        start_run["Environment"]["Variables"],
        json!({
            "FABRIC_CONFIG": "/opt/fabric.yaml",
            "RUN_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:automation-fabric-multi-location-run",
        })
    );
    assert_eq!(
        (&start_run["Timeout"], &start_run["MemorySize"]),
        (&json!(900), &json!(256))
    );
    assert_eq!(
        start_run["Role"],
        json!("arn:aws:iam::123456789012:role/automation-fabric-StartRunRole")
    );
    assert_eq!(
        properties(&template, "CollectResultsFunction")["MemorySize"],
        json!(512)
    );
    let function = template.resource("StartRunFunction").unwrap();
    assert_eq!(
        (function.name.as_str(), function.arn.clone()),
        (
            "automation-fabric-StartRunFunction",
            function_arn("StartRunFunction")
        )
    );
    assert_eq!(
        function.metadata["BuildProperties"]["Binary"],
        json!("start-run")
    );
}

#[test]
fn when_the_project_template_is_resolved_then_state_machine_substitutions_are_arns_and_a_queue_url()
{
    let template = project(&[]);

    assert_eq!(
        properties(&template, "RunStateMachine")["DefinitionSubstitutions"],
        json!({
            "StartRunFunctionArn": function_arn("StartRunFunction"),
            "TrackRunFunctionArn": function_arn("TrackRunFunction"),
            "CollectResultsFunctionArn": function_arn("CollectResultsFunction"),
            "PublishReportFunctionArn": function_arn("PublishReportFunction"),
            "UndeliveredReportsQueueUrl":
                "http://127.0.0.1:4566/123456789012/automation-fabric-UndeliveredReportsQueue",
        })
    );
    let machine = template.resource("RunStateMachine").unwrap();
    let arn =
        "arn:aws:states:us-east-1:123456789012:stateMachine:automation-fabric-multi-location-run";
    assert_eq!(
        (machine.arn.as_str(), machine.reference.as_str()),
        (arn, arn)
    );
    assert_eq!(template.outputs["RunStateMachineArn"], json!(arn));
}

#[test]
fn when_the_project_template_is_resolved_then_names_arns_and_refs_follow_each_type() {
    let template = project(&[]);
    let identity = |logical_id: &str| {
        let resource = template.resource(logical_id).unwrap();
        (
            resource.name.clone(),
            resource.arn.clone(),
            resource.reference.clone(),
        )
    };

    let bucket = "automation-fabric-reports-123456789012".to_owned();
    assert_eq!(
        identity("ReportBucket"),
        (bucket.clone(), format!("arn:aws:s3:::{bucket}"), bucket)
    );
    let topic = "arn:aws:sns:us-east-1:123456789012:automation-fabric-reports";
    assert_eq!(identity("ReportTopic").2, topic);
    assert_eq!(
        identity("AlarmRule").1,
        "arn:aws:events:us-east-1:123456789012:rule/AutomationFabricAlarms/automation-fabric-AlarmRule"
    );
    assert_eq!(
        identity("OrganizationsEventsRule").1,
        "arn:aws:events:us-east-1:123456789012:rule/automation-fabric-OrganizationsEventsRule"
    );
    assert_eq!(
        identity("CollectResultsRole").1,
        "arn:aws:iam::123456789012:role/AutomationFabric-CollectResults"
    );
    assert_eq!(
        identity("PatchWindowExampleSchedule").1,
        "arn:aws:scheduler:us-east-1:123456789012:schedule/default/automation-fabric-patch-window"
    );
    assert_eq!(
        identity("StartRunLogGroup"),
        (
            "/automation-fabric/automation-fabric/start-run".to_owned(),
            "arn:aws:logs:us-east-1:123456789012:log-group:/automation-fabric/automation-fabric/start-run:*"
                .to_owned(),
            "/automation-fabric/automation-fabric/start-run".to_owned()
        )
    );
    let (key_id, key_arn, key_ref) = identity("AutomationFabricKey");
    assert!(uuid::Uuid::parse_str(&key_id).is_ok(), "{key_id}");
    assert_eq!(
        key_arn,
        format!("arn:aws:kms:us-east-1:123456789012:key/{key_id}")
    );
    assert_eq!(
        properties(&template, "AutomationFabricKeyAlias")["TargetKeyId"],
        json!(key_ref)
    );
    assert_eq!(
        identity("AccountEventsErrorsAlarm").1,
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm/automation-fabric-AccountEventsErrorsAlarm"
    );
    assert_eq!(
        template.outputs["ReportBucketName"],
        json!("automation-fabric-reports-123456789012")
    );
    assert_eq!(template.parameters["LogRetentionDays"], "90");
}

#[test]
fn when_the_project_template_is_resolved_then_no_intrinsic_function_is_left() {
    fn intrinsics_in(value: &Value, at: &str, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    if key == "Ref" || key.starts_with("Fn::") {
                        found.push(format!("{at}.{key}"));
                    }
                    intrinsics_in(value, &format!("{at}.{key}"), found);
                }
            }
            Value::Array(items) => {
                for item in items {
                    intrinsics_in(item, at, found);
                }
            }
            _ => {}
        }
    }
    let template = project(&[("ManagementAccountId", "210987654321")]);
    let mut found = Vec::new();

    for resource in &template.resources {
        intrinsics_in(&resource.properties, &resource.logical_id, &mut found);
    }
    for (name, value) in &template.outputs {
        intrinsics_in(value, name, &mut found);
    }

    assert_eq!(found, Vec::<String>::new());
    assert_eq!(template.outputs.len(), 11);
}

#[test]
fn when_no_alarm_name_prefix_is_given_then_the_alarm_rule_matches_every_alarm() {
    let template = project(&[]);

    assert_eq!(
        properties(&template, "AlarmRule")["EventPattern"],
        json!({
            "source": ["aws.cloudwatch"],
            "detail-type": ["CloudWatch Alarm State Change"],
            "detail": {"state": {"value": ["ALARM"]}},
        })
    );
}

#[test]
fn when_an_alarm_name_prefix_is_given_then_the_alarm_rule_matches_only_its_alarms() {
    let template = project(&[("AlarmNamePrefix", "patch-")]);

    assert_eq!(
        properties(&template, "AlarmRule")["EventPattern"]["detail"],
        json!({"state": {"value": ["ALARM"]}, "alarmName": [{"prefix": "patch-"}]})
    );
}

#[test]
fn when_the_project_template_is_resolved_then_the_patch_window_input_is_filled() {
    let template = project(&[("PatchWindowProfile", "weekly-patch")]);
    let schedule = properties(&template, "PatchWindowExampleSchedule");

    assert_eq!(
        schedule["Target"]["Input"],
        json!(
            r#"{"schedule": {"schedule_name": "automation-fabric-patch-window", "scheduled_time": "<aws.scheduler.scheduled-time>", "profile": "weekly-patch"}}"#
        )
    );
    assert_eq!(
        (&schedule["State"], &schedule["ScheduleExpression"]),
        (&json!("DISABLED"), &json!("cron(0 3 ? * SUN *)"))
    );
    assert_eq!(
        schedule["Target"]["Arn"],
        json!(
            "arn:aws:states:us-east-1:123456789012:stateMachine:automation-fabric-multi-location-run"
        )
    );
}

#[test]
fn when_no_management_account_is_given_then_its_events_policy_does_not_exist() {
    let template = project(&[]);

    assert!(template.resource("ManagementAccountEventsPolicy").is_none());
    assert_eq!(template.of_type("AWS::Events::EventBusPolicy").count(), 1);
}

#[test]
fn when_a_management_account_is_given_then_it_may_put_events_on_the_default_bus() {
    let template = project(&[("ManagementAccountId", "210987654321")]);

    assert_eq!(
        properties(&template, "ManagementAccountEventsPolicy")["Statement"]["Principal"]["AWS"],
        json!("arn:aws:iam::210987654321:root")
    );
}
