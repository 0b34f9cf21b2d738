//! The CIS 4.x metric filters `logs.alarms` writes: one per risky activity, each a CloudWatch Logs
//! filter pattern over CloudTrail events. Every pattern is unit-tested against sample events that must
//! fire and one that must not, with the evaluator in [`super::filter_pattern`].
//!
//! The patterns are those of the CIS AWS Foundations Benchmark v5.0.0 (section 4, "Monitoring"), which
//! AWS Security Hub checks as CloudWatch.1–14 (4.15, Organizations changes, has no Security Hub
//! control). Where mamori's pattern differs, on purpose:
//! - 4.1 and 4.13: the CIS text writes `a || b && c` where it means `(a || b) && c` (the filter
//!   syntax gives `&&` and `||` no precedence a reader can rely on): the parentheses are explicit.
//! - 4.4 adds `$.eventSource = iam.amazonaws.com`: without it `CreatePolicy`, `DeletePolicy`,
//!   `AttachPolicy`-style names of other services (Organizations' service control policies, IoT)
//!   fire the IAM alarm; those changes have their own alarm (4.15).
//! - Past CIS, where it is blind: 4.5 also fires on `PutEventSelectors` and `PutInsightSelectors`
//!   (a trail told to log no management events, or to exclude `kms.amazonaws.com`, is as blind as a
//!   stopped one, and CIS does not see it), and 4.10 on `ModifySecurityGroupRules` (the API that
//!   changes an existing rule in place, which CIS's `Authorize*`/`Revoke*` list misses).
//!
//! Every event name CIS lists is in mamori's pattern, so a checker that looks for them finds them; a
//! checker that compares the pattern text exactly would not recognise 4.1, 4.4, 4.5, 4.10 and 4.13.

/// One metric filter and the alarm on its metric.
#[derive(Debug)]
pub struct CisFilter {
    /// Metric, filter (`mamori-cis-<slug>`) and alarm name stem.
    pub slug: &'static str,
    /// CIS AWS Foundations recommendation it implements.
    pub cis: &'static str,
    /// The AWS Security Hub control that checks it, if any.
    pub fsbp: Option<&'static str>,
    pub pattern: &'static str,
}

