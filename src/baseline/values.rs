//! Scalar values of the baseline file that check themselves while they are parsed.
//!
//! Each type here validates in its `Deserialize` impl, so a bad value fails inside the YAML parser,
//! which then reports it with the file position and the key path. Nothing here calls AWS.

use std::borrow::Cow;
use std::cell::RefCell;
use std::path::PathBuf;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize};

use super::template;

/// Implements `Deserialize` and `JsonSchema` for a string type checked by `$parse`: the check runs
/// inside the YAML parser, so a bad value is reported with its position and key, and `mamori schema`
/// shows the given schema.
macro_rules! string_value {
    ($type:ident, $parse:path, $schema:tt) => {
        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $parse(&<String as serde::Deserialize>::deserialize(deserializer)?).map_err(serde::de::Error::custom)
            }
        }

        impl schemars::JsonSchema for $type {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($type).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!($schema)
            }
        }
    };
}
pub(crate) use string_value;

/// The baseline format version: only `1` exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Version(u32);

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match u32::deserialize(deserializer)? {
            1 => Ok(Version(1)),
            other => Err(serde::de::Error::custom(format!("unsupported baseline version {other}: this mamori reads version 1"))),
        }
    }
}

impl JsonSchema for Version {
    fn schema_name() -> Cow<'static, str> {
        "Version".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "const": 1, "description": "Baseline format version." })
    }
}

/// An integer within `MIN..=MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Bounded<const MIN: i64, const MAX: i64>(pub i64);

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = i64::deserialize(deserializer)?;
        if (MIN..=MAX).contains(&value) {
            Ok(Bounded(value))
        } else {
            Err(serde::de::Error::custom(format!("{value} is out of range: must be between {MIN} and {MAX}")))
        }
    }
}

impl<const MIN: i64, const MAX: i64> JsonSchema for Bounded<MIN, MAX> {
    fn schema_name() -> Cow<'static, str> {
        format!("Integer_{MIN}_to_{MAX}").into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "minimum": MIN, "maximum": MAX })
    }
}

/// A KMS alias name without the `alias/` prefix: letters, digits, `/_-`, not starting with `aws`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct KeyAlias(String);

impl KeyAlias {
    pub fn parse(name: &str) -> Result<KeyAlias, String> {
        let name = name.strip_prefix("alias/").unwrap_or(name);
        if name.is_empty() || name.len() > 250 {
            return Err("a KMS alias must have 1 to 250 characters".into());
        }
        if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || "/_-".contains(*c))) {
            return Err(format!("invalid character `{bad}` in KMS alias `{name}` (allowed: letters, digits, / _ -)"));
        }
        if name.starts_with("aws") {
            return Err(format!("KMS alias `{name}` is reserved: names starting with `aws` belong to AWS managed keys"));
        }
        Ok(KeyAlias(name.to_string()))
    }

    /// `alias/NAME`, as the KMS API spells it.
    pub fn qualified(&self) -> String {
        format!("alias/{}", self.0)
    }
}

string_value!(KeyAlias, KeyAlias::parse, { "type": "string", "pattern": "^(alias/)?[A-Za-z0-9/_-]{1,250}$", "description": "KMS alias name (the `alias/` prefix is optional)." });

thread_local! {
    /// Directories searched for templates while one baseline file is being parsed.
    static TEMPLATE_DIRS: RefCell<Vec<PathBuf>> = const { RefCell::new(Vec::new()) };
}

/// Runs `parse` with `dirs` as the template search path for every [`TemplateRef`] it deserializes.
pub(super) fn with_template_dirs<T>(dirs: Vec<PathBuf>, parse: impl FnOnce() -> T) -> T {
    TEMPLATE_DIRS.with(|cell| *cell.borrow_mut() = dirs);
    let result = parse();
    TEMPLATE_DIRS.with(|cell| cell.borrow_mut().clear());
    result
}

/// A reference to a policy template, checked (found, known variables, valid JSON) while parsing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TemplateRef {
    pub name: String,
    #[serde(skip)]
    pub text: String,
}

