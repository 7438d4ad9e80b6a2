//! Bad input: invalid CostPolicies are rejected with a message naming the field, never a
//! panic, never an AWS call (validation runs before any client exists).

#[path = "common/bad_specs.rs"]
mod bad_specs;

use bad_specs::{GOOD_AWS, invalid_specs};
use frugal_operator::api::CostPolicy;
use frugal_operator::api::manifest::{self, ManifestError};
use frugal_operator::api::validate::validate;
use proptest::prelude::*;

const BASE: &str = "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {name: bad}\nspec:\n";

/// Reads `spec_yaml` (the lines under `spec:`) as `frugal plan -f` does, then validates it;
/// Err carries every error, located in the file.
fn check(spec_yaml: &str) -> Result<(), Vec<ManifestError>> {
    let text = format!("{BASE}{spec_yaml}");
    let manifests = manifest::read::<CostPolicy>(&text).map_err(|e| e.0)?;
    for manifest in &manifests {
        let name = manifest.object.metadata.name.clone().unwrap_or_default();
        manifest.check(validate(&name, &manifest.object.spec)).map_err(|e| e.0)?;
    }
    Ok(())
}

#[test]
fn forty_and_more_invalid_policies_are_rejected_naming_the_field_and_its_line() {
    let cases = invalid_specs();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for (spec, field) in &cases {
        let errors = match check(spec) {
            Ok(()) => panic!("accepted an invalid policy (expected an error naming {field}):\n{spec}"),
            Err(errors) => errors,
        };
        // The full path (`mode` is `spec.mode`), and a line within the spec.
        let named = errors.iter().find(|e| e.field.starts_with("spec") && e.field.contains(field));
        let error = named.unwrap_or_else(|| panic!("the errors for\n{spec}\nmust name {field:?}: {errors:?}"));
        let location = error.location.unwrap_or_else(|| panic!("{error} has no line"));
        assert!(location.line >= 4, "{error}: line {} is not in the spec", location.line);
    }
}

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9:/.\\-]{0,40}",
        "\\PC{0,20}",
        Just("arn:aws:iam::123456789012:role/x".to_string()),
        Just("eu-west-1".to_string()),
        Just("10m".to_string()),
    ]
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        arb_text().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("mode".to_string()),
                    Just("aws".to_string()),
                    Just("region".to_string()),
                    Just("roleArn".to_string()),
                    Just("gatewayEndpoints".to_string()),
                    Just("services".to_string()),
                    Just("snapshotRetention".to_string()),
                    Just("maxAgeDays".to_string()),
                    Just("ssmAccess".to_string()),
                    Just("backup".to_string()),
                    "[a-zA-Z]{1,12}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Fuzzing spec parsing and validation: any input is either a validated policy or an
    /// error that names a field; nothing panics.
    #[test]
    fn arbitrary_specs_never_panic_and_errors_name_a_field(spec in arb_json()) {
        let object = serde_json::json!({"apiVersion": "frugal.dev/v1alpha1", "kind": "CostPolicy", "metadata": {"name": "fuzz"}, "spec": spec});
        if let Ok(policy) = serde_json::from_value::<CostPolicy>(object)
            && let Err(error) = validate("fuzz", &policy.spec)
        {
            prop_assert!(!error.0.is_empty());
            for field in &error.0 {
                prop_assert!(field.field.starts_with("spec") || field.field.starts_with("metadata"), "{:?}", field);
            }
        }
    }

    /// The strict reader on the same inputs, as YAML text: a policy or located errors, each
    /// naming a field of the spec; nothing panics.
    #[test]
    fn arbitrary_files_never_panic_and_errors_name_a_located_field(spec in arb_json()) {
        let object = serde_json::json!({"apiVersion": "frugal.dev/v1alpha1", "kind": "CostPolicy", "metadata": {"name": "fuzz"}, "spec": spec});
        let text = serde_yaml::to_string(&object).expect("yaml");
        if let Err(errors) = manifest::read::<CostPolicy>(&text) {
            prop_assert!(!errors.0.is_empty());
            for error in &errors.0 {
                prop_assert!(error.field.starts_with("spec"), "{:?}", error);
                prop_assert!(error.location.is_some(), "{:?}", error);
            }
        }
    }
}

#[test]
fn ten_thousand_bad_entries_give_a_short_message_that_fits_a_condition() {
    let ids = (0..10_000).map(|i| format!("subnet-{i}")).collect::<Vec<_>>().join(", ");
    // Too many ids, and each of the 10,000 malformed: 10,001 reasons.
    let spec = format!("{GOOD_AWS}  gatewayEndpoints: {{services: [s3], vpcIds: [{ids}]}}\n");
    let policy: CostPolicy = serde_yaml::from_str(&format!("{BASE}{spec}")).expect("parses");
    let message = validate("bad", &policy.spec).expect_err("invalid").to_string();
    assert!(message.starts_with("spec.gatewayEndpoints.vpcIds"), "{}", &message[..200]);
    assert!(message.ends_with("and 9991 more"), "the first ten reasons, then a count: {}", &message[message.len() - 200..]);
    assert!(message.len() < 2_000, "{} characters", message.len());
}
