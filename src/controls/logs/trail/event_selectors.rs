//! Which management events a trail's event selectors log, and the selectors that log all of them while
//! keeping every other selector.
//!
//! The rules, from the CloudTrail API reference
//! (<https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PutEventSelectors.html>,
//! <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_AdvancedFieldSelector.html>):
//! - a trail has basic event selectors (one to five) or advanced event selectors, never both, and
//!   `PutEventSelectors` replaces the whole set: writing one selector erases the data-event selectors
//!   that were there;
//! - an event is logged when it matches any selector;
//! - a basic selector logs management events unless `IncludeManagementEvents` is false, of its
//!   `ReadWriteType` (default `All`), except the sources in `ExcludeManagementEventSources`
//!   (`kms.amazonaws.com`, `rdsdata.amazonaws.com`);
//! - an advanced selector is for management events when its `eventCategory` equals `Management`; for
//!   trails it may filter on `readOnly` and exclude `eventSource` values.
//!
//! [`management_events`] evaluates a set exactly, per kind of event (read, write) and per source class
//! (KMS, RDS Data API, every other source): excluding `kms.amazonaws.com` blinds the CIS 4.7 alarm on
//! key deletion, so it is not "all management events". An advanced selector that filters on anything
//! else is not counted (mamori cannot tell which events it keeps). [`with_all_management_events`]
//! states the baseline's requirement in the form the trail already uses and keeps every other
//! selector. Pure: nothing here calls AWS.

use std::collections::BTreeSet;

use aws_sdk_cloudtrail::types::{AdvancedEventSelector, AdvancedFieldSelector, EventSelector, ReadWriteType};
use serde::Serialize;

/// The management event sources a trail may exclude.
pub const EXCLUDABLE_SOURCES: [&str; 2] = ["kms.amazonaws.com", "rdsdata.amazonaws.com"];
/// The class of every source but the excludable ones.
const OTHER_SOURCES: &str = "every other source";
const SOURCE_CLASSES: [&str; 3] = [EXCLUDABLE_SOURCES[0], EXCLUDABLE_SOURCES[1], OTHER_SOURCES];
/// A trail has at most five basic event selectors.
const MAX_BASIC_SELECTORS: usize = 5;
const MANAGEMENT: &str = "Management";

/// A trail's event selectors, in the one form it uses.
#[derive(Clone, Debug, PartialEq)]
pub enum Selectors {
    Basic(Vec<EventSelector>),
    Advanced(Vec<AdvancedEventSelector>),
}

impl Selectors {
    /// The selectors `GetEventSelectors` returned: advanced ones when there are any.
    pub fn from_response(basic: &[EventSelector], advanced: &[AdvancedEventSelector]) -> Selectors {
        match advanced.is_empty() {
            true => Selectors::Basic(basic.to_vec()),
            false => Selectors::Advanced(advanced.to_vec()),
        }
    }
}

/// What a trail logs of management events, per kind, as findings show it: `all`, `none`,
/// `all except kms.amazonaws.com`, `only kms.amazonaws.com`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ManagementEvents {
    pub read: String,
    pub write: String,
}

impl ManagementEvents {
    /// Every read and write management event: what the baseline requires.
    pub fn all() -> ManagementEvents {
        ManagementEvents { read: "all".into(), write: "all".into() }
    }

    pub fn is_all(&self) -> bool {
        *self == ManagementEvents::all()
    }
}

/// The source classes whose events of one kind are logged, and the filters that were not counted.
#[derive(Default)]
struct Logged {
    classes: BTreeSet<&'static str>,
    uncounted_filters: BTreeSet<String>,
}