pub const FILTERS: &[CisFilter] = &[
    CisFilter {
        slug: "unauthorized-api-calls",
        cis: "4.1",
        fsbp: Some("CloudWatch.2"),
        pattern: r#"{ (($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*")) && ($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }"#,
    },
    CisFilter {
        slug: "console-signin-without-mfa",
        cis: "4.2",
        fsbp: Some("CloudWatch.3"),
        pattern: r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }"#,
    },
    CisFilter {
        slug: "root-usage",
        cis: "4.3",
        fsbp: Some("CloudWatch.1"),
        pattern: r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#,
    },
    CisFilter {
        slug: "iam-policy-changes",
        cis: "4.4",
        fsbp: Some("CloudWatch.4"),
        pattern: r#"{ ($.eventSource = iam.amazonaws.com) && (($.eventName = DeleteGroupPolicy) || ($.eventName = DeleteRolePolicy) || ($.eventName = DeleteUserPolicy) || ($.eventName = PutGroupPolicy) || ($.eventName = PutRolePolicy) || ($.eventName = PutUserPolicy) || ($.eventName = CreatePolicy) || ($.eventName = DeletePolicy) || ($.eventName = CreatePolicyVersion) || ($.eventName = DeletePolicyVersion) || ($.eventName = AttachRolePolicy) || ($.eventName = DetachRolePolicy) || ($.eventName = AttachUserPolicy) || ($.eventName = DetachUserPolicy) || ($.eventName = AttachGroupPolicy) || ($.eventName = DetachGroupPolicy)) }"#,
    },
    CisFilter {
        slug: "cloudtrail-changes",
        cis: "4.5",
        fsbp: Some("CloudWatch.5"),
        pattern: r#"{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) || ($.eventName = StopLogging) || ($.eventName = PutEventSelectors) || ($.eventName = PutInsightSelectors) }"#,
    },
    CisFilter {
        slug: "console-auth-failures",
        cis: "4.6",
        fsbp: Some("CloudWatch.6"),
        pattern: r#"{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }"#,
    },
    CisFilter {
        slug: "cmk-disable-or-deletion",
        cis: "4.7",
        fsbp: Some("CloudWatch.7"),
        pattern: r#"{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }"#,
    },
    CisFilter {
        slug: "s3-bucket-policy-changes",
        cis: "4.8",
        fsbp: Some("CloudWatch.8"),
        pattern: r#"{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || ($.eventName = PutBucketPolicy) || ($.eventName = PutBucketCors) || ($.eventName = PutBucketLifecycle) || ($.eventName = PutBucketReplication) || ($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || ($.eventName = DeleteBucketLifecycle) || ($.eventName = DeleteBucketReplication)) }"#,
    },
    CisFilter {
        slug: "config-changes",
        cis: "4.9",
        fsbp: Some("CloudWatch.9"),
        pattern: r#"{ ($.eventSource = config.amazonaws.com) && (($.eventName = StopConfigurationRecorder) || ($.eventName = DeleteDeliveryChannel) || ($.eventName = PutDeliveryChannel) || ($.eventName = PutConfigurationRecorder)) }"#,
    },
    CisFilter {
        slug: "security-group-changes",
        cis: "4.10",
        fsbp: Some("CloudWatch.10"),
        pattern: r#"{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || ($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || ($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) || ($.eventName = ModifySecurityGroupRules) }"#,
    },
    CisFilter {
        slug: "nacl-changes",
        cis: "4.11",
        fsbp: Some("CloudWatch.11"),
        pattern: r#"{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || ($.eventName = DeleteNetworkAcl) || ($.eventName = DeleteNetworkAclEntry) || ($.eventName = ReplaceNetworkAclEntry) || ($.eventName = ReplaceNetworkAclAssociation) }"#,
    },
    CisFilter {
        slug: "network-gateway-changes",
        cis: "4.12",
        fsbp: Some("CloudWatch.12"),
        pattern: r#"{ ($.eventName = CreateCustomerGateway) || ($.eventName = DeleteCustomerGateway) || ($.eventName = AttachInternetGateway) || ($.eventName = CreateInternetGateway) || ($.eventName = DeleteInternetGateway) || ($.eventName = DetachInternetGateway) }"#,
    },
    CisFilter {
        slug: "route-table-changes",
        cis: "4.13",
        fsbp: Some("CloudWatch.13"),
        pattern: r#"{ ($.eventSource = ec2.amazonaws.com) && (($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || ($.eventName = ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) || ($.eventName = DeleteRouteTable) || ($.eventName = DeleteRoute) || ($.eventName = DisassociateRouteTable)) }"#,
    },
    CisFilter {
        slug: "vpc-changes",
        cis: "4.14",
        fsbp: Some("CloudWatch.14"),
        pattern: r#"{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || ($.eventName = ModifyVpcAttribute) || ($.eventName = AcceptVpcPeeringConnection) || ($.eventName = CreateVpcPeeringConnection) || ($.eventName = DeleteVpcPeeringConnection) || ($.eventName = RejectVpcPeeringConnection) || ($.eventName = AttachClassicLinkVpc) || ($.eventName = DetachClassicLinkVpc) || ($.eventName = DisableVpcClassicLink) || ($.eventName = EnableVpcClassicLink) }"#,
    },
    CisFilter {
        slug: "organizations-changes",
        cis: "4.15",
        fsbp: None,
        pattern: r#"{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || ($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || ($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || ($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }"#,
    },
];

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::FILTERS;
    use crate::controls::logs::alarms::filter_pattern::matches;

    /// (slug, an event that must fire, an event that must not)
    fn samples() -> Vec<(&'static str, Value, Value)> {
        vec![
            (
                "unauthorized-api-calls",
                json!({"eventName": "DescribeInstances", "errorCode": "Client.UnauthorizedOperation", "sourceIPAddress": "203.0.113.9"}),
                json!({"eventName": "HeadBucket", "errorCode": "AccessDenied", "sourceIPAddress": "203.0.113.9"}),
            ),
            (
                "console-signin-without-mfa",
                json!({"eventName": "ConsoleLogin", "userIdentity": {"type": "IAMUser"}, "additionalEventData": {"MFAUsed": "No"}, "responseElements": {"ConsoleLogin": "Success"}}),
                json!({"eventName": "ConsoleLogin", "userIdentity": {"type": "IAMUser"}, "additionalEventData": {"MFAUsed": "Yes"}, "responseElements": {"ConsoleLogin": "Success"}}),
            ),
            (
                "root-usage",
                json!({"eventName": "ConsoleLogin", "userIdentity": {"type": "Root"}, "eventType": "AwsConsoleSignIn"}),
                json!({"eventName": "Decrypt", "userIdentity": {"type": "Root", "invokedBy": "s3.amazonaws.com"}, "eventType": "AwsApiCall"}),
            ),
            (
                "iam-policy-changes",
                json!({"eventSource": "iam.amazonaws.com", "eventName": "AttachRolePolicy"}),
                json!({"eventSource": "iam.amazonaws.com", "eventName": "ListRoles"}),
            ),
            ("cloudtrail-changes", json!({"eventName": "StopLogging"}), json!({"eventName": "LookupEvents"})),
            (
                "console-auth-failures",
                json!({"eventName": "ConsoleLogin", "errorMessage": "Failed authentication"}),
                json!({"eventName": "ConsoleLogin", "responseElements": {"ConsoleLogin": "Success"}}),
            ),
            (
                "cmk-disable-or-deletion",
                json!({"eventSource": "kms.amazonaws.com", "eventName": "ScheduleKeyDeletion"}),
                json!({"eventSource": "kms.amazonaws.com", "eventName": "Decrypt"}),
            ),
            (
                "s3-bucket-policy-changes",
                json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy"}),
                json!({"eventSource": "s3.amazonaws.com", "eventName": "GetBucketPolicy"}),
            ),
            (
                "config-changes",
                json!({"eventSource": "config.amazonaws.com", "eventName": "StopConfigurationRecorder"}),
                json!({"eventSource": "config.amazonaws.com", "eventName": "DescribeConfigRules"}),
            ),
            ("security-group-changes", json!({"eventName": "AuthorizeSecurityGroupIngress"}), json!({"eventName": "DescribeSecurityGroups"})),
            ("nacl-changes", json!({"eventName": "ReplaceNetworkAclEntry"}), json!({"eventName": "DescribeNetworkAcls"})),
            ("network-gateway-changes", json!({"eventName": "AttachInternetGateway"}), json!({"eventName": "DescribeInternetGateways"})),
            (
                "route-table-changes",
                json!({"eventSource": "ec2.amazonaws.com", "eventName": "CreateRoute"}),
                json!({"eventSource": "ec2.amazonaws.com", "eventName": "DescribeRouteTables"}),
            ),
            ("vpc-changes", json!({"eventName": "CreateVpcPeeringConnection"}), json!({"eventName": "DescribeVpcs"})),
            (
                "organizations-changes",
                json!({"eventSource": "organizations.amazonaws.com", "eventName": "LeaveOrganization"}),
                json!({"eventSource": "organizations.amazonaws.com", "eventName": "ListAccounts"}),
            ),
        ]
    }

    #[test]
    fn every_pattern_fires_on_its_event_and_not_on_a_harmless_one() {
        let samples = samples();
        assert_eq!(samples.len(), FILTERS.len(), "one sample pair per filter");
        for (slug, fires, quiet) in samples {
            let filter = FILTERS.iter().find(|f| f.slug == slug).unwrap_or_else(|| panic!("no filter {slug}"));
            assert_eq!(matches(filter.pattern, &fires), Ok(true), "{slug} must fire on {fires}");
            assert_eq!(matches(filter.pattern, &quiet), Ok(false), "{slug} must stay quiet on {quiet}");
        }
    }

    /// The event names each CIS v5.0.0 recommendation lists, with the event source its pattern
    /// requires (if any): every one of them must fire mamori's filter.
    fn cis_event_names() -> Vec<(&'static str, Option<&'static str>, &'static [&'static str])> {
        vec![
            ("iam-policy-changes", Some("iam.amazonaws.com"), &[
                "DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy", "PutRolePolicy", "PutUserPolicy",
                "CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion", "AttachRolePolicy", "DetachRolePolicy",
                "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy",
            ]),
            ("cloudtrail-changes", None, &["CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"]),
            ("cmk-disable-or-deletion", Some("kms.amazonaws.com"), &["DisableKey", "ScheduleKeyDeletion"]),
            ("s3-bucket-policy-changes", Some("s3.amazonaws.com"), &[
                "PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle", "PutBucketReplication", "DeleteBucketPolicy",
                "DeleteBucketCors", "DeleteBucketLifecycle", "DeleteBucketReplication",
            ]),
            ("config-changes", Some("config.amazonaws.com"), &["StopConfigurationRecorder", "DeleteDeliveryChannel", "PutDeliveryChannel", "PutConfigurationRecorder"]),
            ("security-group-changes", None, &[
                "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress",
                "CreateSecurityGroup", "DeleteSecurityGroup",
            ]),
            ("nacl-changes", None, &["CreateNetworkAcl", "CreateNetworkAclEntry", "DeleteNetworkAcl", "DeleteNetworkAclEntry", "ReplaceNetworkAclEntry", "ReplaceNetworkAclAssociation"]),
            ("network-gateway-changes", None, &["CreateCustomerGateway", "DeleteCustomerGateway", "AttachInternetGateway", "CreateInternetGateway", "DeleteInternetGateway", "DetachInternetGateway"]),
            ("route-table-changes", Some("ec2.amazonaws.com"), &["CreateRoute", "CreateRouteTable", "ReplaceRoute", "ReplaceRouteTableAssociation", "DeleteRouteTable", "DeleteRoute", "DisassociateRouteTable"]),
            ("vpc-changes", None, &[
                "CreateVpc", "DeleteVpc", "ModifyVpcAttribute", "AcceptVpcPeeringConnection", "CreateVpcPeeringConnection", "DeleteVpcPeeringConnection",
                "RejectVpcPeeringConnection", "AttachClassicLinkVpc", "DetachClassicLinkVpc", "DisableVpcClassicLink", "EnableVpcClassicLink",
            ]),
            ("organizations-changes", Some("organizations.amazonaws.com"), &[
                "AcceptHandshake", "AttachPolicy", "CreateAccount", "CreateOrganizationalUnit", "CreatePolicy", "DeclineHandshake",
                "DeleteOrganization", "DeleteOrganizationalUnit", "DeletePolicy", "DetachPolicy", "DisablePolicyType", "EnablePolicyType",
                "InviteAccountToOrganization", "LeaveOrganization", "MoveAccount", "RemoveAccountFromOrganization", "UpdatePolicy",
                "UpdateOrganizationalUnit",
            ]),
        ]
    }

    fn filter(slug: &str) -> &'static str {
        FILTERS.iter().find(|f| f.slug == slug).unwrap_or_else(|| panic!("no filter {slug}")).pattern
    }

    #[test]
    fn every_event_name_cis_lists_fires_its_filter() {
        for (slug, source, names) in cis_event_names() {
            for name in names {
                let event = match source {
                    Some(source) => json!({"eventSource": source, "eventName": name}),
                    None => json!({"eventName": name}),
                };
                assert_eq!(matches(filter(slug), &event), Ok(true), "{slug} must fire on {name}");
            }
        }
    }

    #[test]
    fn past_cis_selector_changes_and_rule_modifications_fire() {
        for name in ["PutEventSelectors", "PutInsightSelectors"] {
            let event = json!({"eventSource": "cloudtrail.amazonaws.com", "eventName": name});
            assert_eq!(matches(filter("cloudtrail-changes"), &event), Ok(true), "4.5 must fire on {name}: it can blind the trail");
        }
        let modify = json!({"eventSource": "ec2.amazonaws.com", "eventName": "ModifySecurityGroupRules"});
        assert_eq!(matches(filter("security-group-changes"), &modify), Ok(true), "4.10 must fire on a rule changed in place");
    }

    #[test]
    fn deliberate_differences_from_the_cis_text() {
        let scp = json!({"eventSource": "organizations.amazonaws.com", "eventName": "CreatePolicy"});
        assert_eq!(matches(filter("iam-policy-changes"), &scp), Ok(false), "4.4 is for IAM: an SCP is 4.15's");
        assert_eq!(matches(filter("organizations-changes"), &scp), Ok(true));
        let s3_route = json!({"eventSource": "s3.amazonaws.com", "eventName": "DeleteRoute", "errorCode": "AccessDenied"});
        assert_eq!(matches(filter("route-table-changes"), &s3_route), Ok(false), "4.13's source clause binds every event name");
        let delivery = json!({"eventName": "PutObject", "errorCode": "AccessDenied", "sourceIPAddress": "delivery.logs.amazonaws.com"});
        assert_eq!(matches(filter("unauthorized-api-calls"), &delivery), Ok(false), "4.1's exclusions bind both error codes");
    }

    #[test]
    fn every_filter_names_its_security_hub_control_but_organizations_changes() {
        for filter in FILTERS {
            assert_eq!(filter.fsbp.is_none(), filter.cis == "4.15", "{}", filter.slug);
        }
    }
}
