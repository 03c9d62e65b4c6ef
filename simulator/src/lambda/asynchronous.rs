//! Asynchronous invocations as Lambda runs them: accepted at once, then attempted; after a
//! function error Lambda "waits one minute before the second attempt and two minutes before
//! the third" (here divided by the time scale), gives up on events older than the maximum
//! age, and sends the event to the function's dead-letter queue with the `RequestID`,
//! `ErrorCode` and `ErrorMessage` attributes.

use super::sandboxes::Function;
use super::{Lambda, Outcome, scaled};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Accepts an `Event` invocation of `function` and runs its attempts in the background.
pub(super) fn accept(
    lambda: Arc<Lambda>,
    function: Arc<Function>,
    payload: Vec<u8>,
    time_scale: f64,
) -> String {
    let request_id = uuid::Uuid::new_v4().to_string();
    let id = request_id.clone();
    tokio::spawn(async move {
        let config = function.spec().asynchronous.clone();
        let accepted = Instant::now();
        let max_age = scaled(
            f64::from(u32::try_from(config.max_event_age_seconds).unwrap_or(u32::MAX)),
            time_scale,
        );
        let mut attempt = 0;
        let failure = loop {
            let outcome = function.invoke(payload.clone()).await;
            let Outcome::Failed {
                error_type,
                error_message,
            } = outcome
            else {
                return;
            };
            tracing::info!(function = %function.spec().name, request_id = %id, attempt, %error_type, "asynchronous attempt failed");
            if attempt >= config.max_retries {
                break (error_type, error_message);
            }
            attempt += 1;
            let delay = scaled(60.0 * f64::from(attempt), time_scale);
            if accepted.elapsed() + delay > max_age {
                break (error_type, error_message);
            }
            tokio::time::sleep(delay.max(Duration::from_millis(10))).await;
        };
        let Some(queue) = config.dead_letter_arn else {
            tracing::warn!(function = %function.spec().name, request_id = %id, "asynchronous event dropped: no dead-letter queue");
            return;
        };
        let (error_type, error_message) = failure;
        let body = String::from_utf8_lossy(&payload).into_owned();
        let attributes = [
            ("RequestID", id.as_str()),
            ("ErrorCode", "200"),
            ("ErrorMessage", &format!("{error_type}: {error_message}")),
        ];
        match lambda.moto.send_message(&queue, &body, &attributes).await {
            Ok(()) => function.dead_lettered(),
            Err(error) => {
                tracing::error!(function = %function.spec().name, request_id = %id, %error, "cannot dead-letter the event");
            }
        }
    });
    request_id
}
