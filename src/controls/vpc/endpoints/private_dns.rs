//! Private DNS conflicts: a private hosted zone for a service's DNS name already associated with the
//! VPC, which makes AWS refuse an interface endpoint with private DNS.
//!
//! An interface endpoint with private DNS associates an AWS-managed private hosted zone for the
//! service's name (`ssm.us-east-1.amazonaws.com`) with the VPC (`PrivateDnsEnabled`, CreateVpcEndpoint
//! in the Amazon EC2 API Reference). A VPC cannot be associated with two private hosted zones of the
//! same name (`ConflictingDomainExists`, Amazon Route 53 API Reference), so when someone else's zone
//! of that name is associated with the VPC — the centralised-endpoints design, where a hub account's
//! zone points the name at the hub's endpoints — EC2 answers `InvalidParameter` ("private-dns-enabled
//! cannot be set because there is already a conflicting DNS domain"). mamori looks first:
//! `route53:ListHostedZonesByVPC` lists the zones associated with a VPC whoever owns them, and a zone
//! an account owns whose name is a service's private DNS name is a conflict. Zones an AWS service owns
//! (`OwningService`, such as an endpoint's own) are not. The read is made only for a VPC where some
//! service still lacks an endpoint with private DNS, so a converged VPC costs nothing here.

use std::collections::BTreeMap;

use aws_sdk_route53::types::VpcRegion;
use serde::{Deserialize, Serialize};

use crate::aws::{AwsError, NameCall};
use crate::engine::Context;

use super::Service;

/// A private hosted zone associated with a VPC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssociatedZone {
    pub id: String,
    pub name: String,
    /// The account that owns it; `None` when an AWS service does.
    pub owning_account: Option<String>,
}

/// The zone that already answers for a service's private DNS name in a VPC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub hosted_zone: String,
    pub name: String,
    pub owner: String,
}

/// Every private hosted zone associated with `vpc_id` of `region`, all pages.
pub async fn associated_zones(ctx: &Context<'_>, vpc_id: &str, region: &str) -> Result<Vec<AssociatedZone>, AwsError> {
    let client = ctx.aws.route53();
    let mut zones = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_hosted_zones_by_vpc()
            .vpc_id(vpc_id)
            .vpc_region(VpcRegion::from(region))
            .set_next_token(token)
            .send()
            .await
            .named("route53:ListHostedZonesByVPC")?;
        zones.extend(page.hosted_zone_summaries().iter().map(|summary| AssociatedZone {
            id: summary.hosted_zone_id().trim_start_matches("/hostedzone/").to_string(),
            name: summary.name().to_string(),
            owning_account: summary.owner().and_then(|owner| owner.owning_account()).map(str::to_string),
        }));
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(zones),
        }
    }
}

/// A DNS name as zones and services spell it, compared: lower case, no trailing dot, no leading `*.`.
fn normalized(name: &str) -> String {
    name.trim_end_matches('.').trim_start_matches("*.").to_ascii_lowercase()
}

/// The services of `wanted` (short names) whose private DNS name an account-owned zone of `zones`
/// already holds. Pure.
pub fn conflicts<'a>(zones: &[AssociatedZone], services: &BTreeMap<String, Service>, wanted: impl IntoIterator<Item = &'a String>) -> BTreeMap<String, Conflict> {
    let mut found = BTreeMap::new();
    for short in wanted {
        let Some(dns_name) = services.get(short).and_then(|s| s.private_dns_name.as_deref()).map(normalized) else { continue };
        let zone = zones.iter().find(|z| z.owning_account.is_some() && normalized(&z.name) == dns_name);
        if let Some(zone) = zone {
            let owner = zone.owning_account.clone().unwrap_or_default();
            found.insert(short.clone(), Conflict { hosted_zone: zone.id.clone(), name: dns_name, owner });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn service(name: &str, dns: Option<&str>) -> Service {
        Service { name: name.into(), zones: BTreeSet::new(), private_dns_name: dns.map(str::to_string), policy_supported: true }
    }

    fn zone(id: &str, name: &str, account: Option<&str>) -> AssociatedZone {
        AssociatedZone { id: id.into(), name: name.into(), owning_account: account.map(str::to_string) }
    }

    #[test]
    fn an_account_owned_zone_named_like_a_service_is_a_conflict() {
        let services = BTreeMap::from([
            ("ssm".to_string(), service("com.amazonaws.us-east-1.ssm", Some("ssm.us-east-1.amazonaws.com"))),
            ("kms".to_string(), service("com.amazonaws.us-east-1.kms", Some("kms.us-east-1.amazonaws.com"))),
            ("logs".to_string(), service("com.amazonaws.us-east-1.logs", None)),
        ]);
        let zones = [
            zone("Z1", "SSM.us-east-1.amazonaws.com.", Some("111122223333")),
            zone("Z2", "kms.us-east-1.amazonaws.com.", None),
            zone("Z3", "us-east-1.amazonaws.com.", Some("111122223333")),
            zone("Z4", "logs.us-east-1.amazonaws.com.", Some("111122223333")),
        ];
        let wanted = ["ssm".to_string(), "kms".to_string(), "logs".to_string()];
        let found = conflicts(&zones, &services, &wanted);
        assert_eq!(found.keys().collect::<Vec<_>>(), ["ssm"], "a service-owned zone, a parent domain and a service without a private DNS name are no conflict");
        assert_eq!(found["ssm"], Conflict { hosted_zone: "Z1".into(), name: "ssm.us-east-1.amazonaws.com".into(), owner: "111122223333".into() });
        assert!(conflicts(&zones, &services, &["kms".to_string()]).is_empty());
    }
}
