//! The baseline: what the account should look like, loaded and validated before any AWS call.
//!
//! Two layers, as in ripgrep's low-/high-level arguments: [`raw`] is the YAML as written (serde,
//! unknown keys rejected, values checked while parsing so errors carry `file:line:col` and the key),
//! and [`Baseline`] is the validated model every control reads. Loading never touches the network; a
//! baseline that loads is one mamori can act on.

pub mod date;
pub mod exceptions;
pub mod limits;
pub mod locate;
pub mod partition;
pub mod raw;
pub mod region;
pub mod template;
pub mod values;
pub mod vpc;
mod endpoint_services;

use std::path::{Path, PathBuf};

pub use date::Date;
pub use exceptions::{Exception, Exceptions};
pub use partition::Partition;
pub use region::RegionName;
pub use template::{Templates, Vars};
pub use values::KeyAlias;
pub use vpc::{EndpointPolicy, NaclAdminPorts, RestrictedEgress, Stage, SubnetPreference, VpcEndpoints, VpcScope, VpceBucket, VpceOnly};

/// A validated baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct Baseline {
    pub name: String,
    /// The file it was loaded from.
    pub source: PathBuf,
    /// Regions the regional controls cover (the file's, or `--region`'s).
    pub regions: Vec<RegionName>,
    /// The file's first region, where the account-wide resources live (audit-log bucket, trail) and
    /// account-wide calls go; `--region` does not move it.
    home_region: RegionName,
    pub baseline_key: Option<BaselineKey>,
    pub ebs_default_encryption: bool,
    pub s3_account_public_access_block: bool,
    pub password_policy: Option<PasswordPolicy>,
    pub log_bucket: Option<LogBucket>,
    pub log_bucket_mfa_delete: Option<MfaDelete>,
    pub trail: Option<Trail>,
    pub alarms: Option<Alarms>,
    /// The trail's name and log group, also when `logs.trail` is off (templates name them).
    pub trail_name: String,
    pub trail_log_group: String,
    /// `root.access-keys` is on.
    pub root_access_keys: bool,
    /// `root.mfa` settings.
    pub root_mfa: Option<RootMfa>,
    /// `root.recent-use` settings.
    pub root_recent_use: Option<RootRecentUse>,
    pub console_mfa: Option<ConsoleMfa>,
    pub unused_credentials: Option<UnusedCredentials>,
    pub access_key_rotation: Option<AccessKeyRotation>,
    pub no_admin_keys: bool,
    pub no_star_policies: bool,
    /// `vpc.endpoints`, when enabled.
    pub vpc_endpoints: Option<VpcEndpoints>,
    /// `vpc.s3-bucket-vpce-only`, when enabled.
    pub vpce_only: Option<VpceOnly>,
    /// `vpc.restricted-egress`, when enabled.
    pub restricted_egress: Option<RestrictedEgress>,
    /// `vpc.nacl-admin-ports`, when enabled.
    pub nacl_admin_ports: Option<NaclAdminPorts>,
    /// `ec2.imdsv2` settings.
    pub imdsv2: Option<Imdsv2>,
    /// `ec2.no-open-admin-ports` settings.
    pub open_admin_ports: Option<OpenAdminPorts>,
    /// `ssm.session-preferences` settings.
    pub session_preferences: Option<SessionPreferences>,
    /// `ec2.instance-roles` settings.
    pub instance_roles: Option<InstanceRoles>,
    /// `ec2.embedded-keys` settings.
    pub embedded_keys: Option<EmbeddedKeys>,
    /// How member accounts are reached, and the organization layout (defaults when the section is
    /// absent).
    pub organization: Organization,
    /// Accepted risks, and the day their expiry is judged by.
    pub exceptions: Exceptions,
    pub templates: Templates,
}

/// The `organization` section: how mamori enters the accounts of a multi-account run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    /// Role assumed in every selected account but the caller's own.
    pub role_name: String,
    pub external_id: Option<String>,
    pub session_name: values::SessionName,
    pub session_duration_seconds: i32,
    /// Where the audit bucket lives in the organization layout; `None` = each account its own.
    pub log_archive_account: Option<String>,
}

impl Default for Organization {
    fn default() -> Organization {
        Organization {
            role_name: "OrganizationAccountAccessRole".into(),
            external_id: None,
            session_name: values::SessionName("mamori-{verb}".into()),
            session_duration_seconds: 3600,
            log_archive_account: None,
        }
    }
}

