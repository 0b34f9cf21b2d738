//! One security group rule with one peer, as the VPC controls compare, show and write them.
//!
//! EC2 returns a group's rules as permissions that bundle several peers (CIDR blocks, groups, prefix
//! lists) under one protocol and port range, and revokes only what matches exactly. This module owns
//! the one-peer form both directions use (`vpc.endpoints` inbound, `vpc.restricted-egress` outbound):
//! splitting permissions into rules, building the permission that authorizes or revokes exactly one
//! rule, and the text findings show (`tcp 443 from 10.0.0.0/16`, `all traffic to 0.0.0.0/0`), which is
//! also how a rule serializes and deserializes (a manual step is written back from a finding's text).
//! Rules compare as sets; nothing here sends a call.

use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, PrefixListId, UserIdGroupPair};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Which way the traffic a rule allows flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    /// Ingress: the peer is the source.
    Inbound,
    /// Egress: the peer is the destination.
    Outbound,
}

/// The other end of a rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Peer {
    Ipv4(String),
    Ipv6(String),
    Group(String),
    PrefixList(String),
}

impl Peer {
    /// An IPv4 or IPv6 CIDR block.
    pub fn cidr(block: &str) -> Peer {
        if block.contains(':') {
            Peer::Ipv6(block.to_string())
        } else {
            Peer::Ipv4(block.to_string())
        }
    }

    fn id(&self) -> &str {
        match self {
            Peer::Ipv4(s) | Peer::Ipv6(s) | Peer::Group(s) | Peer::PrefixList(s) => s,
        }
    }
}

/// One rule, one peer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Rule {
    pub direction: Direction,
    /// `tcp`, `udp`, `icmp`, `-1` (all traffic), or a protocol number, as EC2 reports it.
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub peer: Peer,
}

impl Rule {
    /// TCP on one port.
    pub fn tcp(direction: Direction, port: i32, peer: Peer) -> Rule {
        Rule { direction, protocol: "tcp".into(), from_port: Some(port), to_port: Some(port), peer }
    }

    /// The permission that authorizes or revokes exactly this rule.
    pub fn permission(&self) -> IpPermission {
        let permission = IpPermission::builder().ip_protocol(&self.protocol).set_from_port(self.from_port).set_to_port(self.to_port);
        let permission = match &self.peer {
            Peer::Ipv4(cidr) => permission.ip_ranges(IpRange::builder().cidr_ip(cidr).build()),
            Peer::Ipv6(cidr) => permission.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).build()),
            Peer::Group(id) => permission.user_id_group_pairs(UserIdGroupPair::builder().group_id(id).build()),
            Peer::PrefixList(id) => permission.prefix_list_ids(PrefixListId::builder().prefix_list_id(id).build()),
        };
        permission.build()
    }

    /// The rules of one permission as EC2 returns it, one per peer.
    pub fn from_permission(direction: Direction, permission: &IpPermission) -> Vec<Rule> {
        let rule = |peer| Rule {
            direction,
            protocol: permission.ip_protocol().unwrap_or("-1").to_string(),
            from_port: permission.from_port(),
            to_port: permission.to_port(),
            peer,
        };
        let mut rules = Vec::new();
        rules.extend(permission.ip_ranges().iter().filter_map(|r| r.cidr_ip()).map(|c| rule(Peer::Ipv4(c.into()))));
        rules.extend(permission.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()).map(|c| rule(Peer::Ipv6(c.into()))));
        rules.extend(permission.user_id_group_pairs().iter().filter_map(|p| p.group_id()).map(|g| rule(Peer::Group(g.into()))));
        rules.extend(permission.prefix_list_ids().iter().filter_map(|p| p.prefix_list_id()).map(|p| rule(Peer::PrefixList(p.into()))));
        rules
    }

    /// The permission as the AWS CLI's `--ip-permissions` takes it (JSON), for manual steps.
    pub fn cli_permission(&self) -> Value {
        let mut permission = json!({"IpProtocol": self.protocol});
        if let Some(from) = self.from_port {
            permission["FromPort"] = json!(from);
        }
        if let Some(to) = self.to_port {
            permission["ToPort"] = json!(to);
        }
        let (key, entry) = match &self.peer {
            Peer::Ipv4(cidr) => ("IpRanges", json!({"CidrIp": cidr})),
            Peer::Ipv6(cidr) => ("Ipv6Ranges", json!({"CidrIpv6": cidr})),
            Peer::Group(id) => ("UserIdGroupPairs", json!({"GroupId": id})),
            Peer::PrefixList(id) => ("PrefixListIds", json!({"PrefixListId": id})),
        };
        permission[key] = json!([entry]);
        permission
    }

    /// `tcp 443`, `tcp 1024-65535`, `all traffic`, `icmp type 8`: what the rule lets through.
    fn traffic(&self) -> String {
        let bound = |port: Option<i32>| port.filter(|p| *p >= 0);
        let (from, to) = (bound(self.from_port), bound(self.to_port));
        match self.protocol.as_str() {
            "-1" => "all traffic".to_string(),
            icmp if is_icmp(icmp) => match (from, to) {
                (Some(kind), Some(code)) => format!("{icmp} type {kind} code {code}"),
                (Some(kind), None) => format!("{icmp} type {kind}"),
                _ => icmp.to_string(),
            },
            protocol => match (from, to) {
                (Some(from), Some(to)) if from == to => format!("{protocol} {from}"),
                (Some(from), Some(to)) => format!("{protocol} {from}-{to}"),
                _ => protocol.to_string(),
            },
        }
    }
}

