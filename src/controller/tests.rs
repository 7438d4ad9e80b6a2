//! Reconcile against a mocked API server (`tower_test`) and an in-memory AWS account.
//!
//! Each test runs one reconcile while a scenario task answers the requests it expects, in
//! order, asserting method, path and body; a call that never comes fails on a timeout, and a
//! call nobody expected is answered with a 500 and fails the test. The fake account records
//! every AWS call, so tests can say which calls happened and which did not.
//!
//! The harness, shared by every scenario:
//! - `fake_cloud`: the in-memory AWS account (`FakeCloud`, one `impl Cloud` block), the calls
//!   it records (`CloudCall`) and the `FakeConnector` that hands it to the reconcile;
//! - `api_server`: the mocked API server (`ApiServer`, `Received`) and the `Harness` that runs
//!   one reconcile against it;
//! - `fixtures`: the names the tests share, the policy builders (`PolicyFixture`), the seed
//!   inventories of ssmAccess and backup, and helpers over status, Events and requeues.
//!
//! The scenarios, one file per area and then what crosses areas:
//! - `gateway_endpoints`, `snapshot_retention` (with its own snapshot seeds), `ssm_access`,
//!   `backup`;
//! - `lifecycle`: the finalizer, an invalid spec, a disallowed role, deletion with Retain, the
//!   backoff of a failed cleanup, and the series a run or a deleted policy leaves in the metrics;
//! - `conflicts`: two policies over the same VPCs;
//! - `kube_faults`: the Kubernetes side failing;
//! - `notifier`: the Notifier controller's Ready condition, and a run's news reaching a local
//!   webhook receiver once (none in the steady state after it);
//! - `whole_status`: one status object with every area, pinned whole.
//!
//! A scenario file starts with `use super::*;`: this module re-exports the harness, the
//! fixtures and the types the scenarios name.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use kube::runtime::controller::Action;
use serde_json::{Value, json};

use super::{Context, ReconcileError, error_policy};
use crate::api::names::{FINALIZER, TAG_EXPIRES_AT, TAG_POLICY};
use crate::api::{AwsTarget, CostPolicy, DeletionPolicy, GatewayService, PricingSpec};
use crate::engine::{Cloud, CloudConnector, CloudError, ErrorKind};
use crate::metrics::Metrics;
use crate::plan::backup::BackupInventory;
use crate::plan::ssm_access::SsmAccessInventory;
use crate::plan::{Tags, ownership_tags};
use crate::pricing::spend::{Months, Spend, SpendRow};
use crate::pricing::{PriceItem, Prices};

mod api_server;
mod fake_cloud;
mod fixtures;

use api_server::*;
use fake_cloud::*;
use fixtures::*;

mod access_keys;
mod backup;
mod cloud_watch;
mod conflicts;
mod gateway_endpoints;
mod kube_faults;
mod lifecycle;
mod notifier;
mod right_sizing;
mod snapshot_retention;
mod ssm_access;
mod whole_status;
