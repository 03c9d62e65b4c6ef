//! How the command's output looks where it goes: status words in colour, the width tables wrap
//! to, and progress rewritten in place. Decided once from standard output and the environment
//! (`NO_COLOR`, `COLUMNS`), then passed down as a [`Style`].

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::IsTerminal;

/// The width tables wrap to when standard output is not a terminal (a pipe, a file, a test).
pub(crate) const DEFAULT_WIDTH: usize = 100;

/// How the output looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Style {
    /// Status words in colour.
    pub(crate) colour: bool,
    /// The width, in columns, that tables wrap their last column to.
    pub(crate) width: usize,
    /// Progress shown as one line rewritten in place, instead of a line per change.
    pub(crate) live: bool,
}

/// What a status word means to the reader, and so its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    /// Ended well: green.
    Good,
    /// Ended badly: red.
    Bad,
    /// Did not run: yellow.
    Unrun,
    /// Left out on purpose: dim.
    LeftOut,
    /// Still going: cyan.
    Running,
}

impl Tone {
    /// The tone of a status (a run location's, or an onboarding outcome's), if it has one.
    fn of(status: &str) -> Option<Self> {
        match status {
            "Success"
            | "CompletedWithSuccess"
            | "Approved"
            | "ChangeCalendarOverrideApproved"
            | "Shared"
            | "AlreadyShared"
            | "Unshared"
            | "NotShared"
            | "Deployed"
            | "AlreadyDeployed"
            | "VerifiedAutoDeployed"
            | "Removed"
            | "NotDeployed" => Some(Self::Good),
            "Failed"
            | "TimedOut"
            | "Cancelled"
            | "Cancelling"
            | "Rejected"
            | "CompletedWithFailure"
            | "ChangeCalendarOverrideRejected"
            | "Exited"
            | "LimitReached" => Some(Self::Bad),
            "NotStarted" | "WouldShare" | "WouldUnshare" | "WouldDeploy" | "WouldRemove" => {
                Some(Self::Unrun)
            }
            "Skipped" => Some(Self::LeftOut),
            "InProgress"
            | "Pending"
            | "Waiting"
            | "PendingApproval"
            | "Scheduled"
            | "RunbookInProgress"
            | "PendingChangeCalendarOverride" => Some(Self::Running),
            _ => None,
        }
    }

    /// The SGR escape that starts this tone.
    fn escape(self) -> &'static str {
        match self {
            Self::Good => "\x1b[32m",
            Self::Bad => "\x1b[31m",
            Self::Unrun => "\x1b[33m",
            Self::LeftOut => "\x1b[2m",
            Self::Running => "\x1b[36m",
        }
    }
}

/// The SGR escape that ends any tone.
const RESET: &str = "\x1b[0m";

impl Style {
    /// No colour, the default width, a line per change: for pipes, files and tests.
    pub(crate) const PLAIN: Self = Self {
        colour: false,
        width: DEFAULT_WIDTH,
        live: false,
    };

    /// The style of standard output: a terminal's (its width, progress in place, colour unless
    /// `NO_COLOR` is set), or [`Style::PLAIN`].
    pub(crate) fn of_stdout() -> Self {
        let terminal = std::io::stdout().is_terminal();
        let measured = terminal_size::terminal_size().map(|(width, _)| usize::from(width.0));
        Self::decide(
            terminal,
            std::env::var_os("NO_COLOR").as_deref(),
            std::env::var("COLUMNS").ok().as_deref(),
            measured,
        )
    }

    /// The style for output that is a terminal or not, given `NO_COLOR` (any non-empty value
    /// turns colour off, as <https://no-color.org> asks), `COLUMNS` and the measured width.
    fn decide(
        terminal: bool,
        no_color: Option<&OsStr>,
        columns: Option<&str>,
        measured: Option<usize>,
    ) -> Self {
        if !terminal {
            return Self::PLAIN;
        }
        let width = columns
            .and_then(|columns| columns.trim().parse::<usize>().ok())
            .filter(|&width| width > 0)
            .or(measured)
            .unwrap_or(DEFAULT_WIDTH);
        Self {
            colour: no_color.is_none_or(OsStr::is_empty),
            width,
            live: true,
        }
    }

    /// `text`, coloured as the status `status` when colour is on.
    pub(crate) fn paint_as(self, status: &str, text: &str) -> String {
        match Tone::of(status) {
            Some(tone) if self.colour => format!("{}{text}{RESET}", tone.escape()),
            _ => text.to_owned(),
        }
    }

    /// The status word `status`, coloured when colour is on.
    pub(crate) fn status(self, status: &str) -> String {
        self.paint_as(status, status)
    }

    /// Locations by status, as `Failed 1, Success 3`, the status words coloured when colour is
    /// on.
    pub(crate) fn counts(self, counts: &BTreeMap<String, usize>) -> String {
        counts
            .iter()
            .map(|(status, count)| format!("{} {count}", self.status(status)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::{DEFAULT_WIDTH, Style};
    use std::ffi::OsStr;

    #[test]
    fn when_stdout_is_not_a_terminal_then_nothing_is_coloured_and_the_width_is_the_default() {
        let style = Style::decide(false, None, Some("60"), Some(80));
        assert_eq!(style, Style::PLAIN);
        assert_eq!(style.width, DEFAULT_WIDTH);
        assert_eq!(style.status("Failed"), "Failed");
    }

    #[test]
    fn when_no_color_is_set_then_a_terminal_gets_no_colour() {
        let style = Style::decide(true, Some(OsStr::new("1")), None, Some(80));
        assert!(!style.colour);
        assert!(style.live);
        assert_eq!(style.status("Success"), "Success");
    }

    #[test]
    fn when_no_color_is_empty_then_a_terminal_still_gets_colour() {
        let style = Style::decide(true, Some(OsStr::new("")), None, Some(80));
        assert!(style.colour);
        assert_eq!(style.status("Success"), "\x1b[32mSuccess\x1b[0m");
    }

    #[test]
    fn when_colour_is_on_then_each_status_gets_its_colour() {
        let style = Style {
            colour: true,
            ..Style::PLAIN
        };
        assert_eq!(style.status("Success"), "\x1b[32mSuccess\x1b[0m");
        for bad in ["Failed", "TimedOut", "Cancelled"] {
            assert_eq!(style.status(bad), format!("\x1b[31m{bad}\x1b[0m"));
        }
        assert_eq!(style.status("NotStarted"), "\x1b[33mNotStarted\x1b[0m");
        assert_eq!(style.status("Skipped"), "\x1b[2mSkipped\x1b[0m");
        assert_eq!(style.status("InProgress"), "\x1b[36mInProgress\x1b[0m");
        assert_eq!(style.status("Planned"), "Planned");
    }

    #[test]
    fn when_columns_is_set_then_a_terminal_wraps_to_it_else_to_its_measured_width() {
        assert_eq!(Style::decide(true, None, Some("72"), Some(200)).width, 72);
        assert_eq!(
            Style::decide(true, None, Some("wide"), Some(200)).width,
            200
        );
        assert_eq!(Style::decide(true, None, None, None).width, DEFAULT_WIDTH);
    }
}
