//! A call AWS refused for lack of permission, told so that the operator knows what to grant: the
//! IAM action (in IAM's spelling, `s3:ListBucket` for a `HeadBucket`), the resource where AWS named
//! it, and the fix: `mamori policy` prints the policy the run needs; a denial by a service control
//! policy is named as such, since the fix is then in the organization's SCPs, not in the role.
//!
//! AWS's access-denied messages follow the formats of the IAM User Guide's "Troubleshoot access
//! denied error messages"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html>):
//! `User: ARN is not authorized to perform: ACTION on resource: ARN because no identity-based policy
//! allows the ACTION action`, or `... with an explicit deny in a service control policy`. They are
//! read for the action, the resource and the policy type; a message without them (a JSON service
//! whose error body the SDK could not read, an older format) falls back to the action of the call.
//!
//! Pure: reads an [`AwsError`], never calls AWS, and never prints credentials (AWS's messages name
//! the caller's ARN, which is not a secret).

use std::path::Path;

use crate::aws::{AccessMode, AwsError};

use super::operations;

/// The error codes AWS answers a call the caller may not make with, by protocol: `AccessDenied`
/// (query and REST-XML services, S3), `AccessDeniedException` (JSON services), `UnauthorizedOperation`
/// (EC2), `AuthorizationError` (SNS).
const DENIAL_CODES: &[&str] = &["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"];

/// Which policy refused the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeniedBy {
    /// The caller's own policies (no identity-based policy allows it, or one denies it, or a
    /// permissions boundary or session policy): the fix is the caller's policy.
    Caller,
    /// A service control policy of the organization: the fix is in the organization's SCPs.
    ServiceControlPolicy,
}

/// What AWS refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// IAM actions, `service:Action` (one, unless the call is authorized by several).
    pub actions: Vec<String>,
    /// The resource AWS named, when it did.
    pub resource: Option<String>,
    pub by: DeniedBy,
}

/// The denial `error` is, if it is one: an access-denied code, or HTTP 403 without a code the SDK
/// could read.
pub fn denial(error: &AwsError) -> Option<Denial> {
    let coded = error.code.as_deref().is_some_and(|code| DENIAL_CODES.contains(&code));
    if !coded && !(error.status == Some(403) && error.code.is_none()) {
        return None;
    }
    let message = error.message.as_str();
    let named_action = after(message, "is not authorized to perform: ").and_then(|rest| rest.split_whitespace().next()).map(str::to_string);
    let actions = named_action.map(|action| vec![action]).unwrap_or_else(|| operations::iam_actions_of_call(&error.operation));
    let resource = after(message, " on resource: ").map(|rest| {
        let end = [" because ", " with an explicit "].iter().filter_map(|reason| rest.find(reason)).min().unwrap_or(rest.len());
        rest[..end].trim_matches(['"', '.']).to_string()
    });
    let by = if message.contains("explicit deny in a service control policy") { DeniedBy::ServiceControlPolicy } else { DeniedBy::Caller };
    Some(Denial { actions, resource, by })
}

/// The text of `message` after `marker`, when there is some.
fn after<'a>(message: &'a str, marker: &str) -> Option<&'a str> {
    let rest = message[message.find(marker)? + marker.len()..].trim();
    (!rest.is_empty()).then_some(rest)
}