fn is_icmp(protocol: &str) -> bool {
    matches!(protocol, "icmp" | "icmpv6" | "1" | "58")
}

impl From<Rule> for String {
    fn from(rule: Rule) -> String {
        let preposition = match rule.direction {
            Direction::Inbound => "from",
            Direction::Outbound => "to",
        };
        format!("{} {preposition} {}", rule.traffic(), rule.peer.id())
    }
}

impl std::str::FromStr for Rule {
    type Err = String;

    /// Reads the text [`String::from`] writes. A bound it leaves out comes back as EC2 reports it:
    /// none for all traffic, `-1` for ICMP.
    fn from_str(text: &str) -> Result<Rule, String> {
        let bad = || format!("`{text}` is not a security group rule (e.g. `tcp 443 to pl-63a5400a`)");
        let (traffic, direction, peer) = match (text.rsplit_once(" to "), text.rsplit_once(" from ")) {
            (Some((traffic, peer)), _) => (traffic, Direction::Outbound, peer),
            (None, Some((traffic, peer))) => (traffic, Direction::Inbound, peer),
            (None, None) => return Err(bad()),
        };
        let peer = if peer.starts_with("pl-") {
            Peer::PrefixList(peer.into())
        } else if peer.starts_with("sg-") {
            Peer::Group(peer.into())
        } else {
            Peer::cidr(peer)
        };
        let port = |p: &str| p.parse::<i32>().map_err(|_| bad());
        let words: Vec<&str> = traffic.split(' ').collect();
        let (protocol, from_port, to_port) = match words.as_slice() {
            ["all", "traffic"] => ("-1", None, None),
            [icmp, "type", kind, "code", code] if is_icmp(icmp) => (*icmp, Some(port(kind)?), Some(port(code)?)),
            [icmp, "type", kind] if is_icmp(icmp) => (*icmp, Some(port(kind)?), Some(-1)),
            [icmp] if is_icmp(icmp) => (*icmp, Some(-1), Some(-1)),
            [protocol] => (*protocol, None, None),
            [protocol, ports] => {
                let (from, to) = ports.split_once('-').unwrap_or((ports, ports));
                (*protocol, Some(port(from)?), Some(port(to)?))
            }
            _ => return Err(bad()),
        };
        Ok(Rule { direction, protocol: protocol.to_string(), from_port, to_port, peer })
    }
}

