//! The project's template resolved as the local stack deploys it, and small templates for each
//! intrinsic function and each refusal.

use super::{ResolvedTemplate, StackContext, TemplateError, resolve};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const PROJECT_TEMPLATE: &str = include_str!("../../../infra/template.yaml");
const ACCOUNT: &str = "123456789012";

fn context() -> StackContext {
    StackContext {
        stack_name: "automation-fabric".to_owned(),
        account_id: ACCOUNT.to_owned(),
        region: "us-east-1".to_owned(),
        endpoint: "http://127.0.0.1:4566".to_owned(),
    }
}

/// The project template's parameters without a default, and `extra`.
fn overrides(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    [
        ("OrganizationId", "o-exampleorgid1"),
        ("ReportBucketName", "automation-fabric-reports-123456789012"),
    ]
    .iter()
    .chain(extra)
    .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
    .collect()
}

fn project(extra: &[(&str, &str)]) -> ResolvedTemplate {
    resolve(PROJECT_TEMPLATE, &context(), &overrides(extra)).unwrap()
}

fn properties<'a>(template: &'a ResolvedTemplate, logical_id: &str) -> &'a Value {
    &template.resource(logical_id).unwrap().properties
}

fn inline(template: &str) -> Result<ResolvedTemplate, TemplateError> {
    resolve(template, &context(), &BTreeMap::new())
}

fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:automation-fabric-{name}")
}

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
        json!({"FABRIC_CONFIG": "/opt/fabric.yaml"})
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
    assert_eq!(template.outputs.len(), 10);
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

#[test]
fn when_an_override_names_no_parameter_then_it_is_refused() {
    let error = resolve(
        PROJECT_TEMPLATE,
        &context(),
        &overrides(&[("TopicNmae", "x")]),
    )
    .unwrap_err();

    assert!(
        matches!(&error, TemplateError::UnknownParameter { name } if name == "TopicNmae"),
        "{error}"
    );
}

#[test]
fn when_a_value_is_not_in_allowed_values_then_it_is_refused() {
    let error = resolve(
        PROJECT_TEMPLATE,
        &context(),
        &overrides(&[("PatchWindowScheduleState", "SOMETIMES")]),
    )
    .unwrap_err();

    assert!(
        matches!(&error, TemplateError::NotAllowedValue { name, allowed, .. }
            if name == "PatchWindowScheduleState" && allowed == &["ENABLED", "DISABLED"]),
        "{error}"
    );
}

#[test]
fn when_a_value_does_not_match_allowed_pattern_then_it_is_refused() {
    let error = resolve(
        PROJECT_TEMPLATE,
        &context(),
        &overrides(&[("OrganizationId", "org-1")]),
    )
    .unwrap_err();

    assert!(
        matches!(&error, TemplateError::PatternMismatch { name, value, .. }
            if name == "OrganizationId" && value == "org-1"),
        "{error}"
    );
}

#[test]
fn when_a_parameter_without_default_is_not_given_then_it_is_refused() {
    let given = BTreeMap::from([("OrganizationId".to_owned(), "o-exampleorgid1".to_owned())]);

    let error = resolve(PROJECT_TEMPLATE, &context(), &given).unwrap_err();

    assert!(
        matches!(&error, TemplateError::MissingParameter { name } if name == "ReportBucketName"),
        "{error}"
    );
}

#[test]
fn when_a_number_is_below_min_value_or_not_a_number_then_it_is_refused() {
    let below = resolve(
        PROJECT_TEMPLATE,
        &context(),
        &overrides(&[("ReportRetentionDays", "30")]),
    )
    .unwrap_err();
    let text = resolve(
        PROJECT_TEMPLATE,
        &context(),
        &overrides(&[("ReportRetentionDays", "many")]),
    )
    .unwrap_err();

    assert!(
        matches!(&below, TemplateError::OutOfRange { constraint, .. } if constraint == "MinValue 91"),
        "{below}"
    );
    assert!(matches!(&text, TemplateError::NotANumber { .. }), "{text}");
}

#[test]
fn when_sub_has_a_literal_variables_and_attributes_then_each_is_substituted() {
    let template = inline(
        r#"
Parameters:
  Stage: {Type: String, Default: dev}
Resources:
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-${Stage}-jobs"
      Tags:
        - Key: literal
          Value: !Sub "${!Literal} in ${AWS::Region}.${AWS::URLSuffix} (${AWS::Partition})"
        - Key: variables
          Value: !Sub ["${Greeting}, ${Jobs.QueueName} at ${Jobs}", {Greeting: hello}]
        - Key: long form
          Value: {"Fn::Sub": "${AWS::AccountId}"}
"#,
    )
    .unwrap();

    assert_eq!(
        properties(&template, "Jobs"),
        &json!({
            "QueueName": "automation-fabric-dev-jobs",
            "Tags": [
                {"Key": "literal", "Value": "${Literal} in us-east-1.amazonaws.com (aws)"},
                {"Key": "variables", "Value":
                    "hello, automation-fabric-dev-jobs at http://127.0.0.1:4566/123456789012/automation-fabric-dev-jobs"},
                {"Key": "long form", "Value": "123456789012"},
            ],
        })
    );
}

#[test]
fn when_select_split_join_and_base64_are_combined_then_they_compose() {
    let template = inline(
        r#"
Parameters:
  Zones: {Type: CommaDelimitedList, Default: "a,b,c"}
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      DisplayName: !Join ["-", [!Select [1, !Split [",", "x,y,z"]], !Select ["2", !Ref Zones], 7]]
      Encoded: !Base64 "Automation Fabric"
      Zones: !Ref Zones
"#,
    )
    .unwrap();

    assert_eq!(
        properties(&template, "Topic"),
        &json!({"DisplayName": "y-c-7", "Encoded": "QXV0b21hdGlvbiBGYWJyaWM=", "Zones": ["a", "b", "c"]})
    );
}

