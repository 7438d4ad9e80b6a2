//! Wildcard patterns as IAM writes them (role ARN allowlists, policy actions): `*` matches
//! any run of characters, `?` exactly one; everything else is literal.

/// True when `text` matches `pattern` whole.
pub fn matches(pattern: &str, text: &str) -> bool {
    // Most Backup resource ARNs and allowlist entries are literal: no regex to build.
    if !pattern.contains(['*', '?']) {
        return pattern == text;
    }
    let mut expression = String::with_capacity(pattern.len() + 8);
    expression.push_str("^(?s:");
    for part in pattern.split_inclusive(['*', '?']) {
        let (literal, wildcard) = match part.chars().last() {
            Some(last @ ('*' | '?')) => (&part[..part.len() - 1], Some(last)),
            _ => (part, None),
        };
        expression.push_str(&regex::escape(literal));
        match wildcard {
            Some('*') => expression.push_str(".*"),
            Some(_) => expression.push('.'),
            None => {}
        }
    }
    expression.push_str(")$");
    // Every literal is escaped, so the expression always compiles; a failure would only
    // mean a pattern too large for the regex engine, which matches nothing.
    regex::Regex::new(&expression).is_ok_and(|re| re.is_match(text))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn stars_match_any_run_and_question_marks_one_character() {
        assert!(matches("*", "x"));
        assert!(matches("*", ""));
        assert!(matches("a*b*c", "abc"));
        assert!(!matches("a*b*c", "acb"));
        assert!(!matches("ab*ba", "aba"));
        assert!(matches("ssm:Update?nstance*", "ssm:UpdateInstanceInformation"));
        assert!(!matches("ssm:?", "ssm:"));
        assert!(matches("arn:aws:iam::*:role/frugal-*", "arn:aws:iam::111122223333:role/frugal-target"));
        assert!(matches("a.b", "a.b") && !matches("a.b", "axb"), "dots are literal");
        assert!(matches("(x)+[y]", "(x)+[y]"), "regex syntax is literal");
    }
}