impl TemplateRef {
    /// A reference resolved against the current search path (used for defaults).
    pub fn resolve(name: &str) -> Result<TemplateRef, String> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(format!("invalid template name `{name}`: use letters, digits, - and _ (the file is templates/NAME.json)"));
        }
        let dirs = TEMPLATE_DIRS.with(|cell| cell.borrow().clone());
        let text = template::find(name, &dirs)?;
        Ok(TemplateRef { name: name.to_string(), text })
    }
}

string_value!(TemplateRef, TemplateRef::resolve, { "type": "string", "pattern": "^[A-Za-z0-9_-]+$", "description": "Name of a JSON policy template: templates/NAME.json." });

/// A non-empty name (baseline name, descriptions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct NonEmpty(pub String);

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        if value.trim().is_empty() {
            return Err(serde::de::Error::custom("must not be empty"));
        }
        Ok(NonEmpty(value))
    }
}

impl JsonSchema for NonEmpty {
    fn schema_name() -> Cow<'static, str> {
        "NonEmpty".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "minLength": 1 })
    }
}

/// A bucket name with template variables (`mamori-audit-{account_id}-{region}`): only the name
/// variables ([`template::NAME_VARIABLES`]), and a valid S3 bucket name once rendered: lower-case
/// letters, digits, dots and hyphens, starting and ending with a letter or digit, 3 to 63 characters
/// ("General purpose bucket naming rules",
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>). The length is
/// checked with the longest value every variable can take ([`template::Vars::longest`]), so a name
/// that loads fits in every region and partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct BucketNameTemplate(pub String);

impl BucketNameTemplate {
    pub fn parse(template: &str) -> Result<BucketNameTemplate, String> {
        template::check_variables(template, template::NAME_VARIABLES).map_err(|e| format!("bucket name `{template}` uses {e}"))?;
        let sample = template::Vars::SAMPLE.render(template);
        let valid_chars = sample.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        let valid_ends = sample.starts_with(|c: char| c.is_ascii_alphanumeric()) && sample.ends_with(|c: char| c.is_ascii_alphanumeric());
        if sample.len() < 3 || !valid_chars || !valid_ends || sample.contains("..") {
            return Err(format!(
                "`{template}` is not a valid S3 bucket name once rendered (`{sample}`): 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit"
            ));
        }
        let longest = template::Vars::longest().render(template);
        if longest.len() > 63 {
            return Err(format!(
                "`{template}` can be {} characters long once rendered (`{longest}`, with the longest region and partition names): S3 bucket names have at most 63",
                longest.len()
            ));
        }
        Ok(BucketNameTemplate(template.to_string()))
    }

    /// The name for `vars`.
    pub fn render(&self, vars: &template::Vars<'_>) -> String {
        vars.render(&self.0)
    }
}

string_value!(BucketNameTemplate, BucketNameTemplate::parse, { "type": "string", "pattern": "^[a-z0-9{][a-z0-9.{}_-]{1,80}$", "description": "S3 bucket name; may use {account_id}, {region}, {home_region}, {partition}." });

/// A CloudWatch Logs retention period: one of the values the service accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RetentionDays(pub i32);

/// The retention periods CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: &[i32] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

impl<'de> Deserialize<'de> for RetentionDays {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let days = i32::deserialize(deserializer)?;
        if RETENTION_DAYS.contains(&days) {
            Ok(RetentionDays(days))
        } else {
            Err(serde::de::Error::custom(format!("{days} is not a CloudWatch Logs retention period (one of {RETENTION_DAYS:?})")))
        }
    }
}

impl JsonSchema for RetentionDays {
    fn schema_name() -> Cow<'static, str> {
        "RetentionDays".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "enum": RETENTION_DAYS })
    }
}

/// A resource name that may use the template variables (`mamori-sessions-{account_id}`): non-empty,
/// no whitespace, and no variable other than `{account_id}`, `{region}`, `{home_region}`, `{partition}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct NameTemplate(pub String);

impl<'de> Deserialize<'de> for NameTemplate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        if value.is_empty() || value.chars().any(char::is_whitespace) {
            return Err(serde::de::Error::custom("must be a non-empty name without spaces"));
        }
        template::check_variables(&value, template::NAME_VARIABLES).map_err(serde::de::Error::custom)?;
        Ok(NameTemplate(value))
    }
}

impl JsonSchema for NameTemplate {
    fn schema_name() -> Cow<'static, str> {
        "NameTemplate".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "pattern": "^\\S+$", "description": "A name; may use {account_id}, {region} and {partition}." })
    }
}

