//! Policy templates: JSON documents under `templates/`, referenced from the baseline by name.
//!
//! A reviewer reads the exact document mamori will write in `templates/NAME.json`. Names resolve first
//! to `templates/` beside the baseline file, then to `templates/` in its parent directory (the repo
//! layout: `baselines/` next to `templates/`), then to the copies built into the binary, so an installed
//! `mamori` works anywhere and a team can override any document. The variables are those of
//! [`VARIABLES`]; any other `{name}` is rejected when the baseline loads, as is a document that is not
//! valid JSON once rendered.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The templates shipped with mamori, built into the binary.
const BUILT_IN: &[(&str, &str)] = &[
    ("kms-baseline-key-policy", include_str!("../../templates/kms-baseline-key-policy.json")),
    ("kms-baseline-key-organization-policy", include_str!("../../templates/kms-baseline-key-organization-policy.json")),
    ("log-bucket-policy", include_str!("../../templates/log-bucket-policy.json")),
    ("log-bucket-organization-policy", include_str!("../../templates/log-bucket-organization-policy.json")),
    ("access-log-bucket-policy", include_str!("../../templates/access-log-bucket-policy.json")),
    ("cloudtrail-logs-role-trust", include_str!("../../templates/cloudtrail-logs-role-trust.json")),
    ("cloudtrail-logs-role-policy", include_str!("../../templates/cloudtrail-logs-role-policy.json")),
    ("vpc-endpoint-own-account", include_str!("../../templates/vpc-endpoint-own-account.json")),
    ("vpc-endpoint-own-organization", include_str!("../../templates/vpc-endpoint-own-organization.json")),
    ("vpc-s3-endpoint-own-account", include_str!("../../templates/vpc-s3-endpoint-own-account.json")),
    ("vpc-s3-endpoint-own-organization", include_str!("../../templates/vpc-s3-endpoint-own-organization.json")),
    ("ec2-instance-trust", include_str!("../../templates/ec2-instance-trust.json")),
    ("ssm-session-instance", include_str!("../../templates/ssm-session-instance.json")),
    ("ssm-session-cloudwatch-logs", include_str!("../../templates/ssm-session-cloudwatch-logs.json")),
    ("ses-send-from-identity", include_str!("../../templates/ses-send-from-identity.json")),
];

/// The variables a template may use. `{home_region}` is the baseline's first region, where the
/// account-wide resources live (the audit-log bucket, say); `{partition}` is the partition as ARNs
/// spell it (`aws`, `aws-cn`, `aws-us-gov`) and `{dns_suffix}` the domain of its service endpoints
/// (`amazonaws.com`, `amazonaws.com.cn` in China), for values that are endpoint names such as
/// `kms:ViaService` and regional service principals (see [`super::partition`]); `{trail}` and
/// `{log_group}` are the baseline's trail name and CloudWatch Logs group; `{bucket}` is set by the
/// controls that write bucket policies (the bucket the policy is for) and is empty elsewhere.
///
/// Three variables name the organization layout (`organization.log_archive_account`) of a
/// multi-account run: `{audit_account_id}` is the account that holds the audit-log bucket (the
/// log-archive account), `{trail_account_id}` the account that runs the trail (the management
/// account), `{organization_id}` the organization (`o-...`). In a run over one account, and in an
/// organization without the layout, the first two are `{account_id}` and `{organization_id}` is empty
/// (the organization templates of the layout use it), except where `vpc.endpoints` sets it for the
/// `own-organization` endpoint policies.
pub const VARIABLES: &[&str] = &[
    "account_id",
    "audit_account_id",
    "trail_account_id",
    "organization_id",
    "region",
    "home_region",
    "partition",
    "dns_suffix",
    "bucket",
    "trail",
    "log_group",
];

/// Values for the template variables.
#[derive(Clone, Debug)]
pub struct Vars<'a> {
    pub account_id: &'a str,
    pub audit_account_id: &'a str,
    pub trail_account_id: &'a str,
    pub organization_id: &'a str,
    pub region: &'a str,
    pub home_region: &'a str,
    pub partition: &'a str,
    pub dns_suffix: &'a str,
    pub bucket: &'a str,
    pub trail: &'a str,
    pub log_group: &'a str,
}

