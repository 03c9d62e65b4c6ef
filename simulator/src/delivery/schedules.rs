//! EventBridge Scheduler's schedules, fired on demand: the target gets the schedule's `Input`
//! with its context attributes (`<aws.scheduler.scheduled-time>`, `<aws.scheduler.schedule-arn>`,
//! `<aws.scheduler.execution-id>`, `<aws.scheduler.attempt-number>`) filled in, and failed
//! deliveries are retried and dead-lettered with Scheduler's `X-Amz-Scheduler-*` attributes.

use super::targets::Delivered;
use super::{Delivery, Target, TargetInput};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A schedule of the deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRoute {
    /// Its ARN.
    pub arn: String,
    /// Its expression (`cron(0 3 ? * SUN *)`), shown, never evaluated: schedules fire on demand.
    pub expression: String,
    /// `ENABLED` or `DISABLED` (a disabled schedule can still be fired by hand).
    pub state: String,
    /// Its target; its input is the schedule's `Input`.
    pub target: Target,
}

/// A request to fire a schedule now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FireRequest {
    /// The schedule's name.
    pub name: String,
    /// The time to fill in as `<aws.scheduler.scheduled-time>` (ISO 8601, UTC).
    pub scheduled_time: String,
}

/// What firing a schedule did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fired {
    /// The schedule.
    pub schedule: String,
    /// The time filled in as `<aws.scheduler.scheduled-time>`.
    pub scheduled_time: String,
    /// The target's ARN.
    pub target: String,
    /// What the target did with it.
    pub delivered: Delivered,
}

/// Why a schedule could not be fired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FireError {
    /// Nothing is deployed.
    #[error("nothing is deployed: run `fabric local deploy` first")]
    NotDeployed,
    /// No schedule by that name.
    #[error("no schedule {name} in the deployment (its schedules: {known})")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The deployment's schedules.
        known: String,
    },
}

impl Delivery {
    /// Fires the schedule `name` now and waits for its delivery.
    pub async fn fire(
        self: &Arc<Self>,
        name: &str,
        scheduled_time: &str,
    ) -> Result<Fired, FireError> {
        let routes = super::lock(&self.routes)
            .clone()
            .ok_or(FireError::NotDeployed)?;
        let schedule = routes
            .schedules
            .get(name)
            .ok_or_else(|| FireError::Unknown {
                name: name.to_owned(),
                known: routes
                    .schedules
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let execution_id = uuid::Uuid::new_v4().to_string();
        let template = match &schedule.target.input {
            TargetInput::Constant(text) => text.clone(),
            _ => "{}".to_owned(),
        };
        let input = template
            .replace("<aws.scheduler.scheduled-time>", scheduled_time)
            .replace("<aws.scheduler.schedule-arn>", &schedule.arn)
            .replace("<aws.scheduler.execution-id>", &execution_id)
            .replace("<aws.scheduler.attempt-number>", "1");
        let attributes = |attempt: u32, code: &str, message: &str| {
            vec![
                ("X-Amz-Scheduler-Attempt".to_owned(), attempt.to_string()),
                (
                    "X-Amz-Scheduler-Schedule-Arn".to_owned(),
                    schedule.arn.clone(),
                ),
                ("X-Amz-Scheduler-Error-Code".to_owned(), code.to_owned()),
                (
                    "X-Amz-Scheduler-Error-Message".to_owned(),
                    message.to_owned(),
                ),
            ]
        };
        let delivered = self
            .deliver_input(
                &routes,
                &schedule.arn,
                &schedule.target,
                &input,
                &attributes,
            )
            .await;
        Ok(Fired {
            schedule: name.to_owned(),
            scheduled_time: scheduled_time.to_owned(),
            target: schedule.target.arn.clone(),
            delivered,
        })
    }
}
