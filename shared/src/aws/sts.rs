//! [`Locations`] through STS: the fabric assumes its read role in each target account once,
//! keeps the credentials until shortly before they expire, and reuses them for every Region.

use super::{SsmAutomation, aws_error};
use crate::model::{AccountId, Region, RoleName};
use crate::ports::{Automation, Locations};
use crate::{Error, Result};
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sts::config::Credentials;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::Mutex;

/// Credentials are renewed when they have less than this left.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// Automation in member accounts, through `role_name` assumed in each.
#[derive(Debug)]
pub struct AssumedRoleLocations {
    base: SdkConfig,
    sts: aws_sdk_sts::Client,
    role_name: RoleName,
    session_name: String,
    cache: Mutex<HashMap<AccountId, Arc<Mutex<Option<Credentials>>>>>,
}

impl AssumedRoleLocations {
    /// Locations reached by assuming `role_name`, from the credentials in `base`.
    pub fn new(base: &SdkConfig, role_name: RoleName) -> Self {
        Self {
            base: base.clone(),
            sts: aws_sdk_sts::Client::new(base),
            role_name,
            session_name: "automation-fabric".to_owned(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The account's credentials: cached until shortly before they expire. One lock per
    /// account, held across `AssumeRole`: locations of one account wait for its one call, other
    /// accounts' locations go on.
    async fn credentials(&self, account: &AccountId) -> Result<Credentials> {
        let slot = Arc::clone(self.cache.lock().await.entry(account.clone()).or_default());
        let mut cached = slot.lock().await;
        if let Some(credentials) = cached.as_ref() {
            let fresh = credentials
                .expiry()
                .is_none_or(|expiry| expiry > SystemTime::now() + RENEW_BEFORE_EXPIRY);
            if fresh {
                return Ok(credentials.clone());
            }
        }
        let answer = self
            .sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/{}", self.role_name))
            .role_session_name(&self.session_name)
            .send()
            .await
            .map_err(|e| aws_error(self.sts.config().region(), "sts", "AssumeRole", e))?;
        let assumed = answer.credentials().ok_or_else(|| Error::Aws {
            region: None,
            service: "sts",
            operation: "AssumeRole",
            code: None,
            message: format!("STS returned no credentials for account {account}"),
            retryable: false,
            failure: crate::error::AwsFailure::Other,
            detail: None,
        })?;
        let expiry = SystemTime::try_from(*assumed.expiration()).ok();
        let credentials = Credentials::new(
            assumed.access_key_id(),
            assumed.secret_access_key(),
            Some(assumed.session_token().to_owned()),
            expiry,
            "automation-fabric-assumed-role",
        );
        *cached = Some(credentials.clone());
        Ok(credentials)
    }
}

#[async_trait]
impl Locations for AssumedRoleLocations {
    async fn automation_in(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> Result<Box<dyn Automation>> {
        let credentials = self.credentials(account).await?;
        // A retry quota of its own for each location: throttling in one account and Region
        // (SSM limits each apart) must not use up the retries of the others.
        let config = aws_sdk_ssm::config::Builder::from(&self.base)
            .region(aws_sdk_ssm::config::Region::new(region.to_string()))
            .credentials_provider(credentials)
            .retry_partition(aws_sdk_ssm::config::retry::RetryPartition::new(format!(
                "ssm-{account}-{region}"
            )))
            .build();
        Ok(Box::new(SsmAutomation::new(
            aws_sdk_ssm::Client::from_conf(config),
        )))
    }
}
