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
//!    "ArnNotLike":      {"aws:PrincipalArn": ["arn:aws:iam::111122223333:role/BreakGlass"]}}}
//! ```
//!
//! The conditions of one statement must all hold for the deny to apply, so the request is denied
//! unless it comes through one of the endpoints, OR from a listed range (`stage: allow-ip-or-vpce`
//! only; `vpce-only` drops `NotIpAddress`), OR from a break-glass principal. The endpoints are the S3
//! gateway endpoints `vpc.endpoints` found in the bucket's region (published through
//! [`Facts::s3_gateway_endpoints`]; this control depends on it).
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
use crate::report::Action;

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
    json!({
        "Sid": SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [format!("arn:{partition}:s3:::{bucket}"), format!("arn:{partition}:s3:::{bucket}/*")],
        "Condition": condition,
    })
}

/// The ARN `aws:PrincipalArn` carries for the caller: an assumed-role session is its role.
pub fn principal_arn(caller_arn: &str) -> String {
    let parts: Vec<&str> = caller_arn.splitn(6, ':').collect();
    if parts.len() == 6 && parts[2] == "sts" {
        if let Some(rest) = parts[5].strip_prefix("assumed-role/") {
            let role = rest.split('/').next().unwrap_or(rest);
            return format!("arn:{}:iam::{}:role/{role}", parts[1], parts[4]);
        }
    }
    caller_arn.to_string()
}

/// `*` and `?` wildcard match, as `ArnLike` does.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// True when `principal` matches one of `patterns`. A role's path is not in a session ARN, so a
/// pattern `…:role/path/Name` also matches `…:role/Name`.
pub fn is_exempt(patterns: &[String], principal: &str) -> bool {
    patterns.iter().any(|pattern| {
        let without_path = pattern.split_once(":role/").map(|(head, path)| format!("{head}:role/{}", path.rsplit('/').next().unwrap_or(path)));
        glob(pattern, principal) || without_path.is_some_and(|p| glob(&p, principal))
    })
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
        let caller = principal_arn(&ctx.caller.arn);
        let mut failures = Vec::new();
        for (name, wanted) in &desired.buckets {
            let Some(current) = observed.buckets.get(name) else { continue };
            if current.statement == wanted.statement {
                continue;
            }
            let refusal = if !current.exists {
                Some(format!("bucket {name} does not exist (mamori does not create data buckets)"))
            } else if !is_exempt(&break_glass, &caller) {
                Some(format!(
                    "refusing to write the deny on {name}: the caller {caller} is not a break-glass principal ({}), and would lock itself out when it runs outside the VPC",
                    break_glass.join(", ")
                ))
            } else {
                wanted
                    .statement
                    .as_ref()
                    .map(|s| s.to_string())
                    .filter(|s| s.contains("(no S3 gateway endpoint"))
                    .map(|_| format!("refusing to write the deny on {name}: its region has no S3 gateway endpoint in scope of vpc.endpoints"))
            };
            if let Some(refusal) = refusal {
                failures.push(refusal);
                continue;
            }
            let region = current.region.clone().unwrap_or_else(|| ctx.baseline.home_region().to_string());
            let wanted_statement = wanted.statement.clone().expect("desired always has the statement");
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
        let two = statement("aws", "data", Stage::VpceOnly, &ips, &["vpce-1".into()], &["arn:aws:iam::1:role/B".into()]);
        assert!(two["Condition"].get("NotIpAddress").is_none());
        assert_eq!(two["Sid"], one["Sid"], "stage 2 replaces stage 1 by Sid");
    }

    #[test]
    fn callers_are_matched_against_break_glass_patterns() {
        let session = "arn:aws:sts::111122223333:assumed-role/Admin/alice";
        assert_eq!(principal_arn(session), "arn:aws:iam::111122223333:role/Admin");
        assert_eq!(principal_arn("arn:aws:iam::111122223333:user/bob"), "arn:aws:iam::111122223333:user/bob");
        let patterns = vec!["arn:aws:iam::111122223333:role/ops/Admin".to_string(), "arn:aws:iam::*:user/break-*".to_string()];
        assert!(is_exempt(&patterns, "arn:aws:iam::111122223333:role/Admin"));
        assert!(is_exempt(&patterns, "arn:aws:iam::999999999999:user/break-glass"));
        assert!(!is_exempt(&patterns, "arn:aws:iam::111122223333:role/Other"));
        assert!(glob("a*c?", "abbbcd") && !glob("a*c", "abd"));
    }
}
