//! The `vpc:` section of the baseline: VPC endpoints, endpoint-only data buckets, restricted egress
//! and network ACLs.
//!
//! Raw serde types (the file format) and the values they check while parsing, so every mistake is
//! reported with `file:line:col` and its key before any AWS call: a VPC id that is not one, a CIDR
//! that does not parse, an interface endpoint service that AWS does not offer, a bucket name S3 would
//! refuse, a break-glass principal that is not an IAM ARN, a security group id that is not one (or a
//! restricted-egress section that names none while enabled), and, above all, an endpoint-only bucket
//! section without a break-glass principal (`break_glass_principals` is required and non-empty): a
//! deny-unless-endpoint bucket policy must never lock the operators, or mamori itself when it runs
//! outside the VPC, out of the bucket.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize};

use super::endpoint_services;
use super::template::Vars;
use super::values::{string_value, BucketNameTemplate, TemplateRef};

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVpc {
    /// `vpc.endpoints`: S3 gateway endpoint and interface endpoints in every VPC in scope.
    #[serde(default)]
    pub endpoints: Option<RawVpcEndpoints>,
    /// `vpc.s3-bucket-vpce-only`: data buckets that accept requests only through the S3 gateway endpoint.
    #[serde(default)]
    pub s3_bucket_vpce_only: Option<RawVpceOnly>,
    /// `vpc.restricted-egress`: named security groups send traffic only to S3 (through its prefix list)
    /// and to their own VPC, on tcp 443 and 80.
    #[serde(default)]
    pub restricted_egress: Option<RawRestrictedEgress>,
    /// `vpc.nacl-admin-ports`: no network ACL lets the internet (0.0.0.0/0 or ::/0) in on 22 or 3389.
    #[serde(default)]
    pub nacl_admin_ports: Option<RawNaclAdminPorts>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNaclAdminPorts {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Opt-in fix: add inbound `deny` entries for tcp/udp 22 and 3389 from 0.0.0.0/0 (or ::/0) just
    /// before the entry that lets the internet in, so the ACL's other entries keep working. Nothing is
    /// deleted. Off: the finding is `manual`.
    #[serde(default)]
    pub deny_open_admin_ports: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVpcEndpoints {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Which VPCs of each region are in scope. Absent: every VPC except the default VPCs.
    #[serde(default)]
    pub vpcs: Option<RawVpcScope>,
    /// Interface endpoints to have in every VPC in scope, by short service name.
    #[serde(default = "default_interface_services")]
    pub interface_services: EndpointServices,
    /// Where interface endpoints go: one subnet per availability zone, chosen by this rule.
    #[serde(default)]
    pub subnets: SubnetPreference,
    /// Who may use the endpoints (the data perimeter): `own-account` (principals of this account,
    /// and through S3 only this account's buckets), `own-organization` (the same for the account's
    /// organization) or `keep` (every endpoint policy left as it is). Absent: `keep`.
    #[serde(default)]
    pub endpoint_policy: RawEndpointPolicy,
    /// Replaced by `endpoint_policy`: rejected with the migration when present.
    #[serde(default)]
    #[schemars(skip)]
    pub s3_endpoint_policy: Option<RetiredS3EndpointPolicy>,
    /// Opt-in: revoke the endpoint security group's inbound rules other than tcp 443 from the VPC's
    /// CIDR blocks (rules someone added for a peered VPC or an on-premises range). Off: they are kept.
    #[serde(default)]
    pub revoke_other_ingress: bool,
}

/// `endpoint_policy` as written: `keep`, or the data perimeter with the two templates it writes,
/// found and checked while parsing (a team's own `templates/NAME.json` beside the baseline wins over
/// the built-in copy).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RawEndpointPolicy {
    #[default]
    Keep,
    Perimeter { organization: bool, interface: TemplateRef, s3: TemplateRef },
}

impl RawEndpointPolicy {
    pub fn parse(text: &str) -> Result<RawEndpointPolicy, String> {
        let (organization, interface, s3) = match text {
            "keep" => return Ok(RawEndpointPolicy::Keep),
            "own-account" => (false, "vpc-endpoint-own-account", "vpc-s3-endpoint-own-account"),
            "own-organization" => (true, "vpc-endpoint-own-organization", "vpc-s3-endpoint-own-organization"),
            other => return Err(format!("unknown endpoint_policy `{other}`: use own-account, own-organization or keep")),
        };
        Ok(RawEndpointPolicy::Perimeter { organization, interface: TemplateRef::resolve(interface)?, s3: TemplateRef::resolve(s3)? })
    }
}

string_value!(RawEndpointPolicy, RawEndpointPolicy::parse, { "type": "string", "enum": ["own-account", "own-organization", "keep"], "description": "Who may use the VPC endpoints: principals of this account, of its organization, or keep the policies as they are." });

/// `s3_endpoint_policy`, which `endpoint_policy` replaced: never accepted, so a baseline written for it
/// fails at load time with the migration instead of silently losing its S3 endpoint policy.
#[derive(Debug)]
pub struct RetiredS3EndpointPolicy;

impl<'de> Deserialize<'de> for RetiredS3EndpointPolicy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let old = String::deserialize(deserializer)?;
        let new = match old.as_str() {
            "vpc-s3-endpoint-own-organization" => "own-organization",
            _ => "own-account",
        };
        Err(serde::de::Error::custom(format!(
            "`s3_endpoint_policy` was replaced by `endpoint_policy: own-account | own-organization | keep`, which sets the interface endpoints' policies too: write `endpoint_policy: {new}` instead of `s3_endpoint_policy: {old}` (a team's own policy goes in templates/vpc-s3-endpoint-{new}.json beside the baseline)"
        )))
    }
}