impl Logged {
    fn describe(&self) -> String {
        let missing: Vec<&str> = SOURCE_CLASSES.iter().copied().filter(|c| !self.classes.contains(c)).collect();
        let logged: Vec<&str> = self.classes.iter().copied().collect();
        let text = match (missing.is_empty(), logged.is_empty(), self.classes.contains(OTHER_SOURCES)) {
            (true, _, _) => return "all".into(),
            (false, true, _) => "none".to_string(),
            (false, false, true) => format!("all except {}", missing.join(", ")),
            (false, false, false) => format!("only {}", logged.join(", ")),
        };
        match self.uncounted_filters.is_empty() {
            true => text,
            false => {
                let fields: Vec<&str> = self.uncounted_filters.iter().map(String::as_str).collect();
                format!("{text} (not counted: a selector filtered on {})", fields.join(", "))
            }
        }
    }
}

/// Which management events `selectors` log, read and write.
pub fn management_events(selectors: &Selectors) -> ManagementEvents {
    let (mut read, mut write) = (Logged::default(), Logged::default());
    match selectors {
        Selectors::Basic(basic) => {
            for selector in basic.iter().filter(|s| s.include_management_events() != Some(false)) {
                let (reads, writes) = match selector.read_write_type() {
                    None | Some(ReadWriteType::All) => (true, true),
                    Some(ReadWriteType::ReadOnly) => (true, false),
                    Some(ReadWriteType::WriteOnly) => (false, true),
                    Some(_) => (false, false),
                };
                let excluded = selector.exclude_management_event_sources();
                let classes = SOURCE_CLASSES.iter().copied().filter(|class| match *class {
                    OTHER_SOURCES => excluded.iter().all(|source| EXCLUDABLE_SOURCES.contains(&source.as_str())),
                    source => !excluded.iter().any(|e| e == source),
                });
                for class in classes {
                    if reads {
                        read.classes.insert(class);
                    }
                    if writes {
                        write.classes.insert(class);
                    }
                }
            }
        }
        Selectors::Advanced(advanced) => {
            for selector in advanced.iter().filter(|s| is_management(s)) {
                match advanced_coverage(selector) {
                    Ok((reads, writes, classes)) => {
                        if reads {
                            read.classes.extend(&classes);
                        }
                        if writes {
                            write.classes.extend(&classes);
                        }
                    }
                    Err(field) => {
                        read.uncounted_filters.insert(field.clone());
                        write.uncounted_filters.insert(field);
                    }
                }
            }
        }
    }
    ManagementEvents { read: read.describe(), write: write.describe() }
}

/// An advanced selector for management events: its `eventCategory` equals `Management`.
fn is_management(selector: &AdvancedEventSelector) -> bool {
    selector.field_selectors().iter().any(|f| f.field() == "eventCategory" && f.equals().iter().any(|v| v == MANAGEMENT))
}

/// What one management selector logs: (read events, write events, source classes), or the field it
/// filters on that mamori does not evaluate.
fn advanced_coverage(selector: &AdvancedEventSelector) -> Result<(bool, bool, BTreeSet<&'static str>), String> {
    let (mut reads, mut writes) = (true, true);
    let mut classes: BTreeSet<&'static str> = SOURCE_CLASSES.into_iter().collect();
    for field in selector.field_selectors() {
        match field.field() {
            "eventCategory" => {}
            "readOnly" => {
                reads &= admits(field, "true");
                writes &= admits(field, "false");
            }
            "eventSource" => {
                let every_other_source = field.equals().is_empty()
                    && field.starts_with().is_empty()
                    && field.ends_with().is_empty()
                    && field.not_starts_with().is_empty()
                    && field.not_ends_with().is_empty()
                    && field.not_equals().iter().all(|source| EXCLUDABLE_SOURCES.contains(&source.as_str()));
                classes.retain(|class| match *class {
                    OTHER_SOURCES => every_other_source,
                    source => admits(field, source),
                });
            }
            other => return Err(other.to_string()),
        }
    }
    Ok((reads, writes, classes))
}

