//! The IAM policy document `mamori policy` prints: the actions a run needs ([`super::declared`]),
//! one statement per service and resource set, in a stable order, so that two runs print the same
//! bytes and a diff of the document is a diff of the permissions.
//!
//! Pure: no AWS call, no file.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::Needed;

/// `{"Version": "2012-10-17", "Statement": [...]}` for `needed`.
pub fn policy(needed: &[Needed]) -> Value {
    let mut by_service: BTreeMap<&str, BTreeMap<&[String], Vec<&str>>> = BTreeMap::new();
    for entry in needed {
        let service = entry.action.split(':').next().unwrap_or(&entry.action);
        by_service.entry(service).or_default().entry(entry.resources.as_slice()).or_default().push(&entry.action);
    }
    let mut statements = Vec::new();
    for (service, by_resources) in by_service {
        for (n, (resources, mut actions)) in by_resources.into_iter().enumerate() {
            actions.sort();
            let sid = format!("{}{}", sid_word(service), if n == 0 { String::new() } else { (n + 1).to_string() });
            statements.push(json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}));
        }
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// `cloudtrail` → `Cloudtrail`: a statement id (alphanumeric, as IAM requires) naming the service.
fn sid_word(service: &str) -> String {
    let mut chars = service.chars().filter(char::is_ascii_alphanumeric);
    chars.next().map(|first| first.to_ascii_uppercase().to_string() + &chars.collect::<String>()).unwrap_or_default()
}

/// The actions of a policy document printed by [`policy`], with the resources each is allowed on.
pub fn allowed(document: &Value) -> BTreeMap<String, Vec<String>> {
    let mut allowed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for statement in crate::policy::statements(document) {
        let list = |key: &str| match statement.get(key) {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        for action in list("Action") {
            allowed.entry(action).or_default().extend(list("Resource"));
        }
    }
    allowed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needed(action: &str, resources: &[&str]) -> Needed {
        Needed { action: action.into(), resources: resources.iter().map(|r| r.to_string()).collect() }
    }

    #[test]
    fn statements_group_by_service_then_by_resources() {
        let document = policy(&[
            needed("s3:GetBucketPolicy", &["arn:aws:s3:::b"]),
            needed("ec2:DescribeVpcs", &["*"]),
            needed("s3:ListAllMyBuckets", &["*"]),
            needed("s3:GetBucketVersioning", &["arn:aws:s3:::b"]),
        ]);
        assert_eq!(
            document["Statement"],
            json!([
                {"Sid": "Ec2", "Effect": "Allow", "Action": ["ec2:DescribeVpcs"], "Resource": ["*"]},
                {"Sid": "S3", "Effect": "Allow", "Action": ["s3:ListAllMyBuckets"], "Resource": ["*"]},
                {"Sid": "S32", "Effect": "Allow", "Action": ["s3:GetBucketPolicy", "s3:GetBucketVersioning"], "Resource": ["arn:aws:s3:::b"]},
            ])
        );
        assert_eq!(allowed(&document)["s3:GetBucketVersioning"], ["arn:aws:s3:::b"]);
    }
}
