//! What each benchmark requirement a control cites asks, what of the control checks it, and under
//! which baseline settings it does.
//!
//! A control's catalogue entry ([`ControlMeta::cis_v5`], [`ControlMeta::fsbp`]) lists every CIS AWS
//! Foundations Benchmark v5.0.0 recommendation and AWS Security Hub control it can check. Some it
//! checks only with a setting on (a hardware MFA device for root, Object Lock on the audit bucket, the
//! `ec2` interface endpoint): a finding cites a requirement only when the baseline in use makes the
//! control check it ([`cited`]), so a `pass` never claims what was not looked at. The unit tests hold
//! the catalogue and this table to each other, and the shipped baselines to the table: the `standard`
//! baseline checks every cited requirement except the few listed with their reason (and `strict`
//! closes all but one of those).
//!
//! Sources: the CIS AWS Foundations Benchmark v5.0.0 recommendation titles, and the Security Hub
//! controls reference (<https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-controls-reference.html>),
//! whose "Related requirements" tie each Security Hub control to its CIS v5.0.0 recommendation.
//! Nothing here calls AWS.

use crate::baseline::Baseline;
use crate::engine::ControlMeta;
use crate::report::References;

/// Which benchmark a requirement id belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framework {
    /// CIS AWS Foundations Benchmark v5.0.0 (`5.2`).
    CisV5,
    /// AWS Security Hub control (`EC2.21`), as in the Foundational Security Best Practices standard.
    Fsbp,
}

/// Requirements of one benchmark that one control checks the same way.
#[derive(Debug)]
pub struct Requirement {
    pub control: &'static str,
    pub framework: Framework,
    pub ids: &'static [&'static str],
    /// What the requirement asks, in the benchmark's words.
    pub asks: &'static str,
    /// What the control checks that meets it, and on which resources.
    pub checked_by: &'static str,
    /// True when the baseline's settings make the control check it.
    pub checked_when: fn(&Baseline) -> bool,
}

fn always(_: &Baseline) -> bool {
    true
}

fn hardware_root_mfa(baseline: &Baseline) -> bool {
    baseline.root_mfa.as_ref().is_some_and(|mfa| mfa.require_hardware)
}

fn audit_bucket_object_lock(baseline: &Baseline) -> bool {
    baseline.log_bucket.as_ref().is_some_and(|bucket| bucket.object_lock.is_some())
}

fn alarms_notify_someone(baseline: &Baseline) -> bool {
    baseline.alarms.as_ref().is_some_and(|alarms| !alarms.subscriptions.is_empty())
}

fn unprofiled_instances_get_a_profile(baseline: &Baseline) -> bool {
    baseline.instance_roles.as_ref().is_some_and(|roles| roles.attach_to_unprofiled_instances)
}

fn interface_endpoint_for(baseline: &Baseline, service: &str) -> bool {
    baseline.vpc_endpoints.as_ref().is_some_and(|endpoints| endpoints.interface_services.iter().any(|s| s == service))
}

fn unused_within(baseline: &Baseline, days: i64) -> bool {
    baseline.unused_credentials.as_ref().is_some_and(|unused| unused.max_unused_days <= days)
}

fn keys_rotated_within_90_days(baseline: &Baseline) -> bool {
    baseline.access_key_rotation.as_ref().is_some_and(|rotation| rotation.max_age_days <= 90)
}

fn password_length_at_least(baseline: &Baseline, length: i32) -> bool {
    baseline.password_policy.as_ref().is_some_and(|policy| policy.minimum_length >= length)
}

fn password_reuse_24(baseline: &Baseline) -> bool {
    baseline.password_policy.as_ref().is_some_and(|policy| policy.reuse_prevention.is_some_and(|n| n >= 24))
}

fn password_all_character_classes(baseline: &Baseline) -> bool {
    baseline.password_policy.as_ref().is_some_and(|p| p.require_uppercase && p.require_lowercase && p.require_numbers && p.require_symbols)
        && password_length_at_least(baseline, 8)
}

use Framework::{CisV5, Fsbp};

