//! A workflow's progress as the command line shows it: each step once as it is entered, what
//! it answered, and the locations by status whenever they change.

use fabric::driver::{self, Event, Observer};
use std::io::Write;
use std::time::Instant;

/// Prints a workflow's progress: each step once as it is entered, what it answered, and the
/// locations by status whenever they change.
pub(crate) struct Printer<'w, W: Write> {
    pub(crate) out: &'w mut W,
    began: Instant,
    last_state: &'static str,
    last_counts: String,
    failed: Option<std::io::Error>,
}

impl<'w, W: Write> Printer<'w, W> {
    pub(crate) fn new(out: &'w mut W) -> Self {
        Self {
            out,
            began: Instant::now(),
            last_state: "",
            last_counts: String::new(),
            failed: None,
        }
    }

    fn line(&mut self, line: &str) {
        if let Err(error) = writeln!(self.out, "{line}") {
            self.failed.get_or_insert(error);
        }
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
                    self.line(&format!("==> {state}"));
                }
                if !quiet {
                    self.last_state = state;
                }
            }
            Event::RunStarted(started) => match (&started.wave, &started.run_id) {
                (Some(wave), _) => self.line(&format!(
                    "  wave {}: {} calls started, {} locations",
                    wave.name,
                    wave.calls.len(),
                    started.locations
                )),
                (None, Some(run_id)) => self.line(&format!(
                    "  run {run_id}: {} locations planned",
                    started.locations
                )),
                (None, None) => {}
            },
            Event::Tracked(tracked) => {
                let counts = tracked
                    .counts
                    .iter()
                    .map(|(status, count)| format!("{status} {count}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                if counts != self.last_counts {
                    let elapsed = self.began.elapsed().as_secs_f64();
                    self.line(&format!("  [{elapsed:>4.0}s] {counts}"));
                    self.last_counts = counts;
                }
            }
            Event::CallCollected {
                execution_id,
                collected,
            } => self.line(&format!("  {collected} locations of {execution_id}")),
            Event::Readiness(readiness) => {
                self.line(&format!("  account status: {}", readiness.status));
            }
            Event::Caught { state, error } => self.line(&format!("  {state} failed: {error}")),
            Event::Undelivered(data) => {
                self.line(&format!(
                    "  the report could not be published; the workflow's state: {data}"
                ));
            }
            Event::Collected(_) | Event::Published(_) => {}
        }
    }
}
