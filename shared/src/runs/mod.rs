//! Carrying out a plan, by concern: [`request`] turns a trigger into the run it asks for,
//! [`state`] keeps a run between steps (and decides what a delivery of its trigger finds),
//! [`start`] starts a wave's calls, [`track`] follows them, [`keep`] keeps each call's
//! results as its locations end, [`collect`] reads every location's result from its child
//! execution, [`gate`] decides whether the next wave starts,
//! [`approval`] waits for a person between waves, and [`deadline`] ends a run that outlives
//! its deadline. The state machine's tasks over these are in [`crate::steps`].

pub mod approval;
pub mod collect;
pub mod deadline;
pub mod gate;
pub mod keep;
pub mod request;
pub mod start;
pub mod state;
pub mod track;

pub use collect::{CHILD_UNREAD, COLLECT_CONCURRENCY};
pub use gate::{gate, overall_status};
pub use request::{run_id_for, run_request_for};
pub use start::{START_PACING, preview, start_wave};
pub use state::{Delivery, RunState, StartedCall, accept_delivery, carry_on};
pub use track::{Progress, progress};
