//! The onboarding state machine (`statemachines/account-onboarding.asl.json`), walked locally
//! over onboarding's steps.

use super::graph::{Graph, On, Terminal, Test, choice, edge};
use super::{End, Event, Observer, Timing, retried, to_value};
use crate::model::OnboardingReport;
use crate::steps::onboarding as steps;
use crate::steps::{OnboardingPorts, ReportSink};
use crate::workflow::{
    AccountReadiness, OnboardingInput, ReportPublished, RoleDone, SharesDone, StepError,
};
use crate::{Error, Result};
use serde::Serialize;
use std::time::Instant;

const PREPARE: &str = "Prepare";
const CHECK_ACCOUNT: &str = "CheckAccount";
const CHECK_ACCOUNT_CAUGHT: &str = "CheckAccountCaught";
const IS_READY: &str = "IsReady";
const WAIT_FOR_ACCOUNT: &str = "WaitForAccount";
const COUNT_CHECK: &str = "CountCheck";
const NOT_READY: &str = "NotReady";
const SHARE_AND_DEPLOY: &str = "ShareAndDeploy";
const SHARE_AND_DEPLOY_CAUGHT: &str = "ShareAndDeployCaught";
const PUBLISH_REPORT: &str = "PublishReport";
const OUTCOME: &str = "Outcome";
const ONBOARDING_FAILED: &str = "OnboardingFailed";
const ONBOARDED: &str = "Onboarded";
const KEEP_UNDELIVERED: &str = "KeepUndelivered";
const PUBLISH_FAILED: &str = "PublishFailed";

/// How many readiness checks the state machine makes before giving up.
pub const READINESS_CHECKS: i64 = 20;

/// The onboarding state machine's graph.
pub const GRAPH: Graph = Graph {
    start_at: PREPARE,
    edges: &[
        edge(PREPARE, On::Next, CHECK_ACCOUNT),
        edge(CHECK_ACCOUNT, On::Next, IS_READY),
        edge(CHECK_ACCOUNT, On::Catch, CHECK_ACCOUNT_CAUGHT),
        edge(CHECK_ACCOUNT_CAUGHT, On::Next, PUBLISH_REPORT),
        choice(
            IS_READY,
            "$.input.action",
            Test::StringEquals("offboard"),
            SHARE_AND_DEPLOY,
        ),
        choice(
            IS_READY,
            "$.readiness.ready",
            Test::BooleanEquals(true),
            SHARE_AND_DEPLOY,
        ),
        choice(
            IS_READY,
            "$.attempts",
            Test::NumericGreaterThanEquals(READINESS_CHECKS),
            NOT_READY,
        ),
        edge(IS_READY, On::Default, WAIT_FOR_ACCOUNT),
        edge(WAIT_FOR_ACCOUNT, On::Next, COUNT_CHECK),
        edge(COUNT_CHECK, On::Next, CHECK_ACCOUNT),
        edge(NOT_READY, On::Next, PUBLISH_REPORT),
        edge(SHARE_AND_DEPLOY, On::Next, PUBLISH_REPORT),
        edge(SHARE_AND_DEPLOY, On::Catch, SHARE_AND_DEPLOY_CAUGHT),
        edge(SHARE_AND_DEPLOY_CAUGHT, On::Next, PUBLISH_REPORT),
        edge(PUBLISH_REPORT, On::Next, OUTCOME),
        edge(PUBLISH_REPORT, On::Catch, KEEP_UNDELIVERED),
        choice(OUTCOME, "$.error", Test::IsNull(false), ONBOARDING_FAILED),
        edge(OUTCOME, On::Default, ONBOARDED),
        edge(KEEP_UNDELIVERED, On::Next, PUBLISH_FAILED),
        edge(KEEP_UNDELIVERED, On::Catch, PUBLISH_FAILED),
    ],
    terminals: &[
        (ONBOARDING_FAILED, Terminal::Fail("Fabric.OnboardingFailed")),
        (ONBOARDED, Terminal::Succeed),
        (PUBLISH_FAILED, Terminal::Fail("Fabric.PublishFailed")),
    ],
};

/// The state machine's data, shaped as the ASL's paths read it.
#[derive(Debug, Serialize)]
struct Data {
    input: OnboardingInput,
    attempts: i64,
    readiness: Option<AccountReadiness>,
    done: Done,
    error: Option<StepError>,
    published: Option<ReportPublished>,
}