/// Whether `value` passes every operator of a field selector (operators are ANDed, the values of one
/// operator ORed).
fn admits(field: &AdvancedFieldSelector, value: &str) -> bool {
    let any = |values: &[String], test: &dyn Fn(&str) -> bool| values.iter().any(|v| test(v));
    (field.equals().is_empty() || any(field.equals(), &|v| v == value))
        && (field.starts_with().is_empty() || any(field.starts_with(), &|v| value.starts_with(v)))
        && (field.ends_with().is_empty() || any(field.ends_with(), &|v| value.ends_with(v)))
        && !any(field.not_equals(), &|v| v == value)
        && !any(field.not_starts_with(), &|v| value.starts_with(v))
        && !any(field.not_ends_with(), &|v| value.ends_with(v))
}

/// `selectors` changed as little as possible to log every management event, in the same form, every
/// other selector kept:
/// - basic: the first selector of `ReadWriteType` `All` (one that already includes management events
///   first) includes management events and excludes no source; its data resources stay. Without such
///   a selector one is added, unless the trail already has five (an error: AWS allows no sixth);
/// - advanced: the management selectors are replaced by one that selects every management event (it
///   logs everything they logged), where the first of them stood; data and network activity selectors
///   stay as they are.
pub fn with_all_management_events(selectors: &Selectors) -> Result<Selectors, String> {
    match selectors {
        Selectors::Basic(basic) => {
            let all_kinds = |s: &EventSelector| matches!(s.read_write_type(), None | Some(ReadWriteType::All));
            let chosen = basic
                .iter()
                .position(|s| all_kinds(s) && s.include_management_events() != Some(false))
                .or_else(|| basic.iter().position(all_kinds));
            let mut updated = basic.clone();
            match chosen {
                Some(at) => {
                    updated[at] = EventSelector::builder()
                        .read_write_type(ReadWriteType::All)
                        .include_management_events(true)
                        .set_data_resources(Some(basic[at].data_resources().to_vec()))
                        .build();
                }
                None if basic.len() < MAX_BASIC_SELECTORS => {
                    updated.push(EventSelector::builder().read_write_type(ReadWriteType::All).include_management_events(true).build());
                }
                None => {
                    return Err(format!(
                        "the trail has {MAX_BASIC_SELECTORS} basic event selectors and none of them selects read and write events: \
                         AWS allows no sixth. Set one of them to ReadWriteType All, or convert the trail to advanced event selectors"
                    ))
                }
            }
            Ok(Selectors::Basic(updated))
        }
        Selectors::Advanced(advanced) => {
            let first = advanced.iter().position(is_management).unwrap_or(0);
            let name = advanced.iter().find(|s| is_management(s)).and_then(|s| s.name()).unwrap_or("Management events");
            let category = AdvancedFieldSelector::builder().field("eventCategory").equals(MANAGEMENT).build().expect("the field is set");
            let all = AdvancedEventSelector::builder().name(name).field_selectors(category).build().expect("a field selector is set");
            let mut updated: Vec<AdvancedEventSelector> = Vec::with_capacity(advanced.len() + 1);
            for (at, selector) in advanced.iter().enumerate() {
                if at == first {
                    updated.push(all.clone());
                }
                if !is_management(selector) {
                    updated.push(selector.clone());
                }
            }
            if advanced.is_empty() {
                updated.push(all);
            }
            Ok(Selectors::Advanced(updated))
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudtrail::types::DataResource;

    use super::*;

    fn basic(read_write: ReadWriteType, management: bool, excluded: &[&str]) -> EventSelector {
        EventSelector::builder()
            .read_write_type(read_write)
            .include_management_events(management)
            .set_exclude_management_event_sources(Some(excluded.iter().map(|s| s.to_string()).collect()))
            .build()
    }

    fn s3_data_events(read_write: ReadWriteType, management: bool) -> EventSelector {
        let objects = DataResource::builder().r#type("AWS::S3::Object").values("arn:aws:s3:::payroll/").build();
        EventSelector::builder().read_write_type(read_write).include_management_events(management).data_resources(objects).build()
    }

    fn field(name: &str, configure: impl FnOnce(aws_sdk_cloudtrail::types::builders::AdvancedFieldSelectorBuilder) -> aws_sdk_cloudtrail::types::builders::AdvancedFieldSelectorBuilder) -> AdvancedFieldSelector {
        configure(AdvancedFieldSelector::builder().field(name)).build().unwrap()
    }

    fn advanced(name: &str, fields: Vec<AdvancedFieldSelector>) -> AdvancedEventSelector {
        AdvancedEventSelector::builder().name(name).set_field_selectors(Some(fields)).build().unwrap()
    }

    fn management(extra: Vec<AdvancedFieldSelector>) -> AdvancedEventSelector {
        let mut fields = vec![field("eventCategory", |f| f.equals("Management"))];
        fields.extend(extra);
        advanced("management", fields)
    }

    fn data_events() -> AdvancedEventSelector {
        advanced(
            "payroll objects",
            vec![field("eventCategory", |f| f.equals("Data")), field("resources.type", |f| f.equals("AWS::S3::Object")), field("resources.ARN", |f| f.starts_with("arn:aws:s3:::payroll/"))],
        )
    }

    fn events(selectors: &Selectors) -> (String, String) {
        let events = management_events(selectors);
        (events.read, events.write)
    }

    fn pair(read: &str, write: &str) -> (String, String) {
        (read.to_string(), write.to_string())
    }

    #[test]
    fn the_default_selector_logs_every_management_event() {
        assert_eq!(events(&Selectors::Basic(vec![basic(ReadWriteType::All, true, &[])])), pair("all", "all"));
        let defaults = Selectors::Basic(vec![EventSelector::builder().build()]);
        assert!(management_events(&defaults).is_all(), "ReadWriteType and IncludeManagementEvents default to All and true");
    }

    #[test]
    fn selectors_without_management_events_log_none() {
        let data_only = Selectors::Basic(vec![s3_data_events(ReadWriteType::All, false), s3_data_events(ReadWriteType::WriteOnly, false)]);
        assert_eq!(events(&data_only), pair("none", "none"), "a trail of data selectors is blind to management events");
        assert_eq!(events(&Selectors::Basic(Vec::new())), pair("none", "none"));
    }

    #[test]
    fn read_and_write_selectors_add_up() {
        let split = Selectors::Basic(vec![basic(ReadWriteType::ReadOnly, true, &[]), basic(ReadWriteType::WriteOnly, true, &[])]);
        assert_eq!(events(&split), pair("all", "all"));
        assert_eq!(events(&Selectors::Basic(vec![basic(ReadWriteType::WriteOnly, true, &[])])), pair("none", "all"));
    }

    #[test]
    fn an_excluded_source_is_not_all_management_events() {
        let no_kms = Selectors::Basic(vec![basic(ReadWriteType::All, true, &["kms.amazonaws.com"])]);
        assert_eq!(events(&no_kms), pair("all except kms.amazonaws.com", "all except kms.amazonaws.com"));
        assert!(!management_events(&no_kms).is_all(), "CIS 4.7 never sees a key deletion");
        let covered = Selectors::Basic(vec![basic(ReadWriteType::All, true, &["kms.amazonaws.com"]), basic(ReadWriteType::WriteOnly, true, &[])]);
        assert_eq!(events(&covered), pair("all except kms.amazonaws.com", "all"), "another selector brings the KMS writes back");
    }

    #[test]
    fn advanced_management_selectors_are_evaluated_field_by_field() {
        assert_eq!(events(&Selectors::Advanced(vec![management(vec![])])), pair("all", "all"));
        let writes = management(vec![field("readOnly", |f| f.equals("false"))]);
        assert_eq!(events(&Selectors::Advanced(vec![writes])), pair("none", "all"));
        let no_kms = management(vec![field("eventSource", |f| f.not_equals("kms.amazonaws.com"))]);
        assert_eq!(events(&Selectors::Advanced(vec![no_kms, data_events()])), pair("all except kms.amazonaws.com", "all except kms.amazonaws.com"));
        let only_kms = management(vec![field("eventSource", |f| f.equals("kms.amazonaws.com"))]);
        assert_eq!(events(&Selectors::Advanced(vec![only_kms])), pair("only kms.amazonaws.com", "only kms.amazonaws.com"));
    }

    #[test]
    fn data_selectors_and_unknown_filters_are_not_management_events() {
        assert_eq!(events(&Selectors::Advanced(vec![data_events()])), pair("none", "none"));
        let by_name = management(vec![field("eventName", |f| f.equals("ConsoleLogin"))]);
        let (read, _) = events(&Selectors::Advanced(vec![by_name.clone()]));
        assert_eq!(read, "none (not counted: a selector filtered on eventName)");
        assert_eq!(events(&Selectors::Advanced(vec![by_name, management(vec![])])), pair("all", "all"), "a full selector covers it");
    }

    #[test]
    fn a_basic_fix_keeps_the_data_selectors() {
        let data = s3_data_events(ReadWriteType::All, false);
        let fixed = with_all_management_events(&Selectors::Basic(vec![data.clone()])).unwrap();
        let Selectors::Basic(fixed) = &fixed else { panic!("stays basic: {fixed:?}") };
        assert_eq!(fixed.len(), 1, "the All selector now includes management events too");
        assert_eq!(fixed[0].data_resources(), data.data_resources(), "its data resources stay");
        assert!(management_events(&Selectors::Basic(fixed.clone())).is_all());

        let write_data = s3_data_events(ReadWriteType::WriteOnly, true);
        let fixed = with_all_management_events(&Selectors::Basic(vec![write_data.clone()])).unwrap();
        let Selectors::Basic(fixed) = &fixed else { panic!("stays basic: {fixed:?}") };
        assert_eq!(fixed.len(), 2, "no selector reads and writes: one is added");
        assert_eq!(fixed[0], write_data, "the data selector is unchanged");
        assert!(fixed[1].data_resources().is_empty() && management_events(&Selectors::Basic(fixed.clone())).is_all());
    }

    #[test]
    fn a_basic_fix_clears_an_exclusion_in_place() {
        let no_kms = basic(ReadWriteType::All, true, &["kms.amazonaws.com"]);
        let data = s3_data_events(ReadWriteType::ReadOnly, false);
        let fixed = with_all_management_events(&Selectors::Basic(vec![data.clone(), no_kms])).unwrap();
        let Selectors::Basic(fixed) = fixed else { panic!("stays basic") };
        assert_eq!(fixed.len(), 2);
        assert_eq!(fixed[0], data);
        assert!(fixed[1].exclude_management_event_sources().is_empty());
        assert!(management_events(&Selectors::Basic(fixed)).is_all());
    }

    #[test]
    fn five_partial_basic_selectors_cannot_take_a_sixth() {
        let five = vec![s3_data_events(ReadWriteType::WriteOnly, false); 5];
        let error = with_all_management_events(&Selectors::Basic(five)).unwrap_err();
        assert!(error.contains("no sixth"), "{error}");
    }

    #[test]
    fn an_advanced_fix_replaces_the_management_selectors_and_keeps_the_rest() {
        let no_kms = management(vec![field("eventSource", |f| f.not_equals("kms.amazonaws.com"))]);
        let writes = management(vec![field("readOnly", |f| f.equals("false"))]);
        let fixed = with_all_management_events(&Selectors::Advanced(vec![data_events(), no_kms, writes])).unwrap();
        let Selectors::Advanced(fixed) = &fixed else { panic!("stays advanced: {fixed:?}") };
        assert_eq!(fixed.len(), 2);
        assert_eq!(fixed[0], data_events(), "the data-event selector is kept");
        assert_eq!(fixed[1].name(), Some("management"), "the first management selector's name is kept");
        assert!(management_events(&Selectors::Advanced(fixed.clone())).is_all());

        let fixed = with_all_management_events(&Selectors::Advanced(vec![data_events()])).unwrap();
        let Selectors::Advanced(fixed) = &fixed else { panic!("stays advanced") };
        assert_eq!((fixed.len(), &fixed[1]), (2, &data_events()), "a management selector is added in front");
    }
}
