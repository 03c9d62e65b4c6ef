//! The EC2 calls a runbook's steps make of moto, in the execution's account and Region: the
//! state and tags of given instances, and starting, stopping, rebooting or terminating them.

use super::Moto;
use super::reads::{parse_instances, xml_texts};
use crate::moto::Instance;
use crate::wire::ApiError;

/// An EC2 error moto answered: its code and message.
pub type Ec2Error = (String, String);

impl Moto {
    /// The instances `ids` of `account` in `region` (`DescribeInstances` by id), or EC2's
    /// error (`InvalidInstanceID.NotFound` when one does not exist).
    pub async fn instances_by_id(
        &self,
        account: &str,
        region: &str,
        ids: &[String],
    ) -> Result<Result<Vec<Instance>, Ec2Error>, ApiError> {
        let xml = match self
            .ec2_call(account, region, "DescribeInstances", ids, &[])
            .await?
        {
            Ok(xml) => xml,
            Err(error) => return Ok(Err(error)),
        };
        Ok(Ok(parse_instances(&xml)))
    }

    /// `StartInstances`, `StopInstances`, `RebootInstances` or `TerminateInstances` of `ids`,
    /// as `account` in `region`; `force` adds `Force=true` (a stop only).
    pub async fn change_instances(
        &self,
        account: &str,
        region: &str,
        action: &str,
        ids: &[String],
        force: bool,
    ) -> Result<Result<(), Ec2Error>, ApiError> {
        let extra: &[(&str, &str)] = if force { &[("Force", "true")] } else { &[] };
        Ok(self
            .ec2_call(account, region, action, ids, extra)
            .await?
            .map(|_| ()))
    }

    async fn ec2_call(
        &self,
        account: &str,
        region: &str,
        action: &str,
        ids: &[String],
        extra: &[(&str, &str)],
    ) -> Result<Result<String, Ec2Error>, ApiError> {
        let names: Vec<String> = (1..=ids.len())
            .map(|index| format!("InstanceId.{index}"))
            .collect();
        let mut params: Vec<(&str, &str)> = vec![("Action", action), ("Version", "2016-11-15")];
        params.extend(
            names
                .iter()
                .map(String::as_str)
                .zip(ids.iter().map(String::as_str)),
        );
        params.extend_from_slice(extra);
        let (status, xml) = self.query_call(account, region, "ec2", &params).await?;
        if status == 200 {
            return Ok(Ok(xml));
        }
        let first = |name: &str| xml_texts(&xml, name).into_iter().next();
        Ok(Err((
            first("Code").unwrap_or_else(|| status.to_string()),
            first("Message").unwrap_or_default(),
        )))
    }
}
