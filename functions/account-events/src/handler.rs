//! Normalizes the event, and for an account that joined or left starts the onboarding state
//! machine named by the event's idempotency key (a repeated event finds it started). A failed
//! account creation (Organizations or Control Tower) is reported on the topic, not acted on.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use fabric::events::Trigger;
use fabric::events::TriggerEvent;
use fabric::onboarding::onboarding_action;
use fabric::ports::{Notification, Notifier, WorkflowStart, Workflows};
use fabric::workflow::OnboardingInput;
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};

/// Handles one account event.
pub(crate) async fn handle(
    workflows: &dyn Workflows,
    notifier: Option<&dyn Notifier>,
    event: LambdaEvent<EventBridgeEvent<Value>>,
) -> Result<Value, FunctionError> {
    let trigger = TriggerEvent::from_eventbridge(&event.payload)?;
    if let (Trigger::AccountCreationFailed { account_id, reason }, Some(notifier)) =
        (&trigger.trigger, notifier)
    {
        let account = account_id
            .as_ref()
            .map_or_else(|| "(no id assigned)".to_owned(), ToString::to_string);
        let notification = Notification {
            subject: "[Automation Fabric] Account creation failed: nothing was onboarded"
                .to_owned(),
            message: format!(
                "Account {account}: {reason}\n\nEvent key: {}",
                trigger.idempotency_key
            ),
            attributes: [
                ("status", "Failed"),
                ("trigger", "account"),
                ("action", "none"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        };
        notifier.publish(&notification).await?;
        return Ok(json!({ "trigger": trigger, "workflow": "none", "reported": true }));
    }
    let Some((account_id, action)) = onboarding_action(&trigger.trigger) else {
        return Ok(json!({ "trigger": trigger, "workflow": "none" }));
    };
    let input = OnboardingInput {
        account_id,
        action,
        trigger_key: trigger.idempotency_key.to_string(),
    };
    let input_json = serde_json::to_value(&input).map_err(|error| fabric::Error::Run {
        problem: error.to_string(),
    })?;
    let workflow = match workflows
        .start(trigger.idempotency_key.as_str(), &input_json)
        .await?
    {
        WorkflowStart::Started(arn) => arn,
        WorkflowStart::AlreadyStarted => "already started".to_owned(),
    };
    Ok(json!({ "trigger": trigger, "workflow": workflow }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::Context;
    use std::sync::Mutex;

    /// Remembers the names it was asked to start; a name started before is "already started".
    #[derive(Default)]
    struct Recorded(Mutex<Vec<String>>);

    #[async_trait::async_trait]
    impl Workflows for Recorded {
        async fn start(&self, name: &str, _input: &Value) -> fabric::Result<WorkflowStart> {
            let mut names = self.0.lock().expect("not poisoned");
            if names.iter().any(|known| known == name) {
                return Ok(WorkflowStart::AlreadyStarted);
            }
            names.push(name.to_owned());
            Ok(WorkflowStart::Started(format!(
                "arn:aws:states:us-east-1:111122223333:execution:onboarding:{name}"
            )))
        }
    }

    fn event(json: &str) -> LambdaEvent<EventBridgeEvent<Value>> {
        LambdaEvent::new(
            serde_json::from_str(json).expect("fixture"),
            Context::default(),
        )
    }

    #[tokio::test]
    async fn when_an_account_is_created_three_times_then_one_onboarding_starts() {
        let workflows = Recorded::default();
        let fixture =
            include_str!("../../../tests/fixtures/events/org-create-account-result-succeeded.json");
        for _ in 0..3 {
            handle(&workflows, None, event(fixture))
                .await
                .expect("handled");
        }
        let started = workflows.0.lock().expect("not poisoned").clone();
        assert_eq!(started.len(), 1);
        assert!(started[0].starts_with("account-joined-444455556666-"));
    }

    /// Keeps what it was asked to publish.
    #[derive(Default)]
    struct Published(Mutex<Vec<Notification>>);

    #[async_trait::async_trait]
    impl Notifier for Published {
        async fn publish(&self, notification: &Notification) -> fabric::Result<String> {
            self.0
                .lock()
                .expect("not poisoned")
                .push(notification.clone());
            Ok("message-1".to_owned())
        }
    }

    #[tokio::test]
    async fn when_control_tower_fails_to_create_an_account_then_it_is_reported_and_nothing_starts()
    {
        let (workflows, published) = (Recorded::default(), Published::default());
        let fixture =
            include_str!("../../../tests/fixtures/events/ct-create-managed-account-failed.json");
        let answer = handle(&workflows, Some(&published), event(fixture))
            .await
            .expect("handled");
        assert_eq!(answer["reported"], true);
        assert!(workflows.0.lock().expect("not poisoned").is_empty());
        let notes = published.0.lock().expect("not poisoned");
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].message.contains("444455556666"),
            "{}",
            notes[0].message
        );
    }

    #[tokio::test]
    async fn when_an_invitation_is_pending_then_nothing_starts() {
        let workflows = Recorded::default();
        let answer = handle(
            &workflows,
            None,
            event(include_str!(
                "../../../tests/fixtures/events/org-invite-account.json"
            )),
        )
        .await
        .expect("handled");
        assert_eq!(answer["workflow"], "none");
        assert!(workflows.0.lock().expect("not poisoned").is_empty());
    }

    #[tokio::test]
    async fn when_the_event_is_malformed_then_the_error_type_is_stable() {
        let workflows = Recorded::default();
        let broken = include_str!("../../../tests/fixtures/events/org-close-account.json")
            .replace("\"accountId\": \"444455556666\"", "\"accountId\": \"4444\"");
        let error = handle(&workflows, None, event(&broken))
            .await
            .expect_err("invalid account id");
        let diagnostic = lambda_runtime::Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, "Fabric.EventShape");
    }
}
