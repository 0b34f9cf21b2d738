//! Which AWS services must be able to use the keys and buckets the baseline writes, as a table: one
//! [`Access`] per request that AWS documents as necessary (which principal, action, resource and
//! context keys AWS sends, and the AWS page that says so), plus the requests that must stay denied
//! (another account's resource, a service acting for another account: the confused deputy).
//!
//! The emulators do not enforce key and bucket policies for AWS service principals, so a key policy
//! that cuts CloudWatch off from the alarm topic's key, or a bucket policy that shuts out CloudTrail,
//! passes every end-to-end test while AWS would drop the alarms or the logs. This table closes that
//! class: its unit test renders every key and bucket policy template mamori writes, for the shipped
//! baselines, and judges each row with mamori's policy evaluator ([`crate::policy::evaluate`]), so a
//! template edit that cuts one of these paths fails the build; `kms.baseline-key` judges the key rows
//! against the live key policy in `verify`; `ec2.instance-roles` judges instance roles against
//! [`session_manager_requests`].
//!
//! | resource | who must use it (allowed rows) | AWS page |
//! |---|---|---|
//! | the baseline key (home region) | CloudTrail encrypts log files, describes the key, decrypts the audit bucket's S3 Bucket Key | [`CLOUDTRAIL_KEY`] |
//! | the baseline key (home region) | CloudWatch Logs encrypts the trail's log group | [`LOGS_KEY`] |
//! | the baseline key (home region) | CloudWatch alarms publish to the encrypted alarm topic | [`SNS_KEY`] |
//! | the baseline key (each region) | EC2 encrypts EBS volumes for the account's principals; EC2 Auto Scaling's service-linked role launches with it | [`EBS_KEY`], [`AUTO_SCALING_KEY`] |
//! | the baseline key (each region) | the Session Manager instance role decrypts session data; S3 encrypts its session logs (home key) | [`SESSION_KEY`], [`SESSION_PROFILE`] |
//! | the baseline key (each region) | CloudWatch Logs encrypts the session-log group, when one is named | [`LOGS_KEY`] |
//! | the audit-log bucket | CloudTrail checks the ACL and writes log files; the instance role writes session logs | [`CLOUDTRAIL_BUCKET`], [`SESSION_PROFILE`] |
//! | the access-log bucket | S3 server access logging delivers the audit bucket's access logs | [`S3_LOG_DELIVERY`] |
//!
//! Nothing here calls AWS: the rows are a pure function of the baseline, the account and the key.

use serde_json::Value;

use crate::aws::Caller;
use crate::baseline::{Baseline, RegionName, Vars};
use crate::controls::ec2::instance_roles::SESSION_MANAGER_TEMPLATE;
use crate::controls::logs::alarms::{cis_filters::FILTERS, NAME_PREFIX};
use crate::policy::request::{Principal, Request};

/// CloudTrail User Guide, "Configure AWS KMS key policies for CloudTrail".
pub const CLOUDTRAIL_KEY: &str = "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html";
/// CloudTrail User Guide, "Amazon S3 bucket policy for CloudTrail".
pub const CLOUDTRAIL_BUCKET: &str = "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html";
/// CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS Key Management Service".
pub const LOGS_KEY: &str = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html";
/// SNS Developer Guide, "Enable compatibility between event sources from AWS services and encrypted
/// topics".
pub const SNS_KEY: &str = "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services";
/// Amazon EBS User Guide, "How Amazon EBS encryption works" (EC2 calls KMS for the caller, with
/// `kms:ViaService` and `kms:CallerAccount`).
pub const EBS_KEY: &str = "https://docs.aws.amazon.com/ebs/latest/userguide/how-ebs-encryption-works.html";
/// EC2 Auto Scaling User Guide, "Required AWS KMS key policy for use with encrypted volumes".
pub const AUTO_SCALING_KEY: &str = "https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html";
/// Systems Manager User Guide, "Turn on KMS key encryption of session data".
pub const SESSION_KEY: &str = "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-preferences-enable-encryption.html";
/// Systems Manager User Guide, "Create a custom IAM instance profile for Session Manager".
pub const SESSION_PROFILE: &str = "https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html";
/// Amazon S3 User Guide, "Enabling Amazon S3 server access logging", permissions for log delivery.
pub const S3_LOG_DELIVERY: &str = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html#grant-log-delivery-permissions-general";

