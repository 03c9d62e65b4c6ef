//! A workflow's progress as the command line shows it: each step once as it is entered, what
//! it answered, and where it stands (the locations by status, the time taken, the step
//! running). On a terminal where it stands is one line rewritten in place under the rest;
//! elsewhere it is a line whenever the locations' statuses change.

use crate::style::Style;
use fabric::driver::{self, Event, Observer};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

/// Moves to the start of the line and clears it.
const CLEAR_LINE: &str = "\r\x1b[K";

/// Writes a workflow's progress: lines that stay (a step entered, a wave started...) and where
/// it stands, rewritten in place when the style is live. The live line is cleared when this is
/// dropped, so that whatever is written next starts on a clean line.
pub(crate) struct ProgressLine<'w, W: Write> {
    out: &'w mut W,
    style: Style,
    /// Live: the line on screen now, if any.
    live_line: Option<String>,
    /// Not live: the locations by status as last printed.
    printed_counts: String,
    /// The first error met writing.
    failed: Option<std::io::Error>,
}

impl<'w, W: Write> ProgressLine<'w, W> {
    pub(crate) fn new(out: &'w mut W, style: Style) -> Self {
        Self {
            out,
            style,
            live_line: None,
            printed_counts: String::new(),
            failed: None,
        }
    }

    fn write(&mut self, text: &str) {
        if let Err(error) = self
            .out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.flush())
        {
            self.failed.get_or_insert(error);
        }
    }

    /// A line that stays, above the live line.
    pub(crate) fn line(&mut self, text: &str) {
        match self.live_line.clone() {
            Some(live) => self.write(&format!("{CLEAR_LINE}{text}\n{live}")),
            None => self.write(&format!("{text}\n")),
        }
    }

    /// Where the workflow stands: `elapsed` since it began, its locations by status (once
    /// known) and the step running. Live: the live line, redrawn. Otherwise a line, when the
    /// counts changed (each step entered has a line of its own).
    pub(crate) fn stands(
        &mut self,
        elapsed: Duration,
        counts: Option<&BTreeMap<String, usize>>,
        step: Option<&str>,
    ) {
        let seconds = elapsed.as_secs_f64();
        if self.style.live {
            let line = |style: &Style| {
                let mut live = format!("  [{seconds:>4.0}s] ");
                if let Some(counts) = counts {
                    live.push_str(&style.counts(counts));
                    live.push_str("; ");
                }
                if let Some(step) = step {
                    live.push_str("running ");
                    live.push_str(step);
                }
                live.trim_end_matches([' ', ';']).to_owned()
            };
            let uncoloured = line(&Style {
                colour: false,
                ..self.style
            });
            // A line wider than the terminal would wrap, and `\r` would then redraw only its
            // last part: past the width, the line is cut (uncoloured), never wrapped.
            let fits = self.style.width.saturating_sub(1);
            let shown = if uncoloured.chars().count() > fits {
                uncoloured
                    .chars()
                    .take(fits.saturating_sub(1))
                    .collect::<String>()
                    + "…"
            } else {
                line(&self.style)
            };
            self.write(&format!("\r{shown}\x1b[K"));
            self.live_line = Some(shown);
            return;
        }
        let Some(counts) = counts else {
            return;
        };
        let plain = Style {
            colour: false,
            ..self.style
        };
        let printed = plain.counts(counts);
        if printed != self.printed_counts {
            let shown = self.style.counts(counts);
            self.write(&format!("  [{seconds:>4.0}s] {shown}\n"));
            self.printed_counts = printed;
        }
    }

    /// The first error met writing, if any (taken: asked again, none).
    pub(crate) fn take_error(&mut self) -> Option<std::io::Error> {
        self.failed.take()
    }
}

impl<W: Write> Drop for ProgressLine<'_, W> {
    fn drop(&mut self) {
        if self.live_line.take().is_some() {
            self.write(CLEAR_LINE);
        }
    }
}

/// Shows a workflow's progress from the local driver's events: each step once as it is
/// entered, what it answered, and where it stands.
pub(crate) struct Printer<'w, W: Write> {
    progress: ProgressLine<'w, W>,
    began: Instant,
    last_state: &'static str,
    counts: Option<BTreeMap<String, usize>>,
}

impl<'w, W: Write> Printer<'w, W> {
    pub(crate) fn new(out: &'w mut W, style: Style) -> Self {
        Self {
            progress: ProgressLine::new(out, style),
            began: Instant::now(),
            last_state: "",
            counts: None,
        }
    }

    fn stands(&mut self) {
        let step = Some(self.last_state).filter(|state| !state.is_empty());
        self.progress
            .stands(self.began.elapsed(), self.counts.as_ref(), step);
    }
}

