//! EventBridge and EventBridge Scheduler delivery for a local deployment. moto matches the
//! rules' real patterns but delivers only to SQS, so each rule gets an SQS "tap" target; this
//! reads the taps and delivers each event to the template's real targets as EventBridge does
//! (`targets`): a Lambda function asynchronously, a state machine by `StartExecution`, with the
//! target's input, retried with backoff under its `RetryPolicy`, and dead-lettered. Schedules
//! fire on demand (`schedules`) with their `Input` and `<aws.scheduler.*>` context filled in.
//!
//! EventBridge sets an event's `account` and `region` to where it was sent from; moto sets them
//! to the bus's. So an event put on another account's bus (`EventBusName` an ARN) is put there
//! for the sender, and its sender's account and Region are given back on delivery.

mod schedules;
mod targets;

pub use schedules::{FireError, FireRequest, Fired, ScheduleRoute};
pub use targets::{Delivered, RetryPolicy, Target, TargetInput};

use crate::lambda::Lambda;
use crate::lock;
use crate::moto::Moto;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A rule of the deployment: where moto delivers its matches, and where they go from there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRoute {
    /// The rule's name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// The tap queue's URL.
    pub tap_url: String,
    /// The template's targets.
    pub targets: Vec<Target>,
}

/// Where events and schedules of a deployment go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Routes {
    /// The deployment's account.
    pub account: String,
    /// Its Region.
    pub region: String,
    /// Retry intervals are divided by this.
    pub time_scale: f64,
    /// Its rules.
    pub rules: Vec<RuleRoute>,
    /// Its schedules, by name.
    pub schedules: BTreeMap<String, ScheduleRoute>,
}

/// What was delivered, for tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryStats {
    /// Events read from the taps, by rule.
    pub matched: BTreeMap<String, u64>,
    /// Deliveries that reached their target, by target ARN.
    pub delivered: BTreeMap<String, u64>,
    /// Delivery attempts that failed and were retried, by target ARN.
    pub retried: BTreeMap<String, u64>,
    /// Events sent to a dead-letter queue, by target ARN.
    pub dead_lettered: BTreeMap<String, u64>,
    /// Executions started, in order: `(source, execution ARN)`, the source a rule or schedule.
    pub executions: Vec<(String, String)>,
}

/// Event and schedule delivery of the local stack.
#[derive(Debug)]
pub struct Delivery {
    moto: Moto,
    /// The stack's own endpoint: targets are called through it, as EventBridge calls them
    /// through the services' endpoints (so injected faults reach deliveries too).
    front_door: Mutex<Option<Moto>>,
    lambda: Arc<Lambda>,
    routes: Mutex<Option<Arc<Routes>>>,
    pollers: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    senders: Mutex<HashMap<String, (String, String)>>,
    /// Held (written) while a put on another account's bus is forwarded and its senders
    /// remembered; read before a tapped event's sender is looked up, so no event is delivered
    /// before its sender is known.
    foreign_puts: tokio::sync::RwLock<()>,
    stats: Mutex<DeliveryStats>,
}

impl Delivery {
    /// Delivery with no deployment yet.
    pub fn new(moto: Moto, lambda: Arc<Lambda>) -> Arc<Self> {
        Arc::new(Self {
            moto,
            front_door: Mutex::new(None),
            lambda,
            routes: Mutex::new(None),
            pollers: Mutex::new(Vec::new()),
            senders: Mutex::new(HashMap::new()),
            foreign_puts: tokio::sync::RwLock::new(()),
            stats: Mutex::new(DeliveryStats::default()),
        })
    }

    /// Starts delivering for `routes` (replacing an earlier deployment's).
    pub fn route(self: &Arc<Self>, routes: Routes) {
        let routes = Arc::new(routes);
        *lock(&self.routes) = Some(Arc::clone(&routes));
        let mut pollers = lock(&self.pollers);
        for poller in pollers.drain(..) {
            poller.abort();
        }
        for rule in &routes.rules {
            let delivery = Arc::clone(self);
            let rule = rule.clone();
            let routes = Arc::clone(&routes);
            pollers.push(tokio::spawn(
                async move { delivery.poll(&routes, &rule).await },
            ));
        }
    }

    /// Calls targets through the stack's endpoint at `base_url` once it listens.
    pub fn set_front_door(&self, base_url: &str) {
        *lock(&self.front_door) = Some(Moto::new(base_url));
    }

    /// The client targets are called through: the front door once it listens.
    fn targets_client(&self) -> Moto {
        lock(&self.front_door)
            .clone()
            .unwrap_or_else(|| self.moto.clone())
    }

    /// What was delivered so far.
    pub fn stats(&self) -> DeliveryStats {
        lock(&self.stats).clone()
    }

