//! The checks `StartAutomationExecution` (and the execution preview) make before anything is
//! created: the API reference's patterns and limits, and the combinations SSM refuses.

use crate::ssm::rate_control::{Kind, MAX_LENGTH};
use crate::wire::{ApiError, StartRequest};

/// The API reference (`StartAutomationExecution`, `TargetLocations`): "Maximum number of 100
/// items."
const MAX_TARGET_LOCATIONS: usize = 100;
/// The API reference (`TargetLocation`, `Accounts` and `Regions`): "Maximum number of 50 items."
const MAX_ACCOUNTS_OR_REGIONS: usize = 50;
/// The API reference (`TargetLocation`, `ExcludeAccounts`): "Maximum number of 5000 items."
const MAX_EXCLUDED_ACCOUNTS: usize = 5000;

/// SSM's request checks, before anything is created.
pub(super) fn check_request(request: &StartRequest) -> Result<(), ApiError> {
    let name = &request.document_name;
    // The API reference (`DocumentName`): "Pattern: `^[a-zA-Z0-9_\-.:/]{3,128}$`".
    let name_ok = (3..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:/".contains(&b));
    if !name_ok {
        return Err(pattern_error(
            name,
            "documentName",
            "^[a-zA-Z0-9_\\-.:/]{3,128}$",
        ));
    }
    if let Some(token) = &request.client_token {
        // The API reference (`ClientToken`): the token "enforces the UUID format".
        if !is_uuid(token) {
            return Err(pattern_error(
                token,
                "clientToken",
                "[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}",
            ));
        }
    }
    if request.target_locations_url.is_some() {
        return Err(ApiError::validation(
            "TargetLocationsURL is not supported by the simulator.",
        ));
    }
    if request.targets.len() > 1 {
        return Err(one_target_only());
    }
    if !request.targets.is_empty() && !request.target_maps.is_empty() {
        // The API reference (`TargetMaps`): "Both Targets and TargetMaps can't be specified
        // together."
        return Err(ApiError::new(
            "InvalidAutomationExecutionParametersException",
            "Targets and TargetMaps cannot be specified together.",
        ));
    }
    if !request.targets.is_empty() && request.target_parameter_name.is_none() {
        // The API reference (`Targets`): "Required if you specify TargetParameterName", and
        // (`TargetParameterName`) "Required if you specify targets."
        return Err(ApiError::new(
            "InvalidAutomationExecutionParametersException",
            "TargetParameterName must be specified with Targets.",
        ));
    }
    if request.target_locations.len() > MAX_TARGET_LOCATIONS {
        return Err(ApiError::validation(
            "Member must have length less than or equal to 100: targetLocations",
        ));
    }
    check_rate(
        Kind::Concurrency,
        "maxConcurrency",
        request.max_concurrency.as_deref(),
    )?;
    check_rate(Kind::Errors, "maxErrors", request.max_errors.as_deref())?;
    for (index, location) in request.target_locations.iter().enumerate() {
        if location.accounts.len() > MAX_ACCOUNTS_OR_REGIONS
            || location.regions.len() > MAX_ACCOUNTS_OR_REGIONS
        {
            return Err(ApiError::validation(
                "A target location takes at most 50 Accounts and 50 Regions.",
            ));
        }
        if location.exclude_accounts.len() > MAX_EXCLUDED_ACCOUNTS {
            return Err(ApiError::validation(
                "A target location takes at most 5000 ExcludeAccounts.",
            ));
        }
        if location.targets.len() > 1 {
            return Err(one_target_only());
        }
        // SSM names a member of a list by its 1-based position.
        let member = |field: &str| format!("targetLocations.{}.member.{field}", index + 1);
        let rates = [
            (
                Kind::Concurrency,
                "targetLocationMaxConcurrency",
                &location.target_location_max_concurrency,
            ),
            (
                Kind::Errors,
                "targetLocationMaxErrors",
                &location.target_location_max_errors,
            ),
            (
                Kind::Concurrency,
                "targetsMaxConcurrency",
                &location.targets_max_concurrency,
            ),
            (
                Kind::Errors,
                "targetsMaxErrors",
                &location.targets_max_errors,
            ),
        ];
        for (kind, field, value) in rates {
            check_rate(kind, &member(field), value.as_deref())?;
        }
    }
    Ok(())
}

/// A rate-control string checked against its length limit and pattern, as SSM checks it.
fn check_rate(kind: Kind, field: &str, value: Option<&str>) -> Result<(), ApiError> {
    let Some(value) = value else {
        return Ok(());
    };
    if kind.parse(value).is_some() {
        return Ok(());
    }
    if value.is_empty() || value.len() > MAX_LENGTH {
        return Err(constraint_error(
            value,
            field,
            &format!("Member must have length between 1 and {MAX_LENGTH}"),
        ));
    }
    Err(pattern_error(value, field, kind.pattern()))
}

/// SSM's `ValidationException` for `value` of `field` that does not match `pattern`.
fn pattern_error(value: &str, field: &str, pattern: &str) -> ApiError {
    constraint_error(
        value,
        field,
        &format!("Member must satisfy regular expression pattern: {pattern}"),
    )
}

/// SSM's `ValidationException` wording for one failed constraint.
fn constraint_error(value: &str, field: &str, constraint: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
    ))
}

