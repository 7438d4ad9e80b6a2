//! The core that the controller and the one-shot CLI share:
//! observe → plan → act → report.
//!
//! `observe_and_plan` reads the account through a [`Cloud`] and calls the pure planners;
//! `act` executes a [`PlannedRun`] and yields an [`AppliedRun`] (the only input `report`
//! accepts, so status always describes what was really applied); `report` is pure. Every
//! step is generic over the area ([`Area`]); [`areas`] is the list.

mod area;
pub mod areas;
mod cloud;
pub mod report;
mod run;

pub use area::{Area, AreaKind, AreaOutcome, AreaPlan, ChangeResult, Output, PlanCounts, Publish, Report, Run};
pub use cloud::{AreaCloud, Cloud, CloudConnector, CloudError, ErrorKind, GatewayEndpointsCleanup, PriceLookup, SpendLookup};
pub use run::{AppliedRun, PlannedRun, act, cleanup, observe_and_plan, observe_and_plan_with_peers, peers};
