//! The adapters a run needs, built once from the SDK configuration and the fabric's config.

use super::{
    AssumedRoleLocations, OrganizationsDirectory, S3ReportStore, SnsNotifier, SsmAutomation,
    SsmDocuments, StackSetRoles,
};
use crate::config::Config;
use crate::ports::Notifier;
use crate::steps::{OnboardingPorts, RunPorts};
use crate::{Error, Result};
use aws_config::SdkConfig;

/// Everything a run talks to.
#[derive(Debug)]
pub struct RunServices {
    /// The organization.
    pub directory: OrganizationsDirectory,
    /// Automation in the central account and Region.
    pub automation: SsmAutomation,
    /// Automation in the target accounts, through the results role.
    pub locations: AssumedRoleLocations,
    /// The report bucket.
    pub store: S3ReportStore,
    /// The topic, when notifications are configured.
    pub notifier: Option<SnsNotifier>,
    /// The run state machine, when runs are handed over from here.
    pub hand_over: Option<super::StepFunctionsWorkflows>,
}

impl RunServices {
    /// Builds the clients (no call is made).
    pub fn new(sdk: &SdkConfig, config: &Config) -> Result<Self> {
        let reports = config
            .reports
            .as_ref()
            .ok_or_else(|| Error::InvalidConfig {
                path: "reports".to_owned(),
                problem: "runs need a report bucket (reports.bucket)".to_owned(),
            })?;
        Ok(Self {
            directory: directory(sdk, config),
            automation: SsmAutomation::new(aws_sdk_ssm::Client::new(sdk)),
            locations: AssumedRoleLocations::new(sdk, config.results_role_name.clone()),
            store: S3ReportStore::new(s3_client(sdk), &reports.bucket, &reports.prefix),
            notifier: notifier(sdk, config),
            hand_over: None,
        })
    }

    /// These services, handing long runs over to fresh executions of `run_state_machine_arn`.
    #[must_use]
    pub fn handing_over_to(mut self, sdk: &SdkConfig, run_state_machine_arn: &str) -> Self {
        self.hand_over = Some(super::StepFunctionsWorkflows::from_sdk(
            sdk,
            run_state_machine_arn,
        ));
        self
    }

    /// The notifier as the port.
    pub fn notifier(&self) -> Option<&dyn Notifier> {
        self.notifier
            .as_ref()
            .map(|notifier| notifier as &dyn Notifier)
    }

    /// Where a run's results are read from and kept, over these adapters.
    pub fn sources(&self) -> crate::runs::keep::Sources<'_> {
        crate::runs::keep::Sources {
            automation: &self.automation,
            locations: &self.locations,
            store: &self.store,
            page_pacing: crate::ports::STEP_PAGE_INTERVAL,
        }
    }

    /// The ports a run's steps take, over these adapters, pacing starts as SSM requires.
    pub fn ports<'a>(&'a self, config: &'a Config) -> RunPorts<'a> {
        RunPorts {
            config,
            directory: &self.directory,
            automation: &self.automation,
            locations: &self.locations,
            store: &self.store,
            notifier: self.notifier(),
            start_pacing: crate::runs::START_PACING,
            page_pacing: crate::ports::STEP_PAGE_INTERVAL,
            hand_over: self
                .hand_over
                .as_ref()
                .map(|workflows| workflows as &dyn crate::ports::Workflows),
        }
    }
}

/// Everything onboarding talks to.
#[derive(Debug)]
pub struct OnboardingServices {
    /// The organization.
    pub directory: OrganizationsDirectory,
    /// The central account's documents, in every Region.
    pub documents: SsmDocuments,
    /// The execution role's StackSet.
    pub roles: StackSetRoles,
}

impl OnboardingServices {
    /// Builds the clients (no call is made).
    pub fn new(sdk: &SdkConfig, config: &Config) -> Self {
        let role = &config.execution_role;
        let cloudformation = aws_sdk_cloudformation::config::Builder::from(sdk)
            .region(aws_sdk_cloudformation::config::Region::new(
                role.stack_region.to_string(),
            ))
            .build();
        Self {
            directory: directory(sdk, config),
            documents: SsmDocuments::new(sdk),
            roles: StackSetRoles::new(
                aws_sdk_cloudformation::Client::from_conf(cloudformation),
                &role.stack_set_name,
                role.stack_region.clone(),
            ),
        }
    }
}

impl OnboardingServices {
    /// The ports onboarding's steps take, over these adapters.
    pub fn ports<'a>(&'a self, config: &'a Config) -> OnboardingPorts<'a> {
        OnboardingPorts {
            config,
            directory: &self.directory,
            documents: &self.documents,
            roles: &self.roles,
        }
    }
}

/// The topic's publisher, when the config names one.
pub fn notifier(sdk: &SdkConfig, config: &Config) -> Option<SnsNotifier> {
    config.notifications.as_ref().map(|notifications| {
        SnsNotifier::new(
            aws_sdk_sns::Client::new(sdk),
            &notifications.topic_arn,
            notifications.chatbot_format,
        )
    })
}

/// The organization's directory, as the central account reads it.
pub fn directory(sdk: &SdkConfig, config: &Config) -> OrganizationsDirectory {
    let accounts = aws_sdk_account::config::Builder::from(sdk)
        .region(aws_sdk_account::config::Region::new("us-east-1"))
        .build();
    OrganizationsDirectory::new(
        organizations_client(sdk),
        aws_sdk_account::Client::from_conf(accounts),
        config.central_account.clone(),
    )
}

/// An Organizations client (its API lives in us-east-1 whatever the function's Region).
pub fn organizations_client(sdk: &SdkConfig) -> aws_sdk_organizations::Client {
    let config = aws_sdk_organizations::config::Builder::from(sdk)
        .region(aws_sdk_organizations::config::Region::new("us-east-1"))
        .build();
    aws_sdk_organizations::Client::from_conf(config)
}

/// An S3 client; path-style addressing when the endpoint is overridden (a local stack has no
/// bucket host names).
fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}
