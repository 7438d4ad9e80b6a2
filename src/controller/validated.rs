//! The validated specs of the watched policies, kept while their generation holds.
//!
//! Every reconcile needs every other policy's validated spec to find conflicts; validating
//! N specs in each of N reconciles would make a pass over all policies O(N²) validations.
//! A spec only changes with its generation, so one validation per generation is enough.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use kube::ResourceExt;

use crate::api::CostPolicy;
use crate::api::validate::{ValidatedPolicy, validate};

/// A policy's validation (`None`: invalid) at one uid and generation.
struct Entry {
    uid: Option<String>,
    generation: i64,
    validated: Option<Arc<ValidatedPolicy>>,
}

#[derive(Default)]
pub struct ValidatedSpecs {
    entries: Mutex<HashMap<String, Entry>>,
}

impl ValidatedSpecs {
    /// The policy's validated spec, or `None` when it is invalid.
    pub fn get(&self, policy: &CostPolicy) -> Option<Arc<ValidatedPolicy>> {
        let name = policy.name_any();
        // Without a generation (never from an API server) a cached answer could be stale.
        let Some(generation) = policy.metadata.generation else {
            return validate(&name, &policy.spec).ok().map(Arc::new);
        };
        let uid = policy.metadata.uid.clone();
        if let Ok(entries) = self.entries.lock()
            && let Some(entry) = entries.get(&name)
            && entry.generation == generation
            && entry.uid == uid
        {
            return entry.validated.clone();
        }
        let validated = validate(&name, &policy.spec).ok().map(Arc::new);
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(name, Entry { uid, generation, validated: validated.clone() });
        }
        validated
    }

    /// Forgets the policies not in `live` (deleted ones).
    pub fn retain(&self, live: &HashSet<String>) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|name, _| live.contains(name));
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CostPolicySpec;

    fn policy(name: &str, generation: Option<i64>, yaml: &str) -> CostPolicy {
        let spec: CostPolicySpec = serde_yaml::from_str(yaml).expect("spec parses");
        let mut policy = CostPolicy::new(name, spec);
        policy.metadata.generation = generation;
        policy.metadata.uid = Some(format!("uid-{name}"));
        policy
    }

    const VALID: &str = "aws: {region: eu-west-1}\nsnapshotRetention: {maxAgeDays: 30}\n";
    const INVALID: &str = "aws: {region: Europe}\nsnapshotRetention: {maxAgeDays: 30}\n";

    #[test]
    fn a_new_generation_is_validated_again() {
        let specs = ValidatedSpecs::default();
        let first = specs.get(&policy("a", Some(1), VALID)).expect("valid");
        assert!(Arc::ptr_eq(&first, &specs.get(&policy("a", Some(1), VALID)).expect("valid")), "the same generation is validated once");
        assert!(specs.get(&policy("a", Some(2), INVALID)).is_none(), "the edited spec is invalid");
        assert!(specs.get(&policy("a", Some(3), VALID)).is_some());
    }

    #[test]
    fn a_recreated_policy_is_not_mistaken_for_the_old_one() {
        let specs = ValidatedSpecs::default();
        assert!(specs.get(&policy("a", Some(1), INVALID)).is_none());
        let mut recreated = policy("a", Some(1), VALID);
        recreated.metadata.uid = Some("uid-a-again".to_string());
        assert!(specs.get(&recreated).is_some());
    }

    #[test]
    fn objects_without_a_generation_are_never_served_from_the_cache() {
        let specs = ValidatedSpecs::default();
        assert!(specs.get(&policy("a", None, VALID)).is_some());
        assert!(specs.get(&policy("a", None, INVALID)).is_none());
        assert_eq!(specs.len(), 0);
    }

    #[test]
    fn deleted_policies_are_forgotten() {
        let specs = ValidatedSpecs::default();
        specs.get(&policy("a", Some(1), VALID));
        specs.get(&policy("b", Some(1), VALID));
        specs.retain(&HashSet::from(["b".to_string()]));
        assert_eq!(specs.len(), 1);
    }
}
