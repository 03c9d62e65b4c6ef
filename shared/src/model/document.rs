//! What runs: a reference to an SSM Automation document by name or by ARN (shared documents
//! are started by ARN), and a document version.

use super::ids::{AccountId, Region};
use super::validated::{all_bytes_within, validated_string};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

validated_string! {
    /// An SSM document name as `CreateDocument` accepts it, e.g. `Automation-RunPatchBaseline`.
    DocumentName, what: "SSM document name",
    expected: "3-128 letters, digits, _ - or .",
    pattern: "^[a-zA-Z0-9_\\-.]{3,128}$",
    validate: |value| all_bytes_within(value, 3, 128, is_document_name_byte)
}

validated_string! {
    /// A document version: `$DEFAULT`, `$LATEST` or a version number.
    DocumentVersion, what: "document version",
    expected: "$DEFAULT, $LATEST or a version number such as 3",
    pattern: "^([$]LATEST|[$]DEFAULT|[1-9][0-9]*)$",
    validate: |value| {
        value == "$LATEST"
            || value == "$DEFAULT"
            || (value.len() <= 10
                && value.starts_with(|c: char| ('1'..='9').contains(&c))
                && value.bytes().all(|b| b.is_ascii_digit()))
    }
}

fn is_document_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"_-.".contains(&byte)
}

/// A document to start: by name in the caller's account, or by full ARN (how a document that
/// another account shared is started).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DocumentRef {
    /// A document of the calling account, or an AWS-owned one (`AWS-RestartEC2Instance`).
    Name(DocumentName),
    /// `arn:<partition>:ssm:<region>:<owner>:document/<name>`.
    Arn {
        /// `aws`, `aws-cn`, `aws-us-gov`...
        partition: String,
        /// The Region the document lives in.
        region: Region,
        /// The account that owns (and shared) the document.
        owner: AccountId,
        /// The document's name.
        name: DocumentName,
    },
}

impl DocumentRef {
    /// Parses a name or an ARN, with SSM's rules for both.
    pub fn parse(value: &str) -> Result<Self> {
        if value.starts_with("arn:") {
            Self::parse_arn(value)
        } else {
            DocumentName::new(value).map(Self::Name)
        }
    }

    fn parse_arn(value: &str) -> Result<Self> {
        let invalid = || {
            Error::invalid_value(
                "SSM document ARN",
                value,
                "arn:<partition>:ssm:<region>:<account id>:document/<name>",
            )
        };
        let mut fields = value.splitn(6, ':');
        let (Some("arn"), Some(partition), Some("ssm"), Some(region), Some(owner), Some(resource)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(invalid());
        };
        let name = resource.strip_prefix("document/").ok_or_else(invalid)?;
        if !matches!(
            partition,
            "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b"
        ) {
            return Err(invalid());
        }
        Ok(Self::Arn {
            partition: partition.to_owned(),
            region: Region::new(region)?,
            owner: AccountId::new(owner)?,
            name: DocumentName::new(name)?,
        })
    }

    /// The document's name, whichever way it is referenced.
    pub fn name(&self) -> &DocumentName {
        match self {
            Self::Name(name) | Self::Arn { name, .. } => name,
        }
    }

    /// The ARN under which accounts other than `owner` start the document `name` in `region`.
    pub fn shared_arn(name: DocumentName, region: Region, owner: AccountId) -> Self {
        Self::Arn {
            partition: "aws".to_owned(),
            region,
            owner,
            name,
        }
    }
}

impl std::fmt::Display for DocumentRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Name(name) => name.fmt(f),
            Self::Arn {
                partition,
                region,
                owner,
                name,
            } => write!(f, "arn:{partition}:ssm:{region}:{owner}:document/{name}"),
        }
    }
}

impl std::str::FromStr for DocumentRef {
    type Err = Error;
    fn from_str(value: &str) -> Result<Self> {
        Self::parse(value)
    }
}

impl TryFrom<String> for DocumentRef {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        Self::parse(&value)
    }
}

impl From<DocumentRef> for String {
    fn from(value: DocumentRef) -> Self {
        value.to_string()
    }
}

impl schemars::JsonSchema for DocumentRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DocumentRef".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "An SSM Automation document: its name, or the full ARN of a document shared by another account.",
            "pattern": "^([a-zA-Z0-9_\\-.]{3,128}|arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:document/[a-zA-Z0-9_\\-.]{3,128})$",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_document_is_named_then_it_round_trips_as_its_name() {
        let document = DocumentRef::parse("Automation-RunPatchBaseline").expect("valid name");
        assert!(matches!(document, DocumentRef::Name(_)));
        assert_eq!(document.to_string(), "Automation-RunPatchBaseline");
    }

    #[test]
    fn when_a_shared_document_is_referenced_by_arn_then_its_parts_are_kept() {
        let arn = "arn:aws:ssm:us-east-1:111122223333:document/Automation-RunPatchBaseline";
        let document = DocumentRef::parse(arn).expect("valid ARN");
        let DocumentRef::Arn { owner, region, .. } = &document else {
            panic!("expected an ARN, got {document:?}");
        };
        assert_eq!(owner.as_str(), "111122223333");
        assert_eq!(region.as_str(), "us-east-1");
        assert_eq!(document.name().as_str(), "Automation-RunPatchBaseline");
        assert_eq!(document.to_string(), arn);
    }

    #[test]
    fn when_a_document_reference_is_invalid_then_it_is_refused_with_the_rule() {
        for bad in [
            "ab",
            "has space",
            "arn:aws:ssm:us-east-1:111122223333:parameter/x",
            "arn:aws:s3:us-east-1:111122223333:document/Name",
            "arn:aws:ssm:us-east-1:1111:document/Name",
            "arn:aws:ssm",
        ] {
            assert!(DocumentRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn when_a_version_is_given_then_only_ssm_forms_are_accepted() {
        for good in ["$DEFAULT", "$LATEST", "1", "42"] {
            assert!(DocumentVersion::new(good).is_ok(), "{good}");
        }
        for bad in ["0", "01", "latest", "$latest", "1.0", "99999999999"] {
            assert!(DocumentVersion::new(bad).is_err(), "{bad}");
        }
    }
}
