//! Why a template could not be resolved: one variant per mistake, each naming the parameter,
//! or the resource and property path, where it was found.

/// Why a template could not be resolved for a deployment.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The text is not YAML (JSON is YAML).
    #[error("the template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    /// A section, resource or output does not have the shape CloudFormation requires.
    #[error("{at}: {problem}")]
    Malformed {
        /// Where (`Resources.Queue`, `Outputs.Arn`, ...).
        at: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// An override names no parameter of the template.
    #[error(
        "the override {name} names no parameter of the template: remove it or correct its name"
    )]
    UnknownParameter {
        /// The override's name.
        name: String,
    },
    /// A parameter without a `Default` was given no value.
    #[error("parameter {name} has no Default: give it a value")]
    MissingParameter {
        /// The parameter.
        name: String,
    },
    /// A parameter's value is not one of its `AllowedValues`.
    #[error("parameter {name} is {value:?}, which is not one of its AllowedValues {allowed:?}")]
    NotAllowedValue {
        /// The parameter.
        name: String,
        /// Its value.
        value: String,
        /// What it allows.
        allowed: Vec<String>,
    },
    /// A parameter's value does not match its `AllowedPattern`.
    #[error("parameter {name} is {value:?}, which does not match its AllowedPattern {pattern}")]
    PatternMismatch {
        /// The parameter.
        name: String,
        /// Its value.
        value: String,
        /// Its pattern.
        pattern: String,
    },
    /// A parameter's `AllowedPattern` is not a regular expression.
    #[error("parameter {name}'s AllowedPattern {pattern} is not a regular expression: {source}")]
    InvalidPattern {
        /// The parameter.
        name: String,
        /// Its pattern.
        pattern: String,
        /// Why it does not compile.
        source: regex::Error,
    },
    /// A `Number` parameter's value is not a number.
    #[error("parameter {name} is of Type Number, but {value:?} is not a number")]
    NotANumber {
        /// The parameter.
        name: String,
        /// Its value.
        value: String,
    },
    /// A parameter's value is outside its `MinValue`, `MaxValue`, `MinLength` or `MaxLength`.
    #[error("parameter {name} is {value:?}, which breaks its {constraint}")]
    OutOfRange {
        /// The parameter.
        name: String,
        /// Its value.
        value: String,
        /// The bound it breaks, e.g. `MinValue 91`.
        constraint: String,
    },
    /// `Ref` (or a `Fn::Sub` variable) names nothing the template declares.
    #[error(
        "{at}: {name} is no parameter, pseudo parameter or resource of the template (a resource \
         whose Condition is false does not exist)"
    )]
    UnknownReference {
        /// Where the reference is.
        at: String,
        /// What it names.
        name: String,
    },
    /// `Fn::GetAtt` asks a resource for an attribute its type does not return.
    #[error("{at}: {resource} ({kind}) has no attribute {attribute}")]
    UnknownAttribute {
        /// Where the `Fn::GetAtt` is.
        at: String,
        /// The resource's logical id.
        resource: String,
        /// Its type.
        kind: String,
        /// The attribute asked for.
        attribute: String,
    },
    /// A resource, output or `Fn::If` names a condition the template does not declare.
    #[error("{at}: no condition is named {name}")]
    UnknownCondition {
        /// Where it is named.
        at: String,
        /// The name.
        name: String,
    },
    /// Conditions, or resources' name properties, that need themselves.
    #[error("{cycle}: each needs the next to be resolved; break the circle")]
    Cycle {
        /// The circle, e.g. `A -> B -> A`.
        cycle: String,
    },
    /// An intrinsic function this resolver does not evaluate.
    #[error("{at}: {function} is not supported by the local deployment")]
    UnsupportedIntrinsic {
        /// Where it is.
        at: String,
        /// The function, e.g. `Fn::ImportValue`.
        function: String,
    },
    /// An intrinsic function's arguments do not have the shape it takes.
    #[error("{at}: {function} takes {expected}")]
    InvalidArguments {
        /// Where the function is.
        at: String,
        /// The function.
        function: &'static str,
        /// What it takes.
        expected: String,
    },
    /// A string was needed (a name, a `Fn::Sub` variable, a `Fn::Join` item) but the value is
    /// a list, a mapping or nothing.
    #[error("{at}: expected a string here, found {found}")]
    NotText {
        /// Where.
        at: String,
        /// What was found.
        found: &'static str,
    },
}
