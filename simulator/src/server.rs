//! One endpoint for the whole local stack: Automation API calls are answered by the simulator,
//! everything else (any service, and moto's own `/moto-api`) is forwarded to moto unchanged.
//! `/fabric-simulator/*` controls fault injection and the Automation settings (step timing,
//! quotas), and reports call counts.

use crate::delivery::{Delivery, FireRequest};
use crate::deployment::DeployRequest;
use crate::faults::{Fault, FaultSettings, Faults, InjectedError};
use crate::lambda::{FunctionFaults, Lambda, invoke, runtime};
use crate::ssm::api::{Api, OPERATIONS};
use crate::ssm::engine::{Caller, SettingsChange};
use crate::wire::ApiError;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The largest request body the endpoint reads.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The state every request shares.
#[derive(Debug)]
pub struct Simulator {
    api: Api,
    lambda: Arc<Lambda>,
    delivery: Arc<Delivery>,
    faults: Faults,
    callers: Mutex<HashMap<String, String>>,
}

impl Simulator {
    /// A simulator answering with `api`, injecting `faults`.
    pub fn new(api: Api, faults: Faults) -> Arc<Self> {
        let lambda = Lambda::new(api.engine().moto().clone());
        let delivery = Delivery::new(api.engine().moto().clone(), Arc::clone(&lambda));
        Arc::new(Self {
            api,
            lambda,
            delivery,
            faults,
            callers: Mutex::new(HashMap::new()),
        })
    }

    /// The API behind the endpoint.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// The Lambda service of a local deployment.
    pub fn lambda(&self) -> &Arc<Lambda> {
        &self.lambda
    }

    /// Event and schedule delivery of a local deployment.
    pub fn delivery(&self) -> &Arc<Delivery> {
        &self.delivery
    }

    /// Fault injection.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The SSM Automation engine (its settings and the accounts' Regions).
    pub fn engine(&self) -> &Arc<crate::ssm::engine::Engine> {
        self.api.engine()
    }
}

/// Serves `simulator` on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    simulator: Arc<Simulator>,
) -> std::io::Result<()> {
    let address = listener.local_addr()?;
    simulator
        .lambda
        .set_runtime_api(&format!("http://{address}"));
    simulator
        .delivery
        .set_front_door(&format!("http://{address}"));
    let app = axum::Router::new().fallback(move |request: Request<Body>| {
        let simulator = Arc::clone(&simulator);
        async move { handle(&simulator, request).await }
    });
    axum::serve(listener, app).await
}

async fn handle(simulator: &Simulator, request: Request<Body>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(error) => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("cannot read the request body: {error}"),
            );
        }
    };
    if let Some(control) = parts.uri.path().strip_prefix("/fabric-simulator/") {
        return control_endpoint(simulator, &parts.method, control, &body).await;
    }
    if let Some(path) = parts.uri.path().strip_prefix(runtime::PREFIX) {
        return runtime::handle(&simulator.lambda, &parts.method, path, &body).await;
    }
    if let Some(path) = parts.uri.path().strip_prefix(invoke::PREFIX) {
        simulator.faults.count_forwarded("lambda.Invoke");
        return invoke::handle(&simulator.lambda, path, &parts.headers, &body).await;
    }
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|target| target.to_str().ok())
        .and_then(|target| target.strip_prefix("AmazonSSM."))
        .filter(|operation| OPERATIONS.contains(operation))
        .map(str::to_owned);
    let request = request_text(&parts.uri, &parts.headers, &body);
    if let Some(operation) = operation {
        return automation_call(simulator, &operation, &parts.headers, &body, &request).await;
    }
    if parts.uri.path() == "/listRegions" && credential_scope(&parts.headers, 3) == Some("account")
    {
        let answer = list_regions(simulator, &parts.headers, &body).await;
        return json_response(answer);
    }
    if parts
        .headers
        .get("x-amz-target")
        .is_some_and(|target| target == "AWSEvents.PutEvents")
    {
        if let Ok(caller) = caller(simulator, &parts.headers).await {
            if let Some((account, region)) =
                crate::delivery::foreign_bus(&body, &caller.account, &caller.region)
            {
                simulator.faults.count_forwarded("AWSEvents.PutEvents");
                let _forwarding = simulator.delivery.foreign_put().await;
                let mut headers = parts.headers.clone();
                crate::delivery::put_as_bus_owner(&mut headers, &account, &caller.region, &region);
                let answer = forward(simulator, parts.method, parts.uri, headers, body).await;
                let (answer, answer_body) = answer.into_parts();
                let bytes = axum::body::to_bytes(answer_body, MAX_BODY_BYTES)
                    .await
                    .unwrap_or_default();
                simulator.delivery.remember_senders(
                    &crate::delivery::event_ids(&bytes),
                    &caller.account,
                    &caller.region,
                );
                return Response::from_parts(answer, Body::from(bytes));
            }
        }
    }
    let forwarded = forwarded_operation(&parts.method, &parts.headers, &body);
    simulator.faults.count_forwarded(&forwarded);
    if !parts.uri.path().starts_with("/moto-api") {
        if let Some(fault) = simulator.faults.admit_forwarded(&forwarded, &request) {
            return fault_response(Protocol::of(&parts.headers, &body), fault);
        }
    }
    forward(simulator, parts.method, parts.uri, parts.headers, body).await
}