/// `ec2.embedded-keys` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbeddedKeys {
    /// The role named in findings; `None` = the first instance role.
    pub replacement_role: Option<String>,
}

/// `ec2.instance-roles` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceRoles {
    /// Name of the trust policy template.
    pub trust_template: String,
    pub attach_to_unprofiled_instances: bool,
    /// The roles in baseline order; the first is the default profile.
    pub roles: Vec<InstanceRole>,
}

/// One instance role: its name (also its instance profile's) and its policy template names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceRole {
    pub name: String,
    pub policy_templates: Vec<String>,
}

/// `ssm.session-preferences` settings; names may hold template variables, rendered per region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionPreferences {
    pub s3_bucket: Option<String>,
    pub s3_key_prefix: Option<String>,
    pub cloudwatch_log_group: Option<String>,
    pub idle_session_timeout_minutes: i64,
    pub max_session_duration_minutes: Option<i64>,
    pub run_as_default_user: Option<String>,
    pub shell_profile_linux: Option<String>,
}

/// `ec2.imdsv2` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imdsv2 {
    /// Opt-in: `apply` also requires IMDSv2 on each running or stopped instance (they are reported
    /// either way).
    pub running_instances: bool,
    /// The hop limit of IMDSv2 tokens set wherever mamori requires them (1 to 64).
    pub hop_limit: i32,
}

/// `ec2.no-open-admin-ports` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenAdminPorts {
    /// `apply` revokes the offending rules (opt-in); otherwise the finding is manual.
    pub revoke: bool,
}

/// `logs.bucket` settings.
#[derive(Clone, Debug, PartialEq)]
pub struct LogBucket {
    pub name: values::BucketNameTemplate,
    pub access_log_bucket: values::BucketNameTemplate,
    pub policy_template: String,
    /// The audit bucket policy template in the organization layout.
    pub organization_policy_template: String,
    pub access_log_policy_template: String,
    /// The opt-in lifecycle rule for noncurrent versions; `None`: mamori keeps no lifecycle rule.
    pub noncurrent_versions: Option<NoncurrentTransition>,
    pub object_lock: Option<ObjectLock>,
}

/// Where noncurrent versions of the audit bucket move, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoncurrentTransition {
    pub days: i32,
    /// S3 storage class name (`GLACIER`).
    pub storage_class: &'static str,
}

/// Object Lock default retention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectLock {
    /// `GOVERNANCE` or `COMPLIANCE`.
    pub mode: &'static str,
    pub days: i32,
}

/// `logs.bucket-mfa-delete` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MfaDelete {
    pub mfa_serial: Option<String>,
}

/// `logs.alarms` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alarms {
    pub topic: String,
    /// (protocol, endpoint): `("email", "security@example.com")`.
    pub subscriptions: Vec<(String, String)>,
}

/// `logs.trail` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trail {
    pub name: String,
    pub log_group: String,
    pub log_group_retention_days: i32,
    pub delivery_role: String,
    pub delivery_role_trust_template: String,
    pub delivery_role_policy_template: String,
}

/// `root.mfa` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootMfa {
    /// Only a hardware device (FIDO security key or hardware TOTP token) passes.
    pub require_hardware: bool,
    /// The organization manages this member account's root credentials centrally.
    pub centrally_managed: bool,
}

/// `root.recent-use` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootRecentUse {
    pub within_days: i64,
}

/// `iam.console-mfa` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleMfa {
    /// Opt-in: remove the console password of users without MFA.
    pub remove_login_without_mfa: bool,
}

/// `iam.unused-credentials` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnusedCredentials {
    pub max_unused_days: i64,
    /// Opt-in: deactivate unused keys and remove unused console passwords.
    pub disable_unused: bool,
}

/// `iam.access-key-rotation` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessKeyRotation {
    pub max_age_days: i64,
}

/// `kms.baseline-key` settings.
#[derive(Clone, Debug, PartialEq)]
pub struct BaselineKey {
    pub alias: KeyAlias,
    pub description: String,
    /// Name of the key policy template.
    pub policy_template: String,
    /// Name of the key policy template of the log-archive account's key in the organization layout.
    pub organization_policy_template: String,
}

/// `iam.password-policy` minimums.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub minimum_length: i32,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
    pub allow_users_to_change: bool,
    pub reuse_prevention: Option<i32>,
    pub max_age_days: Option<i32>,
}

