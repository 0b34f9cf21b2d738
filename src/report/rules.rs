//! What the formats say about a control besides its findings: its title and group, from the catalogue.
//! Findings of checks that are not controls (entering an account, say) fall back to their id.

use crate::controls;

/// The control's title, or its id when it is not in the catalogue.
pub fn title(control: &str) -> String {
    controls::catalogue().iter().map(|c| c.meta()).find(|m| m.id == control).map_or_else(|| control.to_string(), |m| m.title.to_string())
}

/// The group: the part of the id before the dot (`ebs` of `ebs.default-encryption`).
pub fn group(control: &str) -> &str {
    control.split('.').next().unwrap_or(control)
}

/// The identity of a finding across runs: the same account, region, control and resource.
pub fn finding_key(finding: &super::Finding) -> String {
    format!("{}/{}/{}/{}", finding.account, finding.region, finding.control, finding.resource)
}

/// The region an AWS service receives a finding of `region` in: account-wide (`global`) findings go
/// to the run's home region, the first of `regions`.
pub fn aws_region<'a>(region: &'a str, regions: &'a [String]) -> &'a str {
    if region == "global" {
        regions.first().map_or("us-east-1", String::as_str)
    } else {
        region
    }
}
