//! The Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`) as the SDKs and the
//! Step Functions interpreter call it: `X-Amz-Invocation-Type` `RequestResponse` (the default)
//! answers the function's payload, or HTTP 200 with `X-Amz-Function-Error: Unhandled` and
//! `{"errorType", "errorMessage"}` when it failed; `Event` answers 202 at once.

use super::{InvokeError, Lambda, Outcome};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode};
use std::sync::Arc;

/// The path prefix of the Invoke API.
pub const PREFIX: &str = "/2015-03-31/functions/";

/// Answers one Invoke call (`path` is what follows [`PREFIX`]).
pub async fn handle(
    lambda: &Arc<Lambda>,
    path: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response<Body> {
    let Some(name) = path.strip_suffix("/invocations") else {
        return error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            "the local stack's Lambda serves Invoke only",
        );
    };
    let name = percent_decode(name);
    let kind = headers
        .get("x-amz-invocation-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("RequestResponse");
    match kind {
        "Event" => match lambda.invoke_async(&name, body.to_vec()) {
            Ok(request_id) => {
                let mut response = Response::new(Body::empty());
                *response.status_mut() = StatusCode::ACCEPTED;
                if let Ok(value) = HeaderValue::from_str(&request_id) {
                    response.headers_mut().insert("x-amzn-requestid", value);
                }
                response
            }
            Err(failure) => refused(&failure),
        },
        "RequestResponse" => match lambda.invoke(&name, body.to_vec()).await {
            Ok(Outcome::Answered(payload)) => {
                let mut response = Response::new(Body::from(payload));
                response.headers_mut().insert(
                    "x-amz-executed-version",
                    HeaderValue::from_static("$LATEST"),
                );
                response
            }
            Ok(Outcome::Failed {
                error_type,
                error_message,
            }) => {
                let body = serde_json::json!({
                    "errorType": error_type,
                    "errorMessage": error_message,
                });
                let mut response = Response::new(Body::from(body.to_string()));
                let headers = response.headers_mut();
                headers.insert(
                    "x-amz-function-error",
                    HeaderValue::from_static("Unhandled"),
                );
                headers.insert(
                    "x-amz-executed-version",
                    HeaderValue::from_static("$LATEST"),
                );
                headers.insert("content-type", HeaderValue::from_static("application/json"));
                response
            }
            Err(failure) => refused(&failure),
        },
        other => error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            &format!("the local stack does not serve the {other} invocation type"),
        ),
    }
}

fn refused(failure: &InvokeError) -> Response<Body> {
    match failure {
        InvokeError::NotFound(_) => error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &failure.to_string(),
        ),
        InvokeError::TooLarge { .. } => error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLargeException",
            &failure.to_string(),
        ),
    }
}

fn error(status: StatusCode, code: &'static str, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "Type": "User", "message": message });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert("x-amzn-errortype", HeaderValue::from_static(code));
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    response
}

/// `%3A` and friends in a function ARN in the path.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[index + 1..index + 3], 16) {
                decoded.push(byte);
                index += 3;
                continue;
            }
        }
        decoded.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn when_a_function_arn_is_percent_encoded_then_it_is_decoded() {
        assert_eq!(
            percent_decode(
                "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Afabric-start-run"
            ),
            "arn:aws:lambda:us-east-1:123456789012:function:fabric-start-run"
        );
        assert_eq!(percent_decode("plain-name"), "plain-name");
        assert_eq!(percent_decode("cut%3"), "cut%3");
    }
}
