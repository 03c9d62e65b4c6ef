//! The onboarding state machine's tasks (`CheckAccount`, `ShareDocuments`, `DeployRole`,
//! `PublishReport`) and the `account-events` function that starts it. Each refuses the central
//! account: it owns the documents and is never a target.

use super::{OnboardingPorts, ReportSink};
use crate::Result;
use crate::events::{Trigger, TriggerEvent};
use crate::model::{OnboardingReport, RoleOutcome};
use crate::onboarding::{self, onboardable};
use crate::ports::{AccountStatus, Notification, Notifier, WorkflowStart, Workflows};
use crate::workflow::{
    AccountEventHandled, AccountReadiness, OnboardingInput, ReportPublished, RoleDone, SharesDone,
    StepError,
};

/// `CheckAccount`: whether the account is an active member yet (the state machine waits, a
/// Wait state between checks, until it is).
pub async fn check_account(
    ports: &OnboardingPorts<'_>,
    input: &OnboardingInput,
) -> Result<AccountReadiness> {
    onboardable(ports.config, &input.account_id, input.action)?;
    Ok(match ports.directory.account(&input.account_id).await? {
        Some(account) => AccountReadiness {
            ready: account.status == AccountStatus::Active,
            status: format!("{:?}", account.status).to_uppercase(),
        },
        None => AccountReadiness {
            ready: false,
            status: "NOT_A_MEMBER".to_owned(),
        },
    })
}

/// `ShareDocuments`: shares (offboarding: unshares) every configured document in every
/// configured Region; each document and Region gets its own outcome.
pub async fn share_documents(
    ports: &OnboardingPorts<'_>,
    input: &OnboardingInput,
) -> Result<SharesDone> {
    onboardable(ports.config, &input.account_id, input.action)?;
    let (shares, errors) = onboarding::share_documents(
        ports.documents,
        ports.config,
        &input.account_id,
        input.action,
        input.dry_run,
    )
    .await;
    Ok(SharesDone { shares, errors })
}

/// `DeployRole`: deploys (offboarding: removes) the execution role's stack instance, unless it
/// is already so (with a service-managed StackSet: verifies that auto-deployment did it).
pub async fn deploy_role(ports: &OnboardingPorts<'_>, input: &OnboardingInput) -> Result<RoleDone> {
    onboardable(ports.config, &input.account_id, input.action)?;
    Ok(RoleDone {
        role: onboarding::deploy_role(
            ports.roles,
            ports.config.execution_role.permission_model,
            &input.account_id,
            input.action,
            input.dry_run,
        )
        .await,
    })
}

/// The onboarding report from the steps' outputs (absent when a step did not run) and the
/// error of a failed path.
pub fn onboarding_report(
    input: OnboardingInput,
    shares: Option<SharesDone>,
    role: Option<RoleDone>,
    error: Option<StepError>,
) -> OnboardingReport {
    let shares = shares.unwrap_or(SharesDone {
        shares: Vec::new(),
        errors: Vec::new(),
    });
    let mut errors = shares.errors;
    if let Some(error) = error {
        errors.push(format!("the onboarding failed: {error}"));
    }
    OnboardingReport {
        account_id: input.account_id,
        action: input.action,
        trigger_key: input.trigger_key,
        shares: shares.shares,
        role: role.map_or_else(
            || RoleOutcome::Skipped("the role step did not run".to_owned()),
            |done| done.role,
        ),
        errors,
    }
}

/// Said where a dry run's report would be.
pub const DRY_RUN_NOT_STORED: &str = "dry run: not stored";

/// `PublishReport` of an onboarding: the report stored and its summary published (a dry run's
/// is neither).
pub async fn publish_onboarding_report(
    sink: ReportSink<'_>,
    report: &OnboardingReport,
    dry_run: bool,
) -> Result<ReportPublished> {
    if dry_run {
        return Ok(ReportPublished {
            report: DRY_RUN_NOT_STORED.to_owned(),
            message_id: None,
        });
    }
    let published =
        crate::report::publish_onboarding(report, sink.store, sink.notifier, crate::report::now())
            .await?;
    Ok(ReportPublished {
        report: published.report_uri,
        message_id: published.message_id,
    })
}

/// What an account event asks of onboarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountEventAction {
    /// Start the onboarding state machine with this input, named by the event's key.
    Onboard(OnboardingInput),
    /// Report a failed account creation on the topic; nothing is onboarded.
    ReportFailure(Notification),
    /// Nothing to do, for this reason.
    Nothing(String),
}

/// What `trigger` asks of onboarding: an account that joined is onboarded and one that left
/// offboarded (never the central account), a failed creation reported, the rest ignored.
pub fn account_event_action(
    config: &crate::config::Config,
    trigger: &TriggerEvent,
) -> AccountEventAction {
    if let Trigger::AccountCreationFailed { account_id, reason } = &trigger.trigger {
        let account = account_id
            .as_ref()
            .map_or_else(|| "(no id assigned)".to_owned(), ToString::to_string);
        return AccountEventAction::ReportFailure(Notification {
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
        });
    }
    let Some((account_id, action)) = onboarding::onboarding_action(&trigger.trigger) else {
        return AccountEventAction::Nothing(format!(
            "nothing to onboard ({})",
            trigger.trigger.summary()
        ));
    };
    if let Err(error) = onboardable(config, &account_id, action) {
        return AccountEventAction::Nothing(error.to_string());
    }
    AccountEventAction::Onboard(OnboardingInput {
        account_id,
        action,
        trigger_key: trigger.idempotency_key.to_string(),
        dry_run: false,
    })
}

/// The `account-events` function: starts the onboarding state machine for an account that
/// joined or left, named by the event's key (a repeated event finds it started), or reports a
/// failed creation on the topic.
pub async fn handle_account_event(
    config: &crate::config::Config,
    workflows: &dyn Workflows,
    notifier: Option<&dyn Notifier>,
    trigger: &TriggerEvent,
) -> Result<AccountEventHandled> {
    let handled =
        |workflow: Option<String>, reason: Option<String>, reported: bool| AccountEventHandled {
            trigger_key: trigger.idempotency_key.to_string(),
            workflow,
            reason,
            reported,
        };
    match account_event_action(config, trigger) {
        AccountEventAction::ReportFailure(notification) => match notifier {
            Some(notifier) => {
                notifier.publish(&notification).await?;
                Ok(handled(None, Some(notification.subject), true))
            }
            None => Ok(handled(None, Some(notification.subject), false)),
        },
        AccountEventAction::Nothing(reason) => Ok(handled(None, Some(reason), false)),
        AccountEventAction::Onboard(input) => {
            let body = serde_json::to_value(&input)
                .map_err(|error| crate::Error::unserializable("the onboarding input", &error))?;
            let workflow = match workflows.start(&input.trigger_key, &body).await? {
                WorkflowStart::Started(arn) => arn,
                WorkflowStart::AlreadyStarted => "already started".to_owned(),
            };
            Ok(handled(Some(workflow), None, false))
        }
    }
}

/// The `reconcile` function: repairs every active member account's missing shares and role.
pub async fn reconcile(
    ports: &OnboardingPorts<'_>,
    request: &crate::workflow::ReconcileRequest,
) -> Result<onboarding::ReconcileReport> {
    if let Some(schedule) = &request.reconcile {
        tracing::info!(schedule = %schedule.schedule_name, at = %schedule.scheduled_time, "reconciling");
    }
    onboarding::reconcile(
        ports.directory,
        ports.documents,
        ports.roles,
        ports.config,
        false,
    )
    .await
}
