//! The project's template resolved as the local stack deploys it (`project`), and small
//! templates for each parameter rule, intrinsic function and refusal (`intrinsics`).

mod intrinsics;
mod project;

use super::{ResolvedTemplate, StackContext, TemplateError, resolve};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const PROJECT_TEMPLATE: &str = include_str!("../../../../infra/template.yaml");
const ACCOUNT: &str = "123456789012";

fn context() -> StackContext {
    StackContext {
        stack_name: "automation-fabric".to_owned(),
        account_id: ACCOUNT.to_owned(),
        region: "us-east-1".to_owned(),
        endpoint: "http://127.0.0.1:4566".to_owned(),
    }
}

/// The project template's parameters without a default, and `extra`.
fn overrides(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    [
        ("OrganizationId", "o-exampleorgid1"),
        ("ReportBucketName", "automation-fabric-reports-123456789012"),
    ]
    .iter()
    .chain(extra)
    .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
    .collect()
}

fn project(extra: &[(&str, &str)]) -> ResolvedTemplate {
    resolve(PROJECT_TEMPLATE, &context(), &overrides(extra)).unwrap()
}

fn properties<'a>(template: &'a ResolvedTemplate, logical_id: &str) -> &'a Value {
    &template.resource(logical_id).unwrap().properties
}

fn inline(template: &str) -> Result<ResolvedTemplate, TemplateError> {
    resolve(template, &context(), &BTreeMap::new())
}

fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:automation-fabric-{name}")
}
