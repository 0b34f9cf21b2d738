//! The README's permission lists, generated from the declarations: what `verify`/`plan` read, what
//! `apply` adds (opt-in fixes apart), and what a run over an organization reads from the management
//! account, per service, with the dependent actions AWS's Service Authorization Reference lists marked
//! as such. The README holds the text between two marker comments; the test fails when it differs,
//! and `MAMORI_WRITE_README=1 cargo test --lib least_privilege::readme_lists` rewrites it.
//!
//! Test-only: reads and writes `README.md`, never calls AWS.

use std::collections::{BTreeMap, BTreeSet};

use super::tests::reference;
use super::*;
use crate::controls::catalogue;

const BEGIN: &str = "<!-- permission lists: generated from the declarations by `MAMORI_WRITE_README=1 cargo test --lib least_privilege::readme_lists`; do not edit -->\n";
const END: &str = "<!-- permission lists: end -->\n";

/// Every action of `grants`, opt-in or not.
fn actions<'a>(grants: impl Iterator<Item = &'a Grant>) -> BTreeSet<&'static str> {
    grants.flat_map(|grant| grant.actions.iter().copied()).collect()
}

/// `- `kms`: `kms:DescribeKey`, ...` per service; an action that another of `all` lists as a dependent
/// action is marked with it.
fn by_service(listed: &BTreeSet<&str>, all: &BTreeSet<&str>) -> String {
    let reference = reference();
    let mut services: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for action in listed {
        let needing: Vec<&str> = all.iter().copied().filter(|other| reference.get(*other).is_some_and(|r| r.dependent_actions.iter().any(|d| d == action))).collect();
        let shown = if needing.is_empty() { format!("`{action}`") } else { format!("`{action}` (dependent action of `{}`)", needing.join("`, `")) };
        services.entry(action.split(':').next().unwrap_or(action)).or_default().push(shown);
    }
    services.iter().map(|(service, shown)| format!("- {service}: {}\n", shown.join(", "))).collect()
}

/// The generated section.
fn generated() -> String {
    let controls = catalogue();
    let access: Vec<&Access> = controls.iter().map(|control| control.meta().access).collect();
    let reads = actions(RUN.iter().chain(access.iter().flat_map(|a| a.observe.iter().chain(a.shared.iter().flat_map(|reads| reads.iter())))));
    let writes = access.iter().flat_map(|a| a.apply.iter());
    let always: BTreeSet<&str> = actions(writes.clone().filter(|grant| grant.when.is_none())).difference(&reads).copied().collect();
    let opt_in: BTreeSet<&str> = actions(writes.filter(|grant| grant.when.is_some())).difference(&reads).copied().filter(|action| !always.contains(action)).collect();
    let organization: BTreeSet<&str> = actions(ORGANIZATION.iter());
    let all: BTreeSet<&str> = reads.iter().chain(&always).chain(&opt_in).chain(&organization).copied().collect();
    format!(
        "{BEGIN}\
         `verify` and `plan` read only (every control; a baseline that disables a control, or names no\n\
         resource for a grant, prints less, and `ec2:DescribeRegions` only when it covers an opt-in region):\n\n{}\n\
         `apply` adds:\n\n{}\n\
         With the opt-in fixes the baseline turns on, `apply` also sends:\n\n{}\n\
         Over an organization (`--org`, `--ou`, `--account`), the management account's credentials also read:\n\n{}{END}",
        by_service(&reads, &all),
        by_service(&always, &all),
        by_service(&opt_in, &all),
        by_service(&organization, &all),
    )
}

#[test]
fn the_readme_permission_lists_are_the_declarations() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).expect("read README.md");
    let start = readme.find(BEGIN).expect("the README has the permission lists' begin marker");
    let end = readme[start..].find(END).map(|at| start + at + END.len()).expect("the README has the permission lists' end marker");
    let wanted = generated();
    if std::env::var_os("MAMORI_WRITE_README").is_some() {
        std::fs::write(&path, format!("{}{wanted}{}", &readme[..start], &readme[end..])).expect("write README.md");
        return;
    }
    assert!(
        readme[start..end] == wanted,
        "README.md's permission lists differ from the declarations; regenerate them with\n  MAMORI_WRITE_README=1 cargo test --lib least_privilege::readme_lists\n"
    );
}

#[test]
fn dependent_actions_are_marked_with_the_action_that_needs_them() {
    let text = generated();
    assert!(text.contains("`route53:AssociateVPCWithHostedZone` (dependent action of `ec2:CreateVpcEndpoint`)"), "{text}");
    assert!(text.starts_with(BEGIN) && text.ends_with(END));
}
