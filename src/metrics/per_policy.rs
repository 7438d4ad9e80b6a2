//! A metric family whose series belong to policies, so that a policy's series can be
//! dropped: those its last run did not write (an area turned off, a price source that
//! changed), and all of them once the policy is gone. A `Family` cannot be listed, so the
//! label sets are kept beside it.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::Mutex;

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::TypedMetric;
use prometheus_client::metrics::family::Family;

/// Label sets that name the policy a series belongs to.
pub trait PolicyLabel {
    fn policy(&self) -> &str;
}

pub struct PerPolicy<L, M> {
    family: Family<L, M>,
    /// Each policy's label sets, and whether each was written since the policy's last sweep;
    /// by policy, so that a run's sweep touches its own series only.
    written: Mutex<HashMap<String, HashMap<L, bool>>>,
}

impl<L, M> Default for PerPolicy<L, M>
where
    L: Clone + Hash + Eq,
    M: Default,
{
    fn default() -> Self {
        Self { family: Family::default(), written: Mutex::default() }
    }
}

impl<L, M> PerPolicy<L, M>
where
    L: PolicyLabel + Clone + Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
    M: EncodeMetric + TypedMetric + Clone + Default + std::fmt::Debug + Send + Sync + 'static,
{
    /// What the registry encodes (it shares the series with this).
    pub fn family(&self) -> Family<L, M> {
        self.family.clone()
    }

    /// The series of `labels`, created if new; it survives the policy's next sweep.
    pub fn get_or_create(&self, labels: &L) -> M {
        let mut written = self.lock();
        match written.get_mut(labels.policy()) {
            Some(series) => drop(series.insert(labels.clone(), true)),
            None => drop(written.insert(labels.policy().to_string(), HashMap::from([(labels.clone(), true)]))),
        }
        drop(written);
        self.family.get_or_create_owned(labels)
    }

    /// Drops one series.
    pub fn remove(&self, labels: &L) {
        let mut written = self.lock();
        if let Some(series) = written.get_mut(labels.policy()) {
            series.remove(labels);
            if series.is_empty() {
                written.remove(labels.policy());
            }
        }
        self.family.remove(labels);
    }

    /// How many policies have a series.
    pub fn policy_count(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<L, bool>>> {
        // A panic while the map was held leaves it whole: every operation on it is one call.
        self.written.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What `Metrics` does to every per-policy family, whatever its labels and metric.
pub trait PolicySeries {
    /// Drops the policy's series not written since its previous sweep.
    fn sweep(&self, policy: &str);
    /// Drops every series of the policy.
    fn forget(&self, policy: &str);
    /// The policies with a series.
    fn policies(&self) -> BTreeSet<String>;
}

impl<L, M> PolicySeries for PerPolicy<L, M>
where
    L: PolicyLabel + Clone + Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
    M: EncodeMetric + TypedMetric + Clone + Default + std::fmt::Debug + Send + Sync + 'static,
{
    fn sweep(&self, policy: &str) {
        let mut written = self.lock();
        let Some(series) = written.get_mut(policy) else { return };
        series.retain(|labels, fresh| {
            let keep = std::mem::replace(fresh, false);
            if !keep {
                self.family.remove(labels);
            }
            keep
        });
        if series.is_empty() {
            written.remove(policy);
        }
    }

    fn forget(&self, policy: &str) {
        for labels in self.lock().remove(policy).into_iter().flat_map(HashMap::into_keys) {
            self.family.remove(&labels);
        }
    }

    fn policies(&self) -> BTreeSet<String> {
        self.lock().keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::metrics::gauge::Gauge;

    use super::*;
    use crate::metrics::AreaLabels;

    fn labels(policy: &str, area: &str) -> AreaLabels {
        AreaLabels { policy: policy.to_string(), area: area.to_string() }
    }

    fn series(gauges: &PerPolicy<AreaLabels, Gauge>) -> Vec<(String, String, i64)> {
        let written = gauges.lock();
        let labels = written.values().flat_map(HashMap::keys);
        let mut all: Vec<_> =
            labels.map(|l| (l.policy.clone(), l.area.clone(), gauges.family.get(l).map(|g| g.get()).unwrap_or(-1))).collect();
        all.sort();
        all
    }

    #[test]
    fn a_sweep_drops_only_that_policys_series_not_written_since_the_last_one() {
        let gauges = PerPolicy::<AreaLabels, Gauge>::default();
        gauges.get_or_create(&labels("a", "backup")).set(1);
        gauges.get_or_create(&labels("a", "ssmAccess")).set(2);
        gauges.get_or_create(&labels("b", "backup")).set(3);
        gauges.sweep("a");
        gauges.get_or_create(&labels("a", "backup")).set(4);
        gauges.sweep("a");
        let expected = [("a", "backup", 4), ("b", "backup", 3)].map(|(p, a, v)| (p.to_string(), a.to_string(), v));
        assert_eq!(series(&gauges), expected);
        assert!(gauges.family.get(&labels("a", "ssmAccess")).is_none());
    }

    #[test]
    fn forgetting_a_policy_drops_all_its_series_and_no_other() {
        let gauges = PerPolicy::<AreaLabels, Gauge>::default();
        gauges.get_or_create(&labels("a", "backup")).set(1);
        gauges.get_or_create(&labels("a", "ssmAccess")).set(2);
        gauges.get_or_create(&labels("ab", "backup")).set(3);
        gauges.forget("a");
        assert_eq!(series(&gauges), [("ab".to_string(), "backup".to_string(), 3)]);
        assert_eq!(gauges.policies(), BTreeSet::from(["ab".to_string()]));
        assert!(gauges.family.get(&labels("a", "backup")).is_none());
    }
}