/// A baseline that could not be loaded: where, which key, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {}", file.display(), position.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default(), describe(key, message))]
pub struct BaselineError {
    pub file: PathBuf,
    /// 1-based line and column, when the parser knows them.
    pub position: Option<(usize, usize)>,
    /// The key path (`iam.password_policy.minimum_length`), when known.
    pub key: Option<String>,
    pub message: String,
}

fn describe(key: &Option<String>, message: &str) -> String {
    match key {
        Some(key) => format!("key `{key}`: {message}"),
        None => message.to_string(),
    }
}

impl Baseline {
    /// Reads, parses and validates the baseline at `path`.
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let unreadable = |e: std::io::Error| BaselineError {
            file: path.to_path_buf(),
            position: None,
            key: None,
            message: format!("cannot read the baseline: {e}"),
        };
        limits::check_size(path, std::fs::metadata(path).map_err(unreadable)?.len())?;
        let text = std::fs::read_to_string(path).map_err(unreadable)?;
        Baseline::parse(path, &text)
    }

    /// Parses and validates `text`, reporting errors against `path`; exceptions expire by today's date.
    pub fn parse(path: &Path, text: &str) -> Result<Baseline, BaselineError> {
        Baseline::parse_on(path, text, Date::today())
    }

    /// Parses and validates `text` as on the day `today`: the date exceptions' expiry is judged by,
    /// at load time (at most a year ahead) and in the run (expired or not).
    pub fn parse_on(path: &Path, text: &str, today: Date) -> Result<Baseline, BaselineError> {
        limits::check_size(path, text.len() as u64)?;
        limits::check_depth(path, text)?;
        let raw: raw::RawBaseline = values::with_template_dirs(template::search_dirs(path), || {
            serde_path_to_error::deserialize(serde_yaml_ng::Deserializer::from_str(text))
        })
        .map_err(|e| yaml_error(path, text, &e))?;
        let baseline = Baseline::from_raw(path, raw, today);
        baseline.check_partition(path, text)?;
        baseline.check_exception_expiry(path, text)?;
        baseline.check_dependencies(path, text)?;
        Ok(baseline)
    }

    /// One run has one set of credentials, valid in one partition: every region must be in the home
    /// region's partition.
    fn check_partition(&self, path: &Path, text: &str) -> Result<(), BaselineError> {
        partition::single_partition(&self.regions).map(|_| ()).map_err(|(index, message)| {
            let key = format!("regions[{index}]");
            BaselineError { file: path.to_path_buf(), position: locate::Positions::of(text).get(&key), key: Some(key), message }
        })
    }

    /// An accepted risk is reviewed at least yearly: no expiry more than a year after today.
    fn check_exception_expiry(&self, path: &Path, text: &str) -> Result<(), BaselineError> {
        match self.exceptions.too_far_ahead() {
            None => Ok(()),
            Some((index, message)) => {
                let key = format!("exceptions[{index}].expires");
                Err(BaselineError { file: path.to_path_buf(), position: locate::Positions::of(text).get(&key), key: Some(key), message })
            }
        }
    }

    /// Checks between sections that serde cannot see: endpoint-only buckets need the endpoints, the
    /// audit bucket cannot have both MFA Delete and a lifecycle rule, and Session Manager encrypts
    /// sessions with the baseline key.
    fn check_dependencies(&self, path: &Path, text: &str) -> Result<(), BaselineError> {
        let error = |key: &str, message: &str| BaselineError {
            file: path.to_path_buf(),
            position: locate::Positions::of(text).get(key),
            key: Some(key.into()),
            message: message.into(),
        };
        if self.vpce_only.is_some() && self.vpc_endpoints.is_none() {
            return Err(error(
                "vpc.s3_bucket_vpce_only",
                "needs vpc.endpoints enabled: the bucket policy names the S3 gateway endpoints that control manages",
            ));
        }
        if self.log_bucket_mfa_delete.is_some() && self.log_bucket.as_ref().is_some_and(|b| b.noncurrent_versions.is_some()) {
            // S3 User Guide, "Lifecycle and other bucket configurations": lifecycle configuration on
            // MFA-enabled buckets is not supported (and MFA Delete is refused on a bucket that has one).
            let key = ["logs.bucket.noncurrent_version_transition_days", "logs.bucket.noncurrent_version_storage_class"]
                .into_iter()
                .find(|key| locate::Positions::of(text).get(key).is_some())
                .unwrap_or("logs.bucket.noncurrent_version_transition_days");
            return Err(error(
                key,
                "cannot be combined with logs.bucket_mfa_delete: S3 does not support a lifecycle configuration on a bucket \
                 with MFA Delete (S3 User Guide, \"Lifecycle and other bucket configurations\"). Remove the \
                 noncurrent_version_* keys (CloudTrail never overwrites a log file and the lock forbids deletes, so noncurrent \
                 versions hardly arise), or turn logs.bucket_mfa_delete off",
            ));
        }
        if self.session_preferences.is_some() && self.baseline_key.is_none() {
            return Err(error(
                "ssm.session_preferences",
                "needs kms.baseline_key enabled: session data and session logs are encrypted with the baseline key",
            ));
        }
        Ok(())
    }

    fn from_raw(path: &Path, raw: raw::RawBaseline, today: Date) -> Baseline {
        let mut templates = Templates::default();
        let baseline_key = raw.kms.and_then(|kms| kms.baseline_key).filter(|key| key.enabled).map(|key| {
            templates.insert(&key.policy.name, key.policy.text.clone());
            templates.insert(&key.organization_policy.name, key.organization_policy.text.clone());
            BaselineKey {
                alias: key.alias,
                description: key.description.map(|d| d.0).unwrap_or_else(|| "mamori baseline key".to_string()),
                policy_template: key.policy.name,
                organization_policy_template: key.organization_policy.name,
            }
        });
        let enabled = |toggle: Option<raw::Toggle>| toggle.is_some_and(|t| t.enabled);
        let (imdsv2, no_open_admin_ports, instance_roles, embedded_keys) =
            raw.ec2.map(|ec2| (ec2.imdsv2, ec2.no_open_admin_ports, ec2.instance_roles, ec2.embedded_keys)).unwrap_or_default();
        let instance_roles = instance_roles.filter(|r| r.enabled).map(|r| {
            templates.insert(&r.trust_policy.name, r.trust_policy.text.clone());
            let roles = r
                .roles
                .0
                .into_iter()
                .map(|role| {
                    for policy in &role.policies {
                        templates.insert(&policy.name, policy.text.clone());
                    }
                    InstanceRole { name: role.name.0, policy_templates: role.policies.into_iter().map(|p| p.name).collect() }
                })
                .collect();
            InstanceRoles { trust_template: r.trust_policy.name, attach_to_unprofiled_instances: r.attach_to_unprofiled_instances, roles }
        });
        let logs = raw.logs.unwrap_or(raw::RawLogs { bucket: None, bucket_mfa_delete: None, trail: None, alarms: None });
        let alarms = logs.alarms.filter(|a| a.enabled).map(|a| Alarms {
            topic: a.topic.0,
            subscriptions: a
                .subscriptions
                .into_iter()
                .map(|s| {
                    let protocol = match s.protocol {
                        raw::SubscriptionProtocol::Email => "email",
                        raw::SubscriptionProtocol::Https => "https",
                    };
                    (protocol.to_string(), s.endpoint.0)
                })
                .collect(),
        });
        let log_bucket = logs.bucket.filter(|b| b.enabled).map(|b| {
            templates.insert(&b.policy.name, b.policy.text.clone());
            templates.insert(&b.organization_policy.name, b.organization_policy.text.clone());
            templates.insert(&b.access_log_policy.name, b.access_log_policy.text.clone());
            LogBucket {
                name: b.name,
                access_log_bucket: b.access_log_bucket,
                policy_template: b.policy.name,
                organization_policy_template: b.organization_policy.name,
                access_log_policy_template: b.access_log_policy.name,
                noncurrent_versions: match (b.noncurrent_version_transition_days, b.noncurrent_version_storage_class) {
                    (None, None) => None,
                    (days, class) => Some(NoncurrentTransition {
                        days: days.map_or(90, |d| d.0 as i32),
                        storage_class: class.unwrap_or_default().api_name(),
                    }),
                },
                object_lock: b.object_lock.map(|lock| ObjectLock {
                    mode: match lock.mode {
                        raw::ObjectLockMode::Governance => "GOVERNANCE",
                        raw::ObjectLockMode::Compliance => "COMPLIANCE",
                    },
                    days: lock.days.0 as i32,
                }),
            }
        });
        let trail_name = logs.trail.as_ref().map_or_else(|| "mamori-trail".to_string(), |t| t.name.0.clone());
        let trail_log_group = logs.trail.as_ref().map_or_else(|| "/mamori/cloudtrail".to_string(), |t| t.log_group.0.clone());
        let trail = logs.trail.filter(|t| t.enabled).map(|t| {
            templates.insert(&t.delivery_role_trust_policy.name, t.delivery_role_trust_policy.text.clone());
            templates.insert(&t.delivery_role_policy.name, t.delivery_role_policy.text.clone());
            Trail {
                name: t.name.0,
                log_group: t.log_group.0,
                log_group_retention_days: t.log_group_retention_days.0,
                delivery_role: t.delivery_role.0,
                delivery_role_trust_template: t.delivery_role_trust_policy.name,
                delivery_role_policy_template: t.delivery_role_policy.name,
            }
        });
        let log_bucket_mfa_delete =
            logs.bucket_mfa_delete.filter(|m| m.enabled).map(|m| MfaDelete { mfa_serial: m.mfa_serial.map(|s| s.0) });
        let iam = raw.iam.unwrap_or_default();
        let root = raw.root.unwrap_or_default();
        let (vpc_endpoints, vpce_only, restricted_egress, nacl_admin_ports) = match raw.vpc {
            Some(vpc) => (
                vpc.endpoints.filter(|e| e.enabled).map(|endpoints| {
                    if let vpc::RawEndpointPolicy::Perimeter { interface, s3, .. } = &endpoints.endpoint_policy {
                        templates.insert(&interface.name, interface.text.clone());
                        templates.insert(&s3.name, s3.text.clone());
                    }
                    endpoints.validated()
                }),
                vpc.s3_bucket_vpce_only.filter(|b| b.enabled).map(vpc::RawVpceOnly::validated),
                vpc.restricted_egress.filter(|r| r.enabled).map(vpc::RawRestrictedEgress::validated),
                vpc.nacl_admin_ports.filter(|n| n.enabled).map(vpc::RawNaclAdminPorts::validated),
            ),
            None => (None, None, None, None),
        };
        Baseline {
            name: raw.name.0,
            source: path.to_path_buf(),
            home_region: raw.regions.0[0].clone(),
            regions: raw.regions.0,
            baseline_key,
            ebs_default_encryption: enabled(raw.ebs.and_then(|ebs| ebs.default_encryption)),
            s3_account_public_access_block: enabled(raw.s3.and_then(|s3| s3.account_public_access_block)),
            root_access_keys: enabled(root.access_keys),
            root_mfa: root
                .mfa
                .filter(|m| m.enabled)
                .map(|m| RootMfa { require_hardware: m.require_hardware, centrally_managed: m.centrally_managed }),
            root_recent_use: root.recent_use.filter(|r| r.enabled).map(|r| RootRecentUse { within_days: r.within_days.0 }),
            console_mfa: iam.console_mfa.filter(|c| c.enabled).map(|c| ConsoleMfa { remove_login_without_mfa: c.remove_login_without_mfa }),
            unused_credentials: iam
                .unused_credentials
                .filter(|u| u.enabled)
                .map(|u| UnusedCredentials { max_unused_days: u.max_unused_days.0, disable_unused: u.disable_unused }),
            access_key_rotation: iam.access_key_rotation.filter(|r| r.enabled).map(|r| AccessKeyRotation { max_age_days: r.max_age_days.0 }),
            no_admin_keys: enabled(iam.no_admin_keys),
            no_star_policies: enabled(iam.no_star_policies),
            password_policy: iam.password_policy.filter(|p| p.enabled).map(|p| PasswordPolicy {
                minimum_length: p.minimum_length.0 as i32,
                require_uppercase: p.require_uppercase,
                require_lowercase: p.require_lowercase,
                require_numbers: p.require_numbers,
                require_symbols: p.require_symbols,
                allow_users_to_change: p.allow_users_to_change,
                reuse_prevention: p.reuse_prevention.map(|v| v.0 as i32),
                max_age_days: p.max_age_days.map(|v| v.0 as i32),
            }),
            log_bucket,
            log_bucket_mfa_delete,
            trail,
            alarms,
            trail_name,
            trail_log_group,
            vpc_endpoints,
            vpce_only,
            restricted_egress,
            nacl_admin_ports,
            imdsv2: imdsv2
                .filter(|i| i.enabled)
                .map(|i| Imdsv2 { running_instances: i.running_instances, hop_limit: i.http_put_response_hop_limit.0 as i32 }),
            open_admin_ports: no_open_admin_ports.filter(|p| p.enabled).map(|p| OpenAdminPorts { revoke: p.revoke_open_admin_ports }),
            instance_roles,
            embedded_keys: embedded_keys.filter(|e| e.enabled).map(|e| EmbeddedKeys { replacement_role: e.replacement_role.map(|r| r.0) }),
            session_preferences: raw.ssm.and_then(|ssm| ssm.session_preferences).filter(|p| p.enabled).map(|p| SessionPreferences {
                s3_bucket: p.s3_bucket.map(|v| v.0),
                s3_key_prefix: p.s3_key_prefix.map(|v| v.0),
                cloudwatch_log_group: p.cloudwatch_log_group.map(|v| v.0),
                idle_session_timeout_minutes: p.idle_session_timeout_minutes.0,
                max_session_duration_minutes: p.max_session_duration_minutes.map(|v| v.0),
                run_as_default_user: p.run_as_default_user.map(|v| v.0),
                shell_profile_linux: p.shell_profile_linux.map(|v| v.0),
            }),
            organization: raw.organization.map_or_else(Organization::default, |o| Organization {
                role_name: o.role_name.0,
                external_id: o.external_id.map(|e| e.0),
                session_name: o.session_name,
                session_duration_seconds: o.session_duration_seconds.0 as i32,
                log_archive_account: o.log_archive_account.map(|a| a.0),
            }),
            exceptions: Exceptions {
                entries: raw.exceptions.into_iter().enumerate().map(|(index, raw)| Exception::from_raw(index, raw)).collect(),
                today,
            },
            templates,
        }
    }

    /// The home region: where account-wide (global) controls send their calls.
    pub fn home_region(&self) -> &RegionName {
        &self.home_region
    }

    /// Template variables for `region` of the account `account_id` in `partition` (`{bucket}` empty),
    /// outside the organization layout: the account holds its own audit bucket and runs its own trail.
    pub fn vars<'a>(&'a self, account_id: &'a str, partition: &'a str, region: &'a RegionName) -> Vars<'a> {
        Vars {
            account_id,
            audit_account_id: account_id,
            trail_account_id: account_id,
            organization_id: "",
            region: region.as_str(),
            home_region: self.home_region.as_str(),
            partition,
            dns_suffix: self.partition().dns_suffix,
            bucket: "",
            trail: &self.trail_name,
            log_group: &self.trail_log_group,
        }
    }

    /// The partition of the home region, which every region of the baseline shares.
    pub fn partition(&self) -> &'static Partition {
        self.home_region.partition()
    }

    /// Replaces the regions the regional controls cover (the `--region` flag); the home region stays,
    /// and so must the partition: a region of another partition is refused with the reason.
    pub fn with_regions(mut self, regions: Vec<RegionName>) -> Result<Baseline, String> {
        if let Some(foreign) = regions.iter().find(|region| region.partition() != self.partition()) {
            return Err(partition::mixed_partitions(foreign, &self.home_region));
        }
        if !regions.is_empty() {
            self.regions = regions;
        }
        Ok(self)
    }
}

