//! Semantic comparison of IAM-style policy documents (key policies, bucket policies, role policies).
//!
//! AWS hands back a policy in whatever shape it was written or re-serialized: statement order, key
//! order, whitespace, `"s3:GetObject"` versus `["s3:GetObject"]`, duplicated list entries. None of that
//! changes what the policy means, so none of it may cause a write. [`normalize`] maps a document to a
//! canonical form in which those differences vanish; equal canonical forms mean equal policies. It never
//! interprets wildcards or conditions: two documents that differ in meaning always stay different.

use serde_json::{Map, Value};

/// Canonical form of a policy document or statement: objects keep their keys (maps compare
/// order-insensitively), every list is normalized element-wise, sorted and deduplicated, and a
/// one-element list becomes its element.
pub fn normalize(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), normalize(v))).collect::<Map<_, _>>()),
        Value::Array(items) => {
            let mut normalized: Vec<Value> = items.iter().map(normalize).collect();
            normalized.sort_by_key(|item| item.to_string());
            normalized.dedup();
            if normalized.len() == 1 {
                normalized.pop().expect("one element")
            } else {
                Value::Array(normalized)
            }
        }
        other => other.clone(),
    }
}

/// The statements of a policy document, as a list (a single statement object counts as one).
pub fn statements(document: &Value) -> Vec<Value> {
    match document.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(statement @ Value::Object(_)) => vec![statement.clone()],
        _ => Vec::new(),
    }
}

/// A statement without its `Sid`, normalized: two statements that grant the same thing compare equal
/// whatever they are called.
pub fn statement_meaning(statement: &Value) -> Value {
    let mut statement = statement.clone();
    if let Value::Object(map) = &mut statement {
        map.remove("Sid");
    }
    normalize(&statement)
}

/// True when `document` contains a statement meaning the same as `wanted`.
pub fn contains_statement(document: &Value, wanted: &Value) -> bool {
    let wanted = statement_meaning(wanted);
    statements(document).iter().any(|statement| statement_meaning(statement) == wanted)
}

/// `current` with every statement of `required` that it lacks added: statements of `current` that
/// carry the same `Sid` as a required one are replaced, all others (foreign statements) are kept as
/// they are, in their order.
pub fn merge_statements(current: &Value, required: &Value) -> Value {
    let required_statements = statements(required);
    let required_sids: Vec<&str> = required_statements.iter().filter_map(|s| s.get("Sid")?.as_str()).collect();
    let mut merged: Vec<Value> = statements(current)
        .into_iter()
        .filter(|s| !s.get("Sid").and_then(Value::as_str).is_some_and(|sid| required_sids.contains(&sid)))
        .collect();
    for statement in required_statements {
        if !merged.iter().any(|existing| statement_meaning(existing) == statement_meaning(&statement)) {
            merged.push(statement);
        }
    }
    let mut document = match current {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    document.entry("Version").or_insert_with(|| required.get("Version").cloned().unwrap_or(Value::from("2012-10-17")));
    document.insert("Statement".into(), Value::Array(merged));
    Value::Object(document)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn order_whitespace_and_singletons_do_not_matter() {
        let a = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["b", "a"]},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]});
        let b: Value = serde_json::from_str(r#"{ "Statement": [ {"Resource":"*","Action":"s3:*","Effect":"Deny"},
            {"Resource": ["a","b","a"], "Effect":"Allow", "Action":"s3:GetObject"} ], "Version":"2012-10-17" }"#)
        .unwrap();
        assert_eq!(normalize(&a), normalize(&b));
    }

    #[test]
    fn different_meaning_stays_different() {
        let a = json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"});
        let b = json!({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"});
        let c = json!({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"});
        assert_ne!(normalize(&a), normalize(&b));
        assert_ne!(normalize(&a), normalize(&c));
    }

    #[test]
    fn statements_match_whatever_their_sid() {
        let document = json!({"Statement": {"Sid": "Theirs", "Effect": "Allow", "Action": ["kms:*"], "Resource": "*"}});
        assert!(contains_statement(&document, &json!({"Sid": "Ours", "Effect": "Allow", "Action": "kms:*", "Resource": "*"})));
        assert!(!contains_statement(&document, &json!({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})));
    }

    #[test]
    fn merge_keeps_foreign_statements_and_replaces_same_sid() {
        let current = json!({"Version": "2012-10-17", "Id": "keep", "Statement": [
            {"Sid": "Foreign", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
            {"Sid": "Ours", "Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}]});
        let required = json!({"Statement": [{"Sid": "Ours", "Effect": "Allow", "Action": "kms:*", "Resource": "*"}]});
        let merged = merge_statements(&current, &required);
        assert_eq!(merged["Id"], "keep");
        assert_eq!(statements(&merged).len(), 2);
        assert_eq!(statements(&merged)[0]["Sid"], "Foreign");
        assert!(contains_statement(&merged, &required["Statement"][0]));
        assert_eq!(merge_statements(&merged, &required), merged, "merging twice changes nothing");
    }
}
