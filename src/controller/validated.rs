//! The validated specs of the watched policies, kept while their generation holds.
//!
//! Every reconcile needs every other policy's validated spec to find conflicts; validating
//! N specs in each of N reconciles would make a pass over all policies O(N²) validations.
//! A spec only changes with its generation, so one validation per generation is enough.

use std::collections::HashMap;
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

impl Entry {
    fn holds(&self, policy: &CostPolicy) -> bool {
        Some(self.generation) == policy.metadata.generation && self.uid == policy.metadata.uid
    }
}

#[derive(Default)]
pub struct ValidatedSpecs {
    /// The policies of the last call, by name: a policy no longer listed is forgotten.
    entries: Mutex<HashMap<String, Entry>>,
}

impl ValidatedSpecs {
    /// The valid ones of `policies`, validated again only when their generation (or uid) is
    /// new since the last call.
    pub fn valid(&self, policies: &[&CostPolicy]) -> Vec<Arc<ValidatedPolicy>> {
        let Ok(mut entries) = self.entries.lock() else {
            return policies.iter().filter_map(|p| validate(&p.name_any(), &p.spec).ok().map(Arc::new)).collect();
        };
        let mut kept = HashMap::with_capacity(policies.len());
        let mut valid = Vec::with_capacity(policies.len());
        for policy in policies {
            let name = policy.name_any();
            let entry = match entries.remove(&name) {
                Some(entry) if entry.holds(policy) => entry,
                _ => {
                    let validated = validate(&name, &policy.spec).ok().map(Arc::new);
                    // Without a generation (never from an API server) a kept answer could be stale.
                    let Some(generation) = policy.metadata.generation else {
                        valid.extend(validated);
                        continue;
                    };
                    Entry { uid: policy.metadata.uid.clone(), generation, validated }
                }
            };
            valid.extend(entry.validated.clone());
            kept.insert(name, entry);
        }
        *entries = kept;
        valid
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

    fn names(valid: &[Arc<ValidatedPolicy>]) -> Vec<&str> {
        valid.iter().map(|v| v.name.as_str()).collect()
    }

    #[test]
    fn a_new_generation_is_validated_again() {
        let specs = ValidatedSpecs::default();
        let first = specs.valid(&[&policy("a", Some(1), VALID)]);
        let again = specs.valid(&[&policy("a", Some(1), VALID)]);
        assert!(Arc::ptr_eq(&first[0], &again[0]), "the same generation is validated once");
        assert!(specs.valid(&[&policy("a", Some(2), INVALID)]).is_empty(), "the edited spec is invalid");
        assert_eq!(names(&specs.valid(&[&policy("a", Some(3), VALID)])), ["a"]);
    }

    #[test]
    fn a_recreated_policy_is_not_mistaken_for_the_old_one() {
        let specs = ValidatedSpecs::default();
        assert!(specs.valid(&[&policy("a", Some(1), INVALID)]).is_empty());
        let mut recreated = policy("a", Some(1), VALID);
        recreated.metadata.uid = Some("uid-a-again".to_string());
        assert_eq!(names(&specs.valid(&[&recreated])), ["a"]);
    }

    #[test]
    fn objects_without_a_generation_are_never_served_from_the_cache() {
        let specs = ValidatedSpecs::default();
        assert_eq!(names(&specs.valid(&[&policy("a", None, VALID)])), ["a"]);
        assert!(specs.valid(&[&policy("a", None, INVALID)]).is_empty());
        assert_eq!(specs.len(), 0);
    }

    #[test]
    fn only_valid_policies_are_returned_and_unlisted_ones_forgotten() {
        let specs = ValidatedSpecs::default();
        let (a, b, c) = (policy("a", Some(1), VALID), policy("b", Some(1), INVALID), policy("c", Some(1), VALID));
        assert_eq!(names(&specs.valid(&[&a, &b, &c])), ["a", "c"]);
        assert_eq!(names(&specs.valid(&[&c])), ["c"]);
        assert_eq!(specs.len(), 1, "a and b (deleted) are forgotten");
    }
}
