//! The member-account role a run over an organization enters (`organization.role_name`), as a
//! CloudFormation template (for a StackSet over the organization) or as Terraform HCL: the role,
//! trusting the one principal given on the command line (the management account's runner role), with
//! the external id the baseline asks for, and the policy [`super::document::policy`] printed inline.
//!
//! IAM caps a role's inline policies at 10,240 characters in total, whitespace excluded
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>); the inline policy
//! is printed compact, and [`inline_policy_size`] measures it as IAM does (a unit test holds the
//! shipped baselines' policies to the quota).
//!
//! Pure: no AWS call. The trust policy never uses a `Service` principal: the role is for a person's or
//! a runner's session, not for an AWS service.

use serde_json::{json, Value};

/// What the role is: its name, whom it trusts, and the policy it carries.
pub struct MemberRole<'a> {
    /// `mamori-verify`, `mamori-apply`, or the baseline's `organization.role_name`.
    pub name: &'a str,
    /// The principal allowed to assume it (the management account's runner role ARN, or an account id).
    pub trusted: &'a str,
    /// `organization.external_id`, required in the trust policy when set.
    pub external_id: Option<&'a str>,
    /// The permission policy document.
    pub policy: &'a Value,
}

/// IAM's quota on the inline policies of one role, in characters, whitespace excluded.
pub const ROLE_INLINE_POLICY_QUOTA: usize = 10_240;

/// A policy's size as IAM counts it against [`ROLE_INLINE_POLICY_QUOTA`].
pub fn inline_policy_size(policy: &Value) -> usize {
    policy.to_string().chars().filter(|c| !c.is_whitespace()).count()
}

impl MemberRole<'_> {
    /// The trust policy: `sts:AssumeRole` for the trusted principal, with the external id when the
    /// baseline sets one.
    pub fn trust_policy(&self) -> Value {
        let mut statement = json!({"Effect": "Allow", "Principal": {"AWS": self.trusted}, "Action": "sts:AssumeRole"});
        if let Some(external_id) = self.external_id {
            statement["Condition"] = json!({"StringEquals": {"sts:ExternalId": external_id}});
        }
        json!({"Version": "2012-10-17", "Statement": [statement]})
    }

    /// A CloudFormation template (JSON) with the role and its inline policy, ready for a StackSet.
    pub fn cloudformation(&self) -> String {
        let template = json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": format!("mamori member-account role {}: the least privilege of its runs, trusting {}", self.name, self.trusted),
            "Resources": {
                "MamoriRole": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "RoleName": self.name,
                        "AssumeRolePolicyDocument": self.trust_policy(),
                        "Policies": [{"PolicyName": self.name, "PolicyDocument": self.policy}],
                    }
                }
            },
            "Outputs": {"RoleArn": {"Value": {"Fn::GetAtt": ["MamoriRole", "Arn"]}}},
        });
        serde_json::to_string_pretty(&template).expect("templates serialize") + "\n"
    }

    /// Terraform: an `aws_iam_role` and its `aws_iam_role_policy`, the documents as `jsonencode` of
    /// the exact JSON (Terraform reads JSON objects as HCL object expressions).
    pub fn terraform(&self) -> String {
        let resource = self.name.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
        let hcl = |value: &Value| serde_json::to_string_pretty(value).expect("documents serialize").replace('\n', "\n  ");
        format!(
            "resource \"aws_iam_role\" \"{resource}\" {{\n  name = {name}\n  assume_role_policy = jsonencode({trust})\n}}\n\n\
             resource \"aws_iam_role_policy\" \"{resource}\" {{\n  name = {name}\n  role = aws_iam_role.{resource}.id\n  policy = jsonencode({policy})\n}}\n",
            name = Value::from(self.name),
            trust = hcl(&self.trust_policy()),
            policy = hcl(self.policy),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(external_id: Option<&str>) -> (Value, String, String, Value) {
        let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ec2:DescribeVpcs"], "Resource": ["*"]}]});
        let role = MemberRole { name: "mamori-verify", trusted: "arn:aws:iam::111122223333:role/runner", external_id, policy: &policy };
        (role.trust_policy(), role.cloudformation(), role.terraform(), policy.clone())
    }

    #[test]
    fn the_cloudformation_template_carries_the_trust_and_the_policy() {
        let (trust, cloudformation, _, policy) = role(Some("audit-2026"));
        let template: Value = serde_json::from_str(&cloudformation).unwrap();
        let properties = &template["Resources"]["MamoriRole"]["Properties"];
        assert_eq!(properties["RoleName"], "mamori-verify");
        assert_eq!(properties["AssumeRolePolicyDocument"], trust);
        assert_eq!(properties["Policies"][0]["PolicyDocument"], policy);
        assert_eq!(trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"], "audit-2026");
        assert_eq!(trust["Statement"][0]["Principal"], json!({"AWS": "arn:aws:iam::111122223333:role/runner"}));
    }

    #[test]
    fn the_terraform_role_and_policy_reference_each_other() {
        let (_, _, terraform, _) = role(None);
        assert!(terraform.contains("resource \"aws_iam_role\" \"mamori_verify\""), "{terraform}");
        assert!(terraform.contains("role = aws_iam_role.mamori_verify.id"), "{terraform}");
        assert!(terraform.contains("\"ec2:DescribeVpcs\""), "{terraform}");
        assert!(!terraform.contains("Condition"), "no external id, no condition: {terraform}");
        assert_eq!(terraform.matches('{').count(), terraform.matches('}').count(), "balanced: {terraform}");
    }
}
