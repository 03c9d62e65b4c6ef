//! What the simulator asks moto, as any account (moto's `x-moto-account-id` header): the
//! organization's accounts and OUs, IAM roles, SSM documents and their sharing, EC2 instances
//! and resource groups. Also forwards every request the simulator does not answer itself.

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
}

/// A moto server reached over HTTP.
#[derive(Debug, Clone)]
pub struct Moto {
    base_url: String,
    http: reqwest::Client,
}

/// moto's answer to a JSON call: its body, or its error code and message.
async fn answer(
    target: &str,
    response: reqwest::Response,
) -> Result<Result<Value, (String, String)>, ApiError> {
    let status = response.status();
    let text = response.text().await.map_err(|error| {
        ApiError::internal(format!("moto's answer to {target} broke off: {error}"))
    })?;
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(Ok(value));
    }
    let code = value["__type"].as_str().map_or_else(
        || status.to_string(),
        |code| code.rsplit('#').next().unwrap_or(code).to_owned(),
    );
    let message = value["message"]
        .as_str()
        .or(value["Message"].as_str())
        .unwrap_or_default()
        .to_owned();
    Ok(Err((code, message)))
}

/// The Region, account and name of an SQS queue's ARN.
pub fn queue_parts(queue_arn: &str) -> Result<(&str, &str, &str), ApiError> {
    match queue_arn.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "sqs", region, account, name] => Ok((region, account, name)),
        _ => Err(ApiError::internal(format!(
            "not an SQS queue ARN: {queue_arn}"
        ))),
    }
}

/// moto does not check signatures; this header only tells it which service and Region a
/// request is for.
fn authorization(region: &str, service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIAFABRICSIMULATOR/20260101/{region}/{service}/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature=0000"
    )
}

