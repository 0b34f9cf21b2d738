//! Which accounts a multi-account run covers: `--org`, `--ou`, `--account`, `--exclude-account` and
//! `--shard`, resolved against the organization before any account is entered.
//!
//! The organization is read once, by walking its tree from the root with the caller's credentials
//! (`organizations:ListRoots`, then `ListOrganizationalUnitsForParent` and `ListAccountsForParent` for
//! each parent, every page): that one walk gives every account with its name, state and the
//! organizational unit it sits in, and the OUs under each OU for `--ou`'s recursion. Its cost is one
//! call per root, plus two per organizational unit (more for pages of 20), whatever the number of
//! accounts selected. `--account` alone works without the organization: when the caller cannot read
//! it (a delegated tooling account, say), the ids are taken as given. The result is sorted by account
//! id, so a run, and its shards, are the same for the same organization.

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::{Aws, AwsError, NameCall};

/// The accounts a run was asked to cover; all empty = the caller's own account only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountSelection {
    /// `--org`: every account of the organization.
    pub organization: bool,
    /// `--ou`: every account under these organizational units, recursively.
    pub organizational_units: Vec<String>,
    /// `--account`.
    pub accounts: Vec<String>,
    /// `--exclude-account`.
    pub excluded: Vec<String>,
    /// `--shard K/N`.
    pub shard: Option<Shard>,
}

impl AccountSelection {
    /// True when the run covers only the caller's own account (no account option was given).
    pub fn is_caller_only(&self) -> bool {
        !self.organization && self.organizational_units.is_empty() && self.accounts.is_empty()
    }
}

/// `--shard K/N`: the accounts whose id is `K - 1` modulo `N`. An account always falls in the same
/// shard, whatever else is selected, so N copies of mamori with K = 1..N cover the selection once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Parses `K/N` with `1 <= K <= N`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let invalid = || format!("--shard {text}: expected K/N with 1 <= K <= N (this copy's number, then the number of copies)");
        let (index, count) = text.split_once('/').ok_or_else(invalid)?;
        let (index, count): (u64, u64) = (index.trim().parse().map_err(|_| invalid())?, count.trim().parse().map_err(|_| invalid())?);
        if index == 0 || count == 0 || index > count {
            return Err(invalid());
        }
        Ok(Shard { index, count })
    }

    pub fn contains(&self, account_id: &str) -> bool {
        account_id.parse::<u64>().is_ok_and(|id| id % self.count == self.index - 1)
    }
}

/// An account's state in the organization, as far as a run is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountState {
    Active,
    /// Suspended, closing or closed, or still being created: never entered (the state as AWS says it).
    NotActive(String),
}

/// One account the run covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgAccount {
    pub id: String,
    pub name: Option<String>,
    /// The organizational unit (or root) the account sits in; `None` when the organization could not
    /// be read.
    pub ou: Option<String>,
    pub state: AccountState,
}

/// Why a selection could not be resolved (exit 1, nothing entered).
#[derive(Debug, thiserror::Error)]
pub enum SelectionError {
    #[error("cannot read the organization to resolve the accounts (run from the management account, or a delegated administrator): {0}")]
    Organization(AwsError),
    #[error("--ou {0}: no organizational unit of that id in the organization")]
    UnknownOu(String),
    #[error("--account {0}: not an account of the organization")]
    UnknownAccount(String),
    #[error("the selection covers no account (check --exclude-account)")]
    Empty,
}

/// The organization as one walk of its tree reads it.
#[derive(Debug, Default)]
struct Tree {
    accounts: Vec<OrgAccount>,
    /// Every parent id (root or OU) above each account, nearest first.
    ancestors: BTreeMap<String, Vec<String>>,
    units: BTreeSet<String>,
}

/// The accounts `selection` names, sorted by id, before `--shard` and without exclusions.
pub async fn resolve(aws: &Aws, selection: &AccountSelection) -> Result<Vec<OrgAccount>, SelectionError> {
    let tree = match walk(aws).await {
        Ok(tree) => tree,
        Err(_) if !selection.organization && selection.organizational_units.is_empty() => {
            let accounts = selection.accounts.iter().map(|id| OrgAccount { id: id.clone(), name: None, ou: None, state: AccountState::Active });
            return finish(accounts.collect(), selection);
        }
        Err(e) => return Err(SelectionError::Organization(e)),
    };
    if let Some(unknown) = selection.organizational_units.iter().find(|ou| !tree.units.contains(*ou)) {
        return Err(SelectionError::UnknownOu(unknown.clone()));
    }
    if let Some(unknown) = selection.accounts.iter().find(|id| !tree.accounts.iter().any(|a| &a.id == *id)) {
        return Err(SelectionError::UnknownAccount(unknown.clone()));
    }
    let chosen = tree
        .accounts
        .iter()
        .filter(|account| {
            selection.organization
                || selection.accounts.contains(&account.id)
                || tree.ancestors[&account.id].iter().any(|parent| selection.organizational_units.contains(parent))
        })
        .cloned()
        .collect();
    finish(chosen, selection)
}

