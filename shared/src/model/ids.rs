//! Where things run: account ids, organizational units, Regions, IAM role names, and the
//! account-Region pair called a [`Location`].

use super::validated::{all_bytes_within, is_lower_alphanumeric, validated_string};
use serde::{Deserialize, Serialize};

validated_string! {
    /// An AWS account id: exactly 12 digits (leading zeros are part of it).
    AccountId, what: "account id", expected: "exactly 12 digits", pattern: "^[0-9]{12}$",
    validate: |value| all_bytes_within(value, 12, 12, |b| b.is_ascii_digit())
}

validated_string! {
    /// An organizational unit id (`ou-xxxx-xxxxxxxx`) or the organization's root id (`r-xxxx`),
    /// i.e. anything Organizations accepts as a parent.
    OuId, what: "organizational unit id",
    expected: "ou- then 4-32 lowercase letters or digits, a dash and 8-32 more (ou-ab12-cdef3456), or a root id (r-ab12)",
    pattern: "^(r-[0-9a-z]{4,32})$|^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$",
    validate: is_ou_or_root_id
}

validated_string! {
    /// An AWS Region code such as `us-east-1`, `us-gov-west-1` or `ap-southeast-5`.
    Region, what: "Region", expected: "a Region code such as us-east-1",
    pattern: "^[a-z]{2}(-[a-z]{1,16}){1,3}-[0-9]{1,2}$",
    validate: is_region
}

validated_string! {
    /// An IAM role name (not an ARN), e.g. `AWS-SystemsManager-AutomationExecutionRole`.
    RoleName, what: "IAM role name",
    expected: "1-64 letters, digits or + = , . @ _ -",
    pattern: "^[\\w+=,.@-]{1,64}$",
    validate: |value| all_bytes_within(value, 1, 64, |b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

fn is_ou_or_root_id(value: &str) -> bool {
    if let Some(root) = value.strip_prefix("r-") {
        return all_bytes_within(root, 4, 32, is_lower_alphanumeric);
    }
    let Some(rest) = value.strip_prefix("ou-") else {
        return false;
    };
    let Some((root_part, unit_part)) = rest.split_once('-') else {
        return false;
    };
    all_bytes_within(root_part, 4, 32, is_lower_alphanumeric)
        && all_bytes_within(unit_part, 8, 32, is_lower_alphanumeric)
}

fn is_region(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let [country, words @ .., number] = parts.as_slice() else {
        return false;
    };
    all_bytes_within(country, 2, 2, |b| b.is_ascii_lowercase())
        && (1..=3).contains(&words.len())
        && words
            .iter()
            .all(|word| all_bytes_within(word, 1, 16, |b| b.is_ascii_lowercase()))
        && all_bytes_within(number, 1, 2, |b| b.is_ascii_digit())
}

/// One account-Region pair: where one child automation of a multi-location run executes.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Location {
    /// The target account.
    pub account_id: AccountId,
    /// The Region in that account.
    pub region: Region,
}

impl Location {
    /// The pair `account_id`, `region`.
    pub fn new(account_id: AccountId, region: Region) -> Self {
        Self { account_id, region }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&format!("{}/{}", self.account_id, self.region))
    }
}

/// An entry of a target location's `Accounts` or `ExcludeAccounts`: SSM takes account ids and
/// organizational unit ids side by side. Serialized as the bare id, as SSM does.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(untagged)]
pub enum AccountOrOu {
    /// One account.
    Account(AccountId),
    /// Every account directly in this OU (and in its children when the target location says
    /// `include_child_organization_units`).
    Ou(OuId),
}

impl std::str::FromStr for AccountOrOu {
    type Err = crate::Error;

    fn from_str(value: &str) -> crate::Result<Self> {
        if value.starts_with("ou-") || value.starts_with("r-") {
            OuId::new(value).map(Self::Ou)
        } else {
            AccountId::new(value).map(Self::Account)
        }
    }
}

impl std::fmt::Display for AccountOrOu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Account(account) => account.fmt(f),
            Self::Ou(ou) => ou.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use regex::Regex;

    #[test]
    fn when_an_account_id_has_twelve_digits_then_it_is_accepted_with_leading_zeros() {
        assert_eq!(
            AccountId::new("012345678901").map(String::from).ok(),
            Some("012345678901".to_owned())
        );
    }

    #[test]
    fn when_an_account_id_is_not_twelve_digits_then_the_error_says_what_is_expected() {
        for bad in [
            "12345678901",
            "1234567890123",
            "12345678901a",
            "",
            " 123456789012",
        ] {
            let error = AccountId::new(bad).expect_err(bad);
            assert!(error.to_string().contains("exactly 12 digits"), "{error}");
        }
    }

    #[test]
    fn when_regions_are_real_then_they_are_accepted() {
        for region in [
            "us-east-1",
            "us-gov-west-1",
            "cn-northwest-1",
            "ap-southeast-5",
            "us-iso-east-1",
            "us-isob-east-1",
            "eu-central-2",
            "il-central-1",
        ] {
            assert!(Region::new(region).is_ok(), "{region}");
        }
        for bad in [
            "useast1",
            "US-EAST-1",
            "us-east",
            "us-east-123",
            "u-east-1",
            "us--1",
        ] {
            assert!(Region::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn when_an_accounts_entry_is_an_ou_or_an_account_then_it_parses_as_that() {
        assert!(matches!(
            "ou-ab12-cdef3456".parse::<AccountOrOu>(),
            Ok(AccountOrOu::Ou(_))
        ));
        assert!(matches!(
            "r-ab12".parse::<AccountOrOu>(),
            Ok(AccountOrOu::Ou(_))
        ));
        assert!(matches!(
            "444455556666".parse::<AccountOrOu>(),
            Ok(AccountOrOu::Account(_))
        ));
        assert!("ou-ab12".parse::<AccountOrOu>().is_err());
    }

    #[test]
    fn when_deserializing_then_invalid_ids_are_refused() {
        let location: Result<Location, _> =
            serde_json::from_str(r#"{"account_id":"123","region":"us-east-1"}"#);
        let error = location.expect_err("a 3-digit account id must be refused");
        assert!(error.to_string().contains("exactly 12 digits"), "{error}");
    }

    fn agrees_with_pattern(
        pattern: &str,
        value: &str,
        accepted: bool,
    ) -> Result<(), TestCaseError> {
        let regex = Regex::new(pattern).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(regex.is_match(value), accepted, "value {:?}", value);
        Ok(())
    }

    proptest! {
        #[test]
        fn account_id_validation_agrees_with_its_published_pattern(value in "[0-9a]{0,14}") {
            agrees_with_pattern(AccountId::PATTERN, &value, AccountId::new(value.clone()).is_ok())?;
        }

        #[test]
        fn ou_id_validation_agrees_with_its_published_pattern(
            value in "(ou-|r-|o-)?[a-z0-9]{0,6}(-[a-z0-9A]{0,12})?"
        ) {
            agrees_with_pattern(OuId::PATTERN, &value, OuId::new(value.clone()).is_ok())?;
        }

        #[test]
        fn region_validation_agrees_with_its_published_pattern(
            value in "[a-zA]{1,3}(-[a-z]{0,4}){0,4}-?[0-9]{0,3}"
        ) {
            agrees_with_pattern(Region::PATTERN, &value, Region::new(value.clone()).is_ok())?;
        }

        #[test]
        fn role_name_validation_agrees_with_its_published_pattern(value in "[a-zA-Z0-9_+=,.@/ -]{0,70}") {
            agrees_with_pattern(RoleName::PATTERN, &value, RoleName::new(value.clone()).is_ok())?;
        }
    }
}
