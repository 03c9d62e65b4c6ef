//! The Account Management API's `ListRegions`, which moto lacks: every account has the
//! commercial Regions enabled by default and the opt-in ones disabled, unless a test or the
//! seeder says otherwise (`POST /fabric-simulator/regions`). A child automation fails in a
//! Region its account has not enabled, as SSM's does.

use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Regions enabled in every account unless disabled.
const ENABLED_BY_DEFAULT: &[&str] = &[
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];
/// Opt-in Regions: disabled unless enabled.
const OPT_IN: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
];

/// Per-account exceptions to the defaults.
#[derive(Debug, Default)]
pub struct RegionSettings {
    overrides: Mutex<BTreeMap<(String, String), bool>>,
}

/// What `POST /fabric-simulator/regions` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionChange {
    /// The account.
    pub account: String,
    /// The Region.
    pub region: String,
    /// Enabled or not.
    pub enabled: bool,
}

impl RegionSettings {
    /// Enables or disables `region` in `account`.
    pub fn set(&self, change: RegionChange) {
        self.overrides
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((change.account, change.region), change.enabled);
    }

    /// `ENABLED`, `ENABLED_BY_DEFAULT` or `DISABLED`.
    pub fn status(&self, account: &str, region: &str) -> &'static str {
        let overridden = self
            .overrides
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(account.to_owned(), region.to_owned()))
            .copied();
        match overridden {
            Some(true) => "ENABLED",
            Some(false) => "DISABLED",
            None if OPT_IN.contains(&region) => "DISABLED",
            None => "ENABLED_BY_DEFAULT",
        }
    }

    /// True unless the Region is disabled in the account.
    pub fn is_enabled(&self, account: &str, region: &str) -> bool {
        self.status(account, region) != "DISABLED"
    }

    /// `ListRegions` for `account`, filtered by `RegionOptStatusContains` as the API does.
    pub fn list(&self, account: &str, body: &Value) -> Value {
        let wanted: Vec<&str> = body["RegionOptStatusContains"]
            .as_array()
            .map(|statuses| statuses.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let regions: Vec<Value> = ENABLED_BY_DEFAULT
            .iter()
            .chain(OPT_IN)
            .map(|region| (region, self.status(account, region)))
            .filter(|(_, status)| wanted.is_empty() || wanted.contains(status))
            .map(|(region, status)| json!({ "RegionName": region, "RegionOptStatus": status }))
            .collect();
        json!({ "Regions": regions })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_region_is_disabled_for_an_account_then_only_that_account_loses_it() {
        let settings = RegionSettings::default();
        settings.set(RegionChange {
            account: "111122223333".into(),
            region: "us-west-2".into(),
            enabled: false,
        });
        assert!(!settings.is_enabled("111122223333", "us-west-2"));
        assert!(settings.is_enabled("444455556666", "us-west-2"));
        assert!(
            !settings.is_enabled("444455556666", "af-south-1"),
            "opt-in Regions start disabled"
        );
        let listed = settings.list(
            "111122223333",
            &json!({"RegionOptStatusContains": ["ENABLED", "ENABLED_BY_DEFAULT"]}),
        );
        let names: Vec<&str> = listed["Regions"]
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|r| r["RegionName"].as_str())
            .collect();
        assert!(
            names.contains(&"us-east-1")
                && !names.contains(&"us-west-2")
                && !names.contains(&"af-south-1")
        );
    }
}