fn finish(mut accounts: Vec<OrgAccount>, selection: &AccountSelection) -> Result<Vec<OrgAccount>, SelectionError> {
    accounts.retain(|a| !selection.excluded.contains(&a.id));
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    accounts.dedup_by(|a, b| a.id == b.id);
    if accounts.is_empty() {
        return Err(SelectionError::Empty);
    }
    // A shard may hold no account (more copies than accounts, or ids that fall elsewhere): that copy of
    // an array job reports zero accounts and succeeds.
    accounts.retain(|a| selection.shard.is_none_or(|shard| shard.contains(&a.id)));
    Ok(accounts)
}

/// Reads the whole tree, root first, breadth first.
async fn walk(aws: &Aws) -> Result<Tree, AwsError> {
    let organizations = aws.organizations();
    let pages = organizations.list_roots().into_paginator().send().try_collect().await.named("organizations:ListRoots")?;
    let roots: Vec<_> = pages.iter().flat_map(|page| page.roots()).collect();
    let mut tree = Tree::default();
    let mut parents: Vec<(String, Vec<String>)> = roots.iter().filter_map(|r| r.id()).map(|id| (id.to_string(), vec![id.to_string()])).collect();
    while let Some((parent, path)) = parents.pop() {
        let (accounts, units) = futures::join!(
            organizations.list_accounts_for_parent().parent_id(&parent).into_paginator().send().try_collect(),
            organizations.list_organizational_units_for_parent().parent_id(&parent).into_paginator().send().try_collect(),
        );
        let accounts = accounts.named("organizations:ListAccountsForParent")?;
        let units = units.named("organizations:ListOrganizationalUnitsForParent")?;
        for account in accounts.iter().flat_map(|page| page.accounts()) {
            let Some(id) = account.id() else { continue };
            tree.ancestors.insert(id.to_string(), path.iter().rev().cloned().collect());
            tree.accounts.push(OrgAccount { id: id.to_string(), name: account.name().map(str::to_string), ou: Some(parent.clone()), state: state_of(account) });
        }
        for unit in units.iter().flat_map(|page| page.organizational_units()) {
            let Some(id) = unit.id() else { continue };
            tree.units.insert(id.to_string());
            let mut below = path.clone();
            below.push(id.to_string());
            parents.push((id.to_string(), below));
        }
    }
    Ok(tree)
}

/// `ACTIVE`, or why the account is not entered. Organizations reports `State` since 2025 and the older
/// `Status` before; either counts.
fn state_of(account: &aws_sdk_organizations::types::Account) -> AccountState {
    let state = account.state().map(|s| s.as_str().to_string()).or_else(|| account.status().map(|s| s.as_str().to_string()));
    match state.as_deref() {
        Some("ACTIVE") | None => AccountState::Active,
        Some(other) => AccountState::NotActive(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_accounts_by_id_and_reject_bad_input() {
        let shard = Shard::parse("2/3").unwrap();
        assert!(shard.contains("000000000004") && !shard.contains("000000000003") && !shard.contains("not-an-id"));
        let ids: Vec<String> = (100_000_000_000u64..100_000_000_030).map(|i| i.to_string()).collect();
        let covered: usize = (1..=3).map(|k| ids.iter().filter(|id| Shard { index: k, count: 3 }.contains(id)).count()).sum();
        assert_eq!(covered, ids.len(), "every account in exactly one shard");
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn exclusions_and_shards_apply_after_selection_and_ids_come_sorted() {
        let account = |id: &str| OrgAccount { id: id.into(), name: None, ou: None, state: AccountState::Active };
        let selection = AccountSelection { excluded: vec!["000000000002".into()], ..Default::default() };
        let out = finish(vec![account("000000000003"), account("000000000002"), account("000000000001"), account("000000000003")], &selection).unwrap();
        assert_eq!(out.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["000000000001", "000000000003"]);
        let all_out = AccountSelection { excluded: vec!["000000000001".into()], ..Default::default() };
        assert!(matches!(finish(vec![account("000000000001")], &all_out), Err(SelectionError::Empty)));
        let other_shard = AccountSelection { shard: Some(Shard::parse("2/2").unwrap()), ..Default::default() };
        assert!(finish(vec![account("000000000002")], &other_shard).unwrap().is_empty(), "an empty shard is no error");
    }
}
