//! A started call's results, kept as its locations end. Its parent lists its steps in the
//! order SSM started them, [`STEPS_PER_PAGE`] a page: while SSM still runs the call,
//! `TrackRun` keeps every page whose steps have all ended, reading each of their child
//! executions once, so that when the parent ends only its last pages are left to collect. A
//! cursor per call says how far the kept pages go; what one step keeps is one batch.

use super::collect::{step_results, stepless_results};
use super::state::StartedCall;
use crate::model::{Location, LocationResult};
use crate::ports::{Automation, Locations, ReportStore, STEPS_PER_PAGE, StepPage};
use crate::{Error, Result};
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// How many kept batches are read at once when a report is assembled.
const BATCHES_READ_AT_ONCE: usize = 32;

/// Where a parent stands, as one read of it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    /// Still running, with this many of its steps ended.
    Running {
        /// Its ended steps (success, failed, cancelled, timed out).
        ended_steps: usize,
    },
    /// Ended (or stopped at the run's deadline): every step it made is as final as it gets.
    Ended,
}

/// How far a call's kept results go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCursor {
    /// Batches kept (`batch-00000.json`, ...), each the pages one step kept.
    pub batches: usize,
    /// Steps in the kept pages.
    pub steps: usize,
    /// Locations in the kept batches.
    pub collected: usize,
    /// Where the first page not kept starts (`None`: the first page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// True once every page is kept, and the locations the parent made no step for.
    pub complete: bool,
    /// The parent's ended steps when the page after the kept ones was last read and found
    /// running: it is read again only once a page's worth more have ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_at: Option<usize>,
}

/// What one step read and kept of a call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Kept {
    /// Locations kept.
    pub locations: usize,
    /// Pages of steps read (those found running included).
    pub pages_read: usize,
}

impl CallCursor {
    /// Where the cursor of call `execution_id` of run `run_id` is kept.
    pub fn key(run_id: &str, execution_id: &str) -> String {
        format!("state/runs/{run_id}/calls/{execution_id}/cursor.json")
    }

    /// Where batch `batch` of the call's kept results is.
    pub fn batch_key(run_id: &str, execution_id: &str, batch: usize) -> String {
        format!("state/runs/{run_id}/calls/{execution_id}/batch-{batch:05}.json")
    }

    /// The call's cursor: where nothing is kept yet when there is none.
    pub async fn load(store: &dyn ReportStore, run_id: &str, execution_id: &str) -> Result<Self> {
        let key = Self::key(run_id, execution_id);
        match store.get(&key).await? {
            None => Ok(Self::default()),
            Some(body) => serde_json::from_slice(&body).map_err(|error| Error::CorruptState {
                key,
                problem: error.to_string(),
            }),
        }
    }

    async fn save(&self, store: &dyn ReportStore, run_id: &str, execution_id: &str) -> Result<()> {
        let body = serde_json::to_vec(self)
            .map_err(|error| Error::unserializable("a call's cursor", &error))?;
        store.put(&Self::key(run_id, execution_id), body).await?;
        Ok(())
    }
}

/// True when the page after the first `steps` steps is worth reading while the parent runs
/// with `ended_steps` ended: a page's worth more have ended than those steps (and than when
/// that page was last found running, `running_at`).
fn worth_reading(steps: usize, running_at: Option<usize>, ended_steps: usize) -> bool {
    ended_steps >= running_at.map_or(steps, |at| at.max(steps)) + STEPS_PER_PAGE
}

/// What reading a call's pages needs.
#[derive(Clone, Copy)]
#[allow(missing_debug_implementations)] // trait objects
pub struct Sources<'a> {
    /// SSM in the central account (the parents' steps).
    pub automation: &'a dyn Automation,
    /// SSM in the target accounts (the children).
    pub locations: &'a dyn Locations,
    /// Where results are kept.
    pub store: &'a dyn ReportStore,
    /// The least time between two pages of a parent's steps ([`STEP_PAGE_INTERVAL`] against
    /// SSM's 3 reads a second).
    pub page_pacing: Duration,
}

