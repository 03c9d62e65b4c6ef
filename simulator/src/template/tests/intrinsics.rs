//! Parameters' rules, each intrinsic function, and each refusal, on small templates.

use super::*;

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
