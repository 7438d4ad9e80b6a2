//! Names of generated policies and the set's label value: deterministic, within Kubernetes'
//! limits, and shortened with a stable hash suffix so two long names never collide.

use sha2::{Digest, Sha256};

/// A CostPolicy's name is a DNS subdomain: at most 253 characters.
pub const MAX_NAME_LEN: usize = 253;
/// A label value: at most 63 characters.
pub const MAX_LABEL_VALUE_LEN: usize = 63;
/// Hex digits of the hash suffix: 40 bits, no collision between a set's policies in practice.
const HASH_LEN: usize = 10;

/// The generated policy of `account` and `region`: `<set>-<account>-<region>`.
pub fn policy_name(set: &str, account: &str, region: &str) -> String {
    shorten(&format!("{set}-{account}-{region}"), MAX_NAME_LEN)
}

/// The value of the `frugal.dev/set` label: the set's name, hashed when too long for a label.
pub fn set_label_value(set: &str) -> String {
    shorten(set, MAX_LABEL_VALUE_LEN)
}

/// `text` when it fits in `max` characters; else its head and a hash of the whole text, so
/// the result depends on every character and still ends alphanumeric.
fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let digest = Sha256::digest(text.as_bytes());
    let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect::<String>().chars().take(HASH_LEN).collect();
    let head: String = text.chars().take(max - HASH_LEN - 1).collect();
    format!("{}-{hash}", head.trim_end_matches(['-', '.']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_set_account_region() {
        assert_eq!(policy_name("prod", "111122223333", "ap-northeast-2"), "prod-111122223333-ap-northeast-2");
        assert_eq!(set_label_value("prod"), "prod");
    }

    #[test]
    fn long_names_are_cut_with_a_stable_hash_within_the_limit() {
        let set = "s".repeat(240);
        let a = policy_name(&set, "111122223333", "us-east-1");
        let b = policy_name(&set, "444455556666", "us-east-1");
        assert_eq!(a.len(), MAX_NAME_LEN);
        assert_ne!(a, b, "the hash covers the cut-off part");
        assert_eq!(a, policy_name(&set, "111122223333", "us-east-1"), "deterministic");
        assert!(a.starts_with(&"s".repeat(200)));
        let label = set_label_value(&"team.prod-".repeat(10));
        assert!(label.len() <= MAX_LABEL_VALUE_LEN, "{label}");
        assert!(label.chars().last().is_some_and(|c| c.is_ascii_alphanumeric()) && !label.contains("--"), "{label}");
        assert_ne!(set_label_value(&format!("{}a", "x".repeat(70))), set_label_value(&format!("{}b", "x".repeat(70))));
    }

    #[test]
    fn a_name_exactly_at_the_limit_is_kept() {
        assert_eq!(set_label_value(&"a".repeat(63)), "a".repeat(63));
        assert_ne!(set_label_value(&"a".repeat(64)), "a".repeat(63));
    }
}
