//! The core that the controller and the one-shot CLI share:
//! observe → plan → act → report.
//!
//! `observe_and_plan` reads the account through a [`Cloud`] and calls the pure planners;
//! `act` executes a [`PlannedRun`] and yields an [`AppliedRun`] (the only input `report`
//! accepts, so status always describes what was really applied); `report` is pure.

mod cloud;
pub mod report;
mod run;

pub use cloud::{Cloud, CloudConnector, CloudError, ErrorKind};
pub use run::{
    AppliedRun, AreaOutcome, AreaPlan, Change, ChangeResult, PlannedRun, act, cleanup, observe_and_plan, observe_and_plan_with_peers,
};
