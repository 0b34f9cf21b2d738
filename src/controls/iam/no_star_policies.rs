//! `iam.no-star-policies`: no customer policy allows every action on every resource.
//!
//! Covers customer managed policies (their default version) and the inline policies of users, groups
//! and roles, all from one `iam:GetAccountAuthorizationDetails` shared with `iam.no-admin-keys` and
//! `ec2.instance-roles`. AWS
//! managed policies are AWS's to define and are not reported (`iam.no-admin-keys` reports who holds
//! keys with them). A policy is a finding when a statement allows `*` (or `*:*`) on `*`, conditions or
//! not ([`iam_authorization::grants_full_admin`]). Always `manual`: only the owner knows which actions the
//! policy's users need, and mamori never rewrites or deletes a customer policy.
//!
//! It cites Security Hub IAM.1 (customer managed policies), not CIS 1.15: that recommendation also
//! counts AWS managed policies such as `AdministratorAccess` attached to anyone, which this control
//! leaves to `iam.no-admin-keys` and to the owners of those attachments.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Serialize;

use crate::aws::AwsError;
use crate::baseline::Baseline;
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};

use crate::inventory::iam_authorization::{self, grants_full_admin};
use crate::least_privilege::Access;

static META: ControlMeta = ControlMeta {
    id: "iam.no-star-policies",
    source: file!(),
    title: "No customer policy grants *:*",
    fix: Fix::Manual,
    scope: Scope::Account,
    cis_v5: &[],
    fsbp: &["IAM.1"],
    depends_on: &[],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[],
    shared: &[crate::inventory::iam_authorization::READS],
    apply: &[],
};

pub struct NoStarPolicies;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyGrant {
    pub allows_all_actions_on_all_resources: bool,
}

#[async_trait]
impl Control for NoStarPolicies {
    /// Customer policies by resource: `policy/PATH/NAME` (managed), `user/U/inline/NAME`,
    /// `group/G/inline/NAME`, `role/R/inline/NAME`.
    type State = BTreeMap<String, PolicyGrant>;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.no_star_policies
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "customer-policies".into()
    }

    async fn observe(&self, ctx: &Context<'_>, _target: &Target) -> Result<Self::State, AwsError> {
        let details = iam_authorization::authorization(ctx.aws).await?;
        let grant = |document| PolicyGrant { allows_all_actions_on_all_resources: grants_full_admin(document) };
        let mut policies = BTreeMap::new();
        for policy in details.customer_policies.values() {
            let path_and_name = policy.arn.split_once(":policy/").map_or(policy.name.as_str(), |(_, rest)| rest);
            policies.insert(format!("policy/{path_and_name}"), grant(&policy.document));
        }
        for (user, (grants, _)) in &details.users {
            for (name, document) in &grants.inline {
                policies.insert(format!("user/{user}/inline/{name}"), grant(document));
            }
        }
        for (group, grants) in &details.groups {
            for (name, document) in &grants.inline {
                policies.insert(format!("group/{group}/inline/{name}"), grant(document));
            }
        }
        for (role, role_grants) in &details.roles {
            for (name, document) in &role_grants.grants.inline {
                policies.insert(format!("role/{role}/inline/{name}"), grant(document));
            }
        }
        Ok(policies)
    }

    fn desired(&self, _ctx: &Context<'_>, _target: &Target, observed: &Self::State, _facts: &Facts) -> Self::State {
        observed.keys().map(|name| (name.clone(), PolicyGrant { allows_all_actions_on_all_resources: false })).collect()
    }

    fn parts(&self, ctx: &Context<'_>, target: &Target, observed: &Self::State, desired: &Self::State) -> Vec<Part> {
        iam_authorization::parts_or_empty("", observed, desired, &self.resource(ctx, target))
    }

    fn manual_steps(&self, ctx: &Context<'_>, _target: &Target, part: &Part) -> Option<String> {
        let resource = part.resource.as_str();
        const LEAST: &str = "Replace the statement that allows \"*\" on \"*\" with the actions and resources actually used \
                             (IAM Access Analyzer can generate a policy from the CloudTrail history of its users)";
        if let Some(path_and_name) = resource.strip_prefix("policy/") {
            let arn = format!("arn:{}:iam::{}:policy/{path_and_name}", ctx.caller.partition, ctx.caller.account_id);
            return Some(format!(
                "{LEAST}, then make it the default version: `aws iam create-policy-version --policy-arn {arn} \
                 --policy-document file://least-privilege.json --set-as-default` (a policy keeps at most five versions)."
            ));
        }
        let (kind, rest) = resource.split_once('/')?;
        let (owner, name) = rest.split_once("/inline/")?;
        Some(format!(
            "{LEAST}, then write it back: `aws iam put-{kind}-policy --{kind}-name {owner} --policy-name {name} \
             --policy-document file://least-privilege.json`."
        ))
    }

    async fn apply(&self, _ctx: &Context<'_>, _target: &Target, _observed: &Self::State, _desired: &Self::State) -> Result<(), ControlError> {
        Err(ControlError::Precondition("customer policies are narrowed by their owner: see the finding's steps".into()))
    }
}
