//! Normalizes an Organizations or Control Tower event, and for an account that joined or left
//! starts the onboarding state machine named by the event's idempotency key (a repeated event
//! finds it started); a failed account creation is reported on the topic; the central account
//! and every other event start nothing.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use fabric::config::Config;
use fabric::events::TriggerEvent;
use fabric::ports::{Notifier, Workflows};
use fabric::steps::onboarding;
use fabric::workflow::AccountEventHandled;
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

/// Handles one account event.
pub(crate) async fn handle(
    config: &Config,
    workflows: &dyn Workflows,
    notifier: Option<&dyn Notifier>,
    event: LambdaEvent<EventBridgeEvent<Value>>,
) -> Result<AccountEventHandled, FunctionError> {
    let trigger = TriggerEvent::from_eventbridge(&event.payload)?;
    Ok(onboarding::handle_account_event(config, workflows, notifier, &trigger).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric::fakes::{FakeServices, example_config, throttled};
    use fabric_lambda::{error_type, invocation};

    const CREATED: &str =
        include_str!("../../../tests/fixtures/events/org-create-account-result-succeeded.json");

    fn event(json: &str) -> LambdaEvent<EventBridgeEvent<Value>> {
        invocation(serde_json::from_str(json).expect("fixture"))
    }

    async fn handled(
        fakes: &FakeServices,
        json: &str,
    ) -> Result<AccountEventHandled, FunctionError> {
        handle(
            &example_config(),
            &fakes.workflows,
            Some(&fakes.notifier),
            event(json),
        )
        .await
    }

    #[tokio::test]
    async fn when_an_account_is_created_three_times_then_one_onboarding_starts() {
        let fakes = FakeServices::example();
        for _ in 0..3 {
            handled(&fakes, CREATED).await.expect("handled");
        }
        let started = fakes.workflows.started.lock().expect("not poisoned");
        assert_eq!(started.len(), 1);
        assert!(started[0].0.starts_with("account-joined-444455556666-"));
        assert_eq!(started[0].1["account_id"], "444455556666");
    }

    #[tokio::test]
    async fn when_step_functions_throttles_then_the_error_is_retryable() {
        let fakes = FakeServices::example();
        fakes.workflows.faults.fail("start", 0, 1, throttled);
        let error = handled(&fakes, CREATED).await.expect_err("throttled");
        assert_eq!(error_type(error), "Fabric.Retryable");
    }

    #[tokio::test]
    async fn when_the_central_account_is_updated_then_nothing_starts() {
        let fakes = FakeServices::example();
        let central =
            include_str!("../../../tests/fixtures/events/ct-update-managed-account-succeeded.json")
                .replace("444455556666", "111122223333");
        let answer = handled(&fakes, &central).await.expect("handled");
        assert_eq!(answer.workflow, None);
        assert!(answer.reason.expect("a reason").contains("central account"));
        assert!(
            fakes
                .workflows
                .started
                .lock()
                .expect("not poisoned")
                .is_empty()
        );
    }

    #[tokio::test]
    async fn when_control_tower_fails_to_create_an_account_then_it_is_reported_and_nothing_starts()
    {
        let fakes = FakeServices::example();
        let fixture =
            include_str!("../../../tests/fixtures/events/ct-create-managed-account-failed.json");
        let answer = handled(&fakes, fixture).await.expect("handled");
        assert!(answer.reported);
        assert!(
            fakes
                .workflows
                .started
                .lock()
                .expect("not poisoned")
                .is_empty()
        );
        let notes = fakes.notifier.published.lock().expect("not poisoned");
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].message.contains("444455556666"),
            "{}",
            notes[0].message
        );
    }

    #[tokio::test]
    async fn when_an_invitation_is_pending_then_nothing_starts() {
        let fakes = FakeServices::example();
        let answer = handled(
            &fakes,
            include_str!("../../../tests/fixtures/events/org-invite-account.json"),
        )
        .await
        .expect("handled");
        assert_eq!(answer.workflow, None);
        assert!(
            fakes
                .workflows
                .started
                .lock()
                .expect("not poisoned")
                .is_empty()
        );
    }

    #[tokio::test]
    async fn when_the_event_is_malformed_then_the_error_type_is_stable() {
        let fakes = FakeServices::example();
        let broken = include_str!("../../../tests/fixtures/events/org-close-account.json")
            .replace("\"accountId\": \"444455556666\"", "\"accountId\": \"4444\"");
        let error = handled(&fakes, &broken)
            .await
            .expect_err("invalid account id");
        assert_eq!(error_type(error), "Fabric.EventShape");
    }
}