impl<W: Write> Observer for Printer<'_, W> {
    fn on(&mut self, event: Event<'_>) {
        match event {
            Event::Entered(state) => {
                let quiet = state == "Prepare"
                    || state.starts_with("Wait")
                    || driver::run::GRAPH.is_choice(state)
                    || driver::onboarding::GRAPH.is_choice(state);
                if !quiet && state != self.last_state {
                    self.progress.line(&format!("==> {state}"));
                }
                if !quiet {
                    self.last_state = state;
                }
                self.stands();
            }
            Event::RunStarted(started) => match (&started.wave, &started.run_id) {
                (Some(wave), _) => self.progress.line(&format!(
                    "  wave {}: {} calls started, {} locations",
                    wave.name,
                    wave.calls.len(),
                    started.locations
                )),
                (None, Some(run_id)) => self.progress.line(&format!(
                    "  run {run_id}: {} locations planned",
                    started.locations
                )),
                (None, None) => {}
            },
            Event::Tracked(tracked) => {
                self.counts = Some(tracked.counts.clone());
                self.stands();
            }
            Event::CallCollected {
                execution_id,
                collected,
            } => self
                .progress
                .line(&format!("  {collected} locations of {execution_id}")),
            Event::Readiness(readiness) => {
                self.progress
                    .line(&format!("  account status: {}", readiness.status));
            }
            Event::Caught { state, error } => {
                self.progress.line(&format!("  {state} failed: {error}"));
            }
            Event::Undelivered(data) => {
                self.progress.line(&format!(
                    "  the report could not be published; the workflow's state: {data}"
                ));
            }
            Event::Collected(_) | Event::Published(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ProgressLine;
    use crate::style::Style;
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
        pairs
            .iter()
            .map(|(status, count)| ((*status).to_owned(), *count))
            .collect()
    }

    /// Runs `show` over a progress line of `style` and returns what it wrote.
    fn written(style: Style, show: impl FnOnce(&mut ProgressLine<'_, Vec<u8>>)) -> String {
        let mut out = Vec::new();
        {
            let mut progress = ProgressLine::new(&mut out, style);
            show(&mut progress);
        }
        String::from_utf8(out).expect("UTF-8")
    }

    fn steps(progress: &mut ProgressLine<'_, Vec<u8>>) {
        let running = counts(&[("InProgress", 2)]);
        let later = counts(&[("InProgress", 1), ("Success", 1)]);
        progress.line("==> StartRun");
        progress.stands(Duration::from_secs(1), None, Some("StartRun"));
        progress.line("==> TrackRun");
        progress.stands(Duration::from_secs(3), Some(&running), Some("TrackRun"));
        progress.stands(Duration::from_secs(5), Some(&running), Some("TrackRun"));
        progress.stands(Duration::from_secs(7), Some(&later), Some("TrackRun"));
    }

    #[test]
    fn when_output_is_a_terminal_then_where_the_run_stands_is_one_line_rewritten_in_place() {
        let live = Style {
            live: true,
            ..Style::PLAIN
        };
        let shown = written(live, steps);
        assert_eq!(
            shown,
            "==> StartRun\n\
             \r  [   1s] running StartRun\x1b[K\
             \r\x1b[K==> TrackRun\n  [   1s] running StartRun\
             \r  [   3s] InProgress 2; running TrackRun\x1b[K\
             \r  [   5s] InProgress 2; running TrackRun\x1b[K\
             \r  [   7s] InProgress 1, Success 1; running TrackRun\x1b[K\
             \r\x1b[K"
        );
    }

    #[test]
    fn when_output_is_not_a_terminal_then_each_change_is_a_plain_line() {
        let shown = written(Style::PLAIN, steps);
        assert_eq!(
            shown,
            "==> StartRun\n\
             ==> TrackRun\n\
             \x20 [   3s] InProgress 2\n\
             \x20 [   7s] InProgress 1, Success 1\n"
        );
        assert!(!shown.contains('\r') && !shown.contains('\x1b'));
    }

    #[test]
    fn when_colour_is_on_then_the_live_line_colours_the_statuses() {
        let coloured = Style {
            live: true,
            colour: true,
            ..Style::PLAIN
        };
        let shown = written(coloured, |progress| {
            progress.stands(
                Duration::from_secs(2),
                Some(&counts(&[("Failed", 1)])),
                Some("TrackRun"),
            );
        });
        assert!(
            shown.contains("\x1b[31mFailed\x1b[0m 1; running TrackRun"),
            "{shown:?}"
        );
    }

    #[test]
    fn when_the_live_line_is_wider_than_the_terminal_then_it_is_cut_to_fit_not_wrapped() {
        let narrow = Style {
            live: true,
            colour: true,
            width: 30,
        };
        let shown = written(narrow, |progress| {
            progress.stands(
                Duration::from_secs(2),
                Some(&counts(&[
                    ("Failed", 1),
                    ("InProgress", 7),
                    ("Success", 12),
                ])),
                Some("TrackRun"),
            );
        });
        let line = shown
            .trim_start_matches('\r')
            .split("\x1b[K")
            .next()
            .unwrap_or_default();
        assert_eq!(line, "  [   2s] Failed 1, InProgre…", "{shown:?}");
        assert_eq!(line.chars().count(), 29);
    }
}