/// An IAM role (and instance profile) name: 1 to 64 of letters, digits and `+=,.@_-`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RoleName(pub String);

impl<'de> Deserialize<'de> for RoleName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        if name.is_empty() || name.len() > 64 {
            return Err(serde::de::Error::custom("an IAM role name must have 1 to 64 characters"));
        }
        if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c))) {
            return Err(serde::de::Error::custom(format!("invalid character `{bad}` in role name `{name}` (allowed: letters, digits, +=,.@_-)")));
        }
        Ok(RoleName(name))
    }
}

impl JsonSchema for RoleName {
    fn schema_name() -> Cow<'static, str> {
        "RoleName".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "pattern": "^[A-Za-z0-9+=,.@_-]{1,64}$" })
    }
}

/// A 12-digit AWS account id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AccountId(pub String);

impl AccountId {
    pub fn parse(value: &str) -> Result<AccountId, String> {
        if value.len() == 12 && value.chars().all(|c| c.is_ascii_digit()) {
            Ok(AccountId(value.to_string()))
        } else {
            Err(format!("`{value}` is not an AWS account id (12 digits)"))
        }
    }
}

string_value!(AccountId, AccountId::parse, { "type": "string", "pattern": "^[0-9]{12}$", "description": "A 12-digit AWS account id." });

/// An STS role session name: 2 to 64 of letters, digits and `=,.@_-` (`{verb}` is replaced by the verb).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct SessionName(pub String);

impl SessionName {
    pub fn parse(value: &str) -> Result<SessionName, String> {
        let rendered = value.replace("{verb}", "verify");
        if !(2..=64).contains(&rendered.len()) || !rendered.chars().all(|c| c.is_ascii_alphanumeric() || "=,.@_-".contains(c)) {
            return Err(format!("`{value}` is not an STS session name: 2 to 64 letters, digits and =,.@_- (`{{verb}}` may name the verb)"));
        }
        Ok(SessionName(value.to_string()))
    }

    /// The session name for `verb`.
    pub fn render(&self, verb: &str) -> String {
        self.0.replace("{verb}", verb)
    }
}

string_value!(SessionName, SessionName::parse, { "type": "string", "pattern": "^[A-Za-z0-9=,.@_{}-]{2,64}$", "description": "STS role session name; `{verb}` is replaced by plan, apply or verify." });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_must_fit_with_the_longest_region_and_partition() {
        // 63 characters with ap-northeast-1 and aws-us-gov: the longest name S3 accepts.
        assert!(BucketNameTemplate::parse("org-audit-{account_id}-{region}-{partition}-trail-archives").is_ok());
        // 52 characters in us-east-1 and aws, 64 with the longest names: refused, showing that rendering.
        let error = BucketNameTemplate::parse("org-audit-{account_id}-{region}-{partition}-trail-archivess").unwrap_err();
        assert!(error.contains("can be 64 characters long"), "{error}");
        assert!(error.contains("`org-audit-123456789012-ap-northeast-1-aws-us-gov-trail-archivess`"), "{error}");
        // 61 characters in us-east-1: refused, because ap-northeast-1 makes it 66.
        assert!(BucketNameTemplate::parse("central-audit-logs-of-the-organization-{account_id}-{region}").unwrap_err().contains("can be 66"));
    }

    #[test]
    fn bucket_names_are_checked_for_variables_then_rendered_validity() {
        assert!(BucketNameTemplate::parse("mamori-audit-{account_id}-{region}").is_ok());
        assert!(BucketNameTemplate::parse("logs-{bucket}").unwrap_err().contains("unknown variable `{bucket}`"));
        assert!(BucketNameTemplate::parse("Logs-{account_id}").unwrap_err().contains("not a valid S3 bucket name"));
    }

    #[test]
    fn account_ids_and_session_names_are_checked() {
        assert!(AccountId::parse("123456789012").is_ok());
        assert!(AccountId::parse("12345678901").is_err() && AccountId::parse("12345678901a").is_err());
        assert_eq!(SessionName::parse("mamori-{verb}").unwrap().render("apply"), "mamori-apply");
        assert!(SessionName::parse("has space").is_err() && SessionName::parse("x").is_err());
    }
}
