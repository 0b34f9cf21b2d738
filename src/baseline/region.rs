//! The AWS regions a baseline may name: their partition, and whether the account must opt in to them.
//!
//! A region outside this list is rejected when the baseline is loaded, so a typo (`us-east-9`) fails
//! before any call instead of producing an `error` finding per control. New regions are added here,
//! with their partition and, for the commercial partition, whether they are opt-in regions: AWS enables
//! the regions launched before March 20, 2019 in every account, and the later ones only once the
//! account opts in ("Enable or disable AWS Regions in your account",
//! <https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html>). A run asks AWS
//! which of its opt-in regions are enabled (see [`crate::engine::regions`]); the default regions need no
//! call.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize};

use super::partition::{Partition, AWS, AWS_CN, AWS_US_GOV};

/// One region mamori knows.
#[derive(Debug)]
pub struct KnownRegion {
    pub name: &'static str,
    pub partition: &'static Partition,
    /// Disabled until the account enables it (regions launched after March 20, 2019).
    pub opt_in: bool,
}

/// Every region, with its partition and whether it is an opt-in region.
pub const KNOWN_REGIONS: &[KnownRegion] = &[
    KnownRegion { name: "af-south-1", partition: &AWS, opt_in: true },
    KnownRegion { name: "ap-east-1", partition: &AWS, opt_in: true },
    KnownRegion { name: "ap-east-2", partition: &AWS, opt_in: true },
    KnownRegion { name: "ap-northeast-1", partition: &AWS, opt_in: false },
    KnownRegion { name: "ap-northeast-2", partition: &AWS, opt_in: false },
    KnownRegion { name: "ap-northeast-3", partition: &AWS, opt_in: false },
    KnownRegion { name: "ap-south-1", partition: &AWS, opt_in: false },
    KnownRegion { name: "ap-south-2", partition: &AWS, opt_in: true },
    KnownRegion { name: "ap-southeast-1", partition: &AWS, opt_in: false },
    KnownRegion { name: "ap-southeast-2", partition: &AWS, opt_in: false },
    KnownRegion { name: "ap-southeast-3", partition: &AWS, opt_in: true },
    KnownRegion { name: "ap-southeast-4", partition: &AWS, opt_in: true },
    KnownRegion { name: "ap-southeast-5", partition: &AWS, opt_in: true },
    KnownRegion { name: "ap-southeast-6", partition: &AWS, opt_in: true },
    KnownRegion { name: "ap-southeast-7", partition: &AWS, opt_in: true },
    KnownRegion { name: "ca-central-1", partition: &AWS, opt_in: false },
    KnownRegion { name: "ca-west-1", partition: &AWS, opt_in: true },
    KnownRegion { name: "eu-central-1", partition: &AWS, opt_in: false },
    KnownRegion { name: "eu-central-2", partition: &AWS, opt_in: true },
    KnownRegion { name: "eu-north-1", partition: &AWS, opt_in: false },
    KnownRegion { name: "eu-south-1", partition: &AWS, opt_in: true },
    KnownRegion { name: "eu-south-2", partition: &AWS, opt_in: true },
    KnownRegion { name: "eu-west-1", partition: &AWS, opt_in: false },
    KnownRegion { name: "eu-west-2", partition: &AWS, opt_in: false },
    KnownRegion { name: "eu-west-3", partition: &AWS, opt_in: false },
    KnownRegion { name: "il-central-1", partition: &AWS, opt_in: true },
    KnownRegion { name: "me-central-1", partition: &AWS, opt_in: true },
    KnownRegion { name: "me-south-1", partition: &AWS, opt_in: true },
    KnownRegion { name: "mx-central-1", partition: &AWS, opt_in: true },
    KnownRegion { name: "sa-east-1", partition: &AWS, opt_in: false },
    KnownRegion { name: "us-east-1", partition: &AWS, opt_in: false },
    KnownRegion { name: "us-east-2", partition: &AWS, opt_in: false },
    KnownRegion { name: "us-west-1", partition: &AWS, opt_in: false },
    KnownRegion { name: "us-west-2", partition: &AWS, opt_in: false },
    KnownRegion { name: "cn-north-1", partition: &AWS_CN, opt_in: false },
    KnownRegion { name: "cn-northwest-1", partition: &AWS_CN, opt_in: false },
    KnownRegion { name: "us-gov-east-1", partition: &AWS_US_GOV, opt_in: false },
    KnownRegion { name: "us-gov-west-1", partition: &AWS_US_GOV, opt_in: false },
];

