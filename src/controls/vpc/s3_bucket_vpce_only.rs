//! `vpc.s3-bucket-vpce-only`: designated data buckets accept requests only through the VPC's S3
//! gateway endpoint, switched over in two stages.
//!
//! Each bucket named in the baseline gets one bucket-policy statement, `Sid` [`SID`]:
//!
//! ```json
//! {"Sid": "MamoriVpceOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
//!  "Resource": ["arn:aws:s3:::BUCKET", "arn:aws:s3:::BUCKET/*"],
//!  "Condition": {
//!    "StringNotEquals": {"aws:SourceVpce": ["vpce-…"]},
//!    "NotIpAddress":    {"aws:SourceIp": ["203.0.113.0/24"]},
//!    "ArnNotLike":      {"aws:PrincipalArn": ["arn:aws:iam::111122223333:role/BreakGlass"]},
//!    "BoolIfExists":    {"aws:PrincipalIsAWSService": "false", "aws:ViaAWSService": "false"}}}
//! ```
//!
//! The conditions of one statement must all hold for the deny to apply, so the request is denied
//! unless it comes through one of the endpoints, OR from a listed range (`stage: allow-ip-or-vpce`
//! only; `vpce-only` drops `NotIpAddress`), OR from a break-glass principal, OR from an AWS service:
//! a service principal writing on its own behalf (CloudTrail, S3 server access logging, VPC flow log
//! and ELB log delivery) or a service acting for a principal through a forward access session
//! (Athena, Glue, S3 calling KMS). Those requests carry no `aws:SourceVpce`, and a negated operator on
//! an absent key is true, so without the last condition the deny would silently break them; it is
//! the data-perimeter pattern of AWS's "Building a data perimeter on AWS" whitepaper, on the keys
//! `aws:PrincipalIsAWSService` and `aws:ViaAWSService` ("AWS global condition context keys"). The
//! endpoints are the S3 gateway endpoints `vpc.endpoints` found in the bucket's region (published
//! through [`Facts::s3_gateway_endpoints`]; this control depends on it).
//!
//! The statement is merged into the bucket's policy by `Sid`: the policy text is spliced, so every other
//! statement stays byte for byte as it was. Nothing else of the bucket is touched; a bucket that does
//! not exist is reported and never created. Each bucket is located first, in whatever region it is
//! ([`crate::inventory::buckets`]), and every call names this account as its expected owner: a bucket
//! of the name that another account owns is an `error` and is sent nothing.
//!
//! # Never a lock-out
//! - The baseline must name at least one break-glass principal (checked when it loads).
//! - `apply` refuses (the finding becomes `error`) when the caller itself is not a break-glass
//!   principal: mamori may run outside the VPC, and would lock itself out of the policy it just wrote.
//!   The caller is judged as AWS will judge it: by its `aws:PrincipalArn`, which for a role session is
//!   the role's ARN with its path ([`principal_arn`], one `iam:GetRole` before the first write), against
//!   the statement about to be written, by the policy evaluator ([`locks_out`]), so `ArnNotLike`
//!   compares the six ARN parts separately and a `*` never crosses a `:`. A pattern `role/BreakGlass`
//!   does not exempt `role/ops/BreakGlass`, nor `role/AWSReservedSSO_Admin_*` an IAM Identity Center
//!   role (`role/aws-reserved/sso.amazonaws.com/…`). When the role cannot be read, it refuses too.
//! - `apply` refuses when the bucket's region has no S3 gateway endpoint in scope: the deny would
//!   leave only the break-glass principals.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{json, Value};

use crate::aws::{AwsError, NameCall};
use crate::baseline::{Baseline, Stage, VpceOnly};
use crate::engine::{Context, Control, ControlError, ControlMeta, Facts, Fix, Part, Scope, Target};
use crate::inventory::buckets::{self, Located};
use crate::policy;
use crate::policy::arn;
use crate::policy::evaluate::{evaluate, Decision, Policies};
use crate::policy::request::{Principal, Request};
use crate::report::Action;
use crate::least_privilege::{self as privilege, Access, Grant};

pub mod principal_arn;

/// The `Sid` of mamori's statement: the merge key.
pub const SID: &str = "MamoriVpceOnly";

static META: ControlMeta = ControlMeta {
    id: "vpc.s3-bucket-vpce-only",
    source: file!(),
    title: "Data buckets accept requests only through the VPC endpoint (staged: endpoint or source IP, then endpoint only)",
    fix: Fix::Automatic,
    scope: Scope::Account,
    cis_v5: &[],
    fsbp: &[],
    depends_on: &["vpc.endpoints"],
    access: &ACCESS,
};