impl TryFrom<String> for Rule {
    type Error = String;
    fn try_from(text: String) -> Result<Rule, String> {
        text.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(rule: Rule) -> String {
        String::from(rule)
    }

    #[test]
    fn rules_read_as_text_in_both_directions() {
        let rule = |direction, protocol: &str, from, to, peer| Rule { direction, protocol: protocol.into(), from_port: from, to_port: to, peer };
        assert_eq!(text(rule(Direction::Inbound, "-1", None, None, Peer::Group("sg-1".into()))), "all traffic from sg-1");
        assert_eq!(text(rule(Direction::Outbound, "-1", Some(-1), Some(-1), Peer::Ipv4("0.0.0.0/0".into()))), "all traffic to 0.0.0.0/0");
        assert_eq!(text(rule(Direction::Inbound, "tcp", Some(0), Some(65535), Peer::Ipv4("0.0.0.0/0".into()))), "tcp 0-65535 from 0.0.0.0/0");
        assert_eq!(text(Rule::tcp(Direction::Outbound, 443, Peer::PrefixList("pl-63a5400a".into()))), "tcp 443 to pl-63a5400a");
        assert_eq!(text(rule(Direction::Outbound, "icmp", Some(8), Some(-1), Peer::cidr("10.0.0.0/8"))), "icmp type 8 to 10.0.0.0/8");
        assert_eq!(text(rule(Direction::Outbound, "icmp", Some(-1), Some(-1), Peer::cidr("2001:db8::/56"))), "icmp to 2001:db8::/56");
        assert_eq!(serde_json::to_value(Rule::tcp(Direction::Outbound, 80, Peer::cidr("10.0.0.0/16"))).unwrap(), "tcp 80 to 10.0.0.0/16");
    }

    #[test]
    fn the_text_reads_back_into_the_same_rule() {
        let rules = [
            Rule::tcp(Direction::Outbound, 443, Peer::PrefixList("pl-63a5400a".into())),
            Rule::tcp(Direction::Inbound, 443, Peer::cidr("2001:db8::/56")),
            Rule { direction: Direction::Outbound, protocol: "-1".into(), from_port: None, to_port: None, peer: Peer::cidr("0.0.0.0/0") },
            Rule { direction: Direction::Outbound, protocol: "udp".into(), from_port: Some(1024), to_port: Some(65535), peer: Peer::Group("sg-9".into()) },
            Rule { direction: Direction::Outbound, protocol: "icmp".into(), from_port: Some(8), to_port: Some(0), peer: Peer::cidr("10.0.0.0/8") },
            Rule { direction: Direction::Outbound, protocol: "icmp".into(), from_port: Some(3), to_port: Some(-1), peer: Peer::cidr("10.0.0.0/8") },
            Rule { direction: Direction::Outbound, protocol: "icmpv6".into(), from_port: Some(-1), to_port: Some(-1), peer: Peer::cidr("::/0") },
            Rule { direction: Direction::Outbound, protocol: "50".into(), from_port: None, to_port: None, peer: Peer::cidr("10.0.0.0/8") },
        ];
        for rule in rules {
            assert_eq!(text(rule.clone()).parse::<Rule>(), Ok(rule.clone()));
            assert_eq!(serde_json::from_value::<Rule>(serde_json::to_value(&rule).unwrap()).unwrap(), rule);
        }
        assert!("tcp 443 towards pl-1".parse::<Rule>().is_err());
        assert!("tcp x-y to pl-1".parse::<Rule>().is_err());
    }

    #[test]
    fn the_cli_permission_names_exactly_the_rule() {
        let all = Rule { direction: Direction::Outbound, protocol: "-1".into(), from_port: None, to_port: None, peer: Peer::cidr("0.0.0.0/0") };
        assert_eq!(all.cli_permission(), json!({"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}));
        let https = Rule::tcp(Direction::Outbound, 443, Peer::PrefixList("pl-1".into()));
        assert_eq!(https.cli_permission(), json!({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": "pl-1"}]}));
    }

    #[test]
    fn a_permission_splits_into_one_rule_per_peer_and_back() {
        let permission = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/16").build())
            .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("2001:db8::/56").build())
            .prefix_list_ids(PrefixListId::builder().prefix_list_id("pl-1").build())
            .user_id_group_pairs(UserIdGroupPair::builder().group_id("sg-2").build())
            .build();
        let rules = Rule::from_permission(Direction::Outbound, &permission);
        let peers: Vec<&Peer> = rules.iter().map(|r| &r.peer).collect();
        assert_eq!(
            peers,
            [&Peer::Ipv4("10.0.0.0/16".into()), &Peer::Ipv6("2001:db8::/56".into()), &Peer::Group("sg-2".into()), &Peer::PrefixList("pl-1".into())]
        );
        let back = rules[2].permission();
        assert_eq!((back.ip_protocol(), back.from_port(), back.to_port()), (Some("tcp"), Some(443), Some(443)));
        assert_eq!(back.user_id_group_pairs().len(), 1);
        assert!(back.ip_ranges().is_empty() && back.ipv6_ranges().is_empty() && back.prefix_list_ids().is_empty(), "exactly one peer");
        assert_eq!(Rule::from_permission(Direction::Outbound, &back), [rules[2].clone()]);
    }
}
