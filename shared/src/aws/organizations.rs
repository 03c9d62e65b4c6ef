//! [`Directory`] over AWS Organizations: accounts under an OU or the root, nested OUs walked
//! breadth-first, every page read.

use super::aws_error;
use crate::Result;
use crate::model::{AccountId, OuId, Region};
use crate::ports::{AccountStatus, Directory, OrgAccount};
use async_trait::async_trait;
use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::{Account, AccountStatus as SdkAccountStatus};
use std::collections::BTreeSet;

/// The organization, read from its management (or delegated administrator) account; each
/// account's Regions from the Account Management API.
#[derive(Debug, Clone)]
pub struct OrganizationsDirectory {
    client: Client,
    accounts: aws_sdk_account::Client,
    caller: AccountId,
}

impl OrganizationsDirectory {
    /// A directory over `client` and `accounts`, called from account `caller` (which the
    /// Account Management API must not be told its own id).
    pub fn new(client: Client, accounts: aws_sdk_account::Client, caller: AccountId) -> Self {
        Self {
            client,
            accounts,
            caller,
        }
    }
}

fn org_account(account: &Account) -> Option<OrgAccount> {
    let id = AccountId::new(account.id()?).ok()?;
    let status = match account.status() {
        Some(SdkAccountStatus::Active) => AccountStatus::Active,
        Some(SdkAccountStatus::Suspended) => AccountStatus::Suspended,
        Some(SdkAccountStatus::PendingClosure) => AccountStatus::PendingClosure,
        Some(other) => AccountStatus::Other(other.as_str().to_owned()),
        None => AccountStatus::Other("unknown".to_owned()),
    };
    Some(OrgAccount {
        id,
        name: account.name().unwrap_or_default().to_owned(),
        status,
        parent: None,
    })
}

#[async_trait]
impl Directory for OrganizationsDirectory {
    #[tracing::instrument(skip(self))]
    async fn accounts_under(&self, parent: &OuId, recursive: bool) -> Result<Vec<OrgAccount>> {
        let mut accounts = Vec::new();
        let mut parents = std::collections::VecDeque::from([parent.as_str().to_owned()]);
        while let Some(parent) = parents.pop_front() {
            let mut pages = self
                .client
                .list_accounts_for_parent()
                .parent_id(&parent)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| {
                    aws_error(
                        self.client.config().region(),
                        "organizations",
                        "ListAccountsForParent",
                        e,
                    )
                })?;
                let listed_in = OuId::new(parent.as_str()).ok();
                accounts.extend(
                    page.accounts()
                        .iter()
                        .filter_map(org_account)
                        .map(|account| OrgAccount {
                            parent: listed_in.clone(),
                            ..account
                        }),
                );
            }
            if recursive {
                let mut pages = self
                    .client
                    .list_organizational_units_for_parent()
                    .parent_id(&parent)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| {
                        aws_error(
                            self.client.config().region(),
                            "organizations",
                            "ListOrganizationalUnitsForParent",
                            e,
                        )
                    })?;
                    parents.extend(
                        page.organizational_units()
                            .iter()
                            .filter_map(|unit| unit.id())
                            .map(str::to_owned),
                    );
                }
            }
        }
        Ok(accounts)
    }

    #[tracing::instrument(skip(self))]
    async fn enabled_regions(&self, account: &AccountId) -> Result<Option<BTreeSet<Region>>> {
        use aws_sdk_account::types::RegionOptStatus;
        let mut regions = BTreeSet::new();
        let mut pages = self
            .accounts
            .list_regions()
            .set_account_id((account != &self.caller).then(|| account.to_string()))
            .region_opt_status_contains(RegionOptStatus::Enabled)
            .region_opt_status_contains(RegionOptStatus::EnabledByDefault)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                aws_error(self.client.config().region(), "account", "ListRegions", e)
            })?;
            regions.extend(
                page.regions()
                    .iter()
                    .filter_map(|region| region.region_name())
                    .filter_map(|name| Region::new(name).ok()),
            );
        }
        Ok(Some(regions))
    }

    #[tracing::instrument(skip(self))]
    async fn root(&self) -> Result<OuId> {
        let answer = self.client.list_roots().send().await.map_err(|e| {
            aws_error(
                self.client.config().region(),
                "organizations",
                "ListRoots",
                e,
            )
        })?;
        let id = answer
            .roots()
            .first()
            .and_then(|root| root.id())
            .unwrap_or_default();
        OuId::new(id)
    }

    #[tracing::instrument(skip(self))]
    async fn account(&self, id: &AccountId) -> Result<Option<OrgAccount>> {
        match self
            .client
            .describe_account()
            .account_id(id.as_str())
            .send()
            .await
        {
            Ok(answer) => Ok(answer.account().and_then(org_account)),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(aws_sdk_organizations::operation::describe_account::DescribeAccountError::is_account_not_found_exception) =>
            {
                Ok(None)
            }
            Err(error) => Err(aws_error(self.client.config().region(), "organizations", "DescribeAccount", error)),
        }
    }
}
