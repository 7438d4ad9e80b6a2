//! Leader election on a coordination.k8s.io/v1 Lease: of several replicas, only the one
//! holding the lease runs the Controller (reconciles, acts on AWS, writes status).
//!
//! The rules are client-go's `leaderelection`:
//! - Every write carries the resourceVersion that was read (`replace`; `create` when the
//!   Lease does not exist yet), so of two replicas racing for the lease one gets
//!   409 Conflict and stays a standby.
//! - A lease held by someone else expires `leaseDurationSeconds` after its `renewTime`, and
//!   never sooner than `leaseDurationSeconds` after this process first saw that renewal on
//!   its own clock: a node whose clock runs ahead cannot take a live lease over.
//! - The leader renews every [`RENEW_INTERVAL`]. When it has not renewed for
//!   [`RENEW_DEADLINE`] (shorter than [`LEASE_DURATION`]) it gives leadership up, before a
//!   standby can take over.
//! - On shutdown the leader releases the lease (holder cleared), so a standby takes over at
//!   its next check instead of after the lease duration.
//!
//! Why not a crate: kube-coordinate needs kube 2; kube-lease-manager 0.13 builds with
//! kube 5 but clears an expired holder with an unguarded patch and keeps reporting
//! leadership while its renewals fail, both of which can leave two leaders.
//!
//! kubert's `LeaseManager` (re-evaluated 2026-12 at 0.25.0, for issue #17): its writes are
//! guarded by resourceVersion, but it builds on kube-client 1.1 (a second kube and
//! k8s-openapi in the build), brings chrono beside jiff, and judges a held lease expired
//! when `renewTime + leaseDurationSeconds` is past on this node's clock, so a standby whose
//! clock runs ahead takes a live lease over: the rule above exists to prevent exactly that.
//! Kept: this module, its tests (`controller/leader/tests.rs`) and the real-server takeover
//! and outage tests.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tokio::time::Instant;

use crate::api::names::FIELD_MANAGER;

/// How long a lease stays valid after its last renewal (client-go's default).
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
/// How often the leader renews.
pub const RENEW_INTERVAL: Duration = Duration::from_secs(5);
/// How long the leader keeps leading without a successful renewal.
pub const RENEW_DEADLINE: Duration = Duration::from_secs(10);
/// How often a standby checks the lease, and how soon the leader retries a failed renewal.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(2);
/// `leaseDurationSeconds` of a released lease (client-go writes 1 as well).
const RELEASED_DURATION_SECONDS: i32 = 1;

/// What to do with the lease as it was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nobody holds it, or the holder's lease expired: take it.
    Acquire,
    /// It is ours: renew it.
    Renew,
    /// Someone else holds a valid lease: stand by until it expires.
    Wait { holder: String, expires: Timestamp },
}

/// The decision for `identity` at `now`, given the lease's spec and when this process first
/// saw its current holder and renewTime (`first_seen`, on this process's clock).
pub fn decide(spec: Option<&LeaseSpec>, first_seen: Timestamp, identity: &str, now: Timestamp) -> Decision {
    let Some(holder) = spec.and_then(|s| s.holder_identity.as_deref()).filter(|h| !h.is_empty()) else {
        return Decision::Acquire;
    };
    if holder == identity {
        return Decision::Renew;
    }
    let seconds = spec.and_then(|s| s.lease_duration_seconds).filter(|d| *d > 0).map_or(LEASE_DURATION.as_secs() as i64, i64::from);
    let renewed = spec.and_then(|s| s.renew_time.as_ref()).map_or(first_seen, |t| t.0.max(first_seen));
    let expires = renewed.checked_add(SignedDuration::from_secs(seconds)).unwrap_or(Timestamp::MAX);
    if expires < now { Decision::Acquire } else { Decision::Wait { holder: holder.to_string(), expires } }
}