/// What a scripted error's `matching` text is looked for in: the path and query, the signing
/// Region, and the body.
fn request_text(uri: &axum::http::Uri, headers: &HeaderMap, body: &Bytes) -> String {
    format!(
        "{} {} {}",
        uri.path_and_query().map_or("/", |path| path.as_str()),
        credential_scope(headers, 2).unwrap_or_default(),
        String::from_utf8_lossy(body)
    )
}

/// The wire protocol of a request, which decides how its errors look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// AWS JSON 1.0 / 1.1 (`X-Amz-Target`): SSM, Organizations, Step Functions.
    Json,
    /// AWS Query (`Action=` in a form body): STS, SNS, CloudFormation, IAM.
    Query,
    /// REST XML: S3.
    RestXml,
}

impl Protocol {
    fn of(headers: &HeaderMap, body: &Bytes) -> Self {
        if headers.contains_key("x-amz-target") {
            Self::Json
        } else if body.starts_with(b"Action=") || body.windows(8).any(|w| w == b"&Action=") {
            Self::Query
        } else {
            Self::RestXml
        }
    }

    /// The error code each protocol's services throttle with.
    fn throttled(self) -> InjectedError {
        let (code, status) = match self {
            Self::Json => ("ThrottlingException", 400),
            Self::Query => ("Throttling", 400),
            Self::RestXml => ("SlowDown", 503),
        };
        InjectedError {
            code: code.to_owned(),
            message: "Rate exceeded".to_owned(),
            status,
        }
    }
}

/// A fault as the service would answer it, in the request's protocol.
fn fault_response(protocol: Protocol, fault: Fault) -> Response<Body> {
    let error = match fault {
        Fault::Throttled => protocol.throttled(),
        Fault::Scripted(error) => error,
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let (content_type, body) = match protocol {
        Protocol::Json => (
            "application/x-amz-json-1.1",
            serde_json::json!({ "__type": error.code, "message": error.message }).to_string(),
        ),
        Protocol::Query => (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                xml_escape(&error.code),
                xml_escape(&error.message)
            ),
        ),
        Protocol::RestXml => (
            "application/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{}</Code><Message>{}</Message><RequestId>{request_id}</RequestId></Error>",
                xml_escape(&error.code),
                xml_escape(&error.message)
            ),
        ),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-amzn-requestid", value);
    }
    if protocol == Protocol::Json {
        if let Ok(value) = HeaderValue::from_str(&error.code) {
            headers.insert("x-amzn-errortype", value);
        }
    }
    response
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `account:ListRegions`: the caller's account, or the member account it names.
async fn list_regions(
    simulator: &Simulator,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<serde_json::Value, ApiError> {
    let caller = caller(simulator, headers).await?;
    let request: serde_json::Value = crate::wire::parse_request(body)?;
    let account = request["AccountId"]
        .as_str()
        .unwrap_or(&caller.account)
        .to_owned();
    Ok(simulator.api.engine().regions().list(&account, &request))
}

/// Part `index` of the signature's credential scope (`key/date/region/service/aws4_request`).
fn credential_scope(headers: &HeaderMap, index: usize) -> Option<&str> {
    headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|credential| credential.split([',', ' ']).next())
        .and_then(|credential| credential.split('/').nth(index))
}

