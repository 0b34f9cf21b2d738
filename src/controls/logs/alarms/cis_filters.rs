//! The CIS 4.x metric filters `logs.alarms` writes: one per risky activity, each a CloudWatch Logs
//! filter pattern over CloudTrail events. Every pattern is unit-tested against a sample event that must
//! fire and one that must not, with the evaluator in [`super::filter_pattern`].

/// One metric filter and the alarm on its metric.
#[derive(Debug)]
pub struct CisFilter {
    /// Metric, filter (`mamori-cis-<slug>`) and alarm name stem.
    pub slug: &'static str,
    /// CIS AWS Foundations recommendation it implements.
    pub cis: &'static str,
    pub pattern: &'static str,
}

pub const FILTERS: &[CisFilter] = &[
    CisFilter {
        slug: "unauthorized-api-calls",
        cis: "4.1",
        pattern: r#"{ (($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*")) && ($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }"#,
    },
    CisFilter {
        slug: "console-signin-without-mfa",
        cis: "4.2",
        pattern: r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }"#,
    },
    CisFilter {
        slug: "root-usage",
        cis: "4.3",
        pattern: r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#,
    },
    CisFilter {
        slug: "iam-policy-changes",
        cis: "4.4",
        pattern: r#"{ ($.eventSource = iam.amazonaws.com) && (($.eventName = DeleteGroupPolicy) || ($.eventName = DeleteRolePolicy) || ($.eventName = DeleteUserPolicy) || ($.eventName = PutGroupPolicy) || ($.eventName = PutRolePolicy) || ($.eventName = PutUserPolicy) || ($.eventName = CreatePolicy) || ($.eventName = DeletePolicy) || ($.eventName = CreatePolicyVersion) || ($.eventName = DeletePolicyVersion) || ($.eventName = AttachRolePolicy) || ($.eventName = DetachRolePolicy) || ($.eventName = AttachUserPolicy) || ($.eventName = DetachUserPolicy) || ($.eventName = AttachGroupPolicy) || ($.eventName = DetachGroupPolicy)) }"#,
    },
    CisFilter {
        slug: "cloudtrail-changes",
        cis: "4.5",
        pattern: r#"{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) || ($.eventName = StopLogging) }"#,
    },
    CisFilter {
        slug: "console-auth-failures",
        cis: "4.6",
        pattern: r#"{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }"#,
    },
    CisFilter {
        slug: "cmk-disable-or-deletion",
        cis: "4.7",
        pattern: r#"{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }"#,
    },
    CisFilter {
        slug: "s3-bucket-policy-changes",
        cis: "4.8",
        pattern: r#"{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || ($.eventName = PutBucketPolicy) || ($.eventName = PutBucketCors) || ($.eventName = PutBucketLifecycle) || ($.eventName = PutBucketReplication) || ($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || ($.eventName = DeleteBucketLifecycle) || ($.eventName = DeleteBucketReplication)) }"#,
    },
    CisFilter {
        slug: "config-changes",
        cis: "4.9",
        pattern: r#"{ ($.eventSource = config.amazonaws.com) && (($.eventName = StopConfigurationRecorder) || ($.eventName = DeleteDeliveryChannel) || ($.eventName = PutDeliveryChannel) || ($.eventName = PutConfigurationRecorder)) }"#,
    },
    CisFilter {
        slug: "security-group-changes",
        cis: "4.10",
        pattern: r#"{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || ($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || ($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }"#,
    },
    CisFilter {
        slug: "nacl-changes",
        cis: "4.11",
        pattern: r#"{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || ($.eventName = DeleteNetworkAcl) || ($.eventName = DeleteNetworkAclEntry) || ($.eventName = ReplaceNetworkAclEntry) || ($.eventName = ReplaceNetworkAclAssociation) }"#,
    },
    CisFilter {
        slug: "network-gateway-changes",
        cis: "4.12",
        pattern: r#"{ ($.eventName = CreateCustomerGateway) || ($.eventName = DeleteCustomerGateway) || ($.eventName = AttachInternetGateway) || ($.eventName = CreateInternetGateway) || ($.eventName = DeleteInternetGateway) || ($.eventName = DetachInternetGateway) }"#,
    },
    CisFilter {
        slug: "route-table-changes",
        cis: "4.13",
        pattern: r#"{ ($.eventSource = ec2.amazonaws.com) && (($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || ($.eventName = ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) || ($.eventName = DeleteRouteTable) || ($.eventName = DeleteRoute) || ($.eventName = DisassociateRouteTable)) }"#,
    },
    CisFilter {
        slug: "vpc-changes",
        cis: "4.14",
        pattern: r#"{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || ($.eventName = ModifyVpcAttribute) || ($.eventName = AcceptVpcPeeringConnection) || ($.eventName = CreateVpcPeeringConnection) || ($.eventName = DeleteVpcPeeringConnection) || ($.eventName = RejectVpcPeeringConnection) || ($.eventName = AttachClassicLinkVpc) || ($.eventName = DetachClassicLinkVpc) || ($.eventName = DisableVpcClassicLink) || ($.eventName = EnableVpcClassicLink) }"#,
    },
    CisFilter {
        slug: "organizations-changes",
        cis: "4.15",
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
}
