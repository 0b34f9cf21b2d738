//! The baseline file as written: serde structs that mirror the YAML, unknown keys rejected.
//!
//! These types are the file format (and, through `schemars`, `mamori schema`). They carry defaults and
//! per-value checks (see [`super::values`]); turning them into the [`super::Baseline`] the rest of the
//! program reads happens in `super`. Field names are the YAML keys: renaming one breaks users' files.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer};

use super::region::RegionName;
use super::values::{AccountId, Bounded, BucketNameTemplate, KeyAlias, NameTemplate, NonEmpty, RetentionDays, RoleName, SessionName, TemplateRef, Version};

/// A mamori baseline, format version 1.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "mamori baseline")]
pub struct RawBaseline {
    /// Format version; must be 1.
    pub version: Version,
    /// Name shown in reports (`standard`, `strict`, or your own).
    pub name: NonEmpty,
    /// Regions the regional controls cover (the first is the home region for account-wide calls).
    pub regions: Regions,
    #[serde(default)]
    pub kms: Option<RawKms>,
    #[serde(default)]
    pub ebs: Option<RawEbs>,
    #[serde(default)]
    pub s3: Option<RawS3>,
    #[serde(default)]
    pub root: Option<RawRoot>,
    #[serde(default)]
    pub iam: Option<RawIam>,
    #[serde(default)]
    pub logs: Option<RawLogs>,
    #[serde(default)]
    pub ec2: Option<RawEc2>,
    #[serde(default)]
    pub ssm: Option<RawSsm>,
    #[serde(default)]
    pub vpc: Option<super::vpc::RawVpc>,
    /// How mamori reaches the member accounts of an organization (`--org`, `--ou`, `--account`), and
    /// where the audit bucket lives.
    #[serde(default)]
    pub organization: Option<RawOrganization>,
    /// Accepted risks: drift a control reports that the baseline accepts until a date (see
    /// [`super::exceptions`]).
    #[serde(default)]
    pub exceptions: Vec<super::exceptions::RawException>,
}

/// The organization section: the role assumed in each member account and the organization layout.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOrganization {
    /// Role assumed in each selected account other than the caller's own (the role Organizations
    /// creates in accounts it creates; a read-only auditor role for verify-only runs).
    #[serde(default = "default_member_role")]
    pub role_name: RoleName,
    /// `sts:ExternalId` passed when assuming the role, if its trust policy requires one.
    #[serde(default)]
    pub external_id: Option<NonEmpty>,
    /// The role session name; `{verb}` is replaced by plan, apply or verify.
    #[serde(default = "default_session_name")]
    pub session_name: SessionName,
    /// Lifetime of each assumed-role session, in seconds; sessions are renewed before they expire.
    #[serde(default = "default_session_duration")]
    pub session_duration_seconds: Bounded<900, 43200>,
    /// The log-archive account: `logs.bucket` and `logs.bucket-mfa-delete` run there, and the
    /// management account's organization trail delivers into its audit bucket. Absent: every account
    /// keeps its own audit bucket and trail (the single-account layout).
    #[serde(default)]
    pub log_archive_account: Option<AccountId>,
}

fn default_member_role() -> RoleName {
    RoleName("OrganizationAccountAccessRole".into())
}

fn default_session_name() -> SessionName {
    SessionName("mamori-{verb}".into())
}

fn default_session_duration() -> Bounded<900, 43200> {
    Bounded(3600)
}

/// A non-empty list of distinct known regions.
#[derive(Debug)]
pub struct Regions(pub Vec<RegionName>);

impl<'de> Deserialize<'de> for Regions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let regions = Vec::<RegionName>::deserialize(deserializer)?;
        if regions.is_empty() {
            return Err(serde::de::Error::custom("at least one region is required"));
        }
        for (i, region) in regions.iter().enumerate() {
            if regions[..i].contains(region) {
                return Err(serde::de::Error::custom(format!("region `{region}` is listed twice")));
            }
        }
        Ok(Regions(regions))
    }
}

impl JsonSchema for Regions {
    fn schema_name() -> Cow<'static, str> {
        "Regions".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let item = generator.subschema_for::<RegionName>();
        json_schema!({ "type": "array", "items": item, "minItems": 1, "uniqueItems": true })
    }
}