/// The VPCs in scope. `ids` and `tags` combine (a VPC must match both when both are given).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVpcScope {
    /// Only these VPCs (ids not found in a region are ignored there).
    #[serde(default)]
    pub ids: Option<Vec<VpcId>>,
    /// Only VPCs carrying every one of these tags (key: value).
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
    /// Whether default VPCs are in scope (a default VPC named in `ids` always is).
    #[serde(default)]
    pub include_default_vpc: bool,
}

/// The field report's list: Session Manager (ssm, ssmmessages, ec2messages), EC2 (Security Hub
/// EC2.10), KMS, CloudWatch metrics and logs.
pub const DEFAULT_INTERFACE_SERVICES: &[&str] = &["ssm", "ssmmessages", "ec2messages", "ec2", "kms", "monitoring", "logs"];

fn default_interface_services() -> EndpointServices {
    EndpointServices(DEFAULT_INTERFACE_SERVICES.iter().map(|s| s.to_string()).collect())
}

/// How interface endpoint subnets are chosen, per availability zone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SubnetPreference {
    /// A private subnet (no route to an internet gateway) where the zone has one, else another subnet.
    #[default]
    PreferPrivate,
    /// Private subnets only: zones without one get no endpoint network interface.
    PrivateOnly,
    /// Any subnet of the zone.
    Any,
}

/// A distinct list of interface endpoint service short names AWS offers.
#[derive(Debug)]
pub struct EndpointServices(pub Vec<String>);

impl<'de> Deserialize<'de> for EndpointServices {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let services = Vec::<EndpointService>::deserialize(deserializer)?;
        let names: Vec<String> = services.into_iter().map(|s| s.0).collect();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(serde::de::Error::custom(format!("service `{name}` is listed twice")));
            }
        }
        Ok(EndpointServices(names))
    }
}

impl JsonSchema for EndpointServices {
    fn schema_name() -> Cow<'static, str> {
        "EndpointServices".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let item = generator.subschema_for::<EndpointService>();
        json_schema!({ "type": "array", "items": item, "uniqueItems": true })
    }
}

/// One interface endpoint service short name (`ssm`, `ecr.api`), checked against the known services.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointService(pub String);

impl EndpointService {
    pub fn parse(name: &str) -> Result<EndpointService, String> {
        if name == "s3" {
            return Err("`s3` is covered by the S3 gateway endpoint vpc.endpoints always creates: leave it out of interface_services".into());
        }
        if endpoint_services::KNOWN.contains(&name) {
            return Ok(EndpointService(name.to_string()));
        }
        let mut close: Vec<(usize, &str)> =
            endpoint_services::KNOWN.iter().map(|known| (edit_distance(known, name), *known)).filter(|(d, _)| *d <= 2).collect();
        close.sort();
        let close: Vec<&str> = close.into_iter().take(3).map(|(_, known)| known).collect();
        let hint = if close.is_empty() { String::new() } else { format!(" (did you mean one of: {})", close.join(", ")) };
        Err(format!("unknown interface endpoint service `{name}`: use the short name AWS gives it, e.g. ssm, kms, ecr.api{hint}"))
    }
}