/// An account that is not the baseline's: the other side of every confused-deputy row.
pub const OTHER_ACCOUNT: &str = "999988887777";

/// One request, and what AWS must decide on it.
#[derive(Clone, Debug)]
pub struct Access {
    /// What the request is for, in the words of the AWS page.
    pub what: String,
    /// The AWS page that documents it.
    pub source: &'static str,
    pub request: Request,
    /// The principal's identity policies (rendered from the baseline's templates); empty for a
    /// service principal, or a principal the resource policy must allow on its own.
    pub identity: Vec<Value>,
    /// `true` for a path the baseline needs, `false` for a request that must stay denied.
    pub allowed: bool,
}

impl Access {
    /// `principal action: what`, for findings.
    pub fn describe(&self) -> String {
        let principal = match &self.request.principal {
            Principal::Aws { arn, .. } => arn.clone(),
            Principal::Service(name) => name.clone(),
        };
        format!("{principal} {} ({})", self.request.action, self.what)
    }
}

/// The names the rows are built from: the baseline, the account, and the template variables.
pub struct Names<'a> {
    pub baseline: &'a Baseline,
    pub caller: &'a Caller,
}

impl<'a> Names<'a> {
    pub fn new(baseline: &'a Baseline, caller: &'a Caller) -> Names<'a> {
        Names { baseline, caller }
    }

    fn account(&self) -> &str {
        &self.caller.account_id
    }

    fn partition(&self) -> &str {
        &self.caller.partition
    }

    fn home(&self) -> &RegionName {
        self.baseline.home_region()
    }

    /// Template variables for `region`, as the controls render them.
    pub fn vars<'b>(&'b self, region: &'b RegionName) -> Vars<'b> {
        self.baseline.vars(&self.caller.account_id, &self.caller.partition, region)
    }

    fn trail_arn(&self, account: &str) -> String {
        format!("arn:{}:cloudtrail:{}:{account}:trail/{}", self.partition(), self.home(), self.baseline.trail_name)
    }

    fn log_group_arn(&self, region: &str, account: &str, group: &str) -> String {
        format!("arn:{}:logs:{region}:{account}:log-group:{group}", self.partition())
    }

    /// The audit-log bucket (home region), when `logs.bucket` is on.
    pub fn audit_bucket(&self) -> Option<String> {
        self.baseline.log_bucket.as_ref().map(|b| b.name.render(&self.vars(self.home())))
    }

    /// The access-log bucket (home region), when `logs.bucket` is on.
    pub fn access_log_bucket(&self) -> Option<String> {
        self.baseline.log_bucket.as_ref().map(|b| b.access_log_bucket.render(&self.vars(self.home())))
    }

    /// The S3 bucket and key prefix Session Manager logs to from `region`.
    fn session_log_bucket(&self, region: &RegionName) -> Option<(String, String)> {
        let settings = self.baseline.session_preferences.as_ref()?;
        let vars = self.vars(region);
        let bucket = vars.render(settings.s3_bucket.as_ref()?);
        Some((bucket, settings.s3_key_prefix.as_deref().map(|p| vars.render(p)).unwrap_or_default()))
    }

    /// The baseline's Session Manager instance role (the one whose templates include
    /// `ssm-session-instance`) and its policies rendered: the identity of the session rows.
    pub fn session_role(&self) -> Option<(String, Vec<Value>)> {
        let roles = self.baseline.instance_roles.as_ref()?;
        let role = roles.roles.iter().find(|r| r.policy_templates.iter().any(|t| t == SESSION_MANAGER_TEMPLATE))?;
        let vars = self.vars(self.home());
        let documents = role.policy_templates.iter().map(|t| self.baseline.templates.render(t, &vars)).collect();
        Some((format!("arn:{}:iam::{}:role/{}", self.partition(), self.account(), role.name), documents))
    }
}