async fn automation_call(
    simulator: &Simulator,
    operation: &str,
    headers: &HeaderMap,
    body: &Bytes,
    request: &str,
) -> Response<Body> {
    let caller = match caller(simulator, headers).await {
        Ok(caller) => caller,
        Err(error) => return json_response(Err(error)),
    };
    if let Some(fault) = simulator
        .faults
        .admit(operation, &caller.account, &caller.region, request)
        .await
    {
        return fault_response(Protocol::Json, fault);
    }
    tracing::debug!(operation, account = %caller.account, region = %caller.region, "automation call");
    json_response(simulator.api.call(operation, &caller, body).await)
}

/// The caller's account (moto's `x-moto-account-id`, else the account moto's STS knows the
/// access key by) and Region (the signature's credential scope).
async fn caller(simulator: &Simulator, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let authorization = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(
                "MissingAuthenticationTokenException",
                "Request is missing Authentication Token",
            )
        })?;
    let scope: Vec<&str> = authorization
        .split("Credential=")
        .nth(1)
        .and_then(|rest| rest.split([',', ' ']).next())
        .map(|credential| credential.split('/').collect())
        .unwrap_or_default();
    let (Some(access_key), Some(region)) = (scope.first(), scope.get(2)) else {
        return Err(ApiError::new(
            "IncompleteSignatureException",
            "The request signature has no credential scope.",
        ));
    };
    if let Some(account) = headers
        .get("x-moto-account-id")
        .and_then(|value| value.to_str().ok())
    {
        return Ok(Caller {
            account: account.to_owned(),
            region: (*region).to_owned(),
        });
    }
    let known = simulator
        .callers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(*access_key)
        .cloned();
    let account = if let Some(account) = known {
        account
    } else {
        let account = simulator
            .api
            .engine()
            .moto()
            .caller_account(access_key)
            .await?;
        simulator
            .callers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((*access_key).to_owned(), account.clone());
        account
    };
    Ok(Caller {
        account,
        region: (*region).to_owned(),
    })
}

/// The name a forwarded call is counted under: the JSON target (`AmazonSSM.ListDocuments`), the
/// query action with its service (`cloudformation.CreateStackInstances`), else the service and
/// HTTP method (`s3.PUT`).
fn forwarded_operation(method: &Method, headers: &HeaderMap, body: &Bytes) -> String {
    if let Some(target) = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
    {
        return target.to_owned();
    }
    let service = credential_scope(headers, 3).unwrap_or("unknown");
    let action = std::str::from_utf8(body).ok().and_then(|form| {
        form.split('&')
            .find_map(|pair| pair.strip_prefix("Action="))
    });
    match action {
        Some(action) => format!("{service}.{action}"),
        None => format!("{service}.{method}"),
    }
}

fn json_response(answer: Result<serde_json::Value, ApiError>) -> Response<Body> {
    let (status, error_type, body) = match answer {
        Ok(value) => (StatusCode::OK, None, value),
        Err(error) => (
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST),
            Some(error.code),
            error.body(),
        ),
    };
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    headers.insert(
        "x-amzn-requestid",
        HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
            .unwrap_or(HeaderValue::from_static("0")),
    );
    if let Some(code) = error_type {
        headers.insert("x-amzn-errortype", HeaderValue::from_static(code));
    }
    response
}

fn plain(status: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
}

