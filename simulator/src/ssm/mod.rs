//! SSM Automation, which moto lacks: the API's operations over AWS JSON 1.1 (`api`), the
//! multi-account, multi-Region execution model behind them (`engine`), and SSM's rate-control
//! strings and statuses read independently from the API reference (`rate_control`, `status`).

pub mod api;
pub mod engine;
pub mod rate_control;
pub mod status;