    /// Held while a put on another account's bus is forwarded, until its senders are
    /// remembered.
    pub async fn foreign_put(&self) -> tokio::sync::RwLockWriteGuard<'_, ()> {
        self.foreign_puts.write().await
    }

    /// Remembers who sent the events moto gave these ids (a put on another account's bus).
    pub fn remember_senders(&self, event_ids: &[String], account: &str, region: &str) {
        let mut senders = lock(&self.senders);
        for id in event_ids {
            senders.insert(id.clone(), (account.to_owned(), region.to_owned()));
        }
    }

    /// Reads a rule's tap and delivers what it finds, until the deployment is replaced.
    async fn poll(self: Arc<Self>, routes: &Arc<Routes>, rule: &RuleRoute) {
        loop {
            let request = json!({
                "QueueUrl": rule.tap_url,
                "MaxNumberOfMessages": 10,
                "WaitTimeSeconds": 1,
            });
            let answer = self.sqs(routes, "AmazonSQS.ReceiveMessage", &request).await;
            let messages = match answer {
                Ok(answer) => answer["Messages"].as_array().cloned().unwrap_or_default(),
                Err(error) => {
                    tracing::warn!(rule = %rule.name, %error, "cannot read the rule's tap");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let _senders_known = self.foreign_puts.read().await;
            for message in messages {
                let mut event: Value = message["Body"]
                    .as_str()
                    .and_then(|body| serde_json::from_str(body).ok())
                    .unwrap_or(Value::Null);
                if let Some(fields) = event.as_object_mut() {
                    fields.remove("ingestion-time");
                }
                if let Some(id) = event["id"].as_str() {
                    if let Some((account, region)) = lock(&self.senders).remove(id) {
                        event["account"] = json!(account);
                        event["region"] = json!(region);
                    }
                }
                *lock(&self.stats)
                    .matched
                    .entry(rule.name.clone())
                    .or_default() += 1;
                for target in &rule.targets {
                    let delivery = Arc::clone(&self);
                    let target = target.clone();
                    let routes = Arc::clone(routes);
                    let event = event.clone();
                    let source = rule.arn.clone();
                    tokio::spawn(async move {
                        delivery.deliver(&routes, &source, &target, &event).await;
                    });
                }
                let delete = json!({
                    "QueueUrl": rule.tap_url,
                    "ReceiptHandle": message["ReceiptHandle"],
                });
                if let Err(error) = self.sqs(routes, "AmazonSQS.DeleteMessage", &delete).await {
                    tracing::warn!(rule = %rule.name, %error, "cannot delete a tapped event");
                }
            }
        }
    }

    async fn sqs(&self, routes: &Routes, target: &str, request: &Value) -> Result<Value, String> {
        match self
            .moto
            .json_call_as(
                &routes.account,
                &routes.region,
                "sqs",
                target,
                "application/x-amz-json-1.0",
                request,
            )
            .await
        {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err((code, message))) => Err(format!("{code}: {message}")),
            Err(error) => Err(error.to_string()),
        }
    }

    fn count(&self, what: impl FnOnce(&mut DeliveryStats)) {
        what(&mut lock(&self.stats));
    }
}

/// The bus account and Region of a `PutEvents` request whose entries all name another
/// account's (or Region's) bus by ARN; `None` for puts on the caller's own buses.
pub fn foreign_bus(body: &[u8], account: &str, region: &str) -> Option<(String, String)> {
    let request: Value = serde_json::from_slice(body).ok()?;
    let mut buses = request["Entries"].as_array()?.iter().map(|entry| {
        let arn = entry["EventBusName"].as_str()?;
        match arn.split(':').collect::<Vec<_>>().as_slice() {
            ["arn", _, "events", bus_region, bus_account, bus] if bus.starts_with("event-bus/") => {
                Some(((*bus_account).to_owned(), (*bus_region).to_owned()))
            }
            _ => None,
        }
    });
    let first = buses.next()??;
    if buses.any(|bus| bus.as_ref() != Some(&first)) {
        return None;
    }
    (first.0 != account || first.1 != region).then_some(first)
}

/// Makes a put go to the bus owner's account and Region in moto (which does not check
/// signatures and takes the account from `x-moto-account-id`).
pub fn put_as_bus_owner(
    headers: &mut axum::http::HeaderMap,
    account: &str,
    caller_region: &str,
    region: &str,
) {
    if let Ok(value) = axum::http::HeaderValue::from_str(account) {
        headers.insert("x-moto-account-id", value);
    }
    let rewritten = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value.replace(
                &format!("/{caller_region}/events/"),
                &format!("/{region}/events/"),
            )
        });
    if let Some(value) = rewritten.and_then(|value| axum::http::HeaderValue::from_str(&value).ok())
    {
        headers.insert("authorization", value);
    }
}

/// The event ids of a `PutEvents` answer.
pub fn event_ids(answer: &[u8]) -> Vec<String> {
    serde_json::from_slice::<Value>(answer)
        .ok()
        .and_then(|answer| answer["Entries"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| entry["EventId"].as_str().map(str::to_owned))
        .collect()
}
