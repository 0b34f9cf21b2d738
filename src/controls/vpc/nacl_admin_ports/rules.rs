//! Network ACL entries as AWS evaluates them, for the administration ports: which ports an ACL lets
//! the internet reach, and the deny entries that would close them without touching anything else.
//!
//! A network ACL is evaluated per packet, lowest rule number first, and the first entry that matches
//! decides ("Network ACL rules", Amazon VPC User Guide). For traffic from the internet on port 22 or
//! 3389 the entries that decide are those whose source is the whole address space of the packet's
//! family (`0.0.0.0/0` or `::/0`): a narrower entry neither opens nor closes the port to the internet
//! as a whole. So, per family, transport (TCP, UDP) and port, the first world-sourced entry that covers
//! it says whether the internet gets in; CIS v5 5.2 asks that it never be an `allow`. An IPv4 entry
//! never matches an IPv6 packet, nor the other way round.
//!
//! Closing an open port means adding a `deny` entry with a rule number below the `allow` that opens it
//! and above every other `allow` of the same family before it, so the traffic those already let in (an
//! office's SSH) stays allowed. Denies may come in any order among themselves: two denies never decide
//! a packet differently, so a deny already there (one added by a run that was interrupted) leaves room.
//! When no such number is free, nothing can be added: the finding stays `manual`. Nothing here sends
//! a call.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The administration ports CIS names: SSH and RDP.
pub const ADMIN_PORTS: [i32; 2] = [22, 3389];

/// IP families; each has its own "whole internet" source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn world(self) -> &'static str {
        match self {
            Family::V4 => "0.0.0.0/0",
            Family::V6 => "::/0",
        }
    }
}

/// The transports that reach a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    /// The protocol number the EC2 API uses.
    pub fn number(self) -> &'static str {
        match self {
            Transport::Tcp => "6",
            Transport::Udp => "17",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

/// One inbound entry of an ACL, as `DescribeNetworkAcls` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub rule_number: i32,
    /// `-1` (all), or a protocol number (`6`, `17`); names (`tcp`) are accepted too.
    pub protocol: String,
    /// Port range; absent for protocols without ports, or for all traffic.
    pub ports: Option<(i32, i32)>,
    pub family: Family,
    /// The source CIDR block.
    pub source: String,
    pub allow: bool,
}

impl Entry {
    fn covers(&self, transport: Transport, port: i32) -> bool {
        match self.protocol.as_str() {
            "-1" | "all" => true,
            protocol if protocol == transport.number() || protocol.eq_ignore_ascii_case(transport.name()) => {
                self.ports.is_none_or(|(from, to)| (from..=to).contains(&port))
            }
            _ => false,
        }
    }

    fn from_world(&self) -> bool {
        self.source == self.family.world()
    }
}

/// The internet reaching one administration port, and the entry that lets it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpenPort {
    pub family: Family,
    pub transport: Transport,
    pub port: i32,
    /// The rule number of the `allow` entry that decides it.
    pub allowed_by: i32,
}

impl Serialize for OpenPort {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl std::fmt::Display for OpenPort {
    /// `tcp 22 from 0.0.0.0/0 (rule 100)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} from {} (rule {})", self.transport.name(), self.port, self.family.world(), self.allowed_by)
    }
}

/// The administration ports `entries` (inbound, any order) let the internet reach.
pub fn open_ports(entries: &[Entry]) -> BTreeSet<OpenPort> {
    let mut ordered: Vec<&Entry> = entries.iter().collect();
    ordered.sort_by_key(|e| e.rule_number);
    let mut open = BTreeSet::new();
    for family in [Family::V4, Family::V6] {
        for transport in [Transport::Tcp, Transport::Udp] {
            for port in ADMIN_PORTS {
                let deciding = ordered.iter().find(|e| e.family == family && e.from_world() && e.covers(transport, port));
                if let Some(entry) = deciding.filter(|e| e.allow) {
                    open.insert(OpenPort { family, transport, port, allowed_by: entry.rule_number });
                }
            }
        }
    }
    open
}

/// A `deny` entry to add: `transport port` from the family's whole address space.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deny {
    pub rule_number: i32,
    pub family: Family,
    pub transport: Transport,
    pub port: i32,
}

