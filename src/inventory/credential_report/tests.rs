//! The report parser and rules on CSV fixtures (`tests/fixtures/credential-report/`). Every fixture
//! is read "now" = 2026-06-01T00:00:00Z.

use super::*;

const AGED: &str = include_str!("../../../tests/fixtures/credential-report/aged.csv");
const ROOT_VIRTUAL_MFA: &str = include_str!("../../../tests/fixtures/credential-report/root-virtual-mfa.csv");
const ROOT_NO_MFA: &str = include_str!("../../../tests/fixtures/credential-report/root-no-mfa.csv");
const QUOTED_FIELDS: &str = include_str!("../../../tests/fixtures/credential-report/quoted-fields.csv");
const CRLF: &str = include_str!("../../../tests/fixtures/credential-report/crlf.csv");
const OFFSETS: &str = include_str!("../../../tests/fixtures/credential-report/offsets.csv");
const NO_DATES: &str = include_str!("../../../tests/fixtures/credential-report/no-dates.csv");

fn now() -> Epoch {
    parse_date("2026-06-01T00:00:00Z").unwrap().unwrap()
}

fn row<'a>(report: &'a CredentialReport, user: &str) -> &'a CredentialRow {
    report.users.iter().find(|r| r.user == user).unwrap_or_else(|| panic!("no row for {user}"))
}

#[test]
fn dates_parse_with_offsets_and_words() {
    assert_eq!(parse_date("1970-01-02T00:00:00+00:00").unwrap(), Some(86_400));
    assert_eq!(parse_date("1970-01-01T01:00:00+01:00").unwrap(), Some(0));
    assert_eq!(parse_date("2026-06-01T00:00:00Z").unwrap(), Some(1_780_272_000));
    for word in ["N/A", "no_information", "not_supported"] {
        assert_eq!(parse_date(word).unwrap(), None);
    }
    assert!(parse_date("yesterday").is_err());
    assert_eq!(format_date(now()), "2026-06-01");
    assert_eq!(format_date(parse_date("2024-02-29T23:59:59Z").unwrap().unwrap()), "2024-02-29");
}

#[test]
fn dates_that_are_not_on_the_calendar_are_rejected() {
    for impossible in ["2026-02-29T00:00:00Z", "2024-04-31T00:00:00+00:00", "2026-06-01T24:00:00Z"] {
        assert!(parse_date(impossible).is_err(), "{impossible}");
    }
    assert!(parse_date("2026-06-01T00:00:00").is_err(), "RFC 3339 needs the offset, which AWS always writes");
    assert_eq!(parse_date("2024-02-29T00:00:00Z").unwrap(), Some(1_709_164_800), "a leap day");
}

