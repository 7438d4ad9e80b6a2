//! Whether IAM policy documents let the SSM Agent register and open sessions: the actions
//! AmazonSSMManagedInstanceCore grants for that, judged from Allow and Deny statements
//! (wildcards honoured; resources and conditions are not evaluated).

use serde_json::Value;

/// What the SSM Agent needs to be a managed node reachable by Session Manager.
pub const AGENT_ACTIONS: [&str; 5] = [
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
];

/// Parses a policy document as IAM returns it (URL-encoded JSON, or plain JSON).
pub fn parse_document(raw: &str) -> Option<Value> {
    serde_json::from_str(raw).ok().or_else(|| serde_json::from_str(&percent_decode(raw)?).ok())
}

/// True when the documents together allow every agent action and deny none.
pub fn documents_allow_agent(documents: &[Value]) -> bool {
    let statements: Vec<&Value> = documents.iter().flat_map(statements).collect();
    let effect = |s: &Value, wanted: &str, action: &str| {
        s.get("Effect").and_then(Value::as_str) == Some(wanted) && s.get("Action").is_some_and(|a| matches_action(a, action))
    };
    AGENT_ACTIONS
        .iter()
        .all(|&action| statements.iter().any(|&s| effect(s, "Allow", action)) && !statements.iter().any(|&s| effect(s, "Deny", action)))
}

/// True when a trust policy lets `service` (e.g. ssm.amazonaws.com) assume the role.
pub fn trusts_service(document: &Value, service: &str) -> bool {
    statements(document).iter().any(|s| {
        let allows = s.get("Effect").and_then(Value::as_str) == Some("Allow")
            && s.get("Action").is_some_and(|a| matches_action(a, "sts:AssumeRole"));
        let services = s.get("Principal").and_then(|p| p.get("Service"));
        let names = match services {
            Some(Value::String(one)) => one == service,
            Some(Value::Array(many)) => many.iter().any(|v| v.as_str() == Some(service)),
            _ => false,
        };
        allows && names
    })
}

fn statements(document: &Value) -> Vec<&Value> {
    match document.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

/// `Action` as one pattern or a list of patterns; IAM matches actions case-insensitively.
fn matches_action(patterns: &Value, action: &str) -> bool {
    match patterns {
        Value::String(p) => crate::pattern::matches(&p.to_ascii_lowercase(), &action.to_ascii_lowercase()),
        Value::Array(list) => list.iter().any(|p| matches_action(p, action)),
        _ => false,
    }
}

/// IAM returns policy documents URL-encoded (`+` for a space, as forms encode it).
fn percent_decode(raw: &str) -> Option<String> {
    percent_encoding::percent_decode_str(&raw.replace('+', " ")).decode_utf8().ok().map(|text| text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(statements: &str) -> Value {
        serde_json::from_str(&format!(r#"{{"Version":"2012-10-17","Statement":{statements}}}"#)).expect("json")
    }

    #[test]
    fn the_exact_agent_actions_or_wildcards_grant_ssm() {
        let exact = doc(
            r#"[{"Effect":"Allow","Action":["ssm:UpdateInstanceInformation","ssmmessages:CreateControlChannel","ssmmessages:CreateDataChannel","ssmmessages:OpenControlChannel","ssmmessages:OpenDataChannel"],"Resource":"*"}]"#,
        );
        assert!(documents_allow_agent(&[exact]));
        let wild = doc(r#"[{"Effect":"Allow","Action":["ssm:*","ssmmessages:*"],"Resource":"*"}]"#);
        assert!(documents_allow_agent(&[wild]));
        assert!(documents_allow_agent(&[doc(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#)]));
        let split = [
            doc(r#"{"Effect":"Allow","Action":"SSM:UpdateInstance*","Resource":"*"}"#),
            doc(r#"{"Effect":"Allow","Action":"ssmmessages:*Channel","Resource":"*"}"#),
        ];
        assert!(documents_allow_agent(&split), "statements of several documents add up");
    }

    #[test]
    fn a_missing_action_or_a_deny_means_no_ssm() {
        let partial = doc(r#"[{"Effect":"Allow","Action":["ssm:*","ssmmessages:CreateControlChannel"],"Resource":"*"}]"#);
        assert!(!documents_allow_agent(&[partial]));
        let denied = [
            doc(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#),
            doc(r#"{"Effect":"Deny","Action":"ssmmessages:Open*","Resource":"*"}"#),
        ];
        assert!(!documents_allow_agent(&denied));
        assert!(!documents_allow_agent(&[]));
    }

    #[test]
    fn a_trust_policy_names_the_service_that_may_assume_the_role() {
        let ssm = doc(r#"{"Effect":"Allow","Principal":{"Service":"ssm.amazonaws.com"},"Action":"sts:AssumeRole"}"#);
        assert!(trusts_service(&ssm, "ssm.amazonaws.com"));
        let both =
            doc(r#"[{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","ssm.amazonaws.com"]},"Action":["sts:AssumeRole"]}]"#);
        assert!(trusts_service(&both, "ssm.amazonaws.com"));
        let ec2 = doc(r#"{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}"#);
        assert!(!trusts_service(&ec2, "ssm.amazonaws.com"));
        let denied = doc(r#"{"Effect":"Deny","Principal":{"Service":"ssm.amazonaws.com"},"Action":"sts:AssumeRole"}"#);
        assert!(!trusts_service(&denied, "ssm.amazonaws.com"));
    }

    #[test]
    fn url_encoded_documents_are_decoded() {
        let raw = "%7B%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22*%22%7D%7D";
        assert!(documents_allow_agent(&[parse_document(raw).expect("parsed")]));
        assert!(parse_document("%ZZ").is_none());
    }
}
