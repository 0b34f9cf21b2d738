//! The AWS regions a baseline may name, and their partitions.
//!
//! A region outside this list is rejected when the baseline is loaded, so a typo (`us-east-9`) fails
//! before any call instead of producing an `error` finding per control. New regions are added here.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize};

/// Every public region, with its partition.
pub const KNOWN_REGIONS: &[(&str, &str)] = &[
    ("af-south-1", "aws"),
    ("ap-east-1", "aws"),
    ("ap-east-2", "aws"),
    ("ap-northeast-1", "aws"),
    ("ap-northeast-2", "aws"),
    ("ap-northeast-3", "aws"),
    ("ap-south-1", "aws"),
    ("ap-south-2", "aws"),
    ("ap-southeast-1", "aws"),
    ("ap-southeast-2", "aws"),
    ("ap-southeast-3", "aws"),
    ("ap-southeast-4", "aws"),
    ("ap-southeast-5", "aws"),
    ("ap-southeast-6", "aws"),
    ("ap-southeast-7", "aws"),
    ("ca-central-1", "aws"),
    ("ca-west-1", "aws"),
    ("eu-central-1", "aws"),
    ("eu-central-2", "aws"),
    ("eu-north-1", "aws"),
    ("eu-south-1", "aws"),
    ("eu-south-2", "aws"),
    ("eu-west-1", "aws"),
    ("eu-west-2", "aws"),
    ("eu-west-3", "aws"),
    ("il-central-1", "aws"),
    ("me-central-1", "aws"),
    ("me-south-1", "aws"),
    ("mx-central-1", "aws"),
    ("sa-east-1", "aws"),
    ("us-east-1", "aws"),
    ("us-east-2", "aws"),
    ("us-west-1", "aws"),
    ("us-west-2", "aws"),
    ("cn-north-1", "aws-cn"),
    ("cn-northwest-1", "aws-cn"),
    ("us-gov-east-1", "aws-us-gov"),
    ("us-gov-west-1", "aws-us-gov"),
];

/// A region name that is in [`KNOWN_REGIONS`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RegionName(String);

impl RegionName {
    /// Checks `name` against the known regions; the error lists the closest known names.
    pub fn parse(name: &str) -> Result<RegionName, String> {
        if KNOWN_REGIONS.iter().any(|(known, _)| *known == name) {
            return Ok(RegionName(name.to_string()));
        }
        let prefix: String = name.split('-').take(2).collect::<Vec<_>>().join("-");
        let similar: Vec<&str> =
            KNOWN_REGIONS.iter().map(|(known, _)| *known).filter(|known| known.starts_with(&prefix)).collect();
        let hint = if similar.is_empty() { String::new() } else { format!(" (did you mean one of: {})", similar.join(", ")) };
        Err(format!("unknown region `{name}`{hint}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `aws`, `aws-cn` or `aws-us-gov`.
    pub fn partition(&self) -> &'static str {
        KNOWN_REGIONS.iter().find(|(known, _)| *known == self.0).map(|(_, partition)| *partition).unwrap_or("aws")
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
        let names: Vec<&str> = KNOWN_REGIONS.iter().map(|(name, _)| *name).collect();
        json_schema!({ "type": "string", "enum": names, "description": "An AWS region name." })
    }
}

#[cfg(test)]
mod tests {
    use super::RegionName;

    #[test]
    fn known_regions_parse_with_their_partition() {
        assert_eq!(RegionName::parse("eu-west-1").unwrap().partition(), "aws");
        assert_eq!(RegionName::parse("cn-north-1").unwrap().partition(), "aws-cn");
    }

    #[test]
    fn unknown_region_names_the_closest_known_ones() {
        let error = RegionName::parse("us-east-9").unwrap_err();
        assert!(error.contains("unknown region `us-east-9`"), "{error}");
        assert!(error.contains("us-east-1"), "{error}");
    }
}
