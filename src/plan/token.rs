//! Idempotency tokens (ClientToken, CreatorRequestId) derived from the policy and the
//! object, so that a retry after a crash names the same request and AWS makes no duplicate.

use sha2::{Digest, Sha256};

/// A token of at most 64 ASCII characters, stable for the same `parts`.
pub fn idempotency_token(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.len().to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("frugal-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_parts_give_the_same_token_and_boundaries_matter() {
        assert_eq!(idempotency_token(&["a", "b"]), idempotency_token(&["a", "b"]));
        assert_ne!(idempotency_token(&["ab", ""]), idempotency_token(&["a", "b"]));
        assert!(idempotency_token(&["x"]).len() <= 64);
    }
}