/// The IAM actions it calls (see [`crate::least_privilege`]).
static ACCESS: Access = Access {
    observe: &[
        Grant::on(&["s3:GetBucketPolicy"], &[privilege::arn::VPCE_BUCKET]),
    ],
    shared: &[crate::inventory::buckets::READS],
    apply: &[
        Grant::on(&["s3:PutBucketPolicy"], &[privilege::arn::VPCE_BUCKET]),
        Grant::on(&["iam:GetRole"], &[privilege::arn::ANY_ROLE]),
    ],
};

pub struct BucketVpceOnly;

/// The buckets of the baseline, by (rendered) name.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct VpceOnlyState {
    pub buckets: BTreeMap<String, BucketState>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BucketState {
    pub exists: bool,
    /// Where the bucket lives; identity, copied into the desired state.
    pub region: Option<String>,
    /// mamori's statement (by `Sid`), normalized; `None` when the policy has none.
    pub statement: Option<Value>,
    /// The policy text as read, to splice into.
    #[serde(skip)]
    pub policy: Option<String>,
}

fn settings<'a>(ctx: &Context<'a>) -> &'a VpceOnly {
    ctx.baseline.vpce_only.as_ref().expect("the engine only runs enabled controls")
}

/// Stands in for the endpoint ids while a region has none: `apply` refuses it.
fn missing_endpoint(region: &str) -> String {
    format!("(no S3 gateway endpoint of vpc.endpoints in {region})")
}

/// The deny statement for one bucket. Pure.
pub fn statement(partition: &str, bucket: &str, stage: Stage, source_ips: &[String], endpoints: &[String], break_glass: &[String]) -> Value {
    let mut condition = serde_json::Map::new();
    condition.insert("StringNotEquals".into(), json!({"aws:SourceVpce": endpoints}));
    if stage == Stage::AllowIpOrVpce {
        condition.insert("NotIpAddress".into(), json!({"aws:SourceIp": source_ips}));
    }
    condition.insert("ArnNotLike".into(), json!({"aws:PrincipalArn": break_glass}));
    condition.insert("BoolIfExists".into(), json!({"aws:PrincipalIsAWSService": "false", "aws:ViaAWSService": "false"}));
    json!({
        "Sid": SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [format!("arn:{partition}:s3:::{bucket}"), format!("arn:{partition}:s3:::{bucket}/*")],
        "Condition": condition,
    })
}

/// The requests a caller outside the VPC must keep on `bucket`: reading its objects, and rewriting
/// its policy (the way back from a mistake).
fn caller_requests(partition: &str, bucket: &str, principal_arn: &str) -> Vec<Request> {
    let caller = Principal::aws(principal_arn);
    vec![
        Request::new(caller.clone(), "s3:GetObject", &format!("arn:{partition}:s3:::{bucket}/any-object")),
        Request::new(caller, "s3:PutBucketPolicy", &format!("arn:{partition}:s3:::{bucket}")),
    ]
}

/// True when `wanted` (mamori's statement for `bucket`) denies the caller whose `aws:PrincipalArn` is
/// `principal_arn` its bucket from outside the VPC, judged by the policy evaluator as IAM judges the
/// statement: `ArnNotLike` compares the six ARN parts separately, and the role's path is part of the
/// ARN. The caller's address is unknown, so stage 1's source ranges do not exempt it.
pub fn locks_out(wanted: &Value, partition: &str, bucket: &str, principal_arn: &str) -> bool {
    let document = json!({"Statement": [wanted]});
    let owner = arn::account(principal_arn).unwrap_or_default();
    let policies = Policies::resource(&document, owner);
    caller_requests(partition, bucket, principal_arn).iter().any(|request| matches!(evaluate(&policies, request), Decision::ExplicitDeny(_)))
}

async fn observe_bucket(ctx: &Context<'_>, name: &str) -> Result<BucketState, AwsError> {
    let owner = &ctx.caller.account_id;
    let location = match buckets::locate(ctx, name, Some(owner)).await? {
        Located::Found { region } => region,
        Located::Missing => return Ok(BucketState { exists: false, region: None, statement: None, policy: None }),
        Located::OwnedByAnotherAccount => return Err(buckets::owned_by_another_account(name, owner, "vpc.s3_bucket_vpce_only.buckets")),
    };
    let client = ctx.aws.s3(&location);
    let policy = match client.get_bucket_policy().bucket(name).expected_bucket_owner(owner).send().await.named("s3:GetBucketPolicy") {
        Ok(out) => out.policy().map(str::to_string),
        Err(e) if e.has_code("NoSuchBucketPolicy") => None,
        Err(e) => return Err(e),
    };
    let statement = policy
        .as_deref()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .and_then(|document| policy::statement_with_sid(&document, SID))
        .map(|s| policy::normalize(&s));
    Ok(BucketState { exists: true, region: Some(location), statement, policy })
}