/// Where this replica stands after a round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Leader,
    Standby { holder: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ElectionError {
    #[error("another replica wrote lease {lease} between our read and our write")]
    Conflict { lease: String },
    #[error("cannot read or write lease {lease}: {source}")]
    Api {
        lease: String,
        #[source]
        source: kube::Error,
    },
}

/// Why the leader stopped leading.
#[derive(Debug)]
pub enum LostLeadership {
    /// Another replica holds the lease now.
    TakenOver { holder: String },
    /// No renewal succeeded within [`RENEW_DEADLINE`].
    RenewDeadline { last_error: Option<String> },
}

impl std::fmt::Display for LostLeadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LostLeadership::TakenOver { holder } => write!(f, "{holder} holds the lease now"),
            LostLeadership::RenewDeadline { last_error: Some(error) } => {
                write!(f, "no renewal succeeded within {}s (last error: {error})", RENEW_DEADLINE.as_secs())
            }
            LostLeadership::RenewDeadline { last_error: None } => write!(f, "no renewal succeeded within {}s", RENEW_DEADLINE.as_secs()),
        }
    }
}

/// The holder and renewTime last read, and when this process first saw them.
#[derive(Debug)]
struct Observed {
    holder: Option<String>,
    renew_time: Option<Timestamp>,
    at: Timestamp,
}

/// One replica's side of the election for one Lease.
pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    observed: Option<Observed>,
    /// When the last successful write of ours was sent (monotonic clock).
    renewed: Option<Instant>,
}