/// Keeps what can be kept of `call` (of run `run_id`) now: while its parent runs, the pages
/// after the kept ones whose steps have all ended, up to the first one with a step still
/// running; once it has ended, every page left and then the locations it made no step for
/// (the cursor is then complete). Stops at `until`, leaving the rest for a later step. Pages
/// are read no faster than SSM's 3 reads a second, each page's children while the next page
/// is asked for.
pub async fn keep(
    sources: &Sources<'_>,
    run_id: &str,
    call: &StartedCall,
    parent: Parent,
    until: Option<Instant>,
) -> Result<Kept> {
    let mut cursor = CallCursor::load(sources.store, run_id, &call.execution_id).await?;
    if cursor.complete {
        return Ok(Kept::default());
    }
    let running_at = cursor.running_at;
    let pages_read = AtomicUsize::new(0);
    let found_running = AtomicBool::new(false);
    let listing = Listing {
        token: cursor.next_token.clone(),
        steps: cursor.steps,
        first: true,
        last: false,
    };
    let pages = kept_pages(
        sources,
        call,
        (parent, running_at, until),
        listing,
        (&pages_read, &found_running),
    );
    futures_util::pin_mut!(pages);
    let mut batch = Vec::new();
    let mut failure = None;
    while let Some(page) = pages.next().await {
        match page {
            Ok((results, (steps, token))) => {
                cursor.steps = steps;
                cursor.next_token = token;
                cursor.collected += results.len();
                batch.extend(results);
            }
            Err(error) => {
                // What was read is kept all the same: no child is read twice.
                failure = Some(error);
                break;
            }
        }
    }
    let kept_pages = pages_read.load(Ordering::Relaxed);
    if let Parent::Running { ended_steps } = parent {
        if found_running.load(Ordering::Relaxed) {
            cursor.running_at = Some(ended_steps);
        }
    }
    if failure.is_none() && parent == Parent::Ended && cursor.next_token.is_none() && kept_pages > 0
    {
        // Every page of the ended parent is kept: then the locations it made no step for.
        batch.extend(stepless(sources, run_id, call, &cursor, &batch).await?);
        cursor.collected = call.locations.len().max(cursor.collected);
        cursor.complete = true;
    }
    tracing::debug!(
        run_id,
        execution_id = call.execution_id,
        pages_read = kept_pages,
        kept = batch.len(),
        "kept"
    );
    let kept = Kept {
        locations: batch.len(),
        pages_read: kept_pages,
    };
    store_batch(
        sources.store,
        run_id,
        &call.execution_id,
        &mut cursor,
        &batch,
    )
    .await?;
    match failure {
        Some(error) => Err(error),
        None => Ok(kept),
    }
}

/// The pages of `call`'s parent to keep from `listing` on, each with its steps' results read
/// and where the listing stands after it (steps listed, next token), in page order: while the
/// parent runs (`parent`, found running at `running_at`), up to the first page with a step
/// still running (counted in `found_running`), and never past `until`. `pages_read` counts the
/// pages read.
fn kept_pages<'a>(
    sources: &'a Sources<'a>,
    call: &'a StartedCall,
    (parent, running_at, until): (Parent, Option<usize>, Option<Instant>),
    listing: Listing,
    (pages_read, found_running): (&'a AtomicUsize, &'a AtomicBool),
) -> impl futures_util::Stream<Item = Result<(Vec<LocationResult>, ListedTo)>> + 'a {
    // Pages are asked one after another, at most every `page_pacing`; the children of up to
    // PAGES_IN_FLIGHT pages are read meanwhile; results come back in page order.
    futures_util::stream::try_unfold(listing, move |mut listing| async move {
        let wanted = match parent {
            Parent::Running { ended_steps } => {
                worth_reading(listing.steps, running_at, ended_steps)
            }
            Parent::Ended => true,
        };
        if listing.last || !wanted || until.is_some_and(|until| Instant::now() >= until) {
            return Ok(None);
        }
        if !listing.first {
            tokio::time::sleep(sources.page_pacing).await;
        }
        listing.first = false;
        let page = read_page(
            sources,
            &call.execution_id,
            listing.token.as_deref(),
            listing.steps,
        )
        .await?;
        pages_read.fetch_add(1, Ordering::Relaxed);
        let keepable = match parent {
            Parent::Running { .. } => {
                page.next_token.is_some() && page.steps.iter().all(|step| step.status.is_final())
            }
            Parent::Ended => true,
        };
        if !keepable {
            found_running.store(true, Ordering::Relaxed);
            return Ok(None);
        }
        listing.steps += page.steps.len();
        listing.token.clone_from(&page.next_token);
        listing.last = page.next_token.is_none();
        let at = (listing.steps, listing.token.clone());
        Ok(Some(((page, at), listing)))
    })
    .map_ok(move |(page, at)| async move {
        Ok::<_, Error>((step_results(call, &page.steps, sources.locations).await, at))
    })
    .try_buffered(PAGES_IN_FLIGHT)
}

/// Stores `batch` (when it holds any result, or completes the call) as the call's next batch,
/// then the cursor past it.
async fn store_batch(
    store: &dyn ReportStore,
    run_id: &str,
    execution_id: &str,
    cursor: &mut CallCursor,
    batch: &[LocationResult],
) -> Result<()> {
    if !batch.is_empty() || cursor.complete {
        let key = CallCursor::batch_key(run_id, execution_id, cursor.batches);
        let body = serde_json::to_vec(batch)
            .map_err(|error| Error::unserializable("a call's results", &error))?;
        store.put(&key, body).await?;
        cursor.batches += 1;
    }
    cursor.save(store, run_id, execution_id).await
}

/// Where a listing stands after a page: the steps listed, and the next page's token.
type ListedTo = (usize, Option<String>);

/// How many pages' children are read at once while the next page is asked for.
const PAGES_IN_FLIGHT: usize = 8;

