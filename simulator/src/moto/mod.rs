//! What the simulator asks moto, as any account (moto's `x-moto-account-id` header): the
//! organization's accounts and OUs, IAM roles, SSM documents and their sharing, EC2 instances
//! and resource groups, CloudFormation stacks and CloudWatch alarms, and the EC2 calls of
//! runbook steps. Also forwards every request the simulator does not answer itself.

use crate::wire::ApiError;
use serde_json::Value;

mod ec2;
mod reads;

pub use ec2::Ec2Error;
pub use reads::{GroupQuery, Instance, OrgAccount};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_form_values_have_special_characters_then_they_are_percent_encoded() {
        assert_eq!(
            form_encode(&[("Filter.1.Name", "tag:Patch Group")]),
            "Filter.1.Name=tag%3APatch%20Group"
        );
    }
}
