//! A command's failure as a person reads it: one line of at most [`LINE_CHARS`] characters
//! saying what failed and what to do, the technical detail after it with `--verbose`, and the
//! exit code (2 for bad input, 1 for anything else).

use std::io::Write;
use std::process::ExitCode;

/// The longest line a failure prints without `--verbose`; what does not fit is cut, and shown
/// whole with `--verbose`.
const LINE_CHARS: usize = 300;

/// What a failure's line ends with when `--verbose` would show more.
const VERBOSE_HINT: &str = "(run with --verbose for details)";

/// A command's failure: bad input (exit 2) or anything else (exit 1).
#[derive(Debug)]
pub(crate) enum Failure {
    /// The input is wrong: exit 2.
    BadInput(String),
    /// Anything else: exit 1.
    Other(String),
    /// An error of the `fabric` crate: exit 2 when it is bad input, with its advice on the
    /// line and its detail behind `--verbose`.
    Fabric(Box<fabric::Error>),
}

impl From<fabric::Error> for Failure {
    fn from(error: fabric::Error) -> Self {
        Self::Fabric(Box::new(error))
    }
}

impl Failure {
    fn exit_code(&self) -> ExitCode {
        let bad_input = match self {
            Self::BadInput(_) => true,
            Self::Other(_) => false,
            Self::Fabric(error) => error.is_bad_input(),
        };
        if bad_input {
            ExitCode::from(2)
        } else {
            ExitCode::FAILURE
        }
    }

    /// What is printed: the `error:` line, then (with `verbose`) the detail lines.
    fn lines(&self, verbose: bool) -> Vec<String> {
        let (what, advice, detail) = match self {
            Self::BadInput(message) | Self::Other(message) => (message.clone(), None, None),
            Self::Fabric(error) => (error.to_string(), error.advice(), error.detail()),
        };
        let (what, ending) = match advice {
            // "…this resource.; check…" would read as a typo: the advice ends the sentence.
            Some(advice) => {
                let what = what.strip_suffix('.').unwrap_or(&what).to_owned();
                (what, format!("; {advice}"))
            }
            None => (what, String::new()),
        };
        if verbose {
            let mut lines = vec![format!("error: {what}{ending}")];
            lines.extend(
                detail
                    .into_iter()
                    .flat_map(str::lines)
                    .map(|line| format!("  {line}")),
            );
            return lines;
        }
        let hint_chars = VERBOSE_HINT.chars().count() + 1;
        let room = LINE_CHARS.saturating_sub("error: ".len() + ending.chars().count() + hint_chars);
        let (shown, cut) = fabric::report::shortened(&what, room);
        let hint = if cut || detail.is_some() {
            format!(" {VERBOSE_HINT}")
        } else {
            String::new()
        };
        vec![format!("error: {shown}{ending}{hint}")]
    }
}

/// Prints `failure` to standard error, and says how the command exits.
pub(crate) fn report(failure: &Failure, verbose: bool) -> ExitCode {
    let mut stderr = std::io::stderr().lock();
    for line in failure.lines(verbose) {
        // Nothing is left to tell a failure to write the failure to.
        let _ = writeln!(stderr, "{line}");
    }
    failure.exit_code()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_credentials() -> fabric::Error {
        fabric::Error::Aws {
            region: Some("us-east-1".into()),
            service: "organizations",
            operation: "ListRoots",
            code: None,
            message: "found no AWS credentials".to_owned(),
            retryable: true,
            failure: fabric::error::AwsFailure::NoCredentials,
            detail: Some("dispatch failure: other: no providers in chain".into()),
        }
    }

    #[test]
    fn when_an_aws_call_finds_no_credentials_then_one_line_says_what_to_do_and_hints_at_verbose() {
        let lines = Failure::from(no_credentials()).lines(false);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with("error: organizations ListRoots in us-east-1 failed"),
            "{lines:?}"
        );
        assert!(lines[0].contains("fabric local env"), "{lines:?}");
        assert!(lines[0].ends_with(VERBOSE_HINT), "{lines:?}");
    }

    #[test]
    fn when_verbose_then_the_detail_follows_the_line() {
        let lines = Failure::from(no_credentials()).lines(true);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(!lines[0].contains(VERBOSE_HINT), "{lines:?}");
        assert_eq!(lines[1], "  dispatch failure: other: no providers in chain");
    }

    #[test]
    fn when_a_message_is_long_then_the_line_is_cut_and_verbose_shows_it_whole() {
        let long = "é".repeat(2_000);
        let failure = Failure::Other(long.clone());
        let line = &failure.lines(false)[0];
        assert!(line.chars().count() <= LINE_CHARS, "{line}");
        assert!(line.contains('…') && line.ends_with(VERBOSE_HINT), "{line}");
        assert_eq!(failure.lines(true), vec![format!("error: {long}")]);
    }

    #[test]
    fn when_a_message_is_short_then_it_is_printed_as_it_is() {
        let failure = Failure::BadInput("the config has no run profile \"x\"".to_owned());
        assert_eq!(
            failure.lines(false),
            vec!["error: the config has no run profile \"x\"".to_owned()]
        );
    }
}
