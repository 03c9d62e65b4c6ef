//! [`Documents`] over SSM in every Region: the central account's documents, their sharing read
//! before it is changed, changes in batches of at most 20 accounts.

use super::aws_error;
use crate::Result;
use crate::model::{AccountId, DocumentName, Region};
use crate::ports::Documents;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_ssm::types::{DocumentKeyValuesFilter, DocumentPermissionType};

/// SSM's limit on accounts added or removed by one `ModifyDocumentPermission`.
pub const MAX_ACCOUNTS_PER_CHANGE: usize = 20;

/// The central account's documents, a client per Region.
#[derive(Debug, Clone)]
pub struct SsmDocuments {
    base: SdkConfig,
}

impl SsmDocuments {
    /// Documents reached with the credentials of `base`.
    pub fn new(base: &SdkConfig) -> Self {
        Self { base: base.clone() }
    }

    fn client(&self, region: &Region) -> aws_sdk_ssm::Client {
        let config = aws_sdk_ssm::config::Builder::from(&self.base)
            .region(aws_sdk_ssm::config::Region::new(region.to_string()))
            .build();
        aws_sdk_ssm::Client::from_conf(config)
    }
}

#[async_trait]
impl Documents for SsmDocuments {
    #[tracing::instrument(skip(self))]
    async fn owned(&self, region: &Region) -> Result<Vec<DocumentName>> {
        let owner = DocumentKeyValuesFilter::builder()
            .key("Owner")
            .values("Self")
            .build();
        let automation = DocumentKeyValuesFilter::builder()
            .key("DocumentType")
            .values("Automation")
            .build();
        let mut names = Vec::new();
        let mut pages = self
            .client(region)
            .list_documents()
            .filters(owner)
            .filters(automation)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                aws_error(
                    Some(&aws_config::Region::new(region.to_string())),
                    "ssm",
                    "ListDocuments",
                    e,
                )
            })?;
            names.extend(
                page.document_identifiers()
                    .iter()
                    .filter_map(|document| document.name())
                    .filter_map(|name| DocumentName::new(name).ok()),
            );
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    #[tracing::instrument(skip(self))]
    async fn shared_with(&self, name: &DocumentName, region: &Region) -> Result<Vec<String>> {
        let client = self.client(region);
        let mut accounts = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let answer = client
                .describe_document_permission()
                .name(name.as_str())
                .permission_type(DocumentPermissionType::Share)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| {
                    aws_error(
                        client.config().region(),
                        "ssm",
                        "DescribeDocumentPermission",
                        e,
                    )
                })?;
            accounts.extend(answer.account_ids().iter().cloned());
            match answer.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(accounts),
            }
        }
    }

    #[tracing::instrument(skip(self, add, remove), fields(add = add.len(), remove = remove.len()))]
    async fn modify_sharing(
        &self,
        name: &DocumentName,
        region: &Region,
        add: &[AccountId],
        remove: &[AccountId],
    ) -> Result<()> {
        let client = self.client(region);
        let batches = add
            .len()
            .max(remove.len())
            .div_ceil(MAX_ACCOUNTS_PER_CHANGE);
        for batch in 0..batches {
            let slice = |accounts: &[AccountId]| -> Option<Vec<String>> {
                let start = batch * MAX_ACCOUNTS_PER_CHANGE;
                let chunk: Vec<String> = accounts
                    .iter()
                    .skip(start)
                    .take(MAX_ACCOUNTS_PER_CHANGE)
                    .map(ToString::to_string)
                    .collect();
                (!chunk.is_empty()).then_some(chunk)
            };
            client
                .modify_document_permission()
                .name(name.as_str())
                .permission_type(DocumentPermissionType::Share)
                .set_account_ids_to_add(slice(add))
                .set_account_ids_to_remove(slice(remove))
                .send()
                .await
                .map_err(|e| {
                    aws_error(
                        client.config().region(),
                        "ssm",
                        "ModifyDocumentPermission",
                        e,
                    )
                })?;
        }
        Ok(())
    }
}