impl Moto {
    /// A client of the moto server at `base_url` (`http://127.0.0.1:PORT`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends any request on to moto as it came and returns moto's answer.
    pub async fn forward(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        headers: reqwest::header::HeaderMap,
        body: Vec<u8>,
    ) -> Result<reqwest::Response, ApiError> {
        self.http
            .request(method, format!("{}{path_and_query}", self.base_url))
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|error| ApiError::internal(format!("moto did not answer: {error}")))
    }

    /// A JSON 1.1 call (`target` such as `AmazonSSM.GetDocument`) as `account` in `region`.
    async fn json_call(
        &self,
        account: &str,
        region: &str,
        service: &str,
        target: &str,
        body: &Value,
    ) -> Result<Result<Value, (String, String)>, ApiError> {
        self.json_call_as(
            account,
            region,
            service,
            target,
            "application/x-amz-json-1.1",
            body,
        )
        .await
    }

    /// A query-protocol call (IAM, EC2, STS, SNS) as `account`; returns the status and XML body.
    pub async fn query_call(
        &self,
        account: &str,
        region: &str,
        service: &str,
        params: &[(&str, &str)],
    ) -> Result<(u16, String), ApiError> {
        let response = self
            .http
            .post(format!("{}/", self.base_url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-moto-account-id", account)
            .header("authorization", authorization(region, service))
            .body(form_encode(params))
            .send()
            .await
            .map_err(|error| {
                ApiError::internal(format!("moto did not answer {service}: {error}"))
            })?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|error| ApiError::internal(format!("moto's answer broke off: {error}")))?;
        Ok((status, text))
    }

    /// Sends a message to the SQS queue `queue_arn` (in its own account and Region), with
    /// string attributes.
    pub async fn send_message(
        &self,
        queue_arn: &str,
        body: &str,
        attributes: &[(&str, &str)],
    ) -> Result<(), ApiError> {
        let (region, account, name) = queue_parts(queue_arn)?;
        let attributes: serde_json::Map<String, Value> = attributes
            .iter()
            .map(|(name, value)| {
                (
                    (*name).to_owned(),
                    serde_json::json!({ "DataType": "String", "StringValue": value }),
                )
            })
            .collect();
        let request = serde_json::json!({
            "QueueUrl": format!("{}/{account}/{name}", self.base_url),
            "MessageBody": body,
            "MessageAttributes": attributes,
        });
        self.json_call_as(
            account,
            region,
            "sqs",
            "AmazonSQS.SendMessage",
            "application/x-amz-json-1.0",
            &request,
        )
        .await?
        .map(|_| ())
        .map_err(|(code, message)| {
            ApiError::internal(format!(
                "SQS SendMessage to {queue_arn} failed: {code}: {message}"
            ))
        })
    }

    /// Any AWS JSON call (`target` such as `AWSEvents.PutRule`, `content_type` the protocol's
    /// `application/x-amz-json-1.0` or `-1.1`) as `account` in `region`: moto's answer, or its
    /// error code and message.
    pub async fn json_call_as(
        &self,
        account: &str,
        region: &str,
        service: &str,
        target: &str,
        content_type: &str,
        body: &Value,
    ) -> Result<Result<Value, (String, String)>, ApiError> {
        let response = self
            .http
            .post(format!("{}/", self.base_url))
            .header("content-type", content_type)
            .header("x-amz-target", target)
            .header("x-moto-account-id", account)
            .header("authorization", authorization(region, service))
            .body(body.to_string())
            .send()
            .await
            .map_err(|error| {
                ApiError::internal(format!("moto did not answer {target}: {error}"))
            })?;
        answer(target, response).await
    }

    /// Creates an S3 bucket as `account`; returns moto's HTTP status (409 when it exists).
    pub async fn create_bucket(
        &self,
        account: &str,
        region: &str,
        bucket: &str,
    ) -> Result<u16, ApiError> {
        let response = self
            .http
            .put(format!("{}/{bucket}", self.base_url))
            .header("x-moto-account-id", account)
            .header("authorization", authorization(region, "s3"))
            .send()
            .await
            .map_err(|error| {
                ApiError::internal(format!("moto did not answer CreateBucket: {error}"))
            })?;
        Ok(response.status().as_u16())
    }

    /// Changes moto's own settings (`POST /moto-api/config`).
    pub async fn configure(&self, settings: &Value) -> Result<(), ApiError> {
        self.http
            .post(format!("{}/moto-api/config", self.base_url))
            .header("content-type", "application/json")
            .body(settings.to_string())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map(|_| ())
            .map_err(|error| ApiError::internal(format!("moto refused its config: {error}")))
    }

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
        let borrowed: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (status, xml) = self.query_call(account, region, "ec2", &borrowed).await?;
        if status != 200 {
            return Err(ApiError::internal(format!(
                "moto's EC2 answered {status}: {xml}"
            )));
        }
        Ok(parse_instances(&xml))
    }

    /// The tag filters of resource group `group` of `account` in `region`, or `None` when
    /// there is no such group.
    pub async fn group_tag_filters(
        &self,
        account: &str,
        region: &str,
        group: &str,
    ) -> Result<Option<Vec<(String, Vec<String>)>>, ApiError> {
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
        let query: Value = answer["GroupQuery"]["ResourceQuery"]["Query"]
            .as_str()
            .and_then(|query| serde_json::from_str(query).ok())
            .unwrap_or(Value::Null);
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
        Ok(Some(filters))
    }
}

fn form_encode(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(key, value)| format!("{}={}", percent_encode(key), percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// The text of every element named `name` in `xml`.
fn xml_texts(xml: &str, name: &str) -> Vec<String> {
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

fn parse_instances(xml: &str) -> Vec<Instance> {
    let Ok(document) = roxmltree::Document::parse(xml) else {
        return Vec::new();
    };
    let child_text = |node: roxmltree::Node<'_, '_>, name: &str| {
        node.children()
            .find(|child| child.has_tag_name(name))
            .and_then(|child| child.text())
            .map(str::to_owned)
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
            Some(Instance { id, tags })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_moto_lists_instances_then_ids_and_tags_are_read() {
        let xml = r#"<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
          <reservationSet><item><instancesSet>
            <item><instanceId>i-1</instanceId><tagSet>
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
    }

    #[test]
    fn when_form_values_have_special_characters_then_they_are_percent_encoded() {
        assert_eq!(
            form_encode(&[("Filter.1.Name", "tag:Patch Group")]),
            "Filter.1.Name=tag%3APatch%20Group"
        );
    }
}
