//! Stores the full report and publishes its summary: a run's (read back from its state) or an
//! onboarding's (assembled from the steps' outputs, with the error of a failed path if any).

use fabric::aws::RunServices;
use fabric::config::Config;
use fabric::model::{OnboardingReport, RoleOutcome};
use fabric::report::{publish_onboarding, publish_run};
use fabric::runs::RunState;
use fabric::workflow::{PublishRequest, ReportPublished, SharesDone};
use fabric_lambda::FunctionError;
use lambda_runtime::LambdaEvent;

/// Publishes one report.
pub(crate) async fn handle(
    services: &RunServices,
    _config: &Config,
    event: LambdaEvent<PublishRequest>,
) -> Result<ReportPublished, FunctionError> {
    let now = fabric::report::now();
    let published = match event.payload {
        PublishRequest::Run { run, error } => {
            let mut state = RunState::load(&services.store, &run.run_id).await?;
            if let Some(error) = error {
                state
                    .stopped
                    .get_or_insert_with(|| format!("the run failed: {error}"));
            }
            let report = state
                .report(&services.automation, &services.locations, &services.store)
                .await?;
            let published = publish_run(&report, &services.store, services.notifier(), now).await?;
            state.report_uri = Some(published.report_uri.clone());
            state.save(&services.store).await?;
            published
        }
        PublishRequest::Onboarding {
            input,
            shares,
            role,
            error,
        } => {
            let shares = shares.unwrap_or(SharesDone {
                shares: Vec::new(),
                errors: Vec::new(),
            });
            let mut errors = shares.errors;
            if let Some(error) = error {
                errors.push(format!("the onboarding failed: {error}"));
            }
            let report = OnboardingReport {
                account_id: input.account_id,
                action: input.action,
                trigger_key: input.trigger_key,
                shares: shares.shares,
                role: role.map_or_else(
                    || RoleOutcome::Skipped("the role step did not run".to_owned()),
                    |done| done.role,
                ),
                errors,
            };
            publish_onboarding(&report, &services.store, services.notifier(), now).await?
        }
    };
    Ok(ReportPublished {
        report: published.report_uri,
        message_id: published.message_id,
    })
}
