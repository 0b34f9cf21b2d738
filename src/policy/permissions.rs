//! Which of a list of requests a principal's identity policies leave out: questions like "can this
//! instance role open a Session Manager session?", answered by the evaluator ([`super::evaluate`]),
//! not by a second reading of the policies.
//!
//! The resources are taken to be the principal's own account's, with no resource policy that grants
//! or denies anything more (a bucket policy, a key policy delegating to IAM): what is judged is what
//! the identity policies allow. Permissions boundaries, session policies and SCPs are not looked at.

use serde_json::Value;

use super::evaluate::{evaluate, Policies};
use super::request::Request;

/// The requests of `wanted`, in their order, that `documents` together do not allow.
pub fn missing<'a>(documents: &[&Value], wanted: &'a [Request]) -> Vec<&'a Request> {
    let policies = Policies::identity(documents);
    wanted.iter().filter(|request| !evaluate(&policies, request).is_allowed()).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::policy::request::Principal;

    const SESSION: &[&str] = &["ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:OpenDataChannel"];

    fn missing_actions(documents: &[&Value]) -> Vec<String> {
        let role = Principal::aws("arn:aws:iam::111122223333:role/app");
        let wanted: Vec<Request> = SESSION.iter().map(|action| Request::new(role.clone(), action, "*")).collect();
        missing(documents, &wanted).iter().map(|request| request.action.clone()).collect()
    }

    #[test]
    fn allow_statements_grant_by_action_pattern() {
        let exact = json!({"Statement": [{"Effect": "Allow", "Action": SESSION, "Resource": "*"}]});
        assert_eq!(missing_actions(&[&exact]), Vec::<String>::new());
        let service_wide = json!({"Statement": [{"Effect": "Allow", "Action": "ssmmessages:*", "Resource": ["*"]}]});
        assert_eq!(missing_actions(&[&service_wide]), ["ssm:UpdateInstanceInformation"]);
        let update = json!({"Statement": {"Effect": "Allow", "Action": "ssm:updateinstanceinformation", "Resource": "*"}});
        assert_eq!(missing_actions(&[&service_wide, &update]), Vec::<String>::new(), "documents add up");
        let tls_only = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]});
        assert_eq!(missing_actions(&[&tls_only]), Vec::<String>::new(), "a condition the request meets grants");
    }

    #[test]
    fn narrowed_or_unmet_statements_do_not_grant() {
        let one_resource = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:ec2:*:1:instance/i-1"}]});
        let not_action = json!({"Statement": [{"Effect": "Allow", "NotAction": "ssm*", "Resource": "*"}]});
        let through_endpoint = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}]});
        let s3_read = json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]});
        for document in [one_resource, not_action, through_endpoint, s3_read, json!({}), Value::Null] {
            assert_eq!(missing_actions(&[&document]), SESSION, "{document}");
        }
    }

    #[test]
    fn an_explicit_deny_takes_actions_away() {
        let everything = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        let deny = json!({"Statement": [{"Effect": "Deny", "Action": "ssmmessages:Open*", "Resource": "*"}]});
        assert_eq!(missing_actions(&[&everything, &deny]), ["ssmmessages:OpenDataChannel"]);
        let deny_all_but_ssm = json!({"Statement": [{"Effect": "Deny", "NotAction": "ssm:*", "Resource": "*"}]});
        assert_eq!(missing_actions(&[&everything, &deny_all_but_ssm]), ["ssmmessages:CreateControlChannel", "ssmmessages:OpenDataChannel"]);
        let unknowable_deny = json!({"Statement": [{"Effect": "Deny", "Action": "ssm:*", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}}]});
        assert_eq!(missing_actions(&[&everything, &unknowable_deny]), ["ssm:UpdateInstanceInformation"], "a deny mamori cannot rule out counts");
    }
}
