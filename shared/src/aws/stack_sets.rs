//! [`Roles`] over a CloudFormation StackSet: stack instances listed, created and deleted, each
//! operation waited on until it ends (with a bounded wait).

use super::aws_error;
use crate::model::{AccountId, Region};
use crate::ports::Roles;
use crate::{Error, Result};
use async_trait::async_trait;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::StackSetOperationStatus;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How often a StackSet operation is polled.
const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// How long an operation may take before the fabric reports it as still running.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(1800);

/// The execution role's StackSet (self-managed: the fabric creates each stack instance).
#[derive(Debug, Clone)]
pub struct StackSetRoles {
    client: Client,
    stack_set: String,
    region: Region,
}

impl StackSetRoles {
    /// Stack instances of `stack_set`, created in `region` of each account.
    pub fn new(client: Client, stack_set: impl Into<String>, region: Region) -> Self {
        Self {
            client,
            stack_set: stack_set.into(),
            region,
        }
    }

    async fn wait(&self, operation_id: &str, operation: &'static str) -> Result<()> {
        let started = Instant::now();
        loop {
            let answer = self
                .client
                .describe_stack_set_operation()
                .stack_set_name(&self.stack_set)
                .operation_id(operation_id)
                .send()
                .await
                .map_err(|e| {
                    aws_error(
                        self.client.config().region(),
                        "cloudformation",
                        "DescribeStackSetOperation",
                        e,
                    )
                })?;
            let status = answer
                .stack_set_operation()
                .and_then(|op| op.status().cloned());
            match status {
                Some(StackSetOperationStatus::Succeeded) => return Ok(()),
                Some(StackSetOperationStatus::Failed | StackSetOperationStatus::Stopped) => {
                    return Err(Error::Aws {
                        region: None,
                        service: "cloudformation",
                        operation,
                        code: None,
                        message: format!(
                            "StackSet {} operation {operation_id} ended {}",
                            self.stack_set,
                            status.map(|s| s.as_str().to_owned()).unwrap_or_default()
                        ),
                        retryable: false,
                        failure: crate::error::AwsFailure::Other,
                        detail: None,
                    });
                }
                _ if started.elapsed() > OPERATION_TIMEOUT => {
                    return Err(Error::Aws {
                        region: None,
                        service: "cloudformation",
                        operation,
                        code: None,
                        message: format!(
                            "StackSet operation {operation_id} is still running after {} s",
                            OPERATION_TIMEOUT.as_secs()
                        ),
                        retryable: true,
                        failure: crate::error::AwsFailure::Other,
                        detail: None,
                    });
                }
                _ => tokio::time::sleep(POLL_INTERVAL).await,
            }
        }
    }
}

#[async_trait]
impl Roles for StackSetRoles {
    #[tracing::instrument(skip(self))]
    async fn deployed(&self) -> Result<BTreeSet<AccountId>> {
        let mut accounts = BTreeSet::new();
        let mut pages = self
            .client
            .list_stack_instances()
            .stack_set_name(&self.stack_set)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                aws_error(
                    self.client.config().region(),
                    "cloudformation",
                    "ListStackInstances",
                    e,
                )
            })?;
            accounts.extend(
                page.summaries()
                    .iter()
                    .filter_map(|instance| instance.account())
                    .filter_map(|account| AccountId::new(account).ok()),
            );
        }
        Ok(accounts)
    }

    #[tracing::instrument(skip(self), fields(accounts = accounts.len()))]
    async fn deploy(&self, accounts: &[AccountId]) -> Result<()> {
        if accounts.is_empty() {
            return Ok(());
        }
        let answer = self
            .client
            .create_stack_instances()
            .stack_set_name(&self.stack_set)
            .set_accounts(Some(accounts.iter().map(ToString::to_string).collect()))
            .regions(self.region.as_str())
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    self.client.config().region(),
                    "cloudformation",
                    "CreateStackInstances",
                    e,
                )
            })?;
        self.wait(
            answer.operation_id().unwrap_or_default(),
            "CreateStackInstances",
        )
        .await
    }

    #[tracing::instrument(skip(self), fields(accounts = accounts.len()))]
    async fn remove(&self, accounts: &[AccountId]) -> Result<()> {
        if accounts.is_empty() {
            return Ok(());
        }
        let answer = self
            .client
            .delete_stack_instances()
            .stack_set_name(&self.stack_set)
            .set_accounts(Some(accounts.iter().map(ToString::to_string).collect()))
            .regions(self.region.as_str())
            .retain_stacks(false)
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    self.client.config().region(),
                    "cloudformation",
                    "DeleteStackInstances",
                    e,
                )
            })?;
        self.wait(
            answer.operation_id().unwrap_or_default(),
            "DeleteStackInstances",
        )
        .await
    }
}
