//! The Lambda Runtime API that sandboxes pull invocations from, under
//! `/lambda-runtime/{sandbox}/2018-06-01/runtime/`: `invocation/next` (with the
//! `Lambda-Runtime-Aws-Request-Id`, `-Deadline-Ms` and `-Invoked-Function-Arn` headers that
//! `lambda_runtime` reads), `invocation/{id}/response`, `invocation/{id}/error` and
//! `init/error`.

use super::{Lambda, Outcome};
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Method, Response, StatusCode};
use std::sync::Arc;

/// The path prefix of the Runtime API.
pub const PREFIX: &str = "/lambda-runtime/";

/// Answers one Runtime API request (`path` is what follows [`PREFIX`]).
pub async fn handle(
    lambda: &Arc<Lambda>,
    method: &Method,
    path: &str,
    body: &Bytes,
) -> Response<Body> {
    let Some((sandbox, call)) = path.split_once("/2018-06-01/runtime/") else {
        return status(StatusCode::NOT_FOUND, "no such Runtime API path");
    };
    let Some(function) = lambda.sandbox_function(sandbox) else {
        return status(StatusCode::GONE, "this sandbox was stopped");
    };
    match (
        method.as_str(),
        call.split('/').collect::<Vec<_>>().as_slice(),
    ) {
        ("GET", ["invocation", "next"]) => match function.next(sandbox).await {
            Some(delivered) => {
                let mut response = Response::new(Body::from(delivered.payload));
                let headers = response.headers_mut();
                let mut set = |name: &'static str, value: &str| {
                    if let Ok(value) = HeaderValue::from_str(value) {
                        headers.insert(name, value);
                    }
                };
                set("lambda-runtime-aws-request-id", &delivered.request_id);
                set(
                    "lambda-runtime-deadline-ms",
                    &delivered.deadline_ms.to_string(),
                );
                set(
                    "lambda-runtime-invoked-function-arn",
                    &delivered.function_arn,
                );
                set(
                    "lambda-runtime-trace-id",
                    &format!("Root=1-{}", delivered.request_id.replace('-', "")),
                );
                set("content-type", "application/json");
                response
            }
            None => status(StatusCode::GONE, "this sandbox was stopped"),
        },
        ("POST", ["invocation", request_id, "response"]) => {
            answered(function.answer(request_id, Outcome::Answered(body.to_vec())))
        }
        ("POST", ["invocation", request_id, "error"]) => {
            answered(function.answer(request_id, failure(body)))
        }
        ("POST", ["init", "error"]) => {
            let Outcome::Failed {
                error_type,
                error_message,
            } = failure(body)
            else {
                return status(StatusCode::ACCEPTED, "");
            };
            tracing::warn!(function = %function.spec().name, %error_type, %error_message, "init failed");
            status(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        _ => status(StatusCode::NOT_FOUND, "no such Runtime API call"),
    }
}

/// A function's error report (`{"errorType", "errorMessage"}`) as an outcome.
fn failure(body: &Bytes) -> Outcome {
    let report: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    Outcome::Failed {
        error_type: report["errorType"]
            .as_str()
            .unwrap_or("Runtime.Unknown")
            .to_owned(),
        error_message: report["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

fn answered(known: bool) -> Response<Body> {
    if known {
        status(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
    } else {
        status(
            StatusCode::BAD_REQUEST,
            r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#,
        )
    }
}

fn status(code: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = code;
    response
}