#[derive(Debug, Default, Serialize)]
struct Done {
    shares: Option<SharesDone>,
    role: Option<RoleDone>,
}

/// How an onboarding's workflow ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardingOutcome {
    /// Its end.
    pub end: End,
    /// The report, as published (or, when publishing failed, as it would have been).
    pub report: OnboardingReport,
    /// Where the report is, when it was published.
    pub published: Option<ReportPublished>,
    /// The error of a failed path.
    pub error: Option<StepError>,
}

/// Onboards (or offboards) `input`'s account as the onboarding state machine does.
#[allow(clippy::too_many_lines)] // one arm per state: the state machine reads top to bottom
pub async fn carry_out(
    ports: &OnboardingPorts<'_>,
    reports: ReportSink<'_>,
    input: OnboardingInput,
    timing: Timing,
    observer: &mut dyn Observer,
) -> Result<OnboardingOutcome> {
    let began = Instant::now();
    let mut data = Data {
        input,
        attempts: 0,
        readiness: None,
        done: Done::default(),
        error: None,
        published: None,
    };
    let mut state = GRAPH.start_at;
    loop {
        if let Some(end) = GRAPH.end(state) {
            return Ok(outcome(end, data));
        }
        observer.on(Event::Entered(state));
        let answered: Result<()> = match state {
            // Prepare's data is built above; a …Caught state's step name was put beside the
            // caught error as the Catch took it.
            PREPARE | CHECK_ACCOUNT_CAUGHT | SHARE_AND_DEPLOY_CAUGHT => Ok(()),
            CHECK_ACCOUNT => retried(timing, || steps::check_account(ports, &data.input))
                .await
                .map(|readiness| {
                    observer.on(Event::Readiness(&readiness));
                    data.readiness = Some(readiness);
                }),
            WAIT_FOR_ACCOUNT => {
                if timing.timeout.is_some_and(|limit| began.elapsed() > limit) {
                    return Ok(outcome(End::TimedOut, data));
                }
                tokio::time::sleep(timing.wait).await;
                Ok(())
            }
            COUNT_CHECK => {
                data.attempts += 1;
                Ok(())
            }
            NOT_READY => {
                data.error = Some(StepError {
                    error: "Fabric.AccountNotReady".to_owned(),
                    cause: format!(
                        "the account was not an active member after {READINESS_CHECKS} checks {} s apart",
                        timing.wait.as_secs()
                    ),
                    step: None,
                });
                Ok(())
            }
            SHARE_AND_DEPLOY => {
                let (shares, role) = tokio::join!(
                    retried(timing, || steps::share_documents(ports, &data.input)),
                    retried(timing, || steps::deploy_role(ports, &data.input)),
                );
                match (shares, role) {
                    (Ok(shares), Ok(role)) => {
                        data.done = Done {
                            shares: Some(shares),
                            role: Some(role),
                        };
                        Ok(())
                    }
                    (Err(error), _) | (_, Err(error)) => Err(error),
                }
            }
            PUBLISH_REPORT => {
                let report = report_of(&data);
                retried(timing, || {
                    steps::publish_onboarding_report(reports, &report, data.input.dry_run)
                })
                .await
                .map(|published| {
                    observer.on(Event::Published(&published));
                    data.published = Some(published);
                })
            }
            KEEP_UNDELIVERED => {
                observer.on(Event::Undelivered(&to_value(&data)?));
                Ok(())
            }
            choice if GRAPH.is_choice(choice) => {
                state = GRAPH.choose(choice, &to_value(&data)?)?;
                continue;
            }
            unknown => {
                return Err(Error::Internal {
                    problem: format!("the onboarding driver has no state {unknown}"),
                });
            }
        };
        let (next, error) = super::after(&GRAPH, state, answered, observer)?;
        if error.is_some() {
            data.error = error;
        }
        state = next;
    }
}

fn report_of(data: &Data) -> OnboardingReport {
    steps::onboarding_report(
        data.input.clone(),
        data.done.shares.clone(),
        data.done.role.clone(),
        data.error.clone(),
    )
}

fn outcome(end: End, data: Data) -> OnboardingOutcome {
    OnboardingOutcome {
        end,
        report: report_of(&data),
        published: data.published,
        error: data.error,
    }
}