/// A row: `what` for `request`, per `source`.
fn row(what: &str, source: &'static str, request: Request, identity: &[Value], allowed: bool) -> Access {
    Access { what: what.to_string(), source, request, identity: identity.to_vec(), allowed }
}

fn service(name: &str, action: &str, resource: &str) -> Request {
    Request::new(Principal::service(name), action, resource)
}

/// The requests on the baseline key of `region` (ARN `key_arn`). Empty without `kms.baseline-key`.
pub fn key_accesses(names: &Names<'_>, region: &RegionName, key_arn: &str) -> Vec<Access> {
    let Some(key) = names.baseline.baseline_key.as_ref() else { return Vec::new() };
    let (account, partition, baseline) = (names.account(), names.partition(), names.baseline);
    let is_home = region == names.home();
    let alias = key.alias.qualified();
    let mut rows = Vec::new();

    if is_home && baseline.trail.is_some() {
        for (trail_account, allowed) in [(account, true), (OTHER_ACCOUNT, false)] {
            let trail = names.trail_arn(trail_account);
            let from_trail = |action: &str| {
                service("cloudtrail.amazonaws.com", action, key_arn).with("aws:SourceArn", &trail).with("aws:SourceAccount", trail_account)
            };
            let whose = if allowed { "the baseline's trail" } else { "another account's trail (confused deputy)" };
            rows.push(row(
                &format!("CloudTrail encrypts the log files of {whose}"),
                CLOUDTRAIL_KEY,
                from_trail("kms:GenerateDataKey").with("kms:EncryptionContext:aws:cloudtrail:arn", &trail),
                &[],
                allowed,
            ));
            if baseline.log_bucket.is_some() {
                rows.push(row(
                    &format!("CloudTrail decrypts the audit bucket's S3 Bucket Key when it creates or updates {whose} with SSE-KMS"),
                    CLOUDTRAIL_KEY,
                    from_trail("kms:Decrypt"),
                    &[],
                    allowed,
                ));
            }
        }
        rows.push(row(
            "CloudTrail describes the key",
            CLOUDTRAIL_KEY,
            service("cloudtrail.amazonaws.com", "kms:DescribeKey", key_arn).with("aws:SourceArn", &names.trail_arn(account)),
            &[],
            true,
        ));
    }

    // CloudWatch Logs groups encrypted with this key: the trail's (home region), the session logs'.
    let mut groups = Vec::new();
    if is_home && baseline.trail.is_some() {
        groups.push(baseline.trail_log_group.clone());
    }
    if let Some(group) = baseline.session_preferences.as_ref().and_then(|s| s.cloudwatch_log_group.as_ref()) {
        groups.push(names.vars(region).render(group));
    }
    for group in groups {
        for (group_account, allowed) in [(account, true), (OTHER_ACCOUNT, false)] {
            let arn = names.log_group_arn(region.as_str(), group_account, &group);
            let logs = format!("logs.{region}.amazonaws.com");
            for action in ["kms:GenerateDataKey", "kms:Decrypt"] {
                let whose = if allowed { format!("the log group {group}") } else { format!("another account's log group {group}") };
                rows.push(row(
                    &format!("CloudWatch Logs encrypts {whose}"),
                    LOGS_KEY,
                    service(&logs, action, key_arn).with("kms:EncryptionContext:aws:logs:arn", &arn),
                    &[],
                    allowed,
                ));
            }
        }
    }

    if is_home && baseline.alarms.is_some() {
        let alarm = |alarm_account: &str, name: &str| format!("arn:{partition}:cloudwatch:{region}:{alarm_account}:alarm:{name}");
        let ours = format!("{NAME_PREFIX}{}", FILTERS[0].slug);
        let cases = [
            (alarm(account, &ours), account, true, "the baseline's alarm"),
            (alarm(OTHER_ACCOUNT, &ours), OTHER_ACCOUNT, false, "another account's alarm (confused deputy)"),
            (alarm(account, "someone-elses-alarm"), account, false, "an alarm the baseline does not make"),
        ];
        for (source_arn, source_account, allowed, whose) in cases {
            for action in ["kms:GenerateDataKey", "kms:Decrypt"] {
                rows.push(row(
                    &format!("CloudWatch publishes {whose} to the encrypted alarm topic"),
                    SNS_KEY,
                    service("cloudwatch.amazonaws.com", action, key_arn).with("aws:SourceArn", &source_arn).with("aws:SourceAccount", source_account),
                    &[],
                    allowed,
                ));
            }
        }
    }

    if baseline.ebs_default_encryption {
        let via_ec2 = |principal: &str, action: &str| {
            let caller = Principal::aws(principal);
            let caller_account = caller.account().unwrap_or_default().to_string();
            Request::new(caller, action, key_arn)
                .via_service("ec2.amazonaws.com")
                .with("kms:ViaService", &format!("ec2.{region}.amazonaws.com"))
                .with("kms:CallerAccount", &caller_account)
        };
        let auto_scaling = |a: &str| format!("arn:{partition}:iam::{a}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling");
        let cases = [
            (format!("arn:{partition}:iam::{account}:role/Administrator"), EBS_KEY, true, "EC2 encrypts an EBS volume for a principal of the account"),
            (format!("arn:{partition}:iam::{OTHER_ACCOUNT}:role/Administrator"), EBS_KEY, false, "EC2 encrypts an EBS volume for another account's principal"),
            (auto_scaling(account), AUTO_SCALING_KEY, true, "EC2 Auto Scaling's service-linked role launches an instance with encrypted volumes"),
            (auto_scaling(OTHER_ACCOUNT), AUTO_SCALING_KEY, false, "another account's EC2 Auto Scaling launches with the key"),
        ];
        for (principal, source, allowed, what) in cases {
            for action in ["kms:GenerateDataKeyWithoutPlaintext", "kms:Decrypt", "kms:DescribeKey"] {
                rows.push(row(what, source, via_ec2(&principal, action), &[], allowed));
            }
            rows.push(row(what, source, via_ec2(&principal, "kms:CreateGrant").with("kms:GrantIsForAWSResource", "true"), &[], allowed));
        }
    }

    if let (Some(_), Some((role, identity))) = (&baseline.session_preferences, names.session_role()) {
        let other_role = role.replace(&format!(":{account}:"), &format!(":{OTHER_ACCOUNT}:"));
        let decrypt = |principal: &str| {
            let caller = Principal::aws(principal);
            let caller_account = caller.account().unwrap_or_default().to_string();
            Request::new(caller, "kms:Decrypt", key_arn).with("kms:CallerAccount", &caller_account).with_values("kms:ResourceAliases", &[&alias])
        };
        rows.push(row("the Session Manager instance role decrypts session data", SESSION_KEY, decrypt(&role), &identity, true));
        rows.push(row("another account's role decrypts session data", SESSION_KEY, decrypt(&other_role), &identity, false));
        let logs_to_audit_bucket = names.session_log_bucket(region).is_some_and(|(bucket, _)| Some(bucket) == names.audit_bucket());
        if is_home && logs_to_audit_bucket {
            let through_s3 = Request::new(Principal::aws(&role), "kms:GenerateDataKey", key_arn)
                .via_service("s3.amazonaws.com")
                .with("kms:ViaService", &format!("s3.{region}.amazonaws.com"))
                .with("kms:CallerAccount", account)
                .with_values("kms:ResourceAliases", &[&alias]);
            rows.push(row("S3 encrypts the instance role's session logs in the audit bucket", SESSION_PROFILE, through_s3, &identity, true));
        }
    }
    rows
}