/// `error` as a finding says it: AWS's own words, and for a denial what to grant and how to print it.
/// `mode` is the run's (a read-only run needs the `verify` policy, which is also `plan`'s).
pub fn explained(error: &AwsError, mode: AccessMode, baseline: &Path) -> String {
    let Some(denial) = denial(error) else {
        return error.to_string();
    };
    let actions = denial.actions.iter().map(|action| format!("`{action}`")).collect::<Vec<_>>().join(" and ");
    let on = denial.resource.as_deref().map(|resource| format!(" on `{resource}`")).unwrap_or_default();
    let advice = match denial.by {
        DeniedBy::ServiceControlPolicy => {
            format!("a service control policy of the organization denies {actions}{on}: the fix is in the organization's SCPs, not in this role's policy")
        }
        DeniedBy::Caller => {
            let verb = if mode == AccessMode::ReadOnly { "verify" } else { "apply" };
            format!("mamori needs {actions}{on}: run `mamori policy --verb {verb} --baseline {}` to print the policy this run needs", baseline.display())
        }
    };
    format!("{error} — {advice}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(operation: &str, code: Option<&str>, status: u16, message: &str) -> AwsError {
        AwsError { operation: operation.into(), code: code.map(str::to_string), message: message.into(), request_id: Some("req-1".into()), status: Some(status) }
    }

    /// The formats of the IAM User Guide's "Troubleshoot access denied error messages".
    #[test]
    fn aws_messages_name_the_action_the_resource_and_the_policy_type() {
        let identity = refused(
            "kms:GetKeyPolicy",
            Some("AccessDeniedException"),
            400,
            "User: arn:aws:iam::777788889999:user/auditor is not authorized to perform: kms:GetKeyPolicy on resource: arn:aws:kms:us-east-1:777788889999:key/1234 because no identity-based policy allows the kms:GetKeyPolicy action",
        );
        let by_identity = denial(&identity).expect("a denial");
        assert_eq!(by_identity.actions, ["kms:GetKeyPolicy"]);
        assert_eq!(by_identity.resource.as_deref(), Some("arn:aws:kms:us-east-1:777788889999:key/1234"));
        assert_eq!(by_identity.by, DeniedBy::Caller);

        let scp = refused(
            "s3:GetBucketPolicy",
            Some("AccessDenied"),
            403,
            "User: arn:aws:sts::777788889999:assumed-role/mamori-verify/mamori-verify is not authorized to perform: s3:GetBucketPolicy on resource: \"arn:aws:s3:::mamori-audit-777788889999-us-east-1\" with an explicit deny in a service control policy",
        );
        let by_scp = denial(&scp).expect("a denial");
        assert_eq!(by_scp.by, DeniedBy::ServiceControlPolicy);
        assert_eq!(by_scp.resource.as_deref(), Some("arn:aws:s3:::mamori-audit-777788889999-us-east-1"));
        assert_eq!(by_scp.actions, ["s3:GetBucketPolicy"]);

        let explicit = refused("iam:GetUser", Some("AccessDenied"), 403, "User: arn:aws:iam::777788889999:user/auditor is not authorized to perform: iam:GetUser on resource: user bob with an explicit deny in an identity-based policy");
        let refused_by = denial(&explicit).expect("a denial");
        assert_eq!((refused_by.by, refused_by.resource.as_deref()), (DeniedBy::Caller, Some("user bob")));
    }

    #[test]
    fn without_aws_words_the_action_is_the_calls_in_iam_spelling() {
        let ec2 = refused("ec2:DescribeVpcs", Some("UnauthorizedOperation"), 403, "You are not authorized to perform this operation.");
        assert_eq!(denial(&ec2).expect("a denial").actions, ["ec2:DescribeVpcs"]);
        let head = refused("s3:HeadBucket", None, 403, "service error");
        assert_eq!(denial(&head).expect("a 403 without a code").actions, ["s3:ListBucket"]);
        let sns = refused("sns:GetTopicAttributes", Some("AuthorizationError"), 403, "not authorized");
        assert_eq!(denial(&sns).expect("a denial").resource, None);
        assert!(denial(&refused("kms:DescribeKey", Some("NotFoundException"), 400, "Alias is not found.")).is_none());
        assert!(denial(&refused("s3:GetBucketPolicy", Some("NoSuchBucketPolicy"), 404, "none")).is_none());
    }

    #[test]
    fn the_message_says_what_to_grant_and_how_to_print_it() {
        let baseline = Path::new("baselines/standard.yaml");
        let identity = refused("cloudtrail:DescribeTrails", None, 403, "service error");
        let told = explained(&identity, AccessMode::ReadOnly, baseline);
        assert!(told.contains("mamori needs `cloudtrail:DescribeTrails`: run `mamori policy --verb verify --baseline baselines/standard.yaml`"), "{told}");
        assert!(told.contains("request id req-1"), "AWS's own words stay: {told}");
        assert!(explained(&identity, AccessMode::ReadWrite, baseline).contains("--verb apply"));
        let scp = refused("kms:CreateKey", Some("AccessDeniedException"), 400, "User: arn:aws:iam::1:user/a is not authorized to perform: kms:CreateKey with an explicit deny in a service control policy");
        let told = explained(&scp, AccessMode::ReadWrite, baseline);
        assert!(told.contains("a service control policy of the organization denies `kms:CreateKey`: the fix is in the organization's SCPs"), "{told}");
        assert!(!told.contains("mamori policy"), "{told}");
        let other = refused("kms:DescribeKey", Some("NotFoundException"), 400, "not found");
        assert_eq!(explained(&other, AccessMode::ReadOnly, baseline), other.to_string());
    }
}