impl<'a> Vars<'a> {
    /// Placeholder values used to check a template when the baseline is loaded.
    pub const SAMPLE: Vars<'static> = Vars {
        account_id: "123456789012",
        audit_account_id: "123456789012",
        trail_account_id: "123456789012",
        region: "us-east-1",
        home_region: "us-east-1",
        partition: "aws",
        dns_suffix: "amazonaws.com",
        bucket: "sample-bucket",
        organization_id: "o-exampleorgid",
        trail: "sample-trail",
        log_group: "/sample/log-group",
    };

    /// The longest values the name variables can take: the longest region name mamori knows, the
    /// longest partition, and a 12-digit account id (always 12). A resource name with a length limit
    /// (an S3 bucket's 63 characters) is checked against these, so it fits in every region and
    /// partition, including one added later with `--region`.
    pub fn longest() -> Vars<'static> {
        let region = super::RegionName::longest();
        Vars { region, home_region: region, partition: super::Partition::longest_id(), ..Vars::SAMPLE }
    }

    /// These variables with `{bucket}` set.
    pub fn for_bucket(self, bucket: &'a str) -> Vars<'a> {
        Vars { bucket, ..self }
    }

    /// These variables with `{organization_id}` set.
    pub fn for_organization(self, organization_id: &'a str) -> Vars<'a> {
        Vars { organization_id, ..self }
    }

    /// Replaces every variable in `text`.
    pub fn render(&self, text: &str) -> String {
        text.replace("{account_id}", self.account_id)
            .replace("{audit_account_id}", self.audit_account_id)
            .replace("{trail_account_id}", self.trail_account_id)
            .replace("{organization_id}", self.organization_id)
            .replace("{region}", self.region)
            .replace("{home_region}", self.home_region)
            .replace("{partition}", self.partition)
            .replace("{dns_suffix}", self.dns_suffix)
            .replace("{bucket}", self.bucket)
            .replace("{trail}", self.trail)
            .replace("{log_group}", self.log_group)
    }
}

/// Template texts by name, as found for one baseline file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Templates {
    texts: BTreeMap<String, String>,
}

impl Templates {
    /// Renders template `name` into a JSON document. Every name in a loaded baseline was checked at load
    /// time, so an unknown name here is a programming error reported as such.
    pub fn render(&self, name: &str, vars: &Vars<'_>) -> Value {
        let text = self.texts.get(name).unwrap_or_else(|| panic!("template `{name}` was not loaded with the baseline"));
        serde_json::from_str(&vars.render(text)).unwrap_or_else(|e| panic!("template `{name}` was checked at load time: {e}"))
    }

    pub(crate) fn insert(&mut self, name: &str, text: String) {
        self.texts.insert(name.to_string(), text);
    }
}

/// Where template files are looked for, for a baseline at `baseline_file`.
pub fn search_dirs(baseline_file: &Path) -> Vec<PathBuf> {
    let dir = baseline_file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    vec![dir.join("templates"), dir.join("..").join("templates")]
}

/// Finds template `name` and checks it: the file (or built-in copy) exists, uses only known variables,
/// and renders to valid JSON. Returns the raw text.
pub fn find(name: &str, dirs: &[PathBuf]) -> Result<String, String> {
    let from_file = dirs.iter().map(|dir| dir.join(format!("{name}.json"))).find(|path| path.is_file());
    let text = match from_file {
        Some(path) => std::fs::read_to_string(&path).map_err(|e| format!("cannot read template {}: {e}", path.display()))?,
        None => BUILT_IN
            .iter()
            .find(|(built_in, _)| *built_in == name)
            .map(|(_, text)| text.to_string())
            .ok_or_else(|| format!("unknown template `{name}`: no {name}.json in {} and no built-in template of that name", describe(dirs)))?,
    };
    check(name, &text)?;
    Ok(text)
}

fn describe(dirs: &[PathBuf]) -> String {
    dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(" or ")
}

/// The variables a resource name may use (a name is rendered before any resource exists, so the
/// resource variables `{bucket}`, `{trail}`, `{log_group}` are not among them). `{audit_account_id}`
/// names the audit-log bucket and the session-log bucket after the account that holds them.
pub const NAME_VARIABLES: &[&str] = &["account_id", "audit_account_id", "region", "home_region", "partition"];

/// Rejects a `{variable}` of `text` that is not one of `known`, naming it and the known ones.
pub fn check_variables(text: &str, known: &[&str]) -> Result<(), String> {
    match placeholders(text).into_iter().find(|p| !known.contains(&p.as_str())) {
        Some(unknown) => {
            let known: Vec<String> = known.iter().map(|v| format!("{{{v}}}")).collect();
            Err(format!("unknown variable `{{{unknown}}}` (known: {})", known.join(", ")))
        }
        None => Ok(()),
    }
}

/// Rejects unknown `{variables}` and documents that are not JSON once rendered.
fn check(name: &str, text: &str) -> Result<(), String> {
    check_variables(text, VARIABLES).map_err(|e| format!("template `{name}` uses {e}"))?;
    serde_json::from_str::<Value>(&Vars::SAMPLE.render(text))
        .map(|_| ())
        .map_err(|e| format!("template `{name}` is not valid JSON: {e}"))
}

