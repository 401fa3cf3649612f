//! The JSON Schemas in docs/schemas are tested against the examples and against what we issue.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod common;

use common::*;
use esspass_core::CredentialType;
use esspass_credential::jose::CompactJws;
use esspass_credential::sdjwt::process::process;
use serde_json::{Value, json};

fn schema(name: &str) -> jsonschema::Validator {
    let path = format!("{}/../../docs/schemas/{name}", env!("CARGO_MANIFEST_DIR"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::validator_for(&v).unwrap()
}

/// The fully disclosed payload of a credential we issue.
fn processed(t: CredentialType) -> Value {
    let i = issue_default(t);
    let jws = CompactJws::parse(&i.sd_jwt.jwt).unwrap();
    let mut claims = process(&jws.payload, &i.sd_jwt.disclosures).unwrap().claims;
    claims.remove("_sd_alg");
    Value::Object(claims)
}

#[test]
fn issued_credentials_validate_against_their_schemas() {
    for (t, name) in [(CredentialType::Pda1, "pda1.schema.json"), (CredentialType::Ehic, "ehic.schema.json")] {
        let s = schema(name);
        let v = processed(t);
        let errors: Vec<String> = s.iter_errors(&v).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        // The business claims of the example, with the JWT claims of the issued credential.
        let mut example = claims(t);
        for k in ["vct", "jti", "sub", "iss", "iat", "nbf", "exp", "cnf", "status"] {
            if let Some(x) = v.get(k) {
                example[k] = x.clone();
            }
        }
        assert!(s.is_valid(&example), "{name}: example");
    }
}

#[test]
fn schemas_reject_what_the_domain_rejects() {
    let pda1 = schema("pda1.schema.json");
    let good = processed(CredentialType::Pda1);
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("EESSI country code in a claim", Box::new(|v| v["legislation_country"] = json!("EL"))),
        ("status code 13", Box::new(|v| v["status_confirmation"] = json!("13"))),
        ("employer type 03", Box::new(|v| v["employer"][0]["type"] = json!("03"))),
        ("no employer", Box::new(|v| v["employer"] = json!([]))),
        ("empty work_information", Box::new(|v| v["work_information"] = json!({}))),
        ("unknown claim", Box::new(|v| v["issuing_country"] = json!("GR"))),
        ("missing ending_date", Box::new(|v| { v.as_object_mut().unwrap().remove("ending_date"); })),
        ("short document number", Box::new(|v| v["document_number"] = json!("abc"))),
        ("private key in cnf", Box::new(|v| v["cnf"]["jwk"]["d"] = json!("AAAA"))),
        ("bad institution id", Box::new(|v| v["authentic_source"]["id"] = json!("EL-EFKA"))),
    ];
    assert!(pda1.is_valid(&good));
    for (what, f) in cases {
        let mut v = good.clone();
        f(&mut v);
        assert!(!pda1.is_valid(&v), "schema accepted: {what}");
    }
    let ehic = schema("ehic.schema.json");
    let mut e = processed(CredentialType::Ehic);
    assert!(ehic.is_valid(&e));
    e["subject"] = json!({"forenames": "Ana"});
    assert!(!ehic.is_valid(&e));
}

#[test]
fn demo_trusted_lists_validate_against_the_schema() {
    let s = schema("trusted-list.schema.json");
    let p = pki();
    for f in ["issuers.json", "verifiers.json", "repository.json"] {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(p.dir.join("trusted-lists").join(f)).unwrap()).unwrap();
        let errors: Vec<String> = s.iter_errors(&v).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "{f}: {errors:?}");
    }
}
