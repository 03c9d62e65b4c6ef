//! Planner tests.