string_value!(EndpointService, EndpointService::parse, { "type": "string", "enum": endpoint_services::KNOWN, "description": "Short name of an AWS service with interface endpoints (ssm, kms, ...)." });

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb { previous } else { 1 + previous.min(row[j]).min(row[j + 1]) };
            previous = current;
        }
    }
    row[b.len()]
}

/// A VPC id: `vpc-` and hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct VpcId(pub String);

impl<'de> Deserialize<'de> for VpcId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = String::deserialize(deserializer)?;
        let valid = id.strip_prefix("vpc-").is_some_and(|hex| !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()));
        if valid {
            Ok(VpcId(id))
        } else {
            Err(serde::de::Error::custom(format!("`{id}` is not a VPC id (vpc- followed by hex digits)")))
        }
    }
}

impl JsonSchema for VpcId {
    fn schema_name() -> Cow<'static, str> {
        "VpcId".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "pattern": "^vpc-[0-9a-f]+$" })
    }
}

/// An IPv4 or IPv6 CIDR block (`203.0.113.0/24`, `2001:db8::/32`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Cidr(pub String);

impl Cidr {
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let bad = |why: &str| format!("`{text}` is not a CIDR block ({why}; e.g. 203.0.113.0/24)");
        let (address, length) = text.split_once('/').ok_or_else(|| bad("no /prefix-length"))?;
        let address: IpAddr = address.parse().map_err(|_| bad("not an IP address"))?;
        let length: u8 = length.parse().map_err(|_| bad("the prefix length is not a number"))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        if length > max {
            return Err(bad(&format!("the prefix length is above {max}")));
        }
        Ok(Cidr(text.to_string()))
    }
}

string_value!(Cidr, Cidr::parse, { "type": "string", "pattern": "^[0-9a-fA-F.:]+/[0-9]{1,3}$", "description": "IPv4 or IPv6 CIDR block." });

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVpceOnly {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Principals exempt from the deny (`aws:PrincipalArn`, wildcards allowed). Required, at least one,
    /// even while the section is disabled: turning it on must never lock everyone out.
    pub break_glass_principals: PrincipalArns,
    /// The data buckets, each with its migration stage.
    #[serde(default)]
    pub buckets: Vec<RawVpceBucket>,
}

/// A non-empty list of IAM principal ARNs.
#[derive(Debug)]
pub struct PrincipalArns(pub Vec<String>);

impl<'de> Deserialize<'de> for PrincipalArns {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let arns = Vec::<PrincipalArn>::deserialize(deserializer)?;
        if arns.is_empty() {
            return Err(serde::de::Error::custom(
                "at least one break-glass principal is required: the deny statement must never lock everyone out of a bucket",
            ));
        }
        Ok(PrincipalArns(arns.into_iter().map(|a| a.0).collect()))
    }
}

impl JsonSchema for PrincipalArns {
    fn schema_name() -> Cow<'static, str> {
        "PrincipalArns".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let item = generator.subschema_for::<PrincipalArn>();
        json_schema!({ "type": "array", "items": item, "minItems": 1 })
    }
}

/// An IAM principal ARN (`arn:{partition}:iam::{account_id}:role/BreakGlass`), template variables and
/// `*` wildcards allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrincipalArn(pub String);

impl PrincipalArn {
    pub fn parse(text: &str) -> Result<PrincipalArn, String> {
        let rendered = Vars::SAMPLE.render(text);
        let parts: Vec<&str> = rendered.splitn(6, ':').collect();
        let valid = parts.len() == 6
            && parts[0] == "arn"
            && !parts[1].is_empty()
            && parts[2] == "iam"
            && parts[3].is_empty()
            && (parts[4] == "*" || (parts[4].len() == 12 && parts[4].chars().all(|c| c.is_ascii_digit())))
            && (parts[5] == "root" || parts[5].starts_with("role/") || parts[5].starts_with("user/"));
        if valid {
            Ok(PrincipalArn(text.to_string()))
        } else {
            Err(format!("`{text}` is not an IAM principal ARN (arn:PARTITION:iam::ACCOUNT:role/NAME, user/NAME or root)"))
        }
    }
}