/// The deny entries that close every port of `open`, each numbered just below the `allow` that opens
/// it and above the family's other `allow` entries before it; or why there is no room for them.
pub fn closing_denies(entries: &[Entry], open: &BTreeSet<OpenPort>) -> Result<Vec<Deny>, String> {
    let mut used: BTreeSet<i32> = entries.iter().map(|e| e.rule_number).collect();
    let mut denies = Vec::new();
    for path in open {
        let floor =
            entries.iter().filter(|e| e.family == path.family && e.allow && e.rule_number < path.allowed_by).map(|e| e.rule_number).max().unwrap_or(0);
        let free = (floor + 1..path.allowed_by).rev().find(|n| !used.contains(n)).ok_or_else(|| {
            format!(
                "no free rule number between {floor} and {} to deny {} {} from {} ahead of rule {}",
                path.allowed_by,
                path.transport.name(),
                path.port,
                path.family.world(),
                path.allowed_by
            )
        })?;
        used.insert(free);
        denies.push(Deny { rule_number: free, family: path.family, transport: path.transport, port: path.port });
    }
    Ok(denies)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(rule_number: i32, protocol: &str, ports: Option<(i32, i32)>, source: &str, allow: bool) -> Entry {
        let family = if source.contains(':') { Family::V6 } else { Family::V4 };
        Entry { rule_number, protocol: protocol.into(), ports, family, source: source.into(), allow }
    }

    fn texts(open: &BTreeSet<OpenPort>) -> Vec<String> {
        open.iter().map(ToString::to_string).collect()
    }

    /// AWS's default network ACL: everything allowed in (rule 100), and for a dual-stack VPC the same
    /// for IPv6 (rule 101); the `*` rule is never reported.
    fn default_acl() -> Vec<Entry> {
        vec![entry(100, "-1", None, "0.0.0.0/0", true), entry(101, "-1", None, "::/0", true)]
    }

    #[test]
    fn the_default_acl_lets_the_internet_in_on_every_admin_port() {
        let open = open_ports(&default_acl());
        assert_eq!(open.len(), 8, "2 families x 2 transports x 2 ports: {:?}", texts(&open));
        assert!(texts(&open).contains(&"tcp 22 from 0.0.0.0/0 (rule 100)".to_string()));
        assert!(texts(&open).contains(&"udp 3389 from ::/0 (rule 101)".to_string()));
    }

    #[test]
    fn the_first_world_entry_decides_and_narrower_entries_do_not() {
        let entries = vec![
            entry(50, "6", Some((22, 22)), "10.0.0.0/8", true),
            entry(60, "6", Some((22, 22)), "203.0.113.0/24", false),
            entry(70, "6", Some((3389, 3389)), "0.0.0.0/0", false),
            entry(80, "-1", None, "0.0.0.0/0", false),
            entry(100, "-1", None, "0.0.0.0/0", true),
        ];
        assert!(open_ports(&entries).is_empty(), "rule 70 and 80 deny the world before rule 100 allows it");
        let entries = vec![entry(70, "6", Some((3389, 3389)), "0.0.0.0/0", false), entry(100, "6", Some((0, 65535)), "0.0.0.0/0", true)];
        assert_eq!(texts(&open_ports(&entries)), ["tcp 22 from 0.0.0.0/0 (rule 100)"], "a range that includes 22; 3389 denied first; udp not allowed");
        let entries = vec![entry(100, "17", Some((3000, 4000)), "0.0.0.0/0", true), entry(110, "6", Some((443, 443)), "0.0.0.0/0", true)];
        assert_eq!(texts(&open_ports(&entries)), ["udp 3389 from 0.0.0.0/0 (rule 100)"]);
        let entries = vec![entry(100, "1", None, "0.0.0.0/0", true), entry(110, "6", Some((22, 22)), "10.0.0.0/16", true)];
        assert!(open_ports(&entries).is_empty(), "ICMP and a private range open nothing to the internet");
    }

    #[test]
    fn an_ipv4_deny_does_not_close_ipv6() {
        let entries = vec![entry(10, "-1", None, "0.0.0.0/0", false), entry(100, "6", Some((22, 22)), "::/0", true)];
        assert_eq!(texts(&open_ports(&entries)), ["tcp 22 from ::/0 (rule 100)"]);
    }

    #[test]
    fn denies_go_just_below_the_allow_and_after_the_entries_before_it() {
        let mut entries = default_acl();
        entries.push(entry(90, "6", Some((22, 22)), "10.0.0.0/8", true));
        let open = open_ports(&entries);
        let denies = closing_denies(&entries, &open).unwrap();
        let v4: Vec<(i32, &str, i32)> =
            denies.iter().filter(|d| d.family == Family::V4).map(|d| (d.rule_number, d.transport.name(), d.port)).collect();
        assert_eq!(v4, [(99, "tcp", 22), (98, "tcp", 3389), (97, "udp", 22), (96, "udp", 3389)], "above rule 90, which keeps letting 10/8 in");
        let v6: Vec<i32> = denies.iter().filter(|d| d.family == Family::V6).map(|d| d.rule_number).collect();
        assert_eq!(v6, [95, 94, 93, 92], "numbers are shared by both families; IPv4 entries do not bound IPv6 ones");
        let closed: Vec<Entry> = entries
            .iter()
            .cloned()
            .chain(denies.iter().map(|d| Entry {
                rule_number: d.rule_number,
                protocol: d.transport.number().into(),
                ports: Some((d.port, d.port)),
                family: d.family,
                source: d.family.world().into(),
                allow: false,
            }))
            .collect();
        assert!(open_ports(&closed).is_empty(), "the denies close every admin port");
    }

    #[test]
    fn denies_a_run_added_before_it_was_interrupted_leave_room_for_the_rest() {
        let mut entries = vec![entry(100, "-1", None, "0.0.0.0/0", true)];
        entries.push(entry(99, "6", Some((22, 22)), "0.0.0.0/0", false));
        entries.push(entry(98, "6", Some((3389, 3389)), "0.0.0.0/0", false));
        let open = open_ports(&entries);
        assert_eq!(texts(&open), ["udp 22 from 0.0.0.0/0 (rule 100)", "udp 3389 from 0.0.0.0/0 (rule 100)"]);
        let numbers: Vec<i32> = closing_denies(&entries, &open).unwrap().iter().map(|d| d.rule_number).collect();
        assert_eq!(numbers, [97, 96], "below the denies already there, which decide other packets only");
    }

    #[test]
    fn no_room_below_the_allow_is_said_not_forced() {
        let entries = vec![entry(1, "-1", None, "0.0.0.0/0", true)];
        let error = closing_denies(&entries, &open_ports(&entries)).unwrap_err();
        assert!(error.contains("no free rule number between 0 and 1"), "{error}");
        let entries = vec![entry(99, "6", Some((80, 80)), "0.0.0.0/0", true), entry(100, "-1", None, "0.0.0.0/0", true)];
        assert!(closing_denies(&entries, &open_ports(&entries)).unwrap_err().contains("between 99 and 100"), "rule 99 must keep deciding port 80");
    }
}