#[test]
fn when_a_value_is_no_value_then_its_key_or_list_item_is_removed() {
    let template = inline(
        r"
Conditions:
  Never: !Equals [a, b]
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      DisplayName: !Ref AWS::NoValue
      KmsMasterKeyId: !If [Never, key, !Ref AWS::NoValue]
      Tags:
        - !If [Never, {Key: a, Value: b}, !Ref AWS::NoValue]
        - Key: kept
          Value: !If [Never, !Ref AWS::NoValue, yes]
",
    )
    .unwrap();

    assert_eq!(
        properties(&template, "Topic"),
        &json!({"Tags": [{"Key": "kept", "Value": "yes"}]})
    );
}

#[test]
fn when_get_att_is_a_list_or_dotted_then_both_give_the_attribute() {
    let template = inline(
        r"
Resources:
  Topic:
    Type: AWS::SNS::Topic
  Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Listed: !GetAtt [Topic, TopicName]
      Dotted: !GetAtt Topic.TopicName
      Long: {Fn::GetAtt: [Topic, TopicArn]}
      Unmodelled: !GetAtt Alarm.AlarmName
",
    )
    .unwrap();

    assert_eq!(
        properties(&template, "Alarm"),
        &json!({
            "Listed": "automation-fabric-Topic",
            "Dotted": "automation-fabric-Topic",
            "Long": "arn:aws:sns:us-east-1:123456789012:automation-fabric-Topic",
            "Unmodelled": "automation-fabric-Alarm",
        })
    );
}

#[test]
fn when_a_name_property_refers_to_another_resource_then_that_one_is_named_first() {
    let template = inline(
        r#"
Resources:
  Late:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${Early.QueueName}-dlq"
  Early:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: jobs
"#,
    )
    .unwrap();

    assert_eq!(template.resource("Late").unwrap().name, "jobs-dlq");
}

#[test]
fn when_name_properties_refer_to_each_other_then_the_cycle_is_refused() {
    let error = inline(
        r"
Resources:
  First:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !GetAtt Second.QueueName
  Second:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !GetAtt First.QueueName
",
    )
    .unwrap_err();

    assert!(
        matches!(&error, TemplateError::Cycle { cycle } if cycle == "First -> Second -> First"),
        "{error}"
    );
}

#[test]
fn when_a_reference_names_no_resource_then_it_is_refused_with_its_place() {
    let error = inline(
        r"
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      DisplayName: !Ref Missing
",
    )
    .unwrap_err();

    assert!(
        matches!(&error, TemplateError::UnknownReference { at, name }
            if name == "Missing" && at == "Topic.Properties.DisplayName.Ref"),
        "{error}"
    );
}

#[test]
fn when_get_att_asks_for_an_attribute_the_type_lacks_then_it_is_refused() {
    let error = inline(
        r"
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      DisplayName: !GetAtt Topic.Arn
",
    )
    .unwrap_err();

    assert!(
        matches!(&error, TemplateError::UnknownAttribute { resource, attribute, .. }
            if resource == "Topic" && attribute == "Arn"),
        "{error}"
    );
}

#[test]
fn when_an_intrinsic_is_not_supported_then_it_is_refused() {
    let error = inline(
        r"
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      DisplayName: !ImportValue shared-name
",
    )
    .unwrap_err();

    assert!(
        matches!(&error, TemplateError::UnsupportedIntrinsic { function, .. } if function == "Fn::ImportValue"),
        "{error}"
    );
}

#[test]
fn when_conditions_combine_then_resources_and_outputs_follow_them() {
    let template = inline(
        r"
Parameters:
  Stage: {Type: String, Default: prod}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDev: !Not [!Condition IsProd]
  Either: !Or [!Condition IsDev, !Condition IsProd]
  Both: !And [!Condition IsDev, !Condition IsProd]
Resources:
  ProdTopic:
    Type: AWS::SNS::Topic
    Condition: Either
  DevTopic:
    Type: AWS::SNS::Topic
    Condition: Both
Outputs:
  Prod:
    Value: !Ref ProdTopic
  Dev:
    Condition: Both
    Value: !Ref DevTopic
",
    )
    .unwrap();

    let kept: Vec<&str> = template
        .resources
        .iter()
        .map(|resource| resource.logical_id.as_str())
        .collect();
    assert_eq!(kept, ["ProdTopic"]);
    assert_eq!(template.outputs.keys().collect::<Vec<_>>(), ["Prod"]);
}

#[test]
fn when_globals_and_a_function_both_give_lists_and_maps_then_sam_merges_them() {
    let template = inline(
        r"
Globals:
  Function:
    Timeout: 60
    Layers: [global-layer]
    Environment:
      Variables: {SHARED: global, STAGE: global}
Resources:
  Handler:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 10
      Layers: [own-layer]
      Environment:
        Variables: {STAGE: own}
  Other:
    Type: AWS::Lambda::Function
",
    )
    .unwrap();

    assert_eq!(
        properties(&template, "Handler"),
        &json!({
            "Timeout": 10,
            "Layers": ["global-layer", "own-layer"],
            "Environment": {"Variables": {"SHARED": "global", "STAGE": "own"}},
        })
    );
    assert_eq!(properties(&template, "Other"), &json!({}));
}

#[test]
fn when_the_text_is_not_yaml_then_it_is_refused() {
    let error = inline("Resources: [unclosed").unwrap_err();

    assert!(matches!(error, TemplateError::Yaml(_)), "{error}");
}