#[test]
fn quoted_fields_keep_their_commas_and_quotes() {
    let report = parse(QUOTED_FIELDS).unwrap();
    let users: Vec<&str> = report.users.iter().map(|r| r.user.as_str()).collect();
    assert_eq!(users, ["ops,admin", "quoted-path", "unquoted-last"], "the blank line is no row; the last row has no line end");
    assert!(report.root.as_ref().is_some_and(|root| root.mfa_active), "a quoted root row");
    let comma = row(&report, "ops,admin");
    assert_eq!(comma.arn, "arn:aws:iam::111122223333:user/ops,admin");
    assert!(unused_password(comma, now(), 45) && console_without_mfa(comma));
    assert_eq!(row(&report, "quoted-path").arn, r#"arn:aws:iam::111122223333:user/team "blue"/quoted-path"#);
    assert_eq!(unused_keys(row(&report, "quoted-path"), now(), 45), Vec::<usize>::new(), "used yesterday");
    assert_eq!(keys_older_than(row(&report, "unquoted-last"), now(), 90), [0]);
}

#[test]
fn crlf_line_ends_read_as_lf_ones() {
    let report = parse(CRLF).unwrap();
    assert_eq!(report, parse(&CRLF.replace("\r\n", "\n")).unwrap());
    assert_eq!(report.root.as_ref().map(|root| root.arn.as_str()), Some("arn:aws:iam::000000000000:root"));
    let console = row(&report, "crlf-console");
    assert!(unused_password(console, now(), 45), "set 151 days ago, never used");
    let key = row(&report, "crlf-key");
    assert_eq!(keys_older_than(key, now(), 105), [0], "created 105.5 days ago");
    assert_eq!(keys_older_than(key, now(), 106), Vec::<usize>::new());
}

#[test]
fn offsets_are_applied_before_days_are_counted() {
    let report = parse(OFFSETS).unwrap();
    let east = row(&report, "east-of-utc");
    assert_eq!(east.created, parse_date("2025-01-01T00:00:00Z").unwrap(), "09:00 at +09:00 is midnight UTC");
    assert!(unused_password(east, now(), 45), "08:59:59 at +09:00 is 45 days and a second before now");
    assert!(!unused_password(east, now(), 46));
    assert_eq!(unused_keys(east, now(), 45), [0], "fractional seconds are dropped, not misread");
    let west = row(&report, "west-of-utc");
    assert_eq!(west.created, east.created, "18:30 at -05:30 is midnight UTC too");
    let last_used = west.keys[0].last_used.expect("a date");
    assert_eq!(format_date(last_used), "2026-06-01", "18:30 on 2026-05-31 at -05:30 is 2026-06-01 in UTC");
    assert_eq!(unused_keys(west, now(), 0), Vec::<usize>::new());
}

#[test]
fn report_words_mean_no_date_and_booleans_ignore_case() {
    let report = parse(NO_DATES).unwrap();
    let root = report.root.as_ref().expect("root row");
    assert!(root.mfa_active, "TRUE, as the IAM User Guide spells it");
    assert_eq!((root.password_last_used, root.keys[0].last_rotated), (None, None), "no_information, N/A");
    let user = row(&report, "never-signed-in");
    assert!(user.password_enabled && console_without_mfa(user));
    assert_eq!((user.password_last_used, user.password_last_changed), (None, None));
    assert!(!unused_password(user, now(), 31), "never used: counted from the user's creation, 31 days ago");
    assert!(unused_password(user, now(), 30));
    assert_eq!(active_keys(user), [0]);
    assert_eq!((unused_keys(user, now(), 0), keys_older_than(user, now(), 0)), (vec![], vec![]), "an active key without dates is never aged");
    let short = row(&report, "no-columns-left");
    assert!(!short.password_enabled && short.keys.iter().all(|k| *k == KeySlot::default()), "a short row reads its missing fields as N/A");
}

#[test]
fn the_root_row_is_kept_apart_from_the_users() {
    let report = parse(AGED).unwrap();
    assert_eq!(report.users.len(), 5);
    let root = report.root.as_ref().expect("root row");
    assert_eq!(root.arn, "arn:aws:iam::111122223333:root");
    assert!(!root.password_enabled, "not_supported is no password");
    assert!(report.users.iter().all(|r| r.user != ROOT_USER));
}

#[test]
fn a_password_unused_for_46_days_is_unused_past_45_days_but_not_past_46() {
    let report = parse(AGED).unwrap();
    assert!(unused_password(row(&report, "idle-console"), now(), 45));
    assert!(!unused_password(row(&report, "idle-console"), now(), 46));
    assert!(!unused_password(row(&report, "recent-console"), now(), 45), "used 44 days ago");
}

#[test]
fn a_key_unused_for_46_days_is_unused_and_a_key_used_yesterday_is_not() {
    let report = parse(AGED).unwrap();
    assert_eq!(unused_keys(row(&report, "idle-key"), now(), 45), [0]);
    assert_eq!(unused_keys(row(&report, "old-key"), now(), 45), Vec::<usize>::new());
}

#[test]
fn never_used_credentials_count_from_when_they_were_set() {
    let report = parse(AGED).unwrap();
    let user = row(&report, "never-used-key");
    assert!(unused_password(user, now(), 45), "set 61 days ago, never used");
    assert!(!unused_password(user, now(), 61));
    assert_eq!(unused_keys(user, now(), 45), [0], "created 61 days ago, never used; slot 2 is inactive");
}

#[test]
fn a_key_rotated_91_days_ago_is_overdue_at_90_days() {
    let report = parse(AGED).unwrap();
    assert_eq!(keys_older_than(row(&report, "old-key"), now(), 90), [0], "slot 1: 91 days; slot 2: 89 days");
    assert_eq!(keys_older_than(row(&report, "old-key"), now(), 91), Vec::<usize>::new());
    assert_eq!(keys_older_than(row(&report, "never-used-key"), now(), 30), [0], "the inactive old key does not count");
}

#[test]
fn console_users_without_mfa_are_found() {
    let report = parse(AGED).unwrap();
    assert!(console_without_mfa(row(&report, "recent-console")));
    assert!(!console_without_mfa(row(&report, "idle-console")), "has MFA");
    assert!(!console_without_mfa(row(&report, "idle-key")), "no password");
}

#[test]
fn root_with_keys_and_a_recent_login() {
    let report = parse(AGED).unwrap();
    let root = report.root.unwrap();
    assert_eq!(active_keys(&root), [0]);
    let last = root_last_use_within(&root, now(), 30).expect("signed in on 2026-05-20, key used on 2026-05-30");
    assert_eq!((format_date(last.at).as_str(), last.what), ("2026-05-30", RootUseKind::AccessKey), "the later use");
    let mut without_key_use = root.clone();
    without_key_use.keys[0].last_used = None;
    let last = root_last_use_within(&without_key_use, now(), 30).expect("signed in on 2026-05-20");
    assert_eq!((format_date(last.at).as_str(), last.what), ("2026-05-20", RootUseKind::ConsoleSignIn));
    assert_eq!(root_last_use_within(&root, now(), 1), None, "last use two days ago");
}

#[test]
fn root_with_virtual_mfa_and_with_none() {
    use crate::inventory::root_user::RootMfa;
    let virtual_mfa = parse(ROOT_VIRTUAL_MFA).unwrap().root.unwrap();
    assert_eq!(RootMfa::classify(virtual_mfa.mfa_active, true), RootMfa::Virtual);
    assert_eq!(RootMfa::classify(virtual_mfa.mfa_active, false), RootMfa::Hardware, "MFA on and no virtual device: hardware");
    assert!(active_keys(&virtual_mfa).is_empty());
    assert_eq!(root_last_use_within(&virtual_mfa, now(), 30), None, "last login in 2025");

    let no_mfa = parse(ROOT_NO_MFA).unwrap().root.unwrap();
    assert_eq!(RootMfa::classify(no_mfa.mfa_active, false), RootMfa::None);
    assert_eq!(active_keys(&no_mfa), [1], "quoted CSV, slot 2 active");
    let last = root_last_use_within(&no_mfa, now(), 1).expect("never signed in, but its key was used an hour ago");
    assert_eq!((format_date(last.at).as_str(), last.what), ("2026-05-31", RootUseKind::AccessKey));
}

#[test]
fn a_report_without_its_columns_is_rejected() {
    assert!(parse("").is_err());
    assert!(parse("user,arn\nalice,arn:aws:iam::1:user/alice\n").unwrap_err().contains("password_enabled"));
    assert!(parse(&AGED.replace("2026-04-16T00:00:00+00:00", "April")).unwrap_err().contains("row"));
}
