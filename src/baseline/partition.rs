//! AWS partitions: the separate AWS worlds (commercial, China, GovCloud) a region belongs to.
//!
//! A partition decides three things mamori writes or checks. Credentials are valid in one partition
//! only, so every region of a run must be in the caller's partition (its ARN names it: `arn:aws-cn:…`).
//! ARNs name it (`{partition}` in templates). Service endpoints end in its DNS suffix, `amazonaws.com`
//! or, in China, `amazonaws.com.cn` ("AWS service endpoints",
//! <https://docs.aws.amazon.com/general/latest/gr/rande.html>; "Amazon Web Services China endpoints",
//! <https://docs.amazonaws.cn/en_us/aws/latest/userguide/endpoints-arns.html>), and so do the values
//! that are endpoint names: `kms:ViaService` holds the endpoint of the service that called KMS on the
//! principal's behalf, `ec2.cn-north-1.amazonaws.com.cn` in Beijing ("AWS KMS condition keys",
//! <https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service>),
//! and regional service principals such as `logs.cn-north-1.amazonaws.com.cn` (templates use
//! `{dns_suffix}`). Global service principals mostly keep `amazonaws.com` in every partition
//! (`cloudtrail.amazonaws.com`, `logging.s3.amazonaws.com`), so templates spell those out.
//!
//! Pure data and pure checks: nothing here calls AWS.

use super::region::RegionName;

/// One AWS partition.
#[derive(Debug, PartialEq, Eq)]
pub struct Partition {
    /// As ARNs spell it: `aws`, `aws-cn`, `aws-us-gov`.
    pub id: &'static str,
    /// What people call it.
    pub name: &'static str,
    /// The domain its service endpoints end in.
    pub dns_suffix: &'static str,
}

/// The commercial partition.
pub const AWS: Partition = Partition { id: "aws", name: "AWS", dns_suffix: "amazonaws.com" };
/// The China regions (Beijing, Ningxia), operated separately, with their own accounts.
pub const AWS_CN: Partition = Partition { id: "aws-cn", name: "AWS China", dns_suffix: "amazonaws.com.cn" };
/// AWS GovCloud (US), with its own accounts.
pub const AWS_US_GOV: Partition = Partition { id: "aws-us-gov", name: "AWS GovCloud (US)", dns_suffix: "amazonaws.com" };

/// Every partition this mamori knows.
pub const PARTITIONS: &[&Partition] = &[&AWS, &AWS_CN, &AWS_US_GOV];

impl Partition {
    /// The partition of an ARN's second field (`aws-cn`), if known.
    pub fn by_id(id: &str) -> Option<&'static Partition> {
        PARTITIONS.iter().copied().find(|partition| partition.id == id)
    }

    /// The longest partition id: bucket names that use `{partition}` must fit with it.
    pub fn longest_id() -> &'static str {
        PARTITIONS.iter().map(|partition| partition.id).max_by_key(|id| id.len()).unwrap_or(AWS.id)
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (`{}`)", self.name, self.id)
    }
}

/// Checks that every region of a run is in the partition of the first (the home region), because one
/// run has one set of credentials. Returns that partition, or the index of the first region outside
/// it and why.
pub fn single_partition(regions: &[RegionName]) -> Result<&'static Partition, (usize, String)> {
    let Some(home) = regions.first() else { return Ok(&AWS) };
    let partition = home.partition();
    match regions.iter().position(|region| region.partition() != partition) {
        None => Ok(partition),
        Some(i) => Err((i, mixed_partitions(&regions[i], home))),
    }
}

/// Why `region` cannot be in a run whose home region is `home`.
pub fn mixed_partitions(region: &RegionName, home: &RegionName) -> String {
    format!(
        "region `{region}` is in the {} partition, but the home region `{home}` is in {}: credentials are valid in one partition only, so use one baseline (and one run) per partition",
        region.partition(),
        home.partition()
    )
}

/// Checks the caller's partition (from `sts:GetCallerIdentity`'s ARN) against the partition of the
/// run's regions.
pub fn check_caller(caller_partition: &str, regions: &'static Partition) -> Result<(), String> {
    if caller_partition == regions.id {
        return Ok(());
    }
    let caller = Partition::by_id(caller_partition).map_or_else(|| format!("the partition `{caller_partition}`"), |p| format!("the {p} partition"));
    Err(format!(
        "the credentials belong to {caller}, but the baseline's regions are in the {regions} partition: a run covers the regions of its credentials' partition only"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_of_one_partition_pass_with_it() {
        assert_eq!(single_partition(&RegionName::all(&["us-east-1", "eu-west-1", "ap-east-1"])), Ok(&AWS));
        assert_eq!(single_partition(&RegionName::all(&["cn-north-1", "cn-northwest-1"])), Ok(&AWS_CN));
        assert_eq!(single_partition(&RegionName::all(&["us-gov-west-1", "us-gov-east-1"])), Ok(&AWS_US_GOV));
    }

    #[test]
    fn a_region_of_another_partition_is_named_with_both_partitions() {
        let (index, message) = single_partition(&RegionName::all(&["us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"])).unwrap_err();
        assert_eq!(index, 2, "the first region outside the home region's partition");
        assert!(message.contains("`cn-north-1` is in the AWS China (`aws-cn`) partition"), "{message}");
        assert!(message.contains("home region `us-east-1` is in AWS (`aws`)"), "{message}");
        let (index, _) = single_partition(&RegionName::all(&["us-gov-west-1", "us-east-1"])).unwrap_err();
        assert_eq!(index, 1);
    }

    #[test]
    fn the_caller_must_be_in_the_regions_partition() {
        assert_eq!(check_caller("aws-cn", &AWS_CN), Ok(()));
        let error = check_caller("aws-cn", &AWS).unwrap_err();
        assert!(error.starts_with("the credentials belong to the AWS China (`aws-cn`) partition, but the baseline's regions are in the AWS (`aws`) partition"), "{error}");
        assert!(check_caller("aws-iso", &AWS).unwrap_err().contains("the partition `aws-iso`"));
    }

    #[test]
    fn china_endpoints_end_in_amazonaws_com_cn() {
        assert_eq!(RegionName::parse("cn-northwest-1").unwrap().partition().dns_suffix, "amazonaws.com.cn");
        assert_eq!(RegionName::parse("us-gov-east-1").unwrap().partition().dns_suffix, "amazonaws.com");
        assert_eq!(Partition::longest_id(), "aws-us-gov");
        assert_eq!(Partition::by_id("aws-cn"), Some(&AWS_CN));
    }
}