string_value!(PrincipalArn, PrincipalArn::parse, { "type": "string", "pattern": "^arn:[^:]+:iam::[^:]+:(root|role/.+|user/.+)$" });

/// The migration stage of one bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Deny unless through the endpoint OR from `source_ips` (the switch-over period).
    AllowIpOrVpce,
    /// Deny unless through the endpoint.
    #[default]
    VpceOnly,
}

/// One data bucket. `source_ips` is required in `allow-ip-or-vpce` and ignored in `vpce-only` (so the
/// stage can be flipped without deleting the list).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(try_from = "RawVpceBucketFields")]
#[schemars(with = "RawVpceBucketFields")]
pub struct RawVpceBucket {
    pub name: BucketNameTemplate,
    pub stage: Stage,
    pub source_ips: Vec<Cidr>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVpceBucketFields {
    /// Bucket name; `{account_id}`, `{region}`, `{home_region}` and `{partition}` are replaced.
    pub name: BucketNameTemplate,
    #[serde(default)]
    pub stage: Stage,
    /// The old source ranges still allowed in `allow-ip-or-vpce`.
    #[serde(default)]
    pub source_ips: Vec<Cidr>,
}

impl TryFrom<RawVpceBucketFields> for RawVpceBucket {
    type Error = String;
    fn try_from(raw: RawVpceBucketFields) -> Result<Self, String> {
        if raw.stage == Stage::AllowIpOrVpce && raw.source_ips.is_empty() {
            return Err(format!("bucket `{}`: stage allow-ip-or-vpce needs source_ips (the ranges still allowed besides the endpoint)", raw.name.0));
        }
        Ok(RawVpceBucket { name: raw.name, stage: raw.stage, source_ips: raw.source_ips })
    }
}

/// `vpc.restricted_egress`. `security_groups` may be empty only while the section is disabled (a
/// shipped baseline cannot know the groups' ids).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(try_from = "RawRestrictedEgressFields")]
#[schemars(with = "RawRestrictedEgressFields")]
pub struct RawRestrictedEgress {
    pub enabled: bool,
    pub security_groups: Vec<SecurityGroupId>,
    pub revoke_other_egress: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRestrictedEgressFields {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The security groups whose egress is restricted, by id (each exists in one region).
    #[serde(default)]
    pub security_groups: SecurityGroupIds,
    /// Opt-in fix: revoke every other egress rule of these groups (AWS's default allow-all among
    /// them), after the allowed rules are in place. Off: other rules are reported `manual`.
    #[serde(default)]
    pub revoke_other_egress: bool,
}

impl TryFrom<RawRestrictedEgressFields> for RawRestrictedEgress {
    type Error = String;
    fn try_from(raw: RawRestrictedEgressFields) -> Result<Self, String> {
        if raw.enabled && raw.security_groups.0.is_empty() {
            return Err("security_groups is empty: name at least one security group id (sg-...), or set enabled: false".into());
        }
        Ok(RawRestrictedEgress { enabled: raw.enabled, security_groups: raw.security_groups.0, revoke_other_egress: raw.revoke_other_egress })
    }
}

/// A list of distinct security group ids.
#[derive(Debug, Default)]
pub struct SecurityGroupIds(pub Vec<SecurityGroupId>);

impl<'de> Deserialize<'de> for SecurityGroupIds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let ids = Vec::<SecurityGroupId>::deserialize(deserializer)?;
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].contains(id) {
                return Err(serde::de::Error::custom(format!("security group `{}` is listed twice", id.0)));
            }
        }
        Ok(SecurityGroupIds(ids))
    }
}

impl JsonSchema for SecurityGroupIds {
    fn schema_name() -> Cow<'static, str> {
        "SecurityGroupIds".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let item = generator.subschema_for::<SecurityGroupId>();
        json_schema!({ "type": "array", "items": item, "uniqueItems": true })
    }
}

