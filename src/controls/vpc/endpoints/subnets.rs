//! Where the interface endpoints of one VPC go: one subnet per availability zone and service, chosen
//! among the subnets that can hold an endpoint network interface. Pure.
//!
//! An interface endpoint (IP address type IPv4, the default mamori creates) puts one network interface
//! with an IPv4 address in each of its subnets, so a subnet qualifies only when it has an IPv4 range
//! (an IPv6-only subnet has none) and a free IPv4 address ("Create an interface endpoint" and
//! "IP address types", AWS PrivateLink Guide; EC2 refuses the rest with
//! `InsufficientFreeAddressesInSubnet` or `InvalidParameter`). The addresses the plan itself uses are
//! counted as it goes: seven services in one small subnet need seven addresses.
//!
//! Per zone and service: a subnet the endpoint already uses is kept while it qualifies (it already
//! holds its address); otherwise, by the baseline's preference, a private subnet (no route to an
//! internet gateway) with a free address, a public one only when the preference allows it and no
//! private one has room, the one with the most free addresses (then the lowest id). A zone where no
//! subnet qualifies is reported with each subnet's reason, never silently skipped.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::baseline::SubnetPreference;

use super::Subnet;

/// One service's placement request.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub service: &'a str,
    /// The zones the service is offered in (`None` or empty: every zone).
    pub zones: Option<&'a BTreeSet<String>>,
    /// The subnets its existing endpoint uses.
    pub current: &'a BTreeSet<String>,
}

/// A zone where some service's endpoint can have no network interface.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UnusableZone {
    /// Why each subnet of the zone cannot hold one.
    pub subnets: BTreeMap<String, String>,
    /// The services left without a network interface there.
    pub services: BTreeSet<String>,
}

/// The chosen subnets of every requested service, and the zones where a service got none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub subnets: BTreeMap<String, BTreeSet<String>>,
    pub unusable_zones: BTreeMap<String, UnusableZone>,
}

/// What a subnet chosen for a new endpoint interface must be, as findings say it.
pub fn wanted(preference: SubnetPreference) -> &'static str {
    match preference {
        SubnetPreference::Any => "a subnet with a free IPv4 address",
        SubnetPreference::PreferPrivate | SubnetPreference::PrivateOnly => "a private subnet with a free IPv4 address",
    }
}

/// Places each request in order (earlier requests use addresses first).
pub fn plan(subnets: &[Subnet], requests: &[Request<'_>], preference: SubnetPreference) -> Plan {
    let mut claimed: BTreeMap<&str, i32> = BTreeMap::new();
    let mut plan = Plan::default();
    for request in requests {
        let mut by_zone: BTreeMap<&str, Vec<&Subnet>> = BTreeMap::new();
        for subnet in subnets.iter().filter(|s| request.zones.is_none_or(|z| z.is_empty() || z.contains(&s.zone))) {
            by_zone.entry(&subnet.zone).or_default().push(subnet);
        }
        let mut chosen = BTreeSet::new();
        for (zone, candidates) in by_zone {
            let pick = choose(&candidates, request.current, &claimed, preference);
            match pick {
                Some(subnet) => {
                    if !request.current.contains(&subnet.id) {
                        *claimed.entry(subnet.id.as_str()).or_default() += 1;
                    }
                    chosen.insert(subnet.id.clone());
                }
                None => {
                    let unusable = plan.unusable_zones.entry(zone.to_string()).or_default();
                    unusable.services.insert(request.service.to_string());
                    for subnet in candidates {
                        unusable.subnets.insert(subnet.id.clone(), why_not(subnet, room(subnet, &claimed), preference).to_string());
                    }
                }
            }
        }
        plan.subnets.insert(request.service.to_string(), chosen);
    }
    plan
}

/// The free addresses of `subnet` the plan has not used yet.
fn room(subnet: &Subnet, claimed: &BTreeMap<&str, i32>) -> i32 {
    subnet.free_ipv4 - claimed.get(subnet.id.as_str()).copied().unwrap_or(0)
}

/// The subnet of one zone's `candidates` for one service: the one its endpoint uses while it
/// qualifies, else the eligible subnet with the most room (then the lowest id).
fn choose<'s>(candidates: &[&'s Subnet], current: &BTreeSet<String>, claimed: &BTreeMap<&str, i32>, preference: SubnetPreference) -> Option<&'s Subnet> {
    let with_room: Vec<&Subnet> = candidates.iter().copied().filter(|s| s.ipv4 && room(s, claimed) > 0).collect();
    let private_with_room: Vec<&Subnet> = with_room.iter().copied().filter(|s| s.private).collect();
    let keeps = |s: &Subnet| {
        s.ipv4
            && match preference {
                SubnetPreference::PrivateOnly => s.private,
                SubnetPreference::PreferPrivate => s.private || private_with_room.is_empty(),
                SubnetPreference::Any => true,
            }
    };
    if let Some(kept) = candidates.iter().copied().filter(|s| current.contains(&s.id)).find(|s| keeps(s)) {
        return Some(kept);
    }
    let eligible = match preference {
        SubnetPreference::PrivateOnly => private_with_room,
        SubnetPreference::PreferPrivate if !private_with_room.is_empty() => private_with_room,
        _ => with_room,
    };
    eligible.into_iter().max_by(|a, b| room(a, claimed).cmp(&room(b, claimed)).then_with(|| b.id.cmp(&a.id)))
}