/// The JSON Schema of the baseline file (`mamori schema`).
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(raw::RawBaseline)).expect("a schema is JSON")
}

/// Turns a YAML error into a [`BaselineError`]: position from the parser, the key path from
/// `serde_path_to_error` (the parser's own path stops at the enclosing mapping).
fn yaml_error(path: &Path, text: &str, error: &serde_path_to_error::Error<serde_yaml_ng::Error>) -> BaselineError {
    let inner = error.inner();
    let mut message = inner.to_string();
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    // The parser prefixes its (shorter) path; drop it, the full one comes from serde_path_to_error.
    if let Some((prefix, rest)) = message.split_once(": ") {
        if !prefix.is_empty() && !prefix.contains(' ') {
            message = rest.to_string();
        }
    }
    let full_path = error.path().to_string();
    let mut key = (full_path != ".").then_some(full_path);
    // serde names the offending field inside the message for unknown and missing fields.
    for marker in ["unknown field `", "missing field `", "duplicate field `"] {
        if let Some(field) = message.strip_prefix(marker).and_then(|rest| rest.split('`').next()) {
            key = Some(match key.as_deref() {
                None => field.to_string(),
                Some(parent) if parent == field || parent.ends_with(&format!(".{field}")) => parent.to_string(),
                Some(parent) => format!("{parent}.{field}"),
            });
        }
    }
    if message.contains("did not find expected") || message.contains("mapping values are not allowed") {
        message = format!("invalid YAML: {message}");
    }
    // A syntax error has no serde path: the node the parser was reading names it; an error about the
    // document as a whole (not a mapping) names the document, `.`.
    if key.is_none() {
        key = Some(locate::syntax_error_path(text).unwrap_or_else(|| ".".to_string()));
    }
    // The exact value (or key) the path names; the parser's position of the enclosing node otherwise.
    // A missing field has no position of its own: its parent's key is where it belongs.
    let positions = locate::Positions::of(text);
    let parent = key.as_deref().filter(|_| message.starts_with("missing field `")).and_then(|k| k.rsplit_once('.')).map(|(p, _)| p);
    let position = key
        .as_deref()
        .and_then(|key| positions.get(key))
        .or_else(|| parent.and_then(|p| positions.get(p)))
        .or_else(|| inner.location().map(|l| (l.line(), l.column())));
    BaselineError { file: path.to_path_buf(), position, key, message: std::mem::take(&mut message) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Baseline, BaselineError> {
        Baseline::parse(Path::new("test.yaml"), text)
    }

    #[test]
    fn minimal_baseline_loads_with_controls_off() {
        let baseline = parse("version: 1\nname: t\nregions: [eu-west-1]\n").unwrap();
        assert_eq!(baseline.home_region().as_str(), "eu-west-1");
        let other = baseline.clone().with_regions(vec![RegionName::parse("us-west-2").unwrap()]).unwrap();
        assert_eq!((other.regions[0].as_str(), other.home_region().as_str()), ("us-west-2", "eu-west-1"), "--region keeps the home region");
        let china = baseline.clone().with_regions(vec![RegionName::parse("cn-north-1").unwrap()]).unwrap_err();
        assert!(china.contains("`cn-north-1` is in the AWS China (`aws-cn`) partition"), "{china}");
        assert!(baseline.baseline_key.is_none() && !baseline.ebs_default_encryption);
    }

    #[test]
    fn regions_of_two_partitions_are_refused_at_the_first_foreign_one() {
        let error = parse("version: 1\nname: t\nregions:\n  - us-east-1\n  - eu-west-1\n  - us-gov-west-1\n").unwrap_err();
        assert_eq!(error.key.as_deref(), Some("regions[2]"), "{error}");
        assert_eq!(error.position, Some((6, 5)), "{error}");
        assert!(error.message.contains("`us-gov-west-1` is in the AWS GovCloud (US) (`aws-us-gov`) partition"), "{error}");
        assert_eq!(parse("version: 1\nname: t\nregions: [cn-northwest-1, cn-north-1]\n").unwrap().partition().id, "aws-cn");
    }

    #[test]
    fn defaults_fill_in_the_key_and_password_policy() {
        let baseline = parse("version: 1\nname: t\nregions: [us-east-1]\nkms: {baseline_key: {}}\niam: {password_policy: {}}\n").unwrap();
        assert_eq!(baseline.baseline_key.unwrap().alias.qualified(), "alias/mamori-baseline");
        assert_eq!(baseline.password_policy.unwrap().minimum_length, 14);
    }

    #[test]
    fn unknown_nested_key_is_named_with_its_position() {
        let error = parse("version: 1\nname: t\nregions: [us-east-1]\niam:\n  password_policy:\n    minimum_lenght: 14\n").unwrap_err();
        assert_eq!(error.key.as_deref(), Some("iam.password_policy.minimum_lenght"), "{error}");
        assert_eq!(error.position.map(|p| p.0), Some(6), "{error}");
    }

    #[test]
    fn a_lifecycle_rule_with_mfa_delete_is_rejected_with_its_key_and_line() {
        let head = "version: 1\nname: t\nregions: [us-east-1]\nlogs:\n  bucket:\n";
        let error = parse(&format!("{head}    noncurrent_version_storage_class: GLACIER\n  bucket_mfa_delete: {{}}\n")).unwrap_err();
        assert_eq!(error.key.as_deref(), Some("logs.bucket.noncurrent_version_storage_class"), "{error}");
        assert_eq!(error.position, Some((6, 39)), "{error}");
        assert!(error.to_string().contains("MFA Delete"), "{error}");
        let error = parse(&format!("{head}    noncurrent_version_transition_days: 30\n  bucket_mfa_delete: {{enabled: true}}\n")).unwrap_err();
        assert_eq!((error.key.as_deref(), error.position.map(|p| p.0)), (Some("logs.bucket.noncurrent_version_transition_days"), Some(6)));

        let without_mfa_delete = parse(&format!("{head}    noncurrent_version_transition_days: 30\n  bucket_mfa_delete: {{enabled: false}}\n")).unwrap();
        let rule = without_mfa_delete.log_bucket.unwrap().noncurrent_versions;
        assert_eq!(rule, Some(NoncurrentTransition { days: 30, storage_class: "GLACIER" }), "allowed without MFA Delete");
        let neither = parse(&format!("{head}    name: \"mamori-audit-{{account_id}}-{{region}}\"\n  bucket_mfa_delete: {{}}\n")).unwrap();
        assert_eq!(neither.log_bucket.unwrap().noncurrent_versions, None, "no lifecycle rule unless asked for");
    }

    #[test]
    fn the_shipped_baselines_load() {
        for name in ["standard", "strict"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("baselines/{name}.yaml"));
            let baseline = Baseline::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(baseline.log_bucket_mfa_delete.is_some() && baseline.log_bucket.unwrap().noncurrent_versions.is_none(), "{name}");
        }
    }

    #[test]
    fn exceptions_load_with_their_dates_judged_by_the_given_day() {
        let today = Date::parse("2027-02-28").unwrap();
        let text = "version: 1\nname: t\nregions: [us-east-1]\nexceptions:\n  - control: iam\n    resources: [\"user/legacy-*\"]\n    reason: SSO migration\n    owner: identity-team\n    expires: 2028-02-28\n    ticket: SEC-7\n";
        let baseline = Baseline::parse_on(Path::new("test.yaml"), text, today).unwrap();
        let exception = &baseline.exceptions.entries[0];
        assert_eq!((exception.control.as_str(), exception.resources.as_slice(), exception.ticket.as_deref()), ("iam", &["user/legacy-*".to_string()][..], Some("SEC-7")));
        assert_eq!(baseline.exceptions.today, today);

        let day_later = Date::parse("2027-02-27").unwrap();
        let error = Baseline::parse_on(Path::new("test.yaml"), text, day_later).unwrap_err();
        assert_eq!((error.key.as_deref(), error.position), (Some("exceptions[0].expires"), Some((9, 14))), "{error}");
        assert!(error.message.contains("2028-02-28 is more than one year ahead (the latest allowed today is 2028-02-27)"), "{error}");
    }

    #[test]
    fn a_malformed_exception_is_named_with_its_position() {
        let today = Date::parse("2027-01-01").unwrap();
        let head = "version: 1\nname: t\nregions: [us-east-1]\nexceptions:\n";
        let entry = |control: &str, extra: &str| format!("{head}  - control: {control}\n    reason: r\n    owner: o\n{extra}");
        let cases = [
            (entry("iam.pasword-policy", "    expires: 2027-06-01\n"), "exceptions[0].control", 5, "unknown control or group `iam.pasword-policy`"),
            (entry("ebs", "    expires: 2027-02-30\n"), "exceptions[0].expires", 8, "`2027-02-30` is not a day of the calendar"),
            (entry("ebs", "    expires: 1/6/2027\n"), "exceptions[0].expires", 8, "expected YYYY-MM-DD"),
            (entry("ebs", ""), "exceptions[0].expires", 5, "missing field `expires`"),
            (entry("ebs", "    expires: 2027-06-01\n    approver: me\n"), "exceptions[0].approver", 9, "unknown field `approver`"),
            (format!("{head}  - control: ebs\n    owner: o\n    expires: 2027-06-01\n"), "exceptions[0].reason", 5, "missing field `reason`"),
            (entry("ebs", "    expires: 2027-06-01\n    resources: [\"\"]\n"), "exceptions[0].resources[0]", 9, "must not be empty"),
        ];
        for (text, key, line, message) in cases {
            let error = Baseline::parse_on(Path::new("test.yaml"), &text, today).unwrap_err();
            assert_eq!((error.key.as_deref(), error.position.map(|p| p.0)), (Some(key), Some(line)), "{error}\n{text}");
            assert!(error.message.contains(message), "{error}");
        }
    }

    #[test]
    fn bad_value_is_named_with_its_position() {
        let error = parse("version: 1\nname: t\nregions: [us-east-1]\niam:\n  password_policy:\n    minimum_length: 4\n").unwrap_err();
        assert_eq!(error.key.as_deref(), Some("iam.password_policy.minimum_length"), "{error}");
        assert_eq!(error.position, Some((6, 21)), "{error}");
        assert!(error.to_string().starts_with("test.yaml:6:21: key `iam.password_policy.minimum_length`: 4 is out of range"), "{error}");
    }
}