/// The API reference (`Targets`): "Maximum number of 1 item." SSM refuses more with
/// `InvalidAutomationExecutionParametersException` (the project's DESIGN, "SSM facts the
/// simulator must honour"), not `InvalidTarget`.
fn one_target_only() -> ApiError {
    ApiError::new(
        "InvalidAutomationExecutionParametersException",
        "Only one resource group or tag can be specified at a time.",
    )
}

/// True for the UUID form SSM requires of client tokens (any case).
fn is_uuid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::WireTargetLocation;

    fn location_request(location: WireTargetLocation) -> StartRequest {
        StartRequest {
            document_name: "Automation-RunPatchBaseline".to_owned(),
            target_locations: vec![WireTargetLocation {
                accounts: vec!["111122223333".to_owned()],
                ..location
            }],
            ..StartRequest::default()
        }
    }

    /// The message of the `ValidationException` `request` is refused with.
    fn refusal(request: &StartRequest) -> String {
        let error = check_request(request).expect_err("the request is refused");
        assert_eq!(error.code, "ValidationException");
        error.message
    }

    #[test]
    fn when_rate_control_strings_are_invalid_then_the_request_is_refused_before_anything_starts() {
        let message = refusal(&location_request(WireTargetLocation {
            target_location_max_errors: Some("-1".to_owned()),
            ..WireTargetLocation::default()
        }));
        let field = "'targetLocations.1.member.targetLocationMaxErrors'";
        assert!(message.contains(field), "{message}");
        let pattern = crate::ssm::rate_control::ERRORS_PATTERN;
        assert!(message.contains(pattern), "{message}");
    }

    #[test]
    fn when_a_rate_control_string_is_too_long_then_the_length_constraint_is_named() {
        let message = refusal(&StartRequest {
            max_concurrency: Some("12345678".to_owned()),
            ..location_request(WireTargetLocation::default())
        });
        assert!(message.contains("length between 1 and 7"), "{message}");
    }

    #[test]
    fn when_rate_control_strings_are_valid_then_the_request_passes() {
        let request = StartRequest {
            max_concurrency: Some("10%".to_owned()),
            max_errors: Some("0".to_owned()),
            ..location_request(WireTargetLocation {
                target_location_max_concurrency: Some("100%".to_owned()),
                target_location_max_errors: Some("0%".to_owned()),
                ..WireTargetLocation::default()
            })
        };
        assert_eq!(check_request(&request), Ok(()));
    }

    #[test]
    fn when_targets_hold_two_items_then_the_parameters_are_refused() {
        // The API reference (`Targets`): "Maximum number of 1 item."
        let target = crate::wire::WireTarget {
            key: "tag:Patch".to_owned(),
            values: vec!["true".to_owned()],
        };
        let request = StartRequest {
            targets: vec![target.clone(), target.clone()],
            target_parameter_name: Some("InstanceId".to_owned()),
            ..location_request(WireTargetLocation::default())
        };
        let error = check_request(&request).expect_err("two targets are refused");
        assert_eq!(error.code, "InvalidAutomationExecutionParametersException");
        let in_location = location_request(WireTargetLocation {
            targets: vec![target.clone(), target],
            ..WireTargetLocation::default()
        });
        let error = check_request(&in_location).expect_err("two targets are refused");
        assert_eq!(error.code, "InvalidAutomationExecutionParametersException");
    }

    #[test]
    fn when_target_locations_pass_their_limits_then_the_request_is_refused() {
        let many = |n: usize| (0..n).map(|i| format!("{i:012}")).collect::<Vec<_>>();
        // "Maximum number of 50 items" (Accounts, Regions); "Maximum number of 5000 items"
        // (ExcludeAccounts).
        let mut request = location_request(WireTargetLocation::default());
        request.target_locations[0].accounts = many(51);
        refusal(&request);
        refusal(&location_request(WireTargetLocation {
            regions: many(51),
            ..WireTargetLocation::default()
        }));
        refusal(&location_request(WireTargetLocation {
            exclude_accounts: many(5001),
            ..WireTargetLocation::default()
        }));
        // (`TargetLocations`) "Maximum number of 100 items."
        request = location_request(WireTargetLocation::default());
        request.target_locations = vec![request.target_locations[0].clone(); 101];
        refusal(&request);
        request.target_locations.truncate(100);
        assert_eq!(check_request(&request), Ok(()));
    }

    #[test]
    fn when_a_client_token_is_not_a_uuid_then_it_is_refused() {
        assert!(is_uuid("0F8FAD5B-D9CB-469F-A165-70867728950E"));
        assert!(!is_uuid("not-a-token"));
    }
}