#[async_trait]
impl Control for BucketVpceOnly {
    type State = VpceOnlyState;

    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    /// Off when the section is absent, disabled, or names no bucket.
    fn enabled(&self, baseline: &Baseline) -> bool {
        baseline.vpce_only.as_ref().is_some_and(|s| !s.buckets.is_empty())
    }

    fn resource(&self, _ctx: &Context<'_>, _target: &Target) -> String {
        "buckets".into()
    }

    async fn observe(&self, ctx: &Context<'_>, target: &Target) -> Result<VpceOnlyState, AwsError> {
        let vars = ctx.vars(&target.region);
        let mut state = VpceOnlyState::default();
        for bucket in &settings(ctx).buckets {
            let name = vars.render(&bucket.name);
            let observed = observe_bucket(ctx, &name).await?;
            state.buckets.insert(name, observed);
        }
        Ok(state)
    }

    fn desired(&self, ctx: &Context<'_>, target: &Target, observed: &VpceOnlyState, facts: &Facts) -> VpceOnlyState {
        let vars = ctx.vars(&target.region);
        let settings = settings(ctx);
        let break_glass: Vec<String> = settings.break_glass_principals.iter().map(|p| vars.render(p)).collect();
        let mut state = VpceOnlyState::default();
        for bucket in &settings.buckets {
            let name = vars.render(&bucket.name);
            let current = observed.buckets.get(&name);
            let region = current.and_then(|b| b.region.clone());
            let endpoints = match region.as_ref().and_then(|r| facts.s3_gateway_endpoints.iter().find(|(k, _)| k.as_str() == r)) {
                Some((_, ids)) if !ids.is_empty() => ids.clone(),
                _ => vec![missing_endpoint(region.as_deref().unwrap_or("the bucket's region"))],
            };
            let wanted = statement(vars.partition, &name, bucket.stage, &bucket.source_ips, &endpoints, &break_glass);
            state.buckets.insert(
                name,
                BucketState {
                    exists: true,
                    region,
                    statement: Some(policy::normalize(&wanted)),
                    policy: current.and_then(|b| b.policy.clone()),
                },
            );
        }
        state
    }

    fn parts(&self, _ctx: &Context<'_>, _target: &Target, observed: &VpceOnlyState, desired: &VpceOnlyState) -> Vec<Part> {
        desired
            .buckets
            .iter()
            .map(|(name, wanted)| {
                let current = observed.buckets.get(name);
                Part {
                    resource: format!("bucket/{name}"),
                    observed: json!({"exists": current.is_some_and(|b| b.exists), "statement": current.and_then(|b| b.statement.clone())}),
                    desired: json!({"exists": wanted.exists, "statement": wanted.statement}),
                    action: if current.is_some_and(|b| b.statement.is_some()) { Action::Update } else { Action::Create },
                    fix: None,
                }
            })
            .collect()
    }

