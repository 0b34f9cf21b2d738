//! The generic, pure diff between an observed and a desired state.
//!
//! Controls share one state type between what is and what should be, so drift is `!=`; this module
//! says *where* two states differ, field by field, for messages and for the `before`/`after` of a
//! change. Both sides are serialized to JSON first, so any `Serialize` state works.

use serde::Serialize;
use serde_json::{Map, Value};

/// One differing field: its dotted path and both values (`null` where a side lacks it).
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDiff {
    pub field: String,
    pub observed: Value,
    pub desired: Value,
}

/// Fields that differ between `observed` and `desired`, in field order; nested objects are walked with
/// dotted paths, anything else (lists included) compares as a whole.
pub fn diff<S: Serialize>(observed: &S, desired: &S) -> Vec<FieldDiff> {
    let observed = serde_json::to_value(observed).expect("states serialize");
    let desired = serde_json::to_value(desired).expect("states serialize");
    diff_values(&observed, &desired)
}

/// [`diff`] on values already serialized.
pub fn diff_values(observed: &Value, desired: &Value) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    walk("", observed, desired, &mut out);
    out
}

fn walk(path: &str, observed: &Value, desired: &Value, out: &mut Vec<FieldDiff>) {
    match (observed, desired) {
        (Value::Object(o), Value::Object(d)) => {
            let mut keys: Vec<&String> = d.keys().chain(o.keys().filter(|k| !d.contains_key(*k))).collect();
            keys.dedup();
            for key in keys {
                let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                walk(&child, o.get(key).unwrap_or(&Value::Null), d.get(key).unwrap_or(&Value::Null), out);
            }
        }
        _ if observed != desired => out.push(FieldDiff {
            field: if path.is_empty() { "value".into() } else { path.into() },
            observed: observed.clone(),
            desired: desired.clone(),
        }),
        _ => {}
    }
}

/// The differing fields as two JSON objects (`before`, `after`) keyed by field path.
pub fn before_after(diffs: &[FieldDiff]) -> (Value, Value) {
    let before: Map<String, Value> = diffs.iter().map(|d| (d.field.clone(), d.observed.clone())).collect();
    let after: Map<String, Value> = diffs.iter().map(|d| (d.field.clone(), d.desired.clone())).collect();
    (Value::Object(before), Value::Object(after))
}

/// `field: observed → desired` for each differing field, one per line.
pub fn describe(diffs: &[FieldDiff]) -> String {
    diffs.iter().map(|d| format!("{}: {} → {}", d.field, d.observed, d.desired)).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Serialize)]
    struct State {
        enabled: bool,
        key: Option<String>,
        nested: Inner,
    }

    #[derive(Serialize)]
    struct Inner {
        days: u32,
        list: Vec<u32>,
    }

    #[test]
    fn equal_states_have_no_diff() {
        let a = State { enabled: true, key: None, nested: Inner { days: 1, list: vec![1] } };
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn differing_fields_are_listed_with_dotted_paths() {
        let observed = State { enabled: false, key: None, nested: Inner { days: 1, list: vec![1, 2] } };
        let desired = State { enabled: true, key: Some("k".into()), nested: Inner { days: 1, list: vec![2] } };
        let diffs = diff(&observed, &desired);
        let fields: Vec<&str> = diffs.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["enabled", "key", "nested.list"]);
        assert_eq!(diffs[1].observed, Value::Null);
        let (before, after) = before_after(&diffs);
        assert_eq!(before, json!({"enabled": false, "key": null, "nested.list": [1, 2]}));
        assert_eq!(after, json!({"enabled": true, "key": "k", "nested.list": [2]}));
        assert_eq!(describe(&diffs[..1]), "enabled: false → true");
    }

    #[test]
    fn scalars_compare_as_a_whole() {
        let diffs = diff(&1, &2);
        assert_eq!(diffs, vec![FieldDiff { field: "value".into(), observed: json!(1), desired: json!(2) }]);
    }
}