/// A security group id: `sg-` and lower-case hex digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityGroupId(pub String);

impl SecurityGroupId {
    pub fn parse(text: &str) -> Result<SecurityGroupId, String> {
        let valid = text.strip_prefix("sg-").is_some_and(|hex| !hex.is_empty() && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        if valid {
            Ok(SecurityGroupId(text.to_string()))
        } else {
            Err(format!("`{text}` is not a security group id (sg- followed by lower-case hex digits, e.g. sg-0123456789abcdef0)"))
        }
    }
}

string_value!(SecurityGroupId, SecurityGroupId::parse, { "type": "string", "pattern": "^sg-[0-9a-f]+$", "description": "Security group id." });

/// `vpc.endpoints` settings, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VpcEndpoints {
    pub scope: VpcScope,
    /// Interface endpoint services by short name, in the baseline's order.
    pub interface_services: Vec<String>,
    pub subnets: SubnetPreference,
    /// The data perimeter the endpoint policies draw; `None`: `keep`, no endpoint policy is read or written.
    pub endpoint_policy: Option<EndpointPolicy>,
    /// Opt-in: the endpoint security group's inbound rules other than the VPC's tcp 443 are revoked.
    pub revoke_other_ingress: bool,
}

/// The endpoint policies of `endpoint_policy`: the templates for interface endpoints and for the S3
/// gateway endpoint, by name, and whether they name the organization (`{organization_id}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointPolicy {
    pub organization: bool,
    pub interface_template: String,
    pub s3_template: String,
}

/// `vpc.nacl-admin-ports` settings, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NaclAdminPorts {
    /// Opt-in: `apply` adds deny entries ahead of the world-open ones; otherwise the finding is manual.
    pub deny_open_admin_ports: bool,
}

/// Which VPCs `vpc.endpoints` covers in each region.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VpcScope {
    /// Empty: every VPC.
    pub ids: Vec<String>,
    /// Empty: no tag condition.
    pub tags: BTreeMap<String, String>,
    pub include_default_vpc: bool,
}

/// `vpc.s3-bucket-vpce-only` settings, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VpceOnly {
    /// Template text (variables not yet rendered).
    pub break_glass_principals: Vec<String>,
    pub buckets: Vec<VpceBucket>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VpceBucket {
    /// Template text (variables not yet rendered).
    pub name: String,
    pub stage: Stage,
    pub source_ips: Vec<String>,
}

/// `vpc.restricted-egress` settings, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestrictedEgress {
    /// Group ids, in the baseline's order.
    pub security_groups: Vec<String>,
    /// Opt-in: `apply` revokes the groups' other egress rules; otherwise they are reported `manual`.
    pub revoke_other_egress: bool,
}

impl RawVpcEndpoints {
    pub fn validated(self) -> VpcEndpoints {
        let scope = self.vpcs.unwrap_or_default();
        VpcEndpoints {
            scope: VpcScope {
                ids: scope.ids.unwrap_or_default().into_iter().map(|id| id.0).collect(),
                tags: scope.tags.unwrap_or_default(),
                include_default_vpc: scope.include_default_vpc,
            },
            interface_services: self.interface_services.0,
            subnets: self.subnets,
            endpoint_policy: match self.endpoint_policy {
                RawEndpointPolicy::Keep => None,
                RawEndpointPolicy::Perimeter { organization, interface, s3 } => {
                    Some(EndpointPolicy { organization, interface_template: interface.name, s3_template: s3.name })
                }
            },
            revoke_other_ingress: self.revoke_other_ingress,
        }
    }
}

impl RawNaclAdminPorts {
    pub fn validated(self) -> NaclAdminPorts {
        NaclAdminPorts { deny_open_admin_ports: self.deny_open_admin_ports }
    }
}

impl RawVpceOnly {
    pub fn validated(self) -> VpceOnly {
        VpceOnly {
            break_glass_principals: self.break_glass_principals.0,
            buckets: self
                .buckets
                .into_iter()
                .map(|b| VpceBucket { name: b.name.0, stage: b.stage, source_ips: b.source_ips.into_iter().map(|c| c.0).collect() })
                .collect(),
        }
    }
}