    async fn apply(&self, ctx: &Context<'_>, _target: &Target, observed: &VpceOnlyState, desired: &VpceOnlyState) -> Result<(), ControlError> {
        let vars = ctx.vars(ctx.baseline.home_region());
        let break_glass: Vec<String> = settings(ctx).break_glass_principals.iter().map(|p| vars.render(p)).collect();
        let partition = ctx.caller.partition.as_str();
        // The caller's aws:PrincipalArn, resolved (iam:GetRole for a role session) before the first write.
        let mut caller: Option<Result<String, AwsError>> = None;
        let mut failures = Vec::new();
        for (name, wanted) in &desired.buckets {
            let Some(current) = observed.buckets.get(name) else { continue };
            if current.statement == wanted.statement {
                continue;
            }
            let wanted_statement = wanted.statement.clone().expect("desired always has the statement");
            let refusal = if !current.exists {
                Some(format!("bucket {name} does not exist (mamori does not create data buckets)"))
            } else if wanted_statement.to_string().contains("(no S3 gateway endpoint") {
                Some(format!("refusing to write the deny on {name}: its region has no S3 gateway endpoint in scope of vpc.endpoints"))
            } else {
                if caller.is_none() {
                    caller = Some(principal_arn::resolve(ctx.aws, &ctx.caller.arn).await);
                }
                match caller.as_ref().expect("resolved above") {
                    Err(e) => Some(format!(
                        "refusing to write the deny on {name}: the caller {} is a role session, and its role's ARN (with its path, what \
                         aws:PrincipalArn carries) could not be read to compare with the break-glass principals: {e}",
                        ctx.caller.arn
                    )),
                    Ok(principal) if locks_out(&wanted_statement, partition, name, principal) => Some(format!(
                        "refusing to write the deny on {name}: the caller {principal} is not a break-glass principal ({}; compared as IAM \
                         does, ARN part by part, role path included), and would lock itself out when it runs outside the VPC",
                        break_glass.join(", ")
                    )),
                    Ok(_) => None,
                }
            };
            if let Some(refusal) = refusal {
                failures.push(refusal);
                continue;
            }
            let region = current.region.clone().unwrap_or_else(|| ctx.baseline.home_region().to_string());
            let text = policy::splice_statement(current.policy.as_deref(), &wanted_statement)
                .map_err(|e| ControlError::Precondition(format!("bucket {name}: cannot merge into its policy: {e}")))?;
            ctx.aws
                .s3(&region)
                .put_bucket_policy()
                .bucket(name)
                .expected_bucket_owner(&ctx.caller.account_id)
                .policy(text)
                .send()
                .await
                .named("s3:PutBucketPolicy")?;
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(ControlError::Precondition(failures.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_one_has_both_negative_conditions_in_one_statement() {
        let ips = vec!["203.0.113.0/24".to_string()];
        let one = statement("aws", "data", Stage::AllowIpOrVpce, &ips, &["vpce-1".into()], &["arn:aws:iam::1:role/B".into()]);
        assert_eq!(one["Effect"], "Deny");
        assert_eq!(one["Condition"]["StringNotEquals"]["aws:SourceVpce"], json!(["vpce-1"]));
        assert_eq!(one["Condition"]["NotIpAddress"]["aws:SourceIp"], json!(ips));
        assert_eq!(one["Condition"]["ArnNotLike"]["aws:PrincipalArn"], json!(["arn:aws:iam::1:role/B"]));
        assert_eq!(one["Condition"]["BoolIfExists"], json!({"aws:PrincipalIsAWSService": "false", "aws:ViaAWSService": "false"}));
        let two = statement("aws", "data", Stage::VpceOnly, &ips, &["vpce-1".into()], &["arn:aws:iam::1:role/B".into()]);
        assert!(two["Condition"].get("NotIpAddress").is_none());
        assert_eq!(two["Sid"], one["Sid"], "stage 2 replaces stage 1 by Sid");
    }

    /// Whether the statement denies each kind of request a data bucket receives, judged by the policy
    /// evaluator. Rows: (what, request, denied in stage 2 (`vpce-only`), denied in stage 1).
    #[test]
    fn the_deny_spares_the_endpoint_break_glass_and_aws_services_only() {
        const ACCOUNT: &str = "111122223333";
        let object = "arn:aws:s3:::data/AWSLogs/x.gz";
        let role = |name: &str| Principal::aws(&format!("arn:aws:iam::{ACCOUNT}:role/{name}"));
        let service = |name: &str| Request::new(Principal::service(name), "s3:PutObject", object).with("aws:SourceAccount", ACCOUNT);
        let user = || Request::new(role("Analyst"), "s3:GetObject", object);
        let rows = [
            // AWS service principals writing on their own behalf: no aws:SourceVpce, no aws:PrincipalArn.
            ("CloudTrail delivers a log file", service("cloudtrail.amazonaws.com"), false, false),
            ("S3 server access logging delivers", service("logging.s3.amazonaws.com"), false, false),
            ("VPC flow logs deliver", service("delivery.logs.amazonaws.com"), false, false),
            ("ELB access logs deliver (service principal regions)", service("logdelivery.elasticloadbalancing.amazonaws.com"), false, false),
            // Services acting for a principal outside the VPC (forward access sessions).
            ("Athena reads for an analyst", user().via_service("athena.amazonaws.com"), false, false),
            ("Glue reads for an analyst", user().via_service("glue.amazonaws.com"), false, false),
            // IAM principals.
            ("an analyst through the endpoint", user().with("aws:SourceVpce", "vpce-1"), false, false),
            ("an analyst through another VPC's endpoint", user().with("aws:SourceVpce", "vpce-9"), true, true),
            ("an analyst from a listed range", user().with("aws:SourceIp", "203.0.113.9"), true, false),
            ("an analyst from the internet", user().with("aws:SourceIp", "192.0.2.1"), true, true),
            ("the break-glass role from the internet", Request::new(role("ops/BreakGlass"), "s3:GetObject", object), false, false),
            ("a replication role (an IAM role, no service principal)", Request::new(role("s3-replication"), "s3:ReplicateObject", object), true, true),
            ("legacy ELB log delivery (an AWS account, not a service principal)", Request::new(Principal::aws("arn:aws:iam::127311923021:root"), "s3:PutObject", object), true, true),
        ];
        let break_glass = [format!("arn:aws:iam::{ACCOUNT}:role/ops/BreakGlass")];
        let ips = ["203.0.113.0/24".to_string()];
        for (stage, column) in [(Stage::VpceOnly, 2), (Stage::AllowIpOrVpce, 3)] {
            let document = json!({"Statement": [statement("aws", "data", stage, &ips, &["vpce-1".into()], &break_glass)]});
            let policies = Policies::resource(&document, ACCOUNT);
            for (what, request, in_stage_two, in_stage_one) in &rows {
                let denied = matches!(evaluate(&policies, request), Decision::ExplicitDeny(_));
                let expected = if column == 2 { in_stage_two } else { in_stage_one };
                assert_eq!(denied, *expected, "{stage:?}: {what}");
            }
        }
        let mut without_perimeter = statement("aws", "data", Stage::VpceOnly, &ips, &["vpce-1".into()], &break_glass);
        without_perimeter["Condition"].as_object_mut().unwrap().remove("BoolIfExists");
        let document = json!({"Statement": [without_perimeter]});
        let trail = &rows[0].1;
        assert!(matches!(evaluate(&Policies::resource(&document, ACCOUNT), trail), Decision::ExplicitDeny(_)), "the negated keys alone deny CloudTrail");
    }

    #[test]
    fn break_glass_patterns_exempt_callers_as_iam_compares_arns() {
        const ACCOUNT: &str = "111122223333";
        let role = |path_and_name: &str| format!("arn:aws:iam::{ACCOUNT}:role/{path_and_name}");
        let sso = role("aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AdministratorAccess_0123456789abcdef");
        // (break-glass pattern, the caller's aws:PrincipalArn, locked out)
        let table = [
            (role("BreakGlass"), role("BreakGlass"), false),
            (role("BreakGlass"), role("ops/BreakGlass"), true),
            (role("ops/BreakGlass"), role("ops/BreakGlass"), false),
            (role("*BreakGlass"), role("ops/BreakGlass"), false),
            (role("*/BreakGlass"), role("BreakGlass"), true),
            (role("breakglass"), role("BreakGlass"), true),
            (role("Break?lass"), role("BreakGlass"), false),
            (role("AWSReservedSSO_AdministratorAccess_*"), sso.clone(), true),
            (role("aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_AdministratorAccess_*"), sso.clone(), false),
            (role("aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_*"), sso.clone(), true),
            (role("*AWSReservedSSO_AdministratorAccess_*"), sso.clone(), false),
            ("arn:aws:iam::*:role/BreakGlass".to_string(), role("BreakGlass"), false),
            ("arn:aws:*:role/BreakGlass".to_string(), role("BreakGlass"), true),
            ("arn:aws:iam::*:*".to_string(), role("BreakGlass"), false),
            (format!("arn:aws:iam::{ACCOUNT}:root"), role("BreakGlass"), true),
            (format!("arn:aws:iam::{ACCOUNT}:root"), format!("arn:aws:iam::{ACCOUNT}:root"), false),
            (format!("arn:aws:iam::{ACCOUNT}:user/break-*"), format!("arn:aws:iam::{ACCOUNT}:user/team/break-glass"), true),
            (format!("arn:aws:iam::{ACCOUNT}:user/*break-*"), format!("arn:aws:iam::{ACCOUNT}:user/team/break-glass"), false),
        ];
        for (pattern, caller, locked_out) in table {
            let wanted = statement("aws", "data", Stage::VpceOnly, &[], &["vpce-1".into()], std::slice::from_ref(&pattern));
            assert_eq!(locks_out(&wanted, "aws", "data", &caller), locked_out, "break-glass {pattern}, caller {caller}");
        }
        let stage_one = statement("aws", "data", Stage::AllowIpOrVpce, &["0.0.0.0/0".into()], &["vpce-1".into()], &[role("Other")]);
        assert!(locks_out(&stage_one, "aws", "data", &role("BreakGlass")), "the caller's address is unknown: source ranges exempt nobody");
    }
}
