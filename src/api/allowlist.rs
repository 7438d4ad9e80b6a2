//! Which IAM roles policies may ask the operator to assume (`--allowed-role-arns`): a
//! cluster-wide guard so that writing a CostPolicy cannot reach arbitrary accounts.

/// ARN patterns; `*` matches any run of characters. Empty: every role is allowed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleAllowlist {
    patterns: Vec<String>,
}

impl RoleAllowlist {
    pub fn new(patterns: Vec<String>) -> Self {
        Self { patterns: patterns.into_iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect() }
    }

    /// True when the policy may use `role_arn` (or the operator's own credentials, `None`).
    pub fn allows(&self, role_arn: Option<&str>) -> bool {
        match role_arn {
            None => true,
            Some(arn) => self.patterns.is_empty() || self.patterns.iter().any(|p| crate::pattern::matches(p, arn)),
        }
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_list_allows_everything_and_patterns_restrict() {
        assert!(RoleAllowlist::default().allows(Some("arn:aws:iam::111122223333:role/anything")));
        let list = RoleAllowlist::new(vec!["arn:aws:iam::*:role/frugal-*".into(), "arn:aws:iam::444455556666:role/ops".into()]);
        assert!(list.allows(Some("arn:aws:iam::111122223333:role/frugal-target")));
        assert!(list.allows(Some("arn:aws:iam::444455556666:role/ops")));
        assert!(!list.allows(Some("arn:aws:iam::444455556666:role/admin")));
        assert!(!list.allows(Some("arn:aws:iam::111122223333:role/other-frugal-x")));
        assert!(list.allows(None), "the operator's own credentials are always allowed");
    }
}
