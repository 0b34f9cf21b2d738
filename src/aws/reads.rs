//! The exact list of the read operations mamori's controls send, by service: what the read-only guard
//! lets through in `plan` and `verify`.
//!
//! An operation is admitted by its exact `(service, operation)` pair, never by the shape of its name:
//! AWS has operations that look like reads and create state (`sts:GetFederationToken` and
//! `sts:GetSessionToken` issue credentials, `kms:GetParametersForImport` creates an import token and
//! wrapping key for a key), so a `Get*` prefix proves nothing. Every entry here is an operation AWS's
//! Service Authorization Reference classes as `Read` or `List`, and each is sent by some control or
//! shared inventory read. Two entries are not named as reads: `iam:GenerateCredentialReport` asks IAM to
//! build the credential report, the only way to read it, and changes nothing an auditor cares about;
//! `sts:AssumeRole` enters a member account in a run over an organization (its session can do only
//! what the role allows, and the member's own connection is guarded again). The Service Authorization
//! Reference classes both as `Write` and `Read` respectively.
//!
//! The list must hold every read the controls send, in every verb: the guard treats an unlisted
//! operation as mutating, so a control that starts sending a new read fails its end-to-end test (its
//! `verify` is refused) until the read is added here. The test `guard::the_read_list_*` compares the
//! list with a recorded `verify` and `plan` of the standard baseline.
//!
//! Services are named as the SDK's operation metadata names them (`S3 Control`, `CloudWatch Logs`).
//! This module never decides anything else: it is a table and a lookup.

/// Every read mamori sends: `(service, operation)`, grouped by service.
pub const READ_OPERATIONS: &[(&str, &str)] = &[
    ("STS", "GetCallerIdentity"),
    ("STS", "AssumeRole"),
    ("KMS", "DescribeKey"),
    ("KMS", "GetKeyPolicy"),
    ("KMS", "GetKeyRotationStatus"),
    ("KMS", "ListAliases"),
    ("KMS", "ListKeys"),
    ("KMS", "ListResourceTags"),
    ("EC2", "DescribeInstanceAttribute"),
    ("EC2", "DescribeInstances"),
    ("EC2", "DescribeNetworkAcls"),
    ("EC2", "DescribePrefixLists"),
    ("EC2", "DescribeRegions"),
    ("EC2", "DescribeRouteTables"),
    ("EC2", "DescribeSecurityGroups"),
    ("EC2", "DescribeSubnets"),
    ("EC2", "DescribeVpcAttribute"),
    ("EC2", "DescribeVpcEndpointServices"),
    ("EC2", "DescribeVpcEndpoints"),
    ("EC2", "DescribeVpcs"),
    ("EC2", "GetEbsDefaultKmsKeyId"),
    ("EC2", "GetEbsEncryptionByDefault"),
    ("EC2", "GetInstanceMetadataDefaults"),
    ("Route 53", "ListHostedZonesByVPC"),
    ("S3", "GetBucketEncryption"),
    ("S3", "GetBucketLifecycleConfiguration"),
    ("S3", "GetBucketLogging"),
    ("S3", "GetBucketPolicy"),
    ("S3", "GetBucketVersioning"),
    ("S3", "GetObjectLockConfiguration"),
    ("S3", "GetPublicAccessBlock"),
    ("S3", "HeadBucket"),
    ("S3", "ListBuckets"),
    ("S3 Control", "GetPublicAccessBlock"),
    ("CloudTrail", "DescribeTrails"),
    ("CloudTrail", "GetEventSelectors"),
    ("CloudTrail", "GetTrailStatus"),
    ("Organizations", "DescribeOrganization"),
    ("Organizations", "ListAWSServiceAccessForOrganization"),
    ("Organizations", "ListAccountsForParent"),
    ("Organizations", "ListOrganizationalUnitsForParent"),
    ("Organizations", "ListRoots"),
    ("CloudWatch Logs", "DescribeLogGroups"),
    ("CloudWatch Logs", "DescribeMetricFilters"),
    ("CloudWatch", "DescribeAlarms"),
    ("SNS", "GetTopicAttributes"),
    ("SNS", "ListSubscriptionsByTopic"),
    ("SSM", "GetDocument"),
    ("IAM", "GenerateCredentialReport"),
    ("IAM", "GetAccessKeyLastUsed"),
    ("IAM", "GetAccountAuthorizationDetails"),
    ("IAM", "GetAccountPasswordPolicy"),
    ("IAM", "GetAccountSummary"),
    ("IAM", "GetCredentialReport"),
    ("IAM", "GetInstanceProfile"),
    ("IAM", "GetLoginProfile"),
    ("IAM", "GetPolicy"),
    ("IAM", "GetPolicyVersion"),
    ("IAM", "GetRole"),
    ("IAM", "GetRolePolicy"),
    ("IAM", "GetUser"),
    ("IAM", "ListAccessKeys"),
    ("IAM", "ListMFADevices"),
    ("IAM", "ListVirtualMFADevices"),
];

/// True when `operation` of `service` (as the SDK's metadata names them) is on the list.
pub fn is_listed_read(service: &str, operation: &str) -> bool {
    READ_OPERATIONS.iter().any(|(s, o)| *s == service && *o == operation)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_entry_is_listed_once_and_named_as_a_read() {
        let unique: BTreeSet<_> = READ_OPERATIONS.iter().collect();
        assert_eq!(unique.len(), READ_OPERATIONS.len(), "an entry is listed twice");
        let read_verbs = ["Get", "List", "Describe", "Head"];
        for (service, operation) in READ_OPERATIONS {
            let named_as_read = read_verbs.iter().any(|verb| operation.strip_prefix(verb).is_some_and(|rest| rest.starts_with(char::is_uppercase)));
            let named_otherwise = [("IAM", "GenerateCredentialReport"), ("STS", "AssumeRole")].contains(&(*service, *operation));
            assert!(named_as_read || named_otherwise, "{service}:{operation}");
        }
    }

    #[test]
    fn reads_that_create_state_are_not_listed() {
        // AWS documents each of these as creating something: credentials, an import token.
        for (service, operation) in [("STS", "GetFederationToken"), ("STS", "GetSessionToken"), ("KMS", "GetParametersForImport")] {
            assert!(!is_listed_read(service, operation), "{service}:{operation}");
        }
        assert!(!is_listed_read("KMS", "CreateKey") && !is_listed_read("S3", "GetCallerIdentity"), "service and operation match together");
    }
}
