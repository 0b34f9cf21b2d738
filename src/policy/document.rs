//! A policy document read into statements the evaluator can apply: `Effect`, `Principal`/
//! `NotPrincipal`, `Action`/`NotAction`, `Resource`/`NotResource` and `Condition`, each as AWS writes
//! it ("IAM JSON policy element reference"): one string or a list of strings, a principal as `"*"` or
//! a map of kinds (`AWS`, `Service`, …) to one or more names, condition values as strings, numbers or
//! booleans, one or a list.
//!
//! Reading is lenient: a statement whose `Effect` is neither `Allow` nor `Deny` (IAM would have
//! refused the document) is left out; unknown elements are ignored. Nothing here decides whether a
//! statement applies to a request; that is [`super::evaluate`].

use serde_json::Value;

/// `Allow` or `Deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// A list element and whether it was written negated (`NotAction`, `NotResource`, `NotPrincipal`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed<T> {
    pub items: T,
    pub negated: bool,
}

/// The principals a `Principal` element names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Principals {
    /// `"*"` or `{"AWS": "*"}`: everyone.
    pub everyone: bool,
    /// `AWS` entries: account ids, account root ARNs, user and role ARNs.
    pub aws: Vec<String>,
    /// `Service` entries: service principal names.
    pub services: Vec<String>,
}

/// One condition: operator (`StringEquals`, `ForAnyValue:StringLike`, `BoolIfExists`), key and the
/// policy's values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

/// One statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    /// `None` in identity policies, which name no principal.
    pub principal: Option<Listed<Principals>>,
    pub action: Listed<Vec<String>>,
    /// `None` when the statement names no resource (a trust policy).
    pub resource: Option<Listed<Vec<String>>>,
    /// All must hold.
    pub conditions: Vec<Condition>,
}

/// The statements of a document (one statement object counts as one).
pub fn read(document: &Value) -> Vec<Statement> {
    super::statements(document).iter().filter_map(statement).collect()
}

fn statement(value: &Value) -> Option<Statement> {
    let effect = match value.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => return None,
    };
    let principal = listed(value, "Principal", "NotPrincipal", principals);
    Some(Statement {
        sid: value.get("Sid").and_then(Value::as_str).map(str::to_string),
        effect,
        principal,
        action: listed(value, "Action", "NotAction", |v| Some(strings(v))).unwrap_or(Listed { items: Vec::new(), negated: false }),
        resource: listed(value, "Resource", "NotResource", |v| Some(strings(v))),
        conditions: conditions(value.get("Condition")),
    })
}

/// The element `plain` or its negated form `negated`, read by `read`.
fn listed<T>(statement: &Value, plain: &str, negated: &str, read: impl Fn(&Value) -> Option<T>) -> Option<Listed<T>> {
    match (statement.get(plain), statement.get(negated)) {
        (Some(value), _) => read(value).map(|items| Listed { items, negated: false }),
        (None, Some(value)) => read(value).map(|items| Listed { items, negated: true }),
        (None, None) => None,
    }
}

/// A string, number or boolean as text; a list of them element-wise.
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::String(text) => vec![text.clone()],
        Value::Bool(_) | Value::Number(_) => vec![value.to_string()],
        _ => Vec::new(),
    }
}

fn principals(value: &Value) -> Option<Principals> {
    match value {
        Value::String(star) if star == "*" => Some(Principals { everyone: true, ..Principals::default() }),
        Value::Object(kinds) => {
            let aws = kinds.get("AWS").map(strings).unwrap_or_default();
            Some(Principals {
                everyone: aws.iter().any(|entry| entry == "*"),
                aws: aws.into_iter().filter(|entry| entry != "*").collect(),
                services: kinds.get("Service").map(strings).unwrap_or_default(),
            })
        }
        _ => None,
    }
}

fn conditions(block: Option<&Value>) -> Vec<Condition> {
    let Some(Value::Object(operators)) = block else { return Vec::new() };
    operators
        .iter()
        .flat_map(|(operator, keys)| {
            keys.as_object()
                .into_iter()
                .flatten()
                .map(|(key, values)| Condition { operator: operator.clone(), key: key.clone(), values: strings(values) })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn statements_are_read_in_every_shape_aws_accepts() {
        let document = json!({"Statement": [
            {"Sid": "One", "Effect": "Deny", "Principal": "*", "NotAction": ["s3:Get*", "s3:List*"], "Resource": "arn:aws:s3:::b/*",
             "Condition": {"Bool": {"aws:SecureTransport": false}, "StringNotEquals": {"aws:SourceVpce": ["vpce-1", "vpce-2"]}}},
            {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::1:root", "*"], "Service": "cloudtrail.amazonaws.com"}, "Action": "kms:*"},
            {"Effect": "Allow", "Action": "s3:PutObject", "NotResource": "arn:aws:s3:::b"},
            {"Effect": "Maybe", "Action": "*", "Resource": "*"}
        ]});
        let statements = read(&document);
        assert_eq!(statements.len(), 3, "a statement with an unknown effect is left out");
        let deny = &statements[0];
        assert_eq!((deny.sid.as_deref(), deny.effect), (Some("One"), Effect::Deny));
        assert_eq!(deny.principal, Some(Listed { items: Principals { everyone: true, ..Principals::default() }, negated: false }));
        assert_eq!(deny.action, Listed { items: vec!["s3:Get*".to_string(), "s3:List*".to_string()], negated: true });
        assert_eq!(deny.conditions[0], Condition { operator: "Bool".into(), key: "aws:SecureTransport".into(), values: vec!["false".into()] });
        assert_eq!(deny.conditions[1].values, ["vpce-1", "vpce-2"]);
        let keyed = statements[1].principal.as_ref().unwrap();
        assert!(keyed.items.everyone && keyed.items.aws == ["arn:aws:iam::1:root"] && keyed.items.services == ["cloudtrail.amazonaws.com"]);
        assert_eq!(statements[1].resource, None, "no Resource element");
        assert!(statements[2].resource.as_ref().unwrap().negated);
        assert_eq!(statements[2].principal, None, "an identity policy names no principal");
    }
}