/// The requests on the audit-log bucket. Empty without `logs.bucket`.
pub fn audit_bucket_accesses(names: &Names<'_>) -> Vec<Access> {
    let Some(bucket) = names.audit_bucket() else { return Vec::new() };
    let (account, partition, home) = (names.account(), names.partition(), names.home());
    let bucket_arn = format!("arn:{partition}:s3:::{bucket}");
    let mut rows = Vec::new();
    if names.baseline.trail.is_some() {
        for (trail_account, allowed) in [(account, true), (OTHER_ACCOUNT, false)] {
            let trail = names.trail_arn(trail_account);
            let whose = if allowed { "the baseline's trail" } else { "another account's trail (confused deputy)" };
            let acl = service("cloudtrail.amazonaws.com", "s3:GetBucketAcl", &bucket_arn).with("aws:SourceArn", &trail).with("aws:SourceAccount", trail_account);
            rows.push(row(&format!("CloudTrail checks the bucket ACL for {whose}"), CLOUDTRAIL_BUCKET, acl, &[], allowed));
            let object = format!("{bucket_arn}/AWSLogs/{account}/CloudTrail/{home}/2026/01/31/{account}_CloudTrail_{home}_20260131T0000Z_a1b2c3.json.gz");
            let write = service("cloudtrail.amazonaws.com", "s3:PutObject", &object)
                .with("aws:SourceArn", &trail)
                .with("aws:SourceAccount", trail_account)
                .with("s3:x-amz-acl", "bucket-owner-full-control");
            rows.push(row(&format!("CloudTrail writes the log files of {whose}"), CLOUDTRAIL_BUCKET, write, &[], allowed));
        }
    }
    let session_bucket = names.session_log_bucket(home).filter(|(session_bucket, _)| *session_bucket == bucket);
    if let (Some((_, prefix)), Some((role, identity))) = (session_bucket, names.session_role()) {
        let other_role = role.replace(&format!(":{account}:"), &format!(":{OTHER_ACCOUNT}:"));
        let object = format!("{bucket_arn}/{}", [prefix.as_str(), "i-0123456789abcdef0-0a1b2c3d4e5f67890.log"].iter().filter(|p| !p.is_empty()).cloned().collect::<Vec<_>>().join("/"));
        for (principal, allowed, whose) in [(&role, true, "the Session Manager instance role"), (&other_role, false, "another account's role")] {
            let put = Request::new(Principal::aws(principal), "s3:PutObject", &object);
            rows.push(row(&format!("{whose} writes a session log"), SESSION_PROFILE, put, &identity, allowed));
            let encryption = Request::new(Principal::aws(principal), "s3:GetEncryptionConfiguration", &bucket_arn);
            rows.push(row(&format!("{whose} checks the bucket's encryption"), SESSION_PROFILE, encryption, &identity, allowed));
        }
    }
    rows
}

