//! The `exceptions:` section: accepted risks, each with a reason, an owner and an expiry.
//!
//! An exception names a control (its id, or a group such as `iam`) and, optionally, glob patterns of
//! the accounts, regions and resources it covers (`*` and `?`, through the one wildcard matcher of
//! [`crate::policy::wildcard`]; an account-wide finding's region is `global`). It is checked at load
//! time like every other key: an unknown control or group, a missing reason, owner or expiry, a date
//! that is not a day of the calendar, or an expiry more than one year after the load date is refused
//! with `file:line:col` and the key path. An exception stops applying the day after its expiry date.
//! This module only describes and matches exceptions; what they do to findings and to `apply` is the
//! engine's ([`crate::engine::exceptions`]). It never calls AWS.

use schemars::JsonSchema;
use serde::Deserialize;

use super::date::Date;
use super::values::NonEmpty;
use crate::policy::wildcard::Wildcard;

/// A control id or a control group, as `--only` takes them; checked against the catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlRef(pub String);

impl ControlRef {
    pub fn parse(text: &str) -> Result<ControlRef, String> {
        let catalogue = crate::controls::catalogue();
        if catalogue.iter().any(|c| c.meta().id == text || c.meta().group() == text) {
            return Ok(ControlRef(text.to_string()));
        }
        let mut groups: Vec<&str> = catalogue.iter().map(|c| c.meta().group()).collect();
        groups.dedup();
        Err(format!("unknown control or group `{text}` (groups: {}; `mamori controls` lists the ids)", groups.join(", ")))
    }
}

super::values::string_value!(ControlRef, ControlRef::parse, { "type": "string", "description": "A control id (`iam.password-policy`) or a group (`iam`)." });

/// A `YYYY-MM-DD` date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateValue(pub Date);

impl DateValue {
    fn parse(text: &str) -> Result<DateValue, String> {
        Date::parse(text).map(DateValue)
    }
}

super::values::string_value!(DateValue, DateValue::parse, { "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "description": "A date, YYYY-MM-DD." });

/// One accepted risk, as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawException {
    /// The control id (`iam.password-policy`) or group (`iam`) it accepts drift of.
    pub control: ControlRef,
    /// Account id patterns it covers; absent = every account.
    #[serde(default)]
    pub accounts: Vec<NonEmpty>,
    /// Region patterns it covers (`global` for account-wide findings); absent = every region.
    #[serde(default)]
    pub regions: Vec<NonEmpty>,
    /// Resource patterns it covers, as findings name resources (`instance/i-0abc*`); absent = all.
    #[serde(default)]
    pub resources: Vec<NonEmpty>,
    /// Why the risk is accepted.
    pub reason: NonEmpty,
    /// Who answers for it (a person or a team).
    pub owner: NonEmpty,
    /// The last day it applies, YYYY-MM-DD, at most one year ahead.
    pub expires: DateValue,
    /// The ticket or decision record that tracks it.
    #[serde(default)]
    pub ticket: Option<NonEmpty>,
}

/// One validated exception.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exception {
    /// Its position in the `exceptions:` list (0-based), which reports use to name it.
    pub index: usize,
    pub control: String,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    pub resources: Vec<String>,
    pub reason: String,
    pub owner: String,
    pub expires: Date,
    pub ticket: Option<String>,
}

impl Exception {
    pub fn from_raw(index: usize, raw: RawException) -> Exception {
        let strings = |values: Vec<NonEmpty>| values.into_iter().map(|v| v.0).collect();
        Exception {
            index,
            control: raw.control.0,
            accounts: strings(raw.accounts),
            regions: strings(raw.regions),
            resources: strings(raw.resources),
            reason: raw.reason.0,
            owner: raw.owner.0,
            expires: raw.expires.0,
            ticket: raw.ticket.map(|t| t.0),
        }
    }

    /// Whether it covers the finding of `control` on `resource` in `region` of `account`, active or
    /// not.
    pub fn covers(&self, control: &str, account: &str, region: &str, resource: &str) -> bool {
        let any = |patterns: &[String], text: &str| patterns.is_empty() || patterns.iter().any(|p| Wildcard::IAM_VALUE.matches(p, text));
        self.names(control)
            && any(&self.accounts, account)
            && any(&self.regions, region)
            && any(&self.resources, resource)
    }