/// Every `{identifier}` in `text` (lower-case letters and underscores between braces).
fn placeholders(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (start, _) in text.match_indices('{') {
        let rest = &text[start + 1..];
        if let Some(end) = rest.find('}') {
            let candidate = &rest[..end];
            if !candidate.is_empty() && candidate.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                found.push(candidate.to_string());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_templates_are_valid() {
        for (name, text) in BUILT_IN {
            check(name, text).unwrap();
        }
    }

    #[test]
    fn variables_are_rendered() {
        let vars = Vars { region: "eu-west-1", account_id: "111122223333", ..Vars::SAMPLE };
        assert_eq!(vars.render("arn:{partition}:iam::{account_id}:root in {region}"), "arn:aws:iam::111122223333:root in eu-west-1");
    }

    /// The statement of a rendered built-in template with this `Sid`.
    fn statement(template: &str, vars: &Vars<'_>, sid: &str) -> Value {
        let (_, text) = BUILT_IN.iter().find(|(name, _)| *name == template).expect("a built-in template");
        let document: Value = serde_json::from_str(&vars.render(text)).expect("renders to JSON");
        document["Statement"].as_array().and_then(|s| s.iter().find(|s| s["Sid"] == sid)).cloned().unwrap_or_else(|| panic!("no {sid} in {template}"))
    }

    fn vars_in(region: &'static str) -> Vars<'static> {
        let partition = super::super::RegionName::parse(region).unwrap().partition();
        Vars { region, home_region: region, partition: partition.id, dns_suffix: partition.dns_suffix, ..Vars::SAMPLE }
    }

    #[test]
    fn endpoint_names_take_the_partitions_dns_suffix() {
        let key_policy = "kms-baseline-key-policy";
        for (region, via_ec2, logs, ec2) in [
            ("us-east-1", "ec2.us-east-1.amazonaws.com", "logs.us-east-1.amazonaws.com", "ec2.amazonaws.com"),
            ("cn-north-1", "ec2.cn-north-1.amazonaws.com.cn", "logs.cn-north-1.amazonaws.com.cn", "ec2.amazonaws.com.cn"),
            ("us-gov-west-1", "ec2.us-gov-west-1.amazonaws.com", "logs.us-gov-west-1.amazonaws.com", "ec2.amazonaws.com"),
        ] {
            let vars = vars_in(region);
            assert_eq!(statement(key_policy, &vars, "MamoriEbsUsesKeyInAccount")["Condition"]["StringEquals"]["kms:ViaService"], via_ec2);
            assert_eq!(statement(key_policy, &vars, "MamoriCloudWatchLogsEncrypts")["Principal"]["Service"], logs);
            assert_eq!(statement("ec2-instance-trust", &vars, "Ec2AssumesTheRole")["Principal"]["Service"], ec2);
            assert_eq!(statement(key_policy, &vars, "MamoriCloudTrailDescribesKey")["Principal"]["Service"], "cloudtrail.amazonaws.com", "a global principal in every partition");
            let root = format!("arn:{}:iam::123456789012:root", vars.partition);
            assert_eq!(statement(key_policy, &vars, "MamoriAccountRootAdministersKey")["Principal"]["AWS"], root.as_str());
        }
    }

    #[test]
    fn the_longest_values_are_those_of_the_longest_region_and_partition() {
        let longest = Vars::longest();
        assert_eq!((longest.region.len(), longest.partition), (14, "aws-us-gov"));
        assert_eq!(longest.account_id.len(), 12);
    }

    #[test]
    fn unknown_variables_and_bad_json_are_rejected() {
        assert!(check("t", r#"{"a": "{acount_id}"}"#).unwrap_err().contains("unknown variable `{acount_id}`"));
        assert!(check("t", r#"{"a": "#).unwrap_err().contains("not valid JSON"));
        assert!(find("no-such-template", &[]).unwrap_err().contains("unknown template"));
    }

    #[test]
    fn names_may_use_only_the_account_variables() {
        assert_eq!(check_variables("logs-{account_id}-{region}-{partition}", NAME_VARIABLES), Ok(()));
        let resource_variable = check_variables("logs-{bucket}", NAME_VARIABLES).unwrap_err();
        assert_eq!(resource_variable, "unknown variable `{bucket}` (known: {account_id}, {audit_account_id}, {region}, {home_region}, {partition})");
        assert!(check_variables("{dns_suffix}", VARIABLES).is_ok() && check_variables("{dns_suffix}", NAME_VARIABLES).is_err());
        assert_eq!(check_variables("{bucket}", VARIABLES), Ok(()), "templates may name the bucket");
    }
}
