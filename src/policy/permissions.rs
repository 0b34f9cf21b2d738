//! Which actions a principal's identity policies allow on every resource: a small, conservative
//! evaluator for questions like "can this instance role use Session Manager?".
//!
//! An action counts as allowed when some statement has `Effect: Allow`, an `Action` (a string or a
//! list) with a pattern that matches it — `*` matches any run of characters, `?` one character,
//! case-insensitively, as IAM compares actions — and a `Resource` with a pattern that matches `*`
//! (every resource). A statement with `NotAction`, `NotResource` or a non-empty `Condition` never
//! counts as allowing: whether it applies depends on the request. An explicit `Deny` that may apply to
//! the action (its `Action` matches it, or its `NotAction` does not), whatever its resources and
//! conditions, takes the action away. Permissions boundaries, session policies and SCPs are not
//! looked at. So the answer errs towards "missing": a finding a human can dismiss, never a silent gap.

use serde_json::Value;

use super::statements;
use super::wildcard::Wildcard;

/// The actions of `wanted`, in their order, that `documents` together do not allow on every resource
/// (see the module documentation for what counts).
pub fn missing_actions<'a>(documents: &[&Value], wanted: &[&'a str]) -> Vec<&'a str> {
    let all: Vec<Value> = documents.iter().flat_map(|document| statements(document)).collect();
    wanted
        .iter()
        .copied()
        .filter(|action| !all.iter().any(|s| allows_everywhere(s, action)) || all.iter().any(|s| may_deny(s, action)))
        .collect()
}

/// True when `statement` allows `action` on every resource, unconditionally.
fn allows_everywhere(statement: &Value, action: &str) -> bool {
    let conditional = statement.get("Condition").is_some_and(|c| c.as_object().is_none_or(|map| !map.is_empty()));
    effect_is(statement, "Allow")
        && statement.get("NotAction").is_none()
        && statement.get("NotResource").is_none()
        && !conditional
        && patterns(statement.get("Action")).iter().any(|pattern| Wildcard::IAM_ACTION.matches(pattern, action))
        && patterns(statement.get("Resource")).iter().any(|pattern| Wildcard::IAM_ACTION.matches(pattern, "*"))
}

/// True when `statement` is a `Deny` that may apply to `action`.
fn may_deny(statement: &Value, action: &str) -> bool {
    let matches = |key: &str| patterns(statement.get(key)).iter().any(|pattern| Wildcard::IAM_ACTION.matches(pattern, action));
    effect_is(statement, "Deny") && (matches("Action") || (statement.get("NotAction").is_some() && !matches("NotAction")))
}

fn effect_is(statement: &Value, effect: &str) -> bool {
    statement.get("Effect").and_then(Value::as_str) == Some(effect)
}

/// The strings of an `Action`/`Resource` element: one string or a list of them.
fn patterns(element: Option<&Value>) -> Vec<&str> {
    match element {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SESSION: &[&str] = &["ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:OpenDataChannel"];

    fn missing(documents: &[&Value]) -> Vec<&'static str> {
        missing_actions(documents, SESSION)
    }

    #[test]
    fn allow_statements_grant_by_action_pattern_on_every_resource() {
        let exact = json!({"Statement": [{"Effect": "Allow", "Action": SESSION, "Resource": "*"}]});
        assert_eq!(missing(&[&exact]), Vec::<&str>::new());
        let service_wide = json!({"Statement": [{"Effect": "Allow", "Action": "ssmmessages:*", "Resource": ["*"]}]});
        assert_eq!(missing(&[&service_wide]), ["ssm:UpdateInstanceInformation"]);
        let update = json!({"Statement": {"Effect": "Allow", "Action": "ssm:updateinstanceinformation", "Resource": "*"}});
        assert_eq!(missing(&[&service_wide, &update]), Vec::<&str>::new(), "documents add up");
        let everything = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        assert_eq!(missing(&[&everything]), Vec::<&str>::new());
    }

    #[test]
    fn narrowed_or_conditional_statements_do_not_grant() {
        let one_resource = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:ec2:*:1:instance/i-1"}]});
        let not_action = json!({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]});
        let not_resource = json!({"Statement": [{"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::b"}]});
        let conditional = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]});
        let s3_read = json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]});
        for document in [one_resource, not_action, not_resource, conditional, s3_read, json!({}), Value::Null] {
            assert_eq!(missing(&[&document]), SESSION, "{document}");
        }
        let empty_condition = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {}}]});
        assert_eq!(missing(&[&empty_condition]), Vec::<&str>::new(), "an empty condition is no condition");
    }

    #[test]
    fn an_explicit_deny_takes_actions_away() {
        let everything = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        let deny = json!({"Statement": [{"Effect": "Deny", "Action": "ssmmessages:Open*", "Resource": "arn:aws:ssm:*:*:session/*"}]});
        assert_eq!(missing(&[&everything, &deny]), ["ssmmessages:OpenDataChannel"]);
        let deny_all_but_ssm = json!({"Statement": [{"Effect": "Deny", "NotAction": "ssm:*", "Resource": "*"}]});
        assert_eq!(missing(&[&everything, &deny_all_but_ssm]), ["ssmmessages:CreateControlChannel", "ssmmessages:OpenDataChannel"]);
        let conditional_deny = json!({"Statement": [{"Effect": "Deny", "Action": "ssm:*", "Resource": "*", "Condition": {"Bool": {"aws:ViaAWSService": "true"}}}]});
        assert_eq!(missing(&[&everything, &conditional_deny]), ["ssm:UpdateInstanceInformation"], "a deny that may apply counts");
    }
}