impl RawRestrictedEgress {
    pub fn validated(self) -> RestrictedEgress {
        RestrictedEgress { security_groups: self.security_groups.into_iter().map(|id| id.0).collect(), revoke_other_egress: self.revoke_other_egress }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_parse_or_say_why_not() {
        assert!(Cidr::parse("203.0.113.0/24").is_ok());
        assert!(Cidr::parse("2001:db8::/32").is_ok());
        assert!(Cidr::parse("10.0.0.0/33").unwrap_err().contains("above 32"));
        assert!(Cidr::parse("10.0.0/8").unwrap_err().contains("not an IP address"));
        assert!(Cidr::parse("10.0.0.0").unwrap_err().contains("no /prefix-length"));
    }

    #[test]
    fn services_are_known_short_names() {
        assert!(EndpointService::parse("ecr.api").is_ok());
        assert!(EndpointService::parse("ssn").unwrap_err().contains("did you mean one of: scn, ssm"));
        assert!(EndpointService::parse("s3").unwrap_err().contains("gateway"));
        for service in DEFAULT_INTERFACE_SERVICES {
            assert!(EndpointService::parse(service).is_ok(), "{service}");
        }
    }

    #[test]
    fn endpoint_policy_names_a_perimeter_or_keep_and_the_old_setting_says_how_to_migrate() {
        let parse = |yaml: &str| serde_yaml_ng::from_str::<RawVpcEndpoints>(yaml).map(RawVpcEndpoints::validated);
        assert_eq!(parse("{}").unwrap().endpoint_policy, None, "absent: keep");
        assert_eq!(parse("{endpoint_policy: keep}").unwrap().endpoint_policy, None);
        let own = parse("{endpoint_policy: own-organization}").unwrap().endpoint_policy.unwrap();
        assert_eq!(own, EndpointPolicy { organization: true, interface_template: "vpc-endpoint-own-organization".into(), s3_template: "vpc-s3-endpoint-own-organization".into() });
        assert!(parse("{endpoint_policy: own-acount}").unwrap_err().to_string().contains("use own-account, own-organization or keep"));
        let old = parse("{s3_endpoint_policy: vpc-s3-endpoint-own-account}").unwrap_err().to_string();
        assert!(old.contains("write `endpoint_policy: own-account`"), "{old}");
    }

    #[test]
    fn principals_are_iam_arns() {
        assert!(PrincipalArn::parse("arn:{partition}:iam::{account_id}:role/BreakGlass").is_ok());
        assert!(PrincipalArn::parse("arn:aws:iam::123456789012:root").is_ok());
        assert!(PrincipalArn::parse("arn:aws:iam::*:role/ops-*").is_ok());
        assert!(PrincipalArn::parse("BreakGlass").is_err());
        assert!(PrincipalArn::parse("arn:aws:s3:::bucket").is_err());
    }

    #[test]
    fn security_group_ids_are_sg_and_hex() {
        assert!(SecurityGroupId::parse("sg-0123456789abcdef0").is_ok());
        assert!(SecurityGroupId::parse("sg-1a2b3c4d").is_ok());
        for bad in ["not-a-group", "sg-", "sg-12G4", "SG-1234", "sg-ABCD", "vpc-1234"] {
            assert!(SecurityGroupId::parse(bad).unwrap_err().contains("not a security group id"), "{bad}");
        }
    }

    #[test]
    fn restricted_egress_names_a_group_unless_disabled() {
        let parse = |yaml: &str| serde_yaml_ng::from_str::<RawRestrictedEgress>(yaml);
        assert!(parse("{enabled: false, security_groups: []}").is_ok());
        assert!(parse("{security_groups: []}").unwrap_err().to_string().contains("security_groups is empty"));
        assert!(parse("{}").is_err());
        assert!(parse("{security_groups: [sg-1, sg-1]}").unwrap_err().to_string().contains("listed twice"));
        let settings = parse("{security_groups: [sg-2, sg-1]}").unwrap().validated();
        assert_eq!(settings, RestrictedEgress { security_groups: vec!["sg-2".into(), "sg-1".into()], revoke_other_egress: false });
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        assert!(BucketNameTemplate::parse("{account_id}-data").is_ok());
        assert!(BucketNameTemplate::parse("Data").is_err());
        assert!(BucketNameTemplate::parse("ab").is_err());
    }
}