async fn control_endpoint(
    simulator: &Simulator,
    method: &Method,
    path: &str,
    body: &Bytes,
) -> Response<Body> {
    let json = |value: serde_json::Value| {
        let mut response = Response::new(Body::from(value.to_string()));
        response
            .headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        response
    };
    match (method.as_str(), path) {
        ("GET", "health") => json(serde_json::json!({ "status": "ok" })),
        ("GET", "faults") => {
            json(serde_json::to_value(simulator.faults.settings()).unwrap_or_default())
        }
        ("POST", "faults") => match serde_json::from_slice::<FaultSettings>(body) {
            Ok(settings) => {
                simulator.faults.configure(settings.clone());
                json(serde_json::to_value(settings).unwrap_or_default())
            }
            Err(error) => plain(
                StatusCode::BAD_REQUEST,
                format!("invalid fault settings: {error}"),
            ),
        },
        ("POST", "automation") => match serde_json::from_slice::<SettingsChange>(body) {
            Ok(change) => json(simulator.api.engine().change_settings(&change)),
            Err(error) => plain(
                StatusCode::BAD_REQUEST,
                format!("invalid automation settings: {error}"),
            ),
        },
        ("POST", "regions") => match serde_json::from_slice::<crate::account::RegionChange>(body) {
            Ok(change) => {
                simulator.api.engine().regions().set(change);
                json(serde_json::json!({}))
            }
            Err(error) => plain(
                StatusCode::BAD_REQUEST,
                format!("invalid Region change: {error}"),
            ),
        },
        ("POST", "deploy") => match serde_json::from_slice::<DeployRequest>(body) {
            Ok(request) => match crate::deployment::deploy(simulator, &request).await {
                Ok(deployment) => json(serde_json::to_value(deployment).unwrap_or_default()),
                Err(error) => plain(StatusCode::BAD_REQUEST, error.to_string()),
            },
            Err(error) => plain(
                StatusCode::BAD_REQUEST,
                format!("invalid deploy request: {error}"),
            ),
        },
        ("POST", "schedules/fire") => match serde_json::from_slice::<FireRequest>(body) {
            Ok(request) => match simulator
                .delivery
                .fire(&request.name, &request.scheduled_time)
                .await
            {
                Ok(fired) => json(serde_json::to_value(fired).unwrap_or_default()),
                Err(error) => plain(StatusCode::NOT_FOUND, error.to_string()),
            },
            Err(error) => plain(
                StatusCode::BAD_REQUEST,
                format!("invalid fire request: {error}"),
            ),
        },
        ("GET", "delivery") => {
            json(serde_json::to_value(simulator.delivery.stats()).unwrap_or_default())
        }
        ("GET", "lambda") => {
            json(serde_json::to_value(simulator.lambda.stats()).unwrap_or_default())
        }
        ("POST", "lambda/faults") => match serde_json::from_slice::<FunctionFaults>(body) {
            Ok(faults) => match simulator.lambda.inject(&faults) {
                Ok(()) => json(serde_json::json!({})),
                Err(error) => plain(StatusCode::NOT_FOUND, error.to_string()),
            },
            Err(error) => plain(
                StatusCode::BAD_REQUEST,
                format!("invalid function faults: {error}"),
            ),
        },
        ("GET", "stats") => {
            json(serde_json::to_value(simulator.faults.stats()).unwrap_or_default())
        }
        ("POST", "stats/reset") => {
            simulator.faults.reset_stats();
            json(serde_json::json!({}))
        }
        _ => plain(
            StatusCode::NOT_FOUND,
            format!("no simulator endpoint {method} /fabric-simulator/{path}"),
        ),
    }
}

async fn forward(
    simulator: &Simulator,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let mut outgoing = reqwest::header::HeaderMap::new();
    for (name, value) in &headers {
        if !matches!(
            name.as_str(),
            "host" | "content-length" | "connection" | "transfer-encoding"
        ) {
            outgoing.append(name.clone(), value.clone());
        }
    }
    // moto finds a signed call's account by looking its access key up in every account's IAM
    // (each call's cost grows with the organization); the simulator knows the key's account
    // (from the AssumeRole answer that made it, else as moto's GetCallerIdentity answered it,
    // once per key) and says so in moto's own header.
    if !outgoing.contains_key("x-moto-account-id") {
        if let Ok(caller) = caller(simulator, &headers).await {
            if let Ok(account) = reqwest::header::HeaderValue::from_str(&caller.account) {
                outgoing.insert("x-moto-account-id", account);
            }
        }
    }
    let path = uri.path_and_query().map_or("/", |path| path.as_str());
    let answer = match simulator
        .api
        .engine()
        .moto()
        .forward(method, path, outgoing, body.to_vec())
        .await
    {
        Ok(answer) => answer,
        Err(error) => return plain(StatusCode::BAD_GATEWAY, error.message),
    };
    let status = answer.status();
    let answer_headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    if status.is_success() {
        if let Some((access_key, account)) = crate::sts_answer::assumed_credentials(&bytes) {
            // The credentials STS just made belong to the assumed role's account: known now,
            // without asking moto which account holds the key.
            simulator
                .callers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(access_key, account);
        }
    }
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &answer_headers {
        if !matches!(
            name.as_str(),
            "content-length" | "connection" | "transfer-encoding"
        ) {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    response
}
