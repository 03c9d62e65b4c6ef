//! Automation Fabric: run an AWS Organization's SSM Automation runbooks in every account and
//! Region they must run in, from one central account.
//!
//! The flow the modules follow: [`events`] turn what AWS sends into a [`events::Trigger`];
//! [`config`] says what to share, where, and which runbooks make up a run profile; [`model`]
//! holds the values all of them speak in.
#![deny(missing_docs)]

pub mod config;
pub mod error;
pub mod events;
pub mod model;

pub use error::{Error, Result};