/// Every requirement a control of the catalogue cites.
pub static REQUIREMENTS: &[Requirement] = &[
    Requirement {
        control: "kms.baseline-key",
        framework: CisV5,
        ids: &["3.6"],
        asks: "Ensure rotation for customer-created symmetric CMKs is enabled",
        checked_by: "automatic rotation on the baseline key (mamori's own key; other keys of the account are not looked at)",
        checked_when: always,
    },
    Requirement {
        control: "kms.baseline-key",
        framework: Fsbp,
        ids: &["KMS.4"],
        asks: "AWS KMS key rotation should be enabled",
        checked_by: "automatic rotation on the baseline key",
        checked_when: always,
    },
    Requirement {
        control: "ebs.default-encryption",
        framework: CisV5,
        ids: &["5.1.1"],
        asks: "Ensure EBS volume encryption is enabled in all regions",
        checked_by: "EBS encryption by default in every baseline region",
        checked_when: always,
    },
    Requirement {
        control: "ebs.default-encryption",
        framework: Fsbp,
        ids: &["EC2.7"],
        asks: "EBS default encryption should be enabled",
        checked_by: "EBS encryption by default in every baseline region",
        checked_when: always,
    },
    Requirement {
        control: "s3.account-public-access-block",
        framework: CisV5,
        ids: &["2.1.4"],
        asks: "Ensure that S3 is configured with 'Block Public Access' enabled",
        checked_by: "the four account-level Block Public Access settings",
        checked_when: always,
    },
    Requirement {
        control: "s3.account-public-access-block",
        framework: Fsbp,
        ids: &["S3.1"],
        asks: "S3 general purpose buckets should have block public access settings enabled",
        checked_by: "the four account-level Block Public Access settings",
        checked_when: always,
    },
    Requirement {
        control: "iam.password-policy",
        framework: CisV5,
        ids: &["1.7"],
        asks: "Ensure IAM password policy requires minimum length of 14 or greater",
        checked_by: "the account password policy's minimum length, when the baseline asks for 14 or more",
        checked_when: |b| password_length_at_least(b, 14),
    },
    Requirement {
        control: "iam.password-policy",
        framework: CisV5,
        ids: &["1.8"],
        asks: "Ensure IAM password policy prevents password reuse",
        checked_by: "the password policy's reuse prevention, when the baseline asks for 24 passwords",
        checked_when: password_reuse_24,
    },
    Requirement {
        control: "iam.password-policy",
        framework: Fsbp,
        ids: &["IAM.7"],
        asks: "Password policies for IAM users should have strong configurations",
        checked_by: "all four character classes required and a minimum length of at least 8",
        checked_when: password_all_character_classes,
    },
    Requirement {
        control: "iam.password-policy",
        framework: Fsbp,
        ids: &["IAM.15"],
        asks: "Ensure IAM password policy requires minimum password length of 14 or greater",
        checked_by: "the password policy's minimum length, when the baseline asks for 14 or more",
        checked_when: |b| password_length_at_least(b, 14),
    },
    Requirement {
        control: "iam.password-policy",
        framework: Fsbp,
        ids: &["IAM.16"],
        asks: "Ensure IAM password policy prevents password reuse",
        checked_by: "the password policy's reuse prevention, when the baseline asks for 24 passwords",
        checked_when: password_reuse_24,
    },
    Requirement {
        control: "logs.bucket",
        framework: CisV5,
        ids: &["2.1.1"],
        asks: "Ensure S3 Bucket Policy is set to deny HTTP requests",
        checked_by: "the TLS-only statement of the audit-log and access-log buckets' policies (other buckets are not looked at)",
        checked_when: always,
    },
    Requirement {
        control: "logs.bucket",
        framework: CisV5,
        ids: &["3.4"],
        asks: "Ensure that server access logging is enabled on the CloudTrail S3 bucket",
        checked_by: "server access logging of the audit-log bucket into the access-log bucket",
        checked_when: always,
    },
    Requirement {
        control: "logs.bucket",
        framework: Fsbp,
        ids: &["S3.5"],
        asks: "S3 general purpose buckets should require requests to use SSL",
        checked_by: "the TLS-only statement of the audit-log and access-log buckets' policies",
        checked_when: always,
    },
    Requirement {
        control: "logs.bucket",
        framework: Fsbp,
        ids: &["S3.14"],
        asks: "S3 general purpose buckets should have versioning enabled",
        checked_by: "versioning of the audit-log and access-log buckets",
        checked_when: always,
    },
    Requirement {
        control: "logs.bucket",
        framework: Fsbp,
        ids: &["S3.15"],
        asks: "S3 general purpose buckets should have Object Lock enabled",
        checked_by: "Object Lock default retention on the audit-log bucket, when the baseline sets `object_lock`",
        checked_when: audit_bucket_object_lock,
    },
    Requirement {
        control: "logs.bucket",
        framework: Fsbp,
        ids: &["CloudTrail.7"],
        asks: "Ensure S3 bucket access logging is enabled on the CloudTrail S3 bucket",
        checked_by: "server access logging of the audit-log bucket into the access-log bucket",
        checked_when: always,
    },
    Requirement {
        control: "logs.bucket-mfa-delete",
        framework: CisV5,
        ids: &["2.1.2"],
        asks: "Ensure MFA Delete is enabled on S3 buckets",
        checked_by: "MFA Delete on the audit-log bucket",
        checked_when: always,
    },
    Requirement {
        control: "logs.bucket-mfa-delete",
        framework: Fsbp,
        ids: &["S3.20"],
        asks: "S3 general purpose buckets should have MFA delete enabled",
        checked_by: "MFA Delete on the audit-log bucket",
        checked_when: always,
    },
    Requirement {
        control: "logs.trail",
        framework: CisV5,
        ids: &["3.1", "3.2", "3.5"],
        asks: "CloudTrail enabled in all regions (3.1), log file validation (3.2), logs encrypted at rest with KMS CMKs (3.5)",
        checked_by: "the organization or multi-region trail: logging, all management events, log file validation, the baseline key",
        checked_when: always,
    },
    Requirement {
        control: "logs.trail",
        framework: Fsbp,
        ids: &["CloudTrail.1", "CloudTrail.2", "CloudTrail.4", "CloudTrail.5"],
        asks: "a multi-Region trail with read and write management events (.1), encryption at rest (.2), log file validation (.4), CloudWatch Logs integration (.5)",
        checked_by: "the organization or multi-region trail, its KMS key, log file validation and CloudWatch Logs delivery",
        checked_when: always,
    },
    Requirement {
        control: "logs.alarms",
        framework: CisV5,
        ids: &["4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "4.7", "4.8", "4.9", "4.10", "4.11", "4.12", "4.13", "4.14", "4.15"],
        asks: "a log metric filter and alarm for each monitored activity, notifying at least one subscriber",
        checked_by: "the fifteen metric filters and alarms on the trail's log group, to a topic with the baseline's subscribers, when it names one",
        checked_when: alarms_notify_someone,
    },
    Requirement {
        control: "logs.alarms",
        framework: Fsbp,
        ids: &[
            "CloudWatch.1", "CloudWatch.2", "CloudWatch.3", "CloudWatch.4", "CloudWatch.5", "CloudWatch.6", "CloudWatch.7",
            "CloudWatch.8", "CloudWatch.9", "CloudWatch.10", "CloudWatch.11", "CloudWatch.12", "CloudWatch.13", "CloudWatch.14",
        ],
        asks: "a log metric filter and alarm for each monitored activity, with a subscriber",
        checked_by: "the metric filters and alarms on the trail's log group, to a topic with the baseline's subscribers, when it names one",
        checked_when: alarms_notify_someone,
    },
    Requirement {
        control: "root.access-keys",
        framework: CisV5,
        ids: &["1.3"],
        asks: "Ensure no 'root' user account access key exists",
        checked_by: "`AccountAccessKeysPresent` of the account summary",
        checked_when: always,
    },
    Requirement {
        control: "root.access-keys",
        framework: Fsbp,
        ids: &["IAM.4"],
        asks: "IAM root user access key should not exist",
        checked_by: "`AccountAccessKeysPresent` of the account summary",
        checked_when: always,
    },
    Requirement {
        control: "root.mfa",
        framework: CisV5,
        ids: &["1.4"],
        asks: "Ensure MFA is enabled for the 'root' user account",
        checked_by: "the root user's MFA (or, declared, centrally managed root credentials)",
        checked_when: always,
    },
    Requirement {
        control: "root.mfa",
        framework: CisV5,
        ids: &["1.5"],
        asks: "Ensure hardware MFA is enabled for the 'root' user account",
        checked_by: "a hardware device rather than a virtual one, when the baseline sets `require_hardware`",
        checked_when: hardware_root_mfa,
    },
    Requirement {
        control: "root.mfa",
        framework: Fsbp,
        ids: &["IAM.9"],
        asks: "MFA should be enabled for the root user",
        checked_by: "the root user's MFA",
        checked_when: always,
    },
    Requirement {
        control: "root.mfa",
        framework: Fsbp,
        ids: &["IAM.6"],
        asks: "Hardware MFA should be enabled for the root user",
        checked_by: "a hardware device rather than a virtual one, when the baseline sets `require_hardware`",
        checked_when: hardware_root_mfa,
    },
    Requirement {
        control: "root.recent-use",
        framework: CisV5,
        ids: &["1.6"],
        asks: "Eliminate use of the 'root' user for administrative and daily tasks",
        checked_by: "no root sign-in or root key use within `within_days`, from the credential report",
        checked_when: always,
    },
    Requirement {
        control: "iam.console-mfa",
        framework: CisV5,
        ids: &["1.9"],
        asks: "Ensure multi-factor authentication (MFA) is enabled for all IAM users that have a console password",
        checked_by: "every user with a console password has an MFA device",
        checked_when: always,
    },
    Requirement {
        control: "iam.console-mfa",
        framework: Fsbp,
        ids: &["IAM.5"],
        asks: "MFA should be enabled for all IAM users that have a console password",
        checked_by: "every user with a console password has an MFA device",
        checked_when: always,
    },
    Requirement {
        control: "iam.unused-credentials",
        framework: CisV5,
        ids: &["1.11"],
        asks: "Ensure credentials unused for 45 days or more are disabled",
        checked_by: "no password or active key unused for more than `max_unused_days`, when that is 45 or less",
        checked_when: |b| unused_within(b, 45),
    },
    Requirement {
        control: "iam.unused-credentials",
        framework: Fsbp,
        ids: &["IAM.22"],
        asks: "IAM user credentials unused for 45 days should be removed",
        checked_by: "no password or active key unused for more than `max_unused_days`, when that is 45 or less",
        checked_when: |b| unused_within(b, 45),
    },
    Requirement {
        control: "iam.unused-credentials",
        framework: Fsbp,
        ids: &["IAM.8"],
        asks: "Unused IAM user credentials should be removed (90 days)",
        checked_by: "no password or active key unused for more than `max_unused_days`, when that is 90 or less",
        checked_when: |b| unused_within(b, 90),
    },
    Requirement {
        control: "iam.access-key-rotation",
        framework: CisV5,
        ids: &["1.13"],
        asks: "Ensure access keys are rotated every 90 days or less",
        checked_by: "no active key older than `max_age_days`, when that is 90 or less",
        checked_when: keys_rotated_within_90_days,
    },
    Requirement {
        control: "iam.access-key-rotation",
        framework: Fsbp,
        ids: &["IAM.3"],
        asks: "IAM users' access keys should be rotated every 90 days or less",
        checked_by: "no active key older than `max_age_days`, when that is 90 or less",
        checked_when: keys_rotated_within_90_days,
    },
    Requirement {
        control: "iam.no-star-policies",
        framework: Fsbp,
        ids: &["IAM.1"],
        asks: "IAM policies should not allow full \"*\" administrative privileges (customer managed policies)",
        checked_by: "no customer managed policy (nor inline policy) allows `*` on `*`",
        checked_when: always,
    },
    Requirement {
        control: "ec2.instance-roles",
        framework: CisV5,
        ids: &["1.17"],
        asks: "Ensure IAM instance roles are used for AWS resource access from instances",
        checked_by: "every instance without a profile is given the baseline's, when the baseline sets `attach_to_unprofiled_instances`",
        checked_when: unprofiled_instances_get_a_profile,
    },
    Requirement {
        control: "ec2.imdsv2",
        framework: CisV5,
        ids: &["5.7"],
        asks: "Ensure that the EC2 Metadata Service only allows IMDSv2",
        checked_by: "every running or stopped instance requires IMDSv2 (and the account default for new ones)",
        checked_when: always,
    },
    Requirement {
        control: "ec2.imdsv2",
        framework: Fsbp,
        ids: &["EC2.8"],
        asks: "EC2 instances should use Instance Metadata Service Version 2 (IMDSv2)",
        checked_by: "every running or stopped instance requires IMDSv2",
        checked_when: always,
    },
    Requirement {
        control: "ec2.no-open-admin-ports",
        framework: CisV5,
        ids: &["5.3", "5.4"],
        asks: "Ensure no security groups allow ingress from 0.0.0.0/0 (5.3) or ::/0 (5.4) to remote server administration ports",
        checked_by: "no security group rule from 0.0.0.0/0 or ::/0 reaches 22 or 3389 over TCP, UDP or all protocols",
        checked_when: always,
    },
    Requirement {
        control: "ec2.no-open-admin-ports",
        framework: Fsbp,
        ids: &["EC2.13", "EC2.14", "EC2.53", "EC2.54"],
        asks: "security groups should not allow ingress from 0.0.0.0/0 or ::/0 to port 22 (.13), port 3389 (.14), remote server administration ports (.53 IPv4, .54 IPv6)",
        checked_by: "no security group rule from 0.0.0.0/0 or ::/0 reaches 22 or 3389 over TCP, UDP or all protocols",
        checked_when: always,
    },
    Requirement {
        control: "vpc.nacl-admin-ports",
        framework: CisV5,
        ids: &["5.2"],
        asks: "Ensure no Network ACLs allow ingress from 0.0.0.0/0 to remote server administration ports",
        checked_by: "no network ACL lets 0.0.0.0/0 or ::/0 in on 22 or 3389 over TCP, UDP or all protocols, rules read in order (default ACLs included)",
        checked_when: always,
    },
    Requirement {
        control: "vpc.nacl-admin-ports",
        framework: Fsbp,
        ids: &["EC2.21"],
        asks: "Network ACLs should not allow ingress from 0.0.0.0/0 to port 22 or port 3389",
        checked_by: "no network ACL lets 0.0.0.0/0 or ::/0 in on 22 or 3389 (Security Hub leaves default ACLs out; mamori does not)",
        checked_when: always,
    },
    Requirement {
        control: "vpc.endpoints",
        framework: Fsbp,
        ids: &["EC2.10"],
        asks: "Amazon EC2 should be configured to use VPC endpoints that are created for the Amazon EC2 service",
        checked_by: "an `ec2` interface endpoint in every VPC in scope, when `interface_services` lists `ec2` (default VPCs are in scope only when included)",
        checked_when: |b| interface_endpoint_for(b, "ec2"),
    },
    Requirement {
        control: "vpc.endpoints",
        framework: Fsbp,
        ids: &["EC2.57"],
        asks: "VPCs should be configured with an interface endpoint for Systems Manager",
        checked_by: "an `ssm` interface endpoint in every VPC in scope, when `interface_services` lists `ssm`",
        checked_when: |b| interface_endpoint_for(b, "ssm"),
    },
];

/// The references a finding of `meta` cites under `baseline`: the catalogue's, less those the
/// baseline's settings leave unchecked.
pub fn cited(meta: &ControlMeta, baseline: &Baseline) -> References {
    let checked = |framework: Framework, id: &&str| {
        REQUIREMENTS
            .iter()
            .any(|r| r.control == meta.id && r.framework == framework && r.ids.contains(id) && (r.checked_when)(baseline))
    };
    References {
        cis_v5: meta.cis_v5.iter().filter(|id| checked(CisV5, id)).map(|id| id.to_string()).collect(),
        fsbp: meta.fsbp.iter().filter(|id| checked(Fsbp, id)).map(|id| id.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::controls::catalogue;

    /// Requirements the `standard` baseline leaves unchecked on purpose, and why.
    const STANDARD_LEAVES_UNCHECKED: &[(&str, &str, &str)] = &[
        ("root.mfa", "1.5", "a hardware MFA device for root is strict's (`require_hardware: true`)"),
        ("root.mfa", "IAM.6", "a hardware MFA device for root is strict's (`require_hardware: true`)"),
        ("logs.bucket", "S3.15", "Object Lock on the audit bucket is strict's (it cannot be turned off once on)"),
        ("ec2.instance-roles", "1.17", "instances without a profile are looked at only with `attach_to_unprofiled_instances` (strict)"),
    ];

    /// Left unchecked by both shipped baselines: a shipped baseline cannot name who receives alarms.
    fn needs_a_subscriber(control: &str) -> bool {
        control == "logs.alarms"
    }

    fn shipped(name: &str) -> Baseline {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines").join(format!("{name}.yaml"));
        Baseline::load(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    fn catalogue_ids(framework: Framework) -> Vec<(&'static str, &'static str)> {
        catalogue()
            .iter()
            .flat_map(|c| {
                let meta = c.meta();
                let ids = if framework == CisV5 { meta.cis_v5 } else { meta.fsbp };
                ids.iter().map(move |id| (meta.id, *id))
            })
            .collect()
    }

    #[test]
    fn every_cited_reference_says_what_it_asks_and_nothing_else_is_listed() {
        for framework in [CisV5, Fsbp] {
            let mut cited: Vec<(&str, &str)> = catalogue_ids(framework);
            let mut table: Vec<(&str, &str)> =
                REQUIREMENTS.iter().filter(|r| r.framework == framework).flat_map(|r| r.ids.iter().map(move |id| (r.control, *id))).collect();
            cited.sort();
            table.sort();
            assert_eq!(cited, table, "{framework:?}: the catalogue and the requirements table disagree");
        }
        assert!(REQUIREMENTS.iter().all(|r| !r.asks.is_empty() && !r.checked_by.is_empty()));
    }

    #[test]
    fn the_standard_baseline_checks_what_it_cites_except_the_listed_gaps() {
        let standard = shipped("standard");
        for requirement in REQUIREMENTS {
            for id in requirement.ids {
                let gap = needs_a_subscriber(requirement.control)
                    || STANDARD_LEAVES_UNCHECKED.iter().any(|(control, gap, _)| *control == requirement.control && gap == id);
                assert_eq!(
                    (requirement.checked_when)(&standard),
                    !gap,
                    "{} {id}: standard {} it ({})",
                    requirement.control,
                    if gap { "is listed as leaving it unchecked, but checks" } else { "does not check" },
                    requirement.checked_by
                );
            }
        }
    }

    #[test]
    fn the_strict_baseline_checks_everything_but_alarm_subscribers() {
        let strict = shipped("strict");
        for requirement in REQUIREMENTS.iter().filter(|r| !needs_a_subscriber(r.control)) {
            assert!((requirement.checked_when)(&strict), "{} {:?}: strict does not check it", requirement.control, requirement.ids);
        }
    }

    #[test]
    fn findings_cite_only_what_the_baseline_makes_the_control_check() {
        let standard = shipped("standard");
        let strict = shipped("strict");
        let root_mfa = catalogue().into_iter().find(|c| c.meta().id == "root.mfa").unwrap().meta();
        assert_eq!(cited(root_mfa, &standard), References { cis_v5: vec!["1.4".into()], fsbp: vec!["IAM.9".into()] });
        assert_eq!(cited(root_mfa, &strict), References { cis_v5: vec!["1.4".into(), "1.5".into()], fsbp: vec!["IAM.9".into(), "IAM.6".into()] });
        let endpoints = catalogue().into_iter().find(|c| c.meta().id == "vpc.endpoints").unwrap().meta();
        assert_eq!(cited(endpoints, &standard).fsbp, ["EC2.10", "EC2.57"], "standard creates the ec2 and ssm interface endpoints");
        let without_ec2 = Baseline::parse(
            Path::new("t.yaml"),
            "version: 1\nname: t\nregions: [us-east-1]\nvpc:\n  endpoints:\n    interface_services: [ssm, kms]\n",
        )
        .unwrap();
        assert_eq!(cited(endpoints, &without_ec2).fsbp, ["EC2.57"], "no ec2 endpoint, no EC2.10");
    }
}
