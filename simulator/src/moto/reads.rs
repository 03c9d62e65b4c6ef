//! The typed reads the simulator's engine makes of moto, as any account: who a caller is, the
//! organization's accounts under a parent, whether a role exists, a document and its sharing,
//! the instances a target selects, a resource group's query, a stack's resources and the state
//! of CloudWatch alarms.

use super::{Moto, authorization};
use crate::wire::ApiError;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// An account in the organization, as `ListAccountsForParent` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAccount {
    /// The account id.
    pub id: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`.
    pub status: String,
}

/// An EC2 instance and its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// `i-...`.
    pub id: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Its state's name: `pending`, `running`, `stopping`, `stopped`...
    pub state: String,
}

impl Moto {
    /// The account that `access_key` belongs to, as moto's STS sees it.
    pub async fn caller_account(&self, access_key: &str) -> Result<String, ApiError> {
        let response = self
            .http
            .post(format!("{}/", self.base_url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential={access_key}/20260101/us-east-1/sts/aws4_request, \
                     SignedHeaders=host;x-amz-date, Signature=0000"
                ),
            )
            .body("Action=GetCallerIdentity&Version=2011-06-15")
            .send()
            .await
            .map_err(|error| ApiError::internal(format!("moto did not answer STS: {error}")))?;
        let text = response
            .text()
            .await
            .map_err(|error| ApiError::internal(format!("moto's STS answer broke off: {error}")))?;
        xml_texts(&text, "Account")
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::internal("moto's STS did not say the caller's account"))
    }

    /// The active and inactive accounts directly in `parent` (an OU or root id), and, when
    /// `recursive`, in its child OUs at any depth. Asked as the management account.
    pub async fn accounts_under(
        &self,
        management: &str,
        parent: &str,
        recursive: bool,
    ) -> Result<Vec<OrgAccount>, ApiError> {
        let mut accounts = Vec::new();
        let mut parents = vec![parent.to_owned()];
        while let Some(parent) = parents.pop() {
            let listed = self
                .paginate(management, "ListAccountsForParent", &parent, "Accounts")
                .await?;
            accounts.extend(listed.iter().map(|account| OrgAccount {
                id: account["Id"].as_str().unwrap_or_default().to_owned(),
                status: account["Status"].as_str().unwrap_or("ACTIVE").to_owned(),
            }));
            if recursive {
                let units = self
                    .paginate(
                        management,
                        "ListOrganizationalUnitsForParent",
                        &parent,
                        "OrganizationalUnits",
                    )
                    .await?;
                parents.extend(
                    units
                        .iter()
                        .filter_map(|unit| unit["Id"].as_str().map(str::to_owned)),
                );
            }
        }
        Ok(accounts)
    }

    async fn paginate(
        &self,
        management: &str,
        operation: &str,
        parent: &str,
        list: &str,
    ) -> Result<Vec<Value>, ApiError> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({ "ParentId": parent });
            if let Some(token) = &token {
                body["NextToken"] = json!(token);
            }
            let answer = self
                .json_call(
                    management,
                    "us-east-1",
                    "organizations",
                    &format!("AWSOrganizationsV20161128.{operation}"),
                    &body,
                )
                .await?
                .map_err(|(code, message)| {
                    ApiError::validation(format!(
                        "cannot list {parent} in the organization: {code}: {message}"
                    ))
                })?;
            items.extend(answer[list].as_array().cloned().unwrap_or_default());
            match answer["NextToken"].as_str() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(items),
            }
        }
    }

    /// True when `account` has an IAM role named `role`.
    pub async fn role_exists(&self, account: &str, role: &str) -> Result<bool, ApiError> {
        let (status, _) = self
            .query_call(
                account,
                "us-east-1",
                "iam",
                &[
                    ("Action", "GetRole"),
                    ("RoleName", role),
                    ("Version", "2010-05-08"),
                ],
            )
            .await?;
        Ok(status == 200)
    }

    /// The content (JSON or YAML text) and format of document `name` of `owner` in `region`,
    /// or `None` when there is no such document.
    pub async fn document(
        &self,
        owner: &str,
        region: &str,
        name: &str,
    ) -> Result<Option<(String, String)>, ApiError> {
        let answer = self
            .json_call(
                owner,
                region,
                "ssm",
                "AmazonSSM.GetDocument",
                &json!({ "Name": name }),
            )
            .await?;
        Ok(answer.ok().map(|document| {
            (
                document["Content"].as_str().unwrap_or_default().to_owned(),
                document["DocumentFormat"]
                    .as_str()
                    .unwrap_or("JSON")
                    .to_owned(),
            )
        }))
    }

    /// The accounts (or `all`) that `owner` shared document `name` with in `region`.
    pub async fn shared_with(
        &self,
        owner: &str,
        region: &str,
        name: &str,
    ) -> Result<Vec<String>, ApiError> {
        let answer = self
            .json_call(
                owner,
                region,
                "ssm",
                "AmazonSSM.DescribeDocumentPermission",
                &json!({ "Name": name, "PermissionType": "Share" }),
            )
            .await?;
        Ok(answer
            .ok()
            .and_then(|permission| permission["AccountIds"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|id| id.as_str().map(str::to_owned))
            .collect())
    }

    /// The instances of `account` in `region` that carry every tag filter (key, accepted
    /// values; no values: any value), stopped ones included: Automation resolves targets by tag
    /// whatever the instance's state (seed 000 starts the stopped instances tagged
    /// `Name=Non-Prod` with `AWS-StartEC2Instance`); terminated and terminating ones are gone.
    pub async fn instances(
        &self,
        account: &str,
        region: &str,
        tag_filters: &[(String, Vec<String>)],
    ) -> Result<Vec<Instance>, ApiError> {
        let mut params: Vec<(String, String)> = vec![
            ("Action".into(), "DescribeInstances".into()),
            ("Version".into(), "2016-11-15".into()),
            ("Filter.1.Name".into(), "instance-state-name".into()),
            ("Filter.1.Value.1".into(), "pending".into()),
            ("Filter.1.Value.2".into(), "running".into()),
            ("Filter.1.Value.3".into(), "stopping".into()),
            ("Filter.1.Value.4".into(), "stopped".into()),
        ];
        for (index, (key, values)) in tag_filters.iter().enumerate() {
            let filter = index + 2;
            if values.is_empty() {
                params.push((format!("Filter.{filter}.Name"), "tag-key".into()));
                params.push((format!("Filter.{filter}.Value.1"), key.clone()));
            } else {
                params.push((format!("Filter.{filter}.Name"), format!("tag:{key}")));
                for (v, value) in values.iter().enumerate() {
                    params.push((format!("Filter.{filter}.Value.{}", v + 1), value.clone()));
                }
            }
        }
        let xml = self.query_answer(account, region, "ec2", &params).await?;
        Ok(parse_instances(&xml))
    }

    /// The query of resource group `group` of `account` in `region`, or `None` when there is
    /// no such group.
    pub async fn group_query(
        &self,
        account: &str,
        region: &str,
        group: &str,
    ) -> Result<Option<GroupQuery>, ApiError> {
        let response = self
            .http
            .post(format!("{}/get-group-query", self.base_url))
            .header("content-type", "application/json")
            .header("x-moto-account-id", account)
            .header("authorization", authorization(region, "resource-groups"))
            .body(json!({ "Group": group }).to_string())
            .send()
            .await
            .map_err(|error| {
                ApiError::internal(format!("moto did not answer resource-groups: {error}"))
            })?;
        if !response.status().is_success() {
            return Ok(None);
        }
        let text = response.text().await.map_err(|error| {
            ApiError::internal(format!("moto's resource-groups answer broke off: {error}"))
        })?;
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let resource_query = &answer["GroupQuery"]["ResourceQuery"];
        let query: Value = resource_query["Query"]
            .as_str()
            .and_then(|query| serde_json::from_str(query).ok())
            .unwrap_or(Value::Null);
        match resource_query["Type"].as_str().unwrap_or("TAG_FILTERS_1_0") {
            "TAG_FILTERS_1_0" => {}
            "CLOUDFORMATION_STACK_1_0" => {
                let stack = query["StackIdentifier"].as_str().unwrap_or_default();
                return Ok(Some(GroupQuery::Stack(stack.to_owned())));
            }
            other => return Ok(Some(GroupQuery::Other(other.to_owned()))),
        }
        let filters = query["TagFilters"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|filter| {
                let key = filter["Key"].as_str().unwrap_or_default().to_owned();
                let values = filter["Values"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
                (key, values)
            })
            .collect();
        Ok(Some(GroupQuery::Tags(filters)))
    }
}

/// A resource group's query, as `GetGroupQuery` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupQuery {
    /// `TAG_FILTERS_1_0`: the tag filters (key, accepted values).
    Tags(Vec<(String, Vec<String>)>),
    /// `CLOUDFORMATION_STACK_1_0`: the stack's ARN or name.
    Stack(String),
    /// Any other query type, named.
    Other(String),
}

impl Moto {
    /// The state (`OK`, `ALARM`, `INSUFFICIENT_DATA`) of each of `names` that exists in
    /// `account` and `region`, from CloudWatch's `DescribeAlarms` (metric and composite alarms).
    pub async fn alarm_states(
        &self,
        account: &str,
        region: &str,
        names: &[String],
    ) -> Result<BTreeMap<String, String>, ApiError> {
        let mut params: Vec<(String, String)> = vec![
            ("Action".into(), "DescribeAlarms".into()),
            ("Version".into(), "2010-08-01".into()),
            ("AlarmTypes.member.1".into(), "MetricAlarm".into()),
            ("AlarmTypes.member.2".into(), "CompositeAlarm".into()),
        ];
        for (index, name) in names.iter().enumerate() {
            params.push((format!("AlarmNames.member.{}", index + 1), name.clone()));
        }
        let xml = self
            .query_answer(account, region, "monitoring", &params)
            .await?;
        Ok(parse_alarm_states(&xml))
    }

    /// The XML body of a successful query-protocol call to `service`; any other answer is an
    /// error naming the service and its status.
    async fn query_answer(
        &self,
        account: &str,
        region: &str,
        service: &str,
        params: &[(String, String)],
    ) -> Result<String, ApiError> {
        let borrowed: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (status, xml) = self.query_call(account, region, service, &borrowed).await?;
        if status != 200 {
            return Err(ApiError::internal(format!(
                "moto's {service} answered {status}: {xml}"
            )));
        }
        Ok(xml)
    }

    /// The physical ids of the resources of type `resource_type` in CloudFormation stack
    /// `stack` of `account` in `region`, or `None` when there is no such stack.
    pub async fn stack_resources(
        &self,
        account: &str,
        region: &str,
        stack: &str,
        resource_type: &str,
    ) -> Result<Option<Vec<String>>, ApiError> {
        let (status, xml) = self
            .query_call(
                account,
                region,
                "cloudformation",
                &[
                    ("Action", "ListStackResources"),
                    ("Version", "2010-05-15"),
                    ("StackName", stack),
                ],
            )
            .await?;
        if status != 200 {
            return Ok(None);
        }
        let Ok(document) = roxmltree::Document::parse(&xml) else {
            return Ok(None);
        };
        Ok(Some(
            document
                .descendants()
                .filter(|node| node.has_tag_name("member"))
                .filter(|member| {
                    child_text(*member, "ResourceType").as_deref() == Some(resource_type)
                })
                .filter_map(|member| child_text(member, "PhysicalResourceId"))
                .collect(),
        ))
    }
}

/// The text of `node`'s child element `name`.
fn child_text(node: roxmltree::Node<'_, '_>, name: &str) -> Option<String> {
    node.children()
        .find(|child| child.has_tag_name(name))
        .and_then(|child| child.text())
        .map(str::to_owned)
}

/// Alarm name -> state value, from a `DescribeAlarms` answer.
fn parse_alarm_states(xml: &str) -> BTreeMap<String, String> {
    let Ok(document) = roxmltree::Document::parse(xml) else {
        return BTreeMap::new();
    };
    document
        .descendants()
        .filter(|node| node.has_tag_name("member"))
        .filter_map(|alarm| {
            Some((
                child_text(alarm, "AlarmName")?,
                child_text(alarm, "StateValue")?,
            ))
        })
        .collect()
}

/// The text of every element named `name` in `xml`.
pub(super) fn xml_texts(xml: &str, name: &str) -> Vec<String> {
    roxmltree::Document::parse(xml)
        .map(|document| {
            document
                .descendants()
                .filter(|node| node.has_tag_name(name))
                .filter_map(|node| node.text().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The instances (id, state, tags) of a `DescribeInstances` answer.
pub(super) fn parse_instances(xml: &str) -> Vec<Instance> {
    let Ok(document) = roxmltree::Document::parse(xml) else {
        return Vec::new();
    };
    document
        .descendants()
        .filter(|node| node.has_tag_name("instancesSet"))
        .flat_map(|set| set.children().filter(|item| item.has_tag_name("item")))
        .filter_map(|item| {
            let id = child_text(item, "instanceId")?;
            let tags = item
                .children()
                .find(|child| child.has_tag_name("tagSet"))
                .map(|set| {
                    set.children()
                        .filter(|tag| tag.has_tag_name("item"))
                        .filter_map(|tag| {
                            Some((
                                child_text(tag, "key")?,
                                child_text(tag, "value").unwrap_or_default(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let state = item
                .children()
                .find(|child| child.has_tag_name("instanceState"))
                .and_then(|node| child_text(node, "name"))
                .unwrap_or_default();
            Some(Instance { id, tags, state })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_cloudwatch_describes_alarms_then_each_state_is_read() {
        let xml = r#"<DescribeAlarmsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">
          <DescribeAlarmsResult><MetricAlarms>
            <member><AlarmName>fleet-errors</AlarmName><StateValue>ALARM</StateValue></member>
          </MetricAlarms><CompositeAlarms>
            <member><AlarmName>calm</AlarmName><StateValue>OK</StateValue></member>
          </CompositeAlarms></DescribeAlarmsResult></DescribeAlarmsResponse>"#;
        let states = parse_alarm_states(xml);
        assert_eq!(
            states.get("fleet-errors").map(String::as_str),
            Some("ALARM")
        );
        assert_eq!(states.get("calm").map(String::as_str), Some("OK"));
    }

    #[test]
    fn when_moto_lists_instances_then_ids_and_tags_are_read() {
        let xml = r#"<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
          <reservationSet><item><instancesSet>
            <item><instanceId>i-1</instanceId>
              <instanceState><code>80</code><name>stopped</name></instanceState><tagSet>
              <item><key>Patch</key><value>true</value></item>
              <item><key>fabric-simulator</key><value>fail</value></item>
            </tagSet></item>
            <item><instanceId>i-2</instanceId></item>
          </instancesSet></item></reservationSet></DescribeInstancesResponse>"#;
        let instances = parse_instances(xml);
        assert_eq!(instances.len(), 2);
        assert_eq!(
            instances[0]
                .tags
                .get("fabric-simulator")
                .map(String::as_str),
            Some("fail")
        );
        assert!(instances[1].tags.is_empty());
        assert_eq!(instances[0].state, "stopped");
    }
}