    /// Whether it names `control`: its id, or its group (the part of the id before the dot).
    pub fn names(&self, control: &str) -> bool {
        self.control == control || control.split('.').next() == Some(self.control.as_str())
    }

    /// Whether it still applies on `today`: through its expiry date, not after.
    pub fn is_active(&self, today: Date) -> bool {
        today <= self.expires
    }
}

/// The section, with the date a run judges expiry by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exceptions {
    pub entries: Vec<Exception>,
    /// The day the baseline was loaded (the run's "today").
    pub today: Date,
}

impl Exceptions {
    /// The exception that decides the finding of `control` on `resource`: the first active one that
    /// covers it, else the first expired one (whose expiry the finding then reports).
    pub fn deciding(&self, control: &str, account: &str, region: &str, resource: &str) -> Option<&Exception> {
        let mut covering = self.entries.iter().filter(|e| e.covers(control, account, region, resource));
        let first = covering.clone().next();
        covering.find(|e| e.is_active(self.today)).or(first)
    }

    /// The first exception whose expiry is more than a year after `today`, as `(index, message)`.
    pub fn too_far_ahead(&self) -> Option<(usize, String)> {
        let limit = self.today.one_year_later();
        self.entries.iter().find(|e| e.expires > limit).map(|e| {
            (e.index, format!("{} is more than one year ahead (the latest allowed today is {limit}): review accepted risks at least yearly", e.expires))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exception(control: &str, regions: &[&str], resources: &[&str], expires: &str) -> Exception {
        Exception {
            index: 0,
            control: control.into(),
            accounts: vec!["1111*".into()],
            regions: regions.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            reason: "r".into(),
            owner: "o".into(),
            expires: Date::parse(expires).unwrap(),
            ticket: None,
        }
    }

    #[test]
    fn an_exception_covers_its_control_or_group_and_matching_globs() {
        let by_group = exception("ec2", &[], &["instance/i-0a*"], "2027-01-01");
        assert!(by_group.covers("ec2.imdsv2", "111122223333", "eu-west-1", "instance/i-0abc"));
        assert!(!by_group.covers("ec2.imdsv2", "111122223333", "eu-west-1", "instance/i-0bcd"), "resource glob");
        assert!(!by_group.covers("ec2.imdsv2", "444455556666", "eu-west-1", "instance/i-0abc"), "account glob");
        assert!(!by_group.covers("ebs.default-encryption", "111122223333", "eu-west-1", "instance/i-0abc"), "other group");
        let by_id = exception("iam.password-policy", &["global"], &[], "2027-01-01");
        assert!(by_id.covers("iam.password-policy", "111122223333", "global", "account-password-policy"));
        assert!(!by_id.covers("iam.console-mfa", "111122223333", "global", "user/alice"), "another id of the group");
        assert!(!by_id.covers("iam.password-policy", "111122223333", "eu-west-1", "account-password-policy"), "region glob");
        assert!(!exception("iam.password", &[], &[], "2027-01-01").covers("iam.password-policy", "111122223333", "global", "x"), "no prefix match");
    }

    #[test]
    fn an_exception_applies_through_its_expiry_day_and_an_active_one_decides_first() {
        let today = Date::parse("2027-01-01").unwrap();
        let expired = Exception { index: 0, ..exception("ebs", &[], &[], "2026-12-31") };
        let active = Exception { index: 1, ..exception("ebs", &[], &[], "2027-01-01") };
        assert!(!expired.is_active(today) && active.is_active(today));
        let both = Exceptions { entries: vec![expired.clone(), active], today };
        assert_eq!(both.deciding("ebs.default-encryption", "111122223333", "eu-west-1", "x").map(|e| e.index), Some(1));
        let only_expired = Exceptions { entries: vec![expired], today };
        assert_eq!(only_expired.deciding("ebs.default-encryption", "111122223333", "eu-west-1", "x").map(|e| e.index), Some(0));
        assert!(only_expired.deciding("iam.password-policy", "111122223333", "global", "x").is_none());
    }

    #[test]
    fn unknown_controls_are_refused_and_groups_accepted() {
        assert!(ControlRef::parse("iam").is_ok() && ControlRef::parse("logs.trail").is_ok());
        let error = ControlRef::parse("iam.pasword-policy").unwrap_err();
        assert!(error.contains("unknown control or group `iam.pasword-policy`"), "{error}");
        assert!(ControlRef::parse("logs.").is_err() && ControlRef::parse("").is_err());
    }
}