/// Why `subnet` cannot take a new endpoint interface.
fn why_not(subnet: &Subnet, room: i32, preference: SubnetPreference) -> &'static str {
    if !subnet.ipv4 {
        "IPv6-only: no IPv4 range for the endpoint's address"
    } else if preference == SubnetPreference::PrivateOnly && !subnet.private {
        "public (routes to an internet gateway), and the baseline asks for private-only"
    } else if room <= 0 {
        "no free IPv4 address"
    } else {
        "not eligible"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(id: &str, zone: &str, private: bool, free_ipv4: i32) -> Subnet {
        Subnet { id: id.into(), zone: zone.into(), private, ipv4: true, free_ipv4 }
    }

    fn ipv6_only(id: &str, zone: &str) -> Subnet {
        Subnet { id: id.into(), zone: zone.into(), private: true, ipv4: false, free_ipv4: 0 }
    }

    fn place(subnets: &[Subnet], services: &[&str], preference: SubnetPreference) -> Plan {
        let none = BTreeSet::new();
        let requests: Vec<Request> = services.iter().map(|s| Request { service: s, zones: None, current: &none }).collect();
        plan(subnets, &requests, preference)
    }

    fn ids(set: &BTreeSet<String>) -> Vec<&str> {
        set.iter().map(String::as_str).collect()
    }

    #[test]
    fn private_subnets_with_free_addresses_are_preferred_one_per_zone() {
        let subnets = [subnet("subnet-1", "az-a", false, 200), subnet("subnet-2", "az-a", true, 10), subnet("subnet-3", "az-b", false, 9), subnet("subnet-4", "az-b", true, 5)];
        let chosen = place(&subnets, &["ssm"], SubnetPreference::PreferPrivate);
        assert_eq!(ids(&chosen.subnets["ssm"]), ["subnet-2", "subnet-4"]);
        assert!(chosen.unusable_zones.is_empty());
        assert_eq!(ids(&place(&subnets, &["ssm"], SubnetPreference::Any).subnets["ssm"]), ["subnet-1", "subnet-3"], "any: the most free addresses");
    }

    #[test]
    fn a_full_or_ipv6_only_subnet_is_passed_over() {
        // The lowest id in each zone cannot hold an interface: subnet-1 is full, subnet-3 is IPv6-only.
        let subnets = [subnet("subnet-1", "az-a", true, 0), subnet("subnet-2", "az-a", true, 4), ipv6_only("subnet-3", "az-b"), subnet("subnet-4", "az-b", true, 4)];
        let chosen = place(&subnets, &["ssm"], SubnetPreference::PrivateOnly);
        assert_eq!(ids(&chosen.subnets["ssm"]), ["subnet-2", "subnet-4"]);
    }

    #[test]
    fn addresses_the_plan_uses_are_counted() {
        let subnets = [subnet("subnet-1", "az-a", true, 2), subnet("subnet-2", "az-a", false, 50)];
        let prefer = place(&subnets, &["ssm", "ssmmessages", "ec2messages"], SubnetPreference::PreferPrivate);
        assert_eq!(ids(&prefer.subnets["ssm"]), ["subnet-1"]);
        assert_eq!(ids(&prefer.subnets["ssmmessages"]), ["subnet-1"]);
        assert_eq!(ids(&prefer.subnets["ec2messages"]), ["subnet-2"], "the private subnet is full after two: the public one takes the third");
        let private = place(&subnets, &["ssm", "ssmmessages", "ec2messages"], SubnetPreference::PrivateOnly);
        assert!(private.subnets["ec2messages"].is_empty());
        let zone = &private.unusable_zones["az-a"];
        assert_eq!(zone.services, BTreeSet::from(["ec2messages".to_string()]));
        assert_eq!(zone.subnets["subnet-1"], "no free IPv4 address");
        assert!(zone.subnets["subnet-2"].starts_with("public"), "{zone:?}");
    }

    #[test]
    fn a_zone_without_a_usable_subnet_is_reported_with_each_reason() {
        let subnets = [ipv6_only("subnet-9", "az-c"), subnet("subnet-7", "az-c", true, 0), subnet("subnet-1", "az-a", true, 8)];
        let chosen = place(&subnets, &["kms"], SubnetPreference::PreferPrivate);
        assert_eq!(ids(&chosen.subnets["kms"]), ["subnet-1"]);
        let zone = &chosen.unusable_zones["az-c"];
        assert_eq!(zone.subnets["subnet-9"], "IPv6-only: no IPv4 range for the endpoint's address");
        assert_eq!(zone.subnets["subnet-7"], "no free IPv4 address");
        assert_eq!(zone.services, BTreeSet::from(["kms".to_string()]));
    }

    #[test]
    fn a_qualifying_subnet_in_use_is_kept_even_when_full() {
        let subnets = [subnet("subnet-1", "az-a", true, 0), subnet("subnet-2", "az-a", true, 30)];
        let current = BTreeSet::from(["subnet-1".to_string()]);
        let chosen = plan(&subnets, &[Request { service: "ssm", zones: None, current: &current }], SubnetPreference::PreferPrivate);
        assert_eq!(chosen.subnets["ssm"], current, "the interface already has its address there");
        let public = [subnet("subnet-1", "az-a", false, 10), subnet("subnet-2", "az-a", true, 30)];
        let moved = plan(&public, &[Request { service: "ssm", zones: None, current: &current }], SubnetPreference::PreferPrivate);
        assert_eq!(ids(&moved.subnets["ssm"]), ["subnet-2"], "a public subnet in use gives way once a private one has room");
    }

    #[test]
    fn only_zones_the_service_is_offered_in_count() {
        let subnets = [subnet("subnet-1", "az-a", true, 5), subnet("subnet-2", "az-b", true, 0)];
        let zones = BTreeSet::from(["az-a".to_string()]);
        let none = BTreeSet::new();
        let chosen = plan(&subnets, &[Request { service: "ssm", zones: Some(&zones), current: &none }], SubnetPreference::PreferPrivate);
        assert_eq!(ids(&chosen.subnets["ssm"]), ["subnet-1"]);
        assert!(chosen.unusable_zones.is_empty(), "az-b does not offer the service: nothing to report there");
    }
}