impl LeaderElector {
    pub fn new(client: Client, namespace: &str, name: &str, identity: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_string(),
            identity: identity.to_string(),
            observed: None,
            renewed: None,
        }
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// One round: read the lease, then create it, take it over, renew it, or leave it alone.
    pub async fn try_acquire_or_renew(&mut self, now: Timestamp) -> Result<Role, ElectionError> {
        let started = Instant::now();
        let read = self.api.get_opt(&self.name).await.map_err(|source| self.api_error(source))?;
        let Some(mut lease) = read else {
            let mut spec = LeaseSpec::default();
            self.hold(&mut spec, now, Some(0));
            let lease = Lease { metadata: ObjectMeta { name: Some(self.name.clone()), ..ObjectMeta::default() }, spec: Some(spec) };
            let created = self.api.create(&post_params(), &lease).await.map_err(|e| self.write_error(e))?;
            return Ok(self.won(&created, started));
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let first_seen = self.observe(spec, now);
        match decide(Some(spec), first_seen, &self.identity, now) {
            Decision::Wait { holder, .. } => Ok(Role::Standby { holder }),
            Decision::Renew => {
                spec.renew_time = Some(MicroTime(now));
                spec.lease_duration_seconds = Some(LEASE_DURATION.as_secs() as i32);
                self.replace(&lease, started).await
            }
            Decision::Acquire => {
                let transitions = spec.lease_transitions.unwrap_or(0).saturating_add(1);
                self.hold(spec, now, Some(transitions));
                self.replace(&lease, started).await
            }
        }
    }

    /// Waits, one round every [`RETRY_INTERVAL`], until this replica holds the lease.
    pub async fn acquire(&mut self) {
        let mut last_holder = None;
        loop {
            match self.try_acquire_or_renew(Timestamp::now()).await {
                Ok(Role::Leader) => {
                    tracing::info!(lease = %self.name, identity = %self.identity, "acquired the lease: leading");
                    return;
                }
                Ok(Role::Standby { holder }) => {
                    if last_holder.as_ref() != Some(&holder) {
                        tracing::info!(lease = %self.name, %holder, "another replica leads: standing by");
                        last_holder = Some(holder);
                    }
                }
                Err(error @ ElectionError::Conflict { .. }) => tracing::debug!(%error, "lost a race for the lease"),
                Err(error) => tracing::warn!(%error, "leader election round failed"),
            }
            tokio::time::sleep(RETRY_INTERVAL).await;
        }
    }

    /// Renews the lease every [`RENEW_INTERVAL`] until leadership is lost, and says why.
    /// Call after this replica became the leader; drop the future to stop renewing.
    pub async fn keep_leading(&mut self) -> LostLeadership {
        let mut last_error = None;
        loop {
            let renewed = self.renewed.unwrap_or_else(Instant::now);
            let deadline = renewed + RENEW_DEADLINE;
            tokio::time::sleep_until(renewed + RENEW_INTERVAL).await;
            loop {
                if Instant::now() >= deadline {
                    return LostLeadership::RenewDeadline { last_error };
                }
                match tokio::time::timeout_at(deadline, self.try_acquire_or_renew(Timestamp::now())).await {
                    Err(_elapsed) => return LostLeadership::RenewDeadline { last_error },
                    Ok(Ok(Role::Leader)) => break,
                    Ok(Ok(Role::Standby { holder })) => return LostLeadership::TakenOver { holder },
                    Ok(Err(error)) => {
                        tracing::warn!(%error, "cannot renew the lease; retrying");
                        last_error = Some(error.to_string());
                    }
                }
                tokio::time::sleep_until(deadline.min(Instant::now() + RETRY_INTERVAL)).await;
            }
            last_error = None;
        }
    }

    /// Gives the lease up if this replica holds it, so a standby takes over at once.
    pub async fn release(&mut self) -> Result<(), ElectionError> {
        let read = self.api.get_opt(&self.name).await.map_err(|source| self.api_error(source))?;
        let Some(mut lease) = read else { return Ok(()) };
        let Some(spec) = lease.spec.as_mut().filter(|s| s.holder_identity.as_deref() == Some(self.identity.as_str())) else {
            return Ok(());
        };
        spec.holder_identity = None;
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        spec.lease_duration_seconds = Some(RELEASED_DURATION_SECONDS);
        self.api.replace(&self.name, &post_params(), &lease).await.map_err(|e| self.write_error(e))?;
        self.renewed = None;
        tracing::info!(lease = %self.name, "released the lease");
        Ok(())
    }

    /// Makes `spec` say this replica holds the lease from `now`.
    fn hold(&self, spec: &mut LeaseSpec, now: Timestamp, transitions: Option<i32>) {
        spec.holder_identity = Some(self.identity.clone());
        spec.acquire_time = Some(MicroTime(now));
        spec.renew_time = Some(MicroTime(now));
        spec.lease_duration_seconds = Some(LEASE_DURATION.as_secs() as i32);
        spec.lease_transitions = transitions;
    }

    /// When this process first saw the lease's current holder and renewTime.
    fn observe(&mut self, spec: &LeaseSpec, now: Timestamp) -> Timestamp {
        let holder = spec.holder_identity.clone();
        let renew_time = spec.renew_time.as_ref().map(|t| t.0);
        match &self.observed {
            Some(seen) if seen.holder == holder && seen.renew_time == renew_time => seen.at,
            _ => {
                self.observed = Some(Observed { holder, renew_time, at: now });
                now
            }
        }
    }

    /// `replace` guarded by the resourceVersion in `lease`.
    async fn replace(&mut self, lease: &Lease, started: Instant) -> Result<Role, ElectionError> {
        let written = self.api.replace(&self.name, &post_params(), lease).await.map_err(|e| self.write_error(e))?;
        Ok(self.won(&written, started))
    }

    fn won(&mut self, written: &Lease, started: Instant) -> Role {
        let spec = written.spec.as_ref();
        let renew_time = spec.and_then(|s| s.renew_time.as_ref()).map(|t| t.0);
        self.observed = Some(Observed { holder: Some(self.identity.clone()), renew_time, at: renew_time.unwrap_or_else(Timestamp::now) });
        self.renewed = Some(started);
        Role::Leader
    }

    fn api_error(&self, source: kube::Error) -> ElectionError {
        ElectionError::Api { lease: self.name.clone(), source }
    }

    fn write_error(&self, source: kube::Error) -> ElectionError {
        match source {
            kube::Error::Api(status) if status.code == 409 => ElectionError::Conflict { lease: self.name.clone() },
            source => self.api_error(source),
        }
    }
}

fn post_params() -> PostParams {
    PostParams { field_manager: Some(FIELD_MANAGER.to_string()), ..PostParams::default() }
}

/// This replica's name in the lease: the pod's name (POD_NAME, from the downward API), else
/// the host name with a random suffix, so two processes on one host never share it.
pub fn identity() -> String {
    if let Some(pod) = std::env::var("POD_NAME").ok().filter(|p| !p.is_empty()) {
        return pod;
    }
    let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok().map(|h| h.trim().to_string()).filter(|h| !h.is_empty()))
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "frugal".to_string());
    format!("{host}_{:08x}", rand::random::<u32>())
}

#[cfg(test)]
mod tests;
