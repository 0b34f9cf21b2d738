//! Which of a run's regions the account can use: opt-in regions it has not enabled are left out.
//!
//! AWS enables the regions launched before March 20, 2019 in every account; the later ones (opt-in
//! regions, [`RegionName::is_opt_in`]) only once the account enables them ("Enable or disable AWS
//! Regions in your account", <https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html>).
//! A call to a region that is not enabled fails with a generic authentication error (`AuthFailure`,
//! `UnrecognizedClientException`), indistinguishable from bad credentials, so the run asks first:
//! one `ec2:DescribeRegions` with `AllRegions` and the run's opt-in regions, in the home region, whose
//! `OptInStatus` is `opt-in-not-required`, `opted-in` or `not-opted-in`
//! (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRegions.html>). Every unit in
//! a region that is `not-opted-in` is reported `skipped` with the steps to enable it, and no call is
//! sent there. A run that covers only default regions (the shipped baselines) makes no call here.
//!
//! This module only reads; it never enables a region (that is the account owner's decision, and it
//! can take hours).

use crate::aws::{Aws, AwsError, NameCall};
use crate::baseline::RegionName;

/// What `DescribeRegions` says of a region that the account has not enabled.
const NOT_OPTED_IN: &str = "not-opted-in";

/// The opt-in regions of `regions` that the account has not enabled: one `ec2:DescribeRegions` sent
/// to `home`, or none when `regions` holds no opt-in region.
pub async fn not_enabled(aws: &Aws, home: &RegionName, regions: &[RegionName]) -> Result<Vec<RegionName>, AwsError> {
    const OP: &str = "ec2:DescribeRegions";
    let opt_in: Vec<String> = regions.iter().filter(|region| region.is_opt_in()).map(|region| region.to_string()).collect();
    if opt_in.is_empty() {
        return Ok(Vec::new());
    }
    let out = aws.ec2(home.as_str()).describe_regions().all_regions(true).set_region_names(Some(opt_in)).send().await.named(OP)?;
    let answer: Vec<(&str, &str)> = out.regions().iter().filter_map(|r| Some((r.region_name()?, r.opt_in_status()?))).collect();
    Ok(not_opted_in(regions, &answer))
}

/// The regions of the run an account has not enabled, with a warning (and every region tried) when
/// that cannot be read; `Err(home)` when the home region itself is one of them, since every
/// account-wide call goes there.
pub async fn not_enabled_outside_home(aws: &Aws, home: &RegionName, regions: &[RegionName]) -> Result<Vec<RegionName>, RegionName> {
    let not_enabled = not_enabled(aws, home, regions).await.unwrap_or_else(|error| {
        tracing::warn!(%error, "could not read which opt-in regions are enabled; every region of the baseline is tried");
        Vec::new()
    });
    if not_enabled.contains(home) {
        return Err(home.clone());
    }
    Ok(not_enabled)
}

/// The regions of `asked` that `answer` (region name, `OptInStatus`) says are `not-opted-in`. A region
/// the answer leaves out is taken as enabled: its calls will say otherwise. Pure.
pub fn not_opted_in(asked: &[RegionName], answer: &[(&str, &str)]) -> Vec<RegionName> {
    asked.iter().filter(|region| answer.iter().any(|(name, status)| *name == region.as_str() && *status == NOT_OPTED_IN)).cloned().collect()
}

/// The finding's message for a unit in a region the account has not enabled.
pub fn not_enabled_message(region: &RegionName) -> String {
    format!("{region} is an opt-in region that this account has not enabled: nothing was read or changed there")
}

/// How to enable `region`: what the skipped findings carry as their remediation.
pub fn enable_steps(region: &RegionName) -> String {
    format!(
        "Enable the region, then run mamori again: in the console, account menu > Account > AWS Regions > {region} > Enable; \
         or `aws account enable-region --region-name {region}` (permission account:EnableRegion; for a member account the \
         management account can add --account-id). Enabling can take minutes to hours: \
         `aws account get-region-opt-status --region-name {region}` says ENABLED when it is done."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regions_reported_not_opted_in_are_left_out() {
        let asked = RegionName::all(&["us-east-1", "ap-east-1", "me-south-1", "il-central-1"]);
        let answer = [("ap-east-1", "not-opted-in"), ("me-south-1", "opted-in"), ("us-east-1", "opt-in-not-required")];
        assert_eq!(not_opted_in(&asked, &answer), RegionName::all(&["ap-east-1"]), "il-central-1 is not in the answer: taken as enabled");
        assert_eq!(not_opted_in(&asked, &[]), Vec::<RegionName>::new());
    }

    #[test]
    fn the_steps_name_the_region_and_the_command() {
        let region = RegionName::parse("ap-east-1").unwrap();
        let steps = enable_steps(&region);
        assert!(steps.contains("aws account enable-region --region-name ap-east-1"), "{steps}");
        assert!(steps.contains("get-region-opt-status --region-name ap-east-1"), "{steps}");
        assert!(not_enabled_message(&region).starts_with("ap-east-1 is an opt-in region"));
    }
}