/// Where a listing of a parent's steps stands.
struct Listing {
    /// The next page's token.
    token: Option<String>,
    /// Steps listed so far (the kept ones included).
    steps: usize,
    /// True before the first page is asked.
    first: bool,
    /// True once the last page was listed.
    last: bool,
}

/// The results of the locations `call`'s ended parent made no step for, once its pages are
/// all read: none when the kept pages hold as many locations as the call covers, else those
/// the kept batches and `batch` do not hold.
async fn stepless(
    sources: &Sources<'_>,
    run_id: &str,
    call: &StartedCall,
    cursor: &CallCursor,
    batch: &[LocationResult],
) -> Result<Vec<LocationResult>> {
    if cursor.collected >= call.locations.len() {
        return Ok(Vec::new());
    }
    let mut seen: BTreeSet<Location> = kept_batches(sources.store, run_id, call, cursor.batches)
        .await?
        .into_iter()
        .map(|result| result.location)
        .collect();
    seen.extend(batch.iter().map(|result| result.location.clone()));
    stepless_results(call, &seen, sources.automation).await
}

/// The results of `call` (of run `run_id`): its kept batches, and, until its cursor is
/// complete, the rest read now as though its parent had ended, without keeping them (a report
/// before the run's end shows where each location stands).
pub async fn results(
    sources: &Sources<'_>,
    run_id: &str,
    call: &StartedCall,
) -> Result<Vec<LocationResult>> {
    let cursor = CallCursor::load(sources.store, run_id, &call.execution_id).await?;
    let mut results = kept_batches(sources.store, run_id, call, cursor.batches).await?;
    if cursor.complete {
        return Ok(results);
    }
    let mut token = cursor.next_token.clone();
    let mut steps = cursor.steps;
    loop {
        let page = read_page(sources, &call.execution_id, token.as_deref(), steps).await?;
        steps += page.steps.len();
        results.extend(step_results(call, &page.steps, sources.locations).await);
        token = page.next_token;
        if token.is_none() {
            break;
        }
        tokio::time::sleep(sources.page_pacing).await;
    }
    let seen: BTreeSet<Location> = results
        .iter()
        .map(|result| result.location.clone())
        .collect();
    results.extend(stepless_results(call, &seen, sources.automation).await?);
    Ok(results)
}

/// The first `batches` kept batches of `call`, in order (read [`BATCHES_READ_AT_ONCE`] at
/// once). A missing or unreadable batch is [`Error::CorruptState`]: a cursor counts only
/// batches already stored.
async fn kept_batches(
    store: &dyn ReportStore,
    run_id: &str,
    call: &StartedCall,
    batches: usize,
) -> Result<Vec<LocationResult>> {
    let mut read = futures_util::stream::iter(0..batches)
        .map(|batch| async move {
            let key = CallCursor::batch_key(run_id, &call.execution_id, batch);
            let body = store.get(&key).await?.ok_or_else(|| Error::CorruptState {
                key: key.clone(),
                problem: "the call's cursor counts this batch, and it is missing".to_owned(),
            })?;
            serde_json::from_slice::<Vec<LocationResult>>(&body).map_err(|error| {
                Error::CorruptState {
                    key,
                    problem: error.to_string(),
                }
            })
        })
        .buffered(BATCHES_READ_AT_ONCE);
    let mut results = Vec::new();
    while let Some(batch) = read.next().await {
        results.extend(batch?);
    }
    Ok(results)
}

/// A page of the parent's steps from `token`, after `kept_steps` steps kept. A token SSM no
/// longer accepts (tokens are opaque, and a cursor may keep one for hours) is read around:
/// the listing starts again from its first page, and the kept steps are passed over (read
/// again, never kept twice).
async fn read_page(
    sources: &Sources<'_>,
    parent_id: &str,
    token: Option<&str>,
    kept_steps: usize,
) -> Result<StepPage> {
    let automation = sources.automation;
    match automation.location_steps_page(parent_id, token).await {
        Err(Error::Aws {
            code: Some(code), ..
        }) if code == "InvalidNextToken" && token.is_some() => {
            tracing::warn!(
                parent_id,
                kept_steps,
                "SSM refused the kept page token: listing from the first page"
            );
            let mut skip = kept_steps;
            let mut token = None;
            loop {
                tokio::time::sleep(sources.page_pacing).await;
                let mut page = automation
                    .location_steps_page(parent_id, token.as_deref())
                    .await?;
                if page.steps.len() <= skip && page.next_token.is_some() {
                    skip -= page.steps.len();
                    token = page.next_token;
                    continue;
                }
                page.steps.drain(..skip.min(page.steps.len()));
                return Ok(page);
            }
        }
        answer => answer,
    }
}

/// How long `TrackRun` may spend keeping ended locations in one invocation (its function's
/// timeout is 120 s): the rest waits for the next poll.
pub const TRACK_KEEP_BUDGET: Duration = Duration::from_secs(45);

#[cfg(test)]
#[path = "keep_tests.rs"]
mod tests;
