//! The one way the model declares a string that is checked when it is made: a newtype whose
//! constructor validates, that (de)serializes as a plain string through that constructor, and
//! whose JSON Schema carries the same pattern.

/// Declares `$name(String)` whose only constructor runs `$validate(&str) -> bool`.
///
/// The type gets `new`, `as_str`, `Display`, `FromStr`, `TryFrom<String>`, serde through
/// `new` (so invalid values cannot be deserialized either) and a JSON Schema with `$pattern`.
macro_rules! validated_string {
    (
        $(#[$meta:meta])*
        $name:ident, what: $what:literal, expected: $expected:literal, pattern: $pattern:literal,
        validate: $validate:expr
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The pattern every value matches, as SSM or Organizations publish it.
            pub const PATTERN: &'static str = $pattern;

            /// Checks `value` and wraps it.
            pub fn new(value: impl Into<String>) -> $crate::Result<Self> {
                let value = value.into();
                let validate: fn(&str) -> bool = $validate;
                if validate(&value) {
                    Ok(Self(value))
                } else {
                    Err($crate::Error::invalid_value($what, &value, $expected))
                }
            }

            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::Error;
            fn from_str(value: &str) -> $crate::Result<Self> {
                Self::new(value)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::Error;
            fn try_from(value: String) -> $crate::Result<Self> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "pattern": $pattern,
                    "description": concat!("Valid ", $what, ": ", $expected, "."),
                })
            }
        }
    };
}

pub(crate) use validated_string;

/// True when every byte of `value` satisfies `allowed` and its length is within `min..=max`.
pub(crate) fn all_bytes_within(
    value: &str,
    min: usize,
    max: usize,
    allowed: fn(u8) -> bool,
) -> bool {
    (min..=max).contains(&value.len()) && value.bytes().all(allowed)
}

/// Lowercase ASCII letters and digits, the alphabet of Organizations ids.
pub(crate) fn is_lower_alphanumeric(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit()
}
