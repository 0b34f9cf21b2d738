//! From an API operation, as the SDK and the call log name it (`S3`, `HeadBucket`), to the IAM
//! action(s) AWS authorizes it with (`s3:ListBucket`).
//!
//! Most operations are authorized by the action of the same name under the service's IAM prefix.
//! The exceptions are S3's, listed one by one from the Service Authorization Reference's "Actions
//! defined by Amazon S3" (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html>),
//! whose table names the API operation each action authorizes: `HeadBucket` needs `s3:ListBucket`,
//! `GetBucketEncryption` `s3:GetEncryptionConfiguration`, `DeleteBucketLifecycle`
//! `s3:PutLifecycleConfiguration`, and the account-level Block Public Access of S3 Control is
//! `s3:Get/PutAccountPublicAccessBlock`. An operation that carries tags in the same call needs the
//! tagging action too (`kms:CreateKey` with `Tags` needs `kms:TagResource`, per
//! <https://docs.aws.amazon.com/kms/latest/developerguide/create-keys.html#iam-policy-create-key>).
//!
//! This module is a table and a lookup; it never decides what a run needs (see [`super::declared`]).

/// The IAM prefix of a service as the SDK's operation metadata names it.
pub fn prefix(service: &str) -> String {
    match service {
        "S3" | "S3 Control" => "s3".into(),
        "CloudWatch Logs" => "logs".into(),
        "CloudWatch" => "cloudwatch".into(),
        "Route 53" => "route53".into(),
        other => other.to_ascii_lowercase().replace(' ', ""),
    }
}

/// Operations whose IAM action is not `prefix:Operation`: `(service, operation, actions)`.
const RENAMED: &[(&str, &str, &[&str])] = &[
    ("S3", "HeadBucket", &["s3:ListBucket"]),
    ("S3", "ListBuckets", &["s3:ListAllMyBuckets"]),
    ("S3", "GetBucketEncryption", &["s3:GetEncryptionConfiguration"]),
    ("S3", "PutBucketEncryption", &["s3:PutEncryptionConfiguration"]),
    ("S3", "GetBucketLifecycleConfiguration", &["s3:GetLifecycleConfiguration"]),
    ("S3", "PutBucketLifecycleConfiguration", &["s3:PutLifecycleConfiguration"]),
    ("S3", "DeleteBucketLifecycle", &["s3:PutLifecycleConfiguration"]),
    ("S3", "GetObjectLockConfiguration", &["s3:GetBucketObjectLockConfiguration"]),
    ("S3", "PutObjectLockConfiguration", &["s3:PutBucketObjectLockConfiguration"]),
    ("S3", "GetPublicAccessBlock", &["s3:GetBucketPublicAccessBlock"]),
    ("S3", "PutPublicAccessBlock", &["s3:PutBucketPublicAccessBlock"]),
    ("S3 Control", "GetPublicAccessBlock", &["s3:GetAccountPublicAccessBlock"]),
    ("S3 Control", "PutPublicAccessBlock", &["s3:PutAccountPublicAccessBlock"]),
    ("KMS", "CreateKey", &["kms:CreateKey", "kms:TagResource"]),
];

/// The IAM actions AWS checks for `operation` of `service` (`("S3", "HeadBucket")` → `s3:ListBucket`).
pub fn iam_actions(service: &str, operation: &str) -> Vec<String> {
    match RENAMED.iter().find(|(s, o, _)| *s == service && *o == operation) {
        Some((_, _, actions)) => actions.iter().map(|a| a.to_string()).collect(),
        None => vec![format!("{}:{operation}", prefix(service))],
    }
}

/// The IAM actions AWS checks for a call as [`crate::aws::AwsError`] names it, `service:Operation`
/// with the SDK's service id (`s3:HeadBucket` → `s3:ListBucket`, `s3control:PutPublicAccessBlock` →
/// `s3:PutAccountPublicAccessBlock`).
pub fn iam_actions_of_call(call: &str) -> Vec<String> {
    let (service_id, operation) = call.split_once(':').unwrap_or((call, ""));
    let service = match service_id {
        "s3" => "S3",
        "s3control" => "S3 Control",
        other => other,
    };
    iam_actions(service, operation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_map_to_the_actions_aws_checks() {
        assert_eq!(iam_actions("S3", "HeadBucket"), ["s3:ListBucket"]);
        assert_eq!(iam_actions("S3 Control", "PutPublicAccessBlock"), ["s3:PutAccountPublicAccessBlock"]);
        assert_eq!(iam_actions("S3", "PutPublicAccessBlock"), ["s3:PutBucketPublicAccessBlock"]);
        assert_eq!(iam_actions("CloudWatch Logs", "PutMetricFilter"), ["logs:PutMetricFilter"]);
        assert_eq!(iam_actions("Route 53", "ListHostedZonesByVPC"), ["route53:ListHostedZonesByVPC"]);
        assert_eq!(iam_actions("KMS", "CreateKey"), ["kms:CreateKey", "kms:TagResource"]);
        assert_eq!(iam_actions("EC2", "DescribeVpcs"), ["ec2:DescribeVpcs"]);
        assert_eq!(iam_actions_of_call("s3:HeadBucket"), ["s3:ListBucket"]);
        assert_eq!(iam_actions_of_call("s3control:PutPublicAccessBlock"), ["s3:PutAccountPublicAccessBlock"]);
        assert_eq!(iam_actions_of_call("cloudwatch:DescribeAlarms"), ["cloudwatch:DescribeAlarms"]);
    }
}