/// `enabled: true|false` for controls that have no other setting.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Toggle {
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawKms {
    /// `kms.baseline-key`: the customer-managed key the other controls encrypt with.
    #[serde(default)]
    pub baseline_key: Option<RawBaselineKey>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBaselineKey {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Alias the key is found by (one key per region).
    #[serde(default = "default_alias")]
    pub alias: KeyAlias,
    #[serde(default)]
    pub description: Option<NonEmpty>,
    /// Key policy template; its statements are merged into the key policy (foreign ones are kept).
    #[serde(default = "default_key_policy")]
    pub policy: TemplateRef,
    /// The key policy template of the log-archive account's key in the organization layout
    /// (`organization.log_archive_account`): the audit bucket's default encryption, so it also lets the
    /// organization's accounts encrypt their session logs through S3.
    #[serde(default = "default_organization_key_policy")]
    pub organization_policy: TemplateRef,
}

fn default_alias() -> KeyAlias {
    KeyAlias::parse("mamori-baseline").expect("valid default alias")
}

fn default_organization_key_policy() -> TemplateRef {
    TemplateRef::resolve("kms-baseline-key-organization-policy").expect("the built-in organization key policy template exists")
}

fn default_key_policy() -> TemplateRef {
    TemplateRef::resolve("kms-baseline-key-policy").expect("the built-in key policy template exists")
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEbs {
    /// `ebs.default-encryption`: encryption by default with the baseline key, in every region.
    #[serde(default)]
    pub default_encryption: Option<Toggle>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawS3 {
    /// `s3.account-public-access-block`: the four account-level Block Public Access settings.
    #[serde(default)]
    pub account_public_access_block: Option<Toggle>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRoot {
    /// `root.access-keys`: the root user has no access keys (manual: only the root user can delete them).
    #[serde(default)]
    pub access_keys: Option<Toggle>,
    /// `root.mfa`: the root user has MFA (manual: only the root user can enrol a device).
    #[serde(default)]
    pub mfa: Option<RawRootMfa>,
    /// `root.recent-use`: the root user has not signed in or used an access key within `within_days`.
    #[serde(default)]
    pub recent_use: Option<RawRootRecentUse>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRootMfa {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Require a hardware device (a FIDO security key or a hardware TOTP token): a virtual
    /// (authenticator app) device assigned to the root user is then a finding (CIS 1.5).
    #[serde(default)]
    pub require_hardware: bool,
    /// The organization manages this account's root credentials centrally (IAM centralized root
    /// access): a member account whose root user has no password and no access keys then passes
    /// without MFA, since nobody can sign in as its root user.
    #[serde(default)]
    pub centrally_managed: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRootRecentUse {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// A root sign-in or root access-key use within this many days is reported.
    #[serde(default = "default_root_recent_use_days")]
    pub within_days: Bounded<1, 365>,
}

fn default_root_recent_use_days() -> Bounded<1, 365> {
    Bounded(1)
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIam {
    /// `iam.password-policy`: minimums; a stricter existing setting is never weakened.
    #[serde(default)]
    pub password_policy: Option<RawPasswordPolicy>,
    /// `iam.console-mfa`: every user with a console password has MFA.
    #[serde(default)]
    pub console_mfa: Option<RawConsoleMfa>,
    /// `iam.unused-credentials`: no password or access key unused for `max_unused_days`.
    #[serde(default)]
    pub unused_credentials: Option<RawUnusedCredentials>,
    /// `iam.access-key-rotation`: no active access key older than `max_age_days`.
    #[serde(default)]
    pub access_key_rotation: Option<RawAccessKeyRotation>,
    /// `iam.no-admin-keys`: no user with administrator rights holds an active access key.
    #[serde(default)]
    pub no_admin_keys: Option<Toggle>,
    /// `iam.no-star-policies`: no customer policy (managed, or inline on a user or group) allows `*` on `*`.
    #[serde(default)]
    pub no_star_policies: Option<Toggle>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConsoleMfa {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Opt-in fix: remove the console password (`DeleteLoginProfile`) of users without MFA. The user,
    /// its keys and its policies stay. Off: such users are reported `manual`.
    #[serde(default)]
    pub remove_login_without_mfa: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawUnusedCredentials {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Days without use after which a password or active access key counts as unused (CIS: 45).
    #[serde(default = "default_max_unused_days")]
    pub max_unused_days: Bounded<1, 3650>,
    /// Opt-in fix: deactivate unused access keys (`UpdateAccessKey` to `Inactive`, never deleted) and
    /// remove unused console passwords. Off: reported `manual`.
    #[serde(default)]
    pub disable_unused: bool,
}

fn default_max_unused_days() -> Bounded<1, 3650> {
    Bounded(45)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAccessKeyRotation {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Maximum age in days of an active access key (CIS: 90).
    #[serde(default = "default_max_key_age_days")]
    pub max_age_days: Bounded<1, 3650>,
}

fn default_max_key_age_days() -> Bounded<1, 3650> {
    Bounded(90)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPasswordPolicy {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "default_minimum_length")]
    pub minimum_length: Bounded<6, 128>,
    #[serde(default = "yes")]
    pub require_uppercase: bool,
    #[serde(default = "yes")]
    pub require_lowercase: bool,
    #[serde(default = "yes")]
    pub require_numbers: bool,
    #[serde(default = "yes")]
    pub require_symbols: bool,
    #[serde(default = "yes")]
    pub allow_users_to_change: bool,
    /// Number of previous passwords that cannot be reused.
    #[serde(default)]
    pub reuse_prevention: Option<Bounded<1, 24>>,
    /// Days after which a password expires (omit for no expiry).
    #[serde(default)]
    pub max_age_days: Option<Bounded<1, 1095>>,
}

fn default_minimum_length() -> Bounded<6, 128> {
    Bounded(14)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLogs {
    /// `logs.bucket`: the audit-log bucket and its access-log bucket, in the home region.
    #[serde(default)]
    pub bucket: Option<RawLogBucket>,
    /// `logs.bucket-mfa-delete`: MFA Delete on the audit-log bucket (a root-only step).
    #[serde(default)]
    pub bucket_mfa_delete: Option<RawMfaDelete>,
    /// `logs.trail`: the organization or multi-region trail into the audit-log bucket.
    #[serde(default)]
    pub trail: Option<RawTrail>,
    /// `logs.alarms`: CIS metric filters and alarms on the trail's log group.
    #[serde(default)]
    pub alarms: Option<RawAlarms>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlarms {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// SNS topic the alarms notify (encrypted with the baseline key).
    #[serde(default = "default_alarm_topic")]
    pub topic: NonEmpty,
    /// Who is told: added to the topic, never removed. An e-mail or HTTPS subscription counts once its
    /// recipient confirms it; a topic without a confirmed subscriber is reported (manual).
    #[serde(default)]
    pub subscriptions: Vec<RawSubscription>,
}

fn default_alarm_topic() -> NonEmpty {
    NonEmpty("mamori-security-alarms".into())
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSubscription {
    pub protocol: SubscriptionProtocol,
    /// An e-mail address, or an `https://` URL.
    pub endpoint: NonEmpty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionProtocol {
    Email,
    Https,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLogBucket {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "default_log_bucket_name")]
    pub name: BucketNameTemplate,
    /// Receives the audit bucket's server access logs (SSE-S3: S3 cannot deliver access logs to SSE-KMS buckets).
    #[serde(default = "default_access_log_bucket_name")]
    pub access_log_bucket: BucketNameTemplate,
    /// Audit bucket policy template; its `MamoriLogBucketLock` statement is the deny-delete lock (any
    /// statement with that `Sid` on the bucket is taken for the lock).
    #[serde(default = "default_log_bucket_policy")]
    pub policy: TemplateRef,
    /// The audit bucket policy template in the organization layout (`organization.log_archive_account`):
    /// CloudTrail writes for the management account's organization trail, and session logs from the
    /// organization's accounts; the same `MamoriLogBucketLock`.
    #[serde(default = "default_log_bucket_organization_policy")]
    pub organization_policy: TemplateRef,
    #[serde(default = "default_access_log_bucket_policy")]
    pub access_log_policy: TemplateRef,
    /// Opt-in: a lifecycle rule (`mamori-noncurrent-versions`) moves noncurrent versions to cheaper
    /// storage after this many days (default 90 once either key is set); nothing ever expires. S3 does
    /// not support a lifecycle configuration on a bucket with MFA Delete, so this is refused while
    /// `logs.bucket_mfa_delete` is on.
    #[serde(default)]
    pub noncurrent_version_transition_days: Option<Bounded<1, 3650>>,
    /// Storage class of that rule (default `GLACIER`); same constraint.
    #[serde(default)]
    pub noncurrent_version_storage_class: Option<StorageClass>,
    /// Object Lock default retention on the audit bucket (off when absent).
    #[serde(default)]
    pub object_lock: Option<RawObjectLock>,
}

/// Where noncurrent log versions move.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StorageClass {
    #[default]
    Glacier,
    GlacierIr,
    DeepArchive,
    StandardIa,
}

impl StorageClass {
    /// The S3 API's name.
    pub fn api_name(self) -> &'static str {
        match self {
            StorageClass::Glacier => "GLACIER",
            StorageClass::GlacierIr => "GLACIER_IR",
            StorageClass::DeepArchive => "DEEP_ARCHIVE",
            StorageClass::StandardIa => "STANDARD_IA",
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawObjectLock {
    pub mode: ObjectLockMode,
    pub days: Bounded<1, 36500>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ObjectLockMode {
    Governance,
    Compliance,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMfaDelete {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The root user's MFA device (serial or ARN), named in the manual steps.
    #[serde(default)]
    pub mfa_serial: Option<NonEmpty>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTrail {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "default_trail_name")]
    pub name: NonEmpty,
    /// CloudWatch Logs group the trail delivers to.
    #[serde(default = "default_trail_log_group")]
    pub log_group: NonEmpty,
    /// The least the log group keeps events: a shorter retention is raised to it, a longer one is
    /// never shortened.
    #[serde(default = "default_retention")]
    pub log_group_retention_days: RetentionDays,
    /// IAM role CloudTrail assumes to write to the log group.
    #[serde(default = "default_delivery_role")]
    pub delivery_role: NonEmpty,
    #[serde(default = "default_delivery_role_trust")]
    pub delivery_role_trust_policy: TemplateRef,
    #[serde(default = "default_delivery_role_policy")]
    pub delivery_role_policy: TemplateRef,
}

fn default_delivery_role() -> NonEmpty {
    NonEmpty("mamori-cloudtrail-logs".into())
}

fn default_delivery_role_trust() -> TemplateRef {
    TemplateRef::resolve("cloudtrail-logs-role-trust").expect("the built-in template exists")
}

fn default_delivery_role_policy() -> TemplateRef {
    TemplateRef::resolve("cloudtrail-logs-role-policy").expect("the built-in template exists")
}

fn default_log_bucket_name() -> BucketNameTemplate {
    BucketNameTemplate::parse("mamori-audit-{audit_account_id}-{region}").expect("valid default")
}

fn default_access_log_bucket_name() -> BucketNameTemplate {
    BucketNameTemplate::parse("mamori-access-logs-{account_id}-{region}").expect("valid default")
}

fn default_log_bucket_organization_policy() -> TemplateRef {
    TemplateRef::resolve("log-bucket-organization-policy").expect("the built-in template exists")
}

fn default_log_bucket_policy() -> TemplateRef {
    TemplateRef::resolve("log-bucket-policy").expect("the built-in template exists")
}

fn default_access_log_bucket_policy() -> TemplateRef {
    TemplateRef::resolve("access-log-bucket-policy").expect("the built-in template exists")
}

fn default_trail_name() -> NonEmpty {
    NonEmpty("mamori-trail".into())
}

fn default_trail_log_group() -> NonEmpty {
    NonEmpty("/mamori/cloudtrail".into())
}

fn default_retention() -> RetentionDays {
    RetentionDays(365)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEc2 {
    /// `ec2.imdsv2`: the account default (and optionally each running instance) requires IMDSv2.
    #[serde(default)]
    pub imdsv2: Option<RawImdsv2>,
    /// `ec2.no-open-admin-ports`: no security group opens 22, 3389 or all ports to the world.
    #[serde(default)]
    pub no_open_admin_ports: Option<RawNoOpenAdminPorts>,
    /// `ec2.instance-roles`: least-privilege instance roles and profiles from templates.
    #[serde(default)]
    pub instance_roles: Option<RawInstanceRoles>,
    /// `ec2.embedded-keys`: report keys in user data and users that act as applications.
    #[serde(default)]
    pub embedded_keys: Option<RawEmbeddedKeys>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEmbeddedKeys {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The role findings tell applications to use instead of keys (default: the first instance role).
    #[serde(default)]
    pub replacement_role: Option<RoleName>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInstanceRoles {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Trust policy template of every role (EC2 assumes the role).
    #[serde(default = "default_instance_trust")]
    pub trust_policy: TemplateRef,
    /// Give every instance without an instance profile the first role's profile.
    #[serde(default)]
    pub attach_to_unprofiled_instances: bool,
    /// The roles; each gets an instance profile of the same name. The first is the default profile.
    pub roles: InstanceRoleList,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInstanceRole {
    /// Role and instance profile name.
    pub name: RoleName,
    /// Policy templates, each written as an inline policy of the role named after the template.
    pub policies: Vec<TemplateRef>,
}

fn default_instance_trust() -> TemplateRef {
    TemplateRef::resolve("ec2-instance-trust").expect("the built-in trust policy template exists")
}

/// A non-empty list of roles with distinct names.
#[derive(Debug)]
pub struct InstanceRoleList(pub Vec<RawInstanceRole>);

impl<'de> Deserialize<'de> for InstanceRoleList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let roles = Vec::<RawInstanceRole>::deserialize(deserializer)?;
        if roles.is_empty() {
            return Err(serde::de::Error::custom("at least one role is required"));
        }
        for (i, role) in roles.iter().enumerate() {
            if roles[..i].iter().any(|other| other.name == role.name) {
                return Err(serde::de::Error::custom(format!("role `{}` is listed twice", role.name.0)));
            }
        }
        Ok(InstanceRoleList(roles))
    }
}

impl JsonSchema for InstanceRoleList {
    fn schema_name() -> Cow<'static, str> {
        "InstanceRoleList".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let item = generator.subschema_for::<RawInstanceRole>();
        json_schema!({ "type": "array", "items": item, "minItems": 1 })
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawImdsv2 {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Opt-in fix: also require IMDSv2 on every running or stopped instance
    /// (`ModifyInstanceMetadataOptions`); they are reported either way. Instances whose software still
    /// uses IMDSv1 lose metadata access: check them first.
    #[serde(default)]
    pub running_instances: bool,
    /// How many network hops an IMDSv2 token may travel, set with `HttpTokens=required` on the account
    /// default and on each instance mamori changes. 2 (the default, and AWS's recommendation where
    /// containers run on the instance) lets a container reach the metadata service; 1 keeps tokens on
    /// the instance itself, and breaks IMDSv2 inside containers.
    #[serde(default = "default_imds_hop_limit")]
    pub http_put_response_hop_limit: Bounded<1, 64>,
}

fn default_imds_hop_limit() -> Bounded<1, 64> {
    Bounded(2)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNoOpenAdminPorts {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Revoke exactly the ingress rules that open 22, 3389 or all ports to 0.0.0.0/0 or ::/0 (nothing
    /// else). Without it the finding is `manual`.
    #[serde(default)]
    pub revoke_open_admin_ports: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSsm {
    /// `ssm.session-preferences`: the `SSM-SessionManagerRunShell` document of each region.
    #[serde(default)]
    pub session_preferences: Option<RawSessionPreferences>,
}

/// Session Manager preferences. Session data is encrypted with the baseline key (`kms.baseline_key`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSessionPreferences {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// S3 bucket session logs are written to, encrypted: the audit-log bucket
    /// (`mamori-audit-{account_id}-{home_region}`, made by `logs.bucket`) or a bucket of your own with
    /// default encryption (this control checks it, and does not create it).
    #[serde(default)]
    pub s3_bucket: Option<BucketNameTemplate>,
    /// Key prefix of the session logs in that bucket.
    #[serde(default)]
    pub s3_key_prefix: Option<NameTemplate>,
    /// CloudWatch Logs group session logs are sent to, encrypted with a KMS key (this control checks it
    /// in each region, and does not create it).
    #[serde(default)]
    pub cloudwatch_log_group: Option<NameTemplate>,
    /// Minutes of inactivity after which a session ends.
    #[serde(default = "default_idle_session_timeout")]
    pub idle_session_timeout_minutes: Bounded<1, 60>,
    /// Maximum length of a session, in minutes (omit for no limit).
    #[serde(default)]
    pub max_session_duration_minutes: Option<Bounded<1, 1440>>,
    /// Linux sessions run as this OS user (Run As); omit to keep `ssm-user`.
    #[serde(default)]
    pub run_as_default_user: Option<NonEmpty>,
    /// Commands run at the start of every Linux session.
    #[serde(default)]
    pub shell_profile_linux: Option<NonEmpty>,
}

fn default_idle_session_timeout() -> Bounded<1, 60> {
    Bounded(20)
}