/// A region name that is in [`KNOWN_REGIONS`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RegionName(String);

impl RegionName {
    /// Checks `name` against the known regions; the error lists the closest known names.
    pub fn parse(name: &str) -> Result<RegionName, String> {
        if KNOWN_REGIONS.iter().any(|known| known.name == name) {
            return Ok(RegionName(name.to_string()));
        }
        let prefix: String = name.split('-').take(2).collect::<Vec<_>>().join("-");
        let similar: Vec<&str> =
            KNOWN_REGIONS.iter().map(|known| known.name).filter(|known| known.starts_with(&prefix)).collect();
        let hint = if similar.is_empty() { String::new() } else { format!(" (did you mean one of: {})", similar.join(", ")) };
        Err(format!("unknown region `{name}`{hint}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn known(&self) -> &'static KnownRegion {
        KNOWN_REGIONS.iter().find(|known| known.name == self.0).expect("a RegionName is a known region")
    }

    /// The partition the region belongs to.
    pub fn partition(&self) -> &'static Partition {
        self.known().partition
    }

    /// An opt-in region: disabled in an account until the account enables it.
    pub fn is_opt_in(&self) -> bool {
        self.known().opt_in
    }

    /// The longest region name mamori knows: resource names that use `{region}` must fit with it.
    pub fn longest() -> &'static str {
        // The first of the longest, in table order (`max_by_key` would return the last).
        KNOWN_REGIONS.iter().rev().map(|known| known.name).max_by_key(|name| name.len()).unwrap_or("us-east-1")
    }
}

#[cfg(test)]
impl RegionName {
    /// Parses known region names (tests only: an unknown name panics).
    pub fn all(names: &[&str]) -> Vec<RegionName> {
        names.iter().map(|name| RegionName::parse(name).expect("a known region")).collect()
    }
}

impl std::fmt::Display for RegionName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RegionName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        RegionName::parse(&name).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for RegionName {
    fn schema_name() -> Cow<'static, str> {
        "RegionName".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = KNOWN_REGIONS.iter().map(|known| known.name).collect();
        json_schema!({ "type": "string", "enum": names, "description": "An AWS region name." })
    }
}

#[cfg(test)]
mod tests {
    use super::{RegionName, KNOWN_REGIONS};

    #[test]
    fn known_regions_parse_with_their_partition() {
        assert_eq!(RegionName::parse("eu-west-1").unwrap().partition().id, "aws");
        assert_eq!(RegionName::parse("cn-north-1").unwrap().partition().id, "aws-cn");
        assert_eq!(RegionName::parse("us-gov-west-1").unwrap().partition().id, "aws-us-gov");
    }

    #[test]
    fn regions_launched_after_march_2019_are_opt_in() {
        for default in ["us-east-1", "eu-north-1", "ap-northeast-3", "cn-north-1", "us-gov-east-1"] {
            assert!(!RegionName::parse(default).unwrap().is_opt_in(), "{default}");
        }
        for opt_in in ["ap-east-1", "me-south-1", "af-south-1", "eu-south-1", "il-central-1", "mx-central-1"] {
            assert!(RegionName::parse(opt_in).unwrap().is_opt_in(), "{opt_in}");
        }
    }

    #[test]
    fn the_longest_region_name_has_14_characters() {
        assert_eq!(RegionName::longest(), "ap-northeast-1");
        assert!(KNOWN_REGIONS.iter().all(|known| known.name.len() <= 14));
    }

    #[test]
    fn unknown_region_names_the_closest_known_ones() {
        let error = RegionName::parse("us-east-9").unwrap_err();
        assert!(error.contains("unknown region `us-east-9`"), "{error}");
        assert!(error.contains("us-east-1"), "{error}");
    }
}