/// The requests on the access-log bucket. Empty without `logs.bucket`.
pub fn access_log_bucket_accesses(names: &Names<'_>) -> Vec<Access> {
    let (Some(bucket), Some(audit)) = (names.access_log_bucket(), names.audit_bucket()) else { return Vec::new() };
    let (account, partition) = (names.account(), names.partition());
    let object = format!("arn:{partition}:s3:::{bucket}/{audit}/2026-01-31-00-00-00-0A1B2C3D4E5F6789");
    [(account, true, "of the audit bucket"), (OTHER_ACCOUNT, false, "of another account's bucket (confused deputy)")]
        .into_iter()
        .map(|(source_account, allowed, whose)| {
            let delivery = service("logging.s3.amazonaws.com", "s3:PutObject", &object)
                .with("aws:SourceArn", &format!("arn:{partition}:s3:::{audit}"))
                .with("aws:SourceAccount", source_account);
            row(&format!("S3 server access logging delivers the access logs {whose}"), S3_LOG_DELIVERY, delivery, &[], allowed)
        })
        .collect()
}

/// What a role must be allowed for Session Manager to open a session on `instance` in `region` under
/// the baseline's preferences: the SSM agent's channel actions always; with session encryption,
/// `kms:Decrypt` on the region's session key; with S3 logging, `s3:PutObject` under the prefix,
/// `s3:GetEncryptionConfiguration` on the bucket and `kms:GenerateDataKey` on the bucket's key (through
/// S3); with CloudWatch Logs, the log-stream writes on the group ([`SESSION_PROFILE`], [`SESSION_KEY`]).
/// `session_key` is the region's baseline key and `bucket_key` the KMS key that encrypts the log
/// bucket, when known; a key not yet created is named by its alias's future key (`key/*`), which only
/// a policy that allows every key of the account covers.
pub fn session_manager_requests(names: &Names<'_>, role_arn: &str, region: &RegionName, instance: &str, session_key: Option<&str>, bucket_key: Option<&str>) -> Vec<Request> {
    let (account, partition) = (names.account(), names.partition());
    let principal = Principal::aws(role_arn);
    let ask = |action: &str, resource: &str| Request::new(principal.clone(), action, resource);
    let any_key = |in_region: &str| format!("arn:{partition}:kms:{in_region}:{account}:key/*");
    let alias = names.baseline.baseline_key.as_ref().map(|k| k.alias.qualified());
    let with_alias = |request: Request| match &alias {
        Some(alias) => request.with_values("kms:ResourceAliases", &[alias]),
        None => request,
    };
    let mut wanted = vec![ask("ssm:UpdateInstanceInformation", &format!("arn:{partition}:ec2:{region}:{account}:instance/{instance}"))];
    for channel in ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"] {
        wanted.push(ask(channel, "*"));
    }
    let Some(settings) = names.baseline.session_preferences.as_ref() else { return wanted };
    if names.baseline.baseline_key.is_some() {
        let key = session_key.map(str::to_string).unwrap_or_else(|| any_key(region.as_str()));
        wanted.push(with_alias(ask("kms:Decrypt", &key).with("kms:CallerAccount", account)));
    }
    if let Some((bucket, prefix)) = names.session_log_bucket(region) {
        let object = [prefix.as_str(), &format!("{instance}-0a1b2c3d4e5f67890.log")].iter().filter(|p| !p.is_empty()).cloned().collect::<Vec<_>>().join("/");
        wanted.push(ask("s3:PutObject", &format!("arn:{partition}:s3:::{bucket}/{object}")));
        wanted.push(ask("s3:GetEncryptionConfiguration", &format!("arn:{partition}:s3:::{bucket}")));
        if let Some(key) = bucket_key {
            let key_region = crate::policy::arn::parts(key).map(|p| p[3].to_string()).unwrap_or_else(|| region.to_string());
            wanted.push(with_alias(
                ask("kms:GenerateDataKey", key)
                    .via_service("s3.amazonaws.com")
                    .with("kms:ViaService", &format!("s3.{key_region}.amazonaws.com"))
                    .with("kms:CallerAccount", account),
            ));
        }
    }
    if let Some(group) = settings.cloudwatch_log_group.as_ref().map(|g| names.vars(region).render(g)) {
        let group_arn = names.log_group_arn(region.as_str(), account, &group);
        for action in ["logs:CreateLogStream", "logs:PutLogEvents"] {
            wanted.push(ask(action, &format!("{group_arn}:log-stream:{instance}-0a1b2c3d4e5f67890")));
        }
        wanted.push(ask("logs:DescribeLogStreams", &format!("{group_arn}:*")));
        wanted.push(ask("logs:DescribeLogGroups", &format!("arn:{partition}:logs:{region}:{account}:log-group:*")));
    }
    wanted
}

#[cfg(test)]
mod tests;
