//! The CloudTrail trail the alerts need. EventBridge receives KMS API calls ("AWS API Call via
//! CloudTrail") only while a trail logs the region's management events: without one, kmsctl's
//! alert rules exist and never fire. kmsctl does not manage trails (they serve the account, often
//! the whole organization); when `[alerts]` is declared it checks that one delivers KMS's write
//! events, and refuses the plan otherwise.
//!
//! A trail counts when it logs the region (its home region, or a multi-Region trail; an
//! organization trail from the management account likewise), is logging, and one of its event
//! selectors takes KMS's write management events: a basic selector including management events,
//! `All` or `WriteOnly`, without `kms.amazonaws.com` in `ExcludeManagementEventSources`; or an
//! advanced selector whose fields all admit such an event (`eventCategory` = `Management`,
//! `eventSource` not excluding `kms.amazonaws.com`, `readOnly` not `true`).
//!
//! AWS may deny the deployer these reads (an SCP denying CloudTrail reads, a member account that
//! may not read an organization trail's status). A denied read is not the end of the run: a trail
//! whose selectors could not be read, or whose status could not be read while its selectors
//! take KMS's write events, is unreadable, and the other trails are still judged. One exception:
//! an organization, multi-Region trail whose status alone could not be read counts when its
//! selectors take KMS's write events (it is the management account's to keep logging, which a
//! member account cannot read or change; a note says it was assumed). When no trail counts and
//! a denied read (DescribeTrails, or an unreadable trail) may hide one that does, the plan is
//! warned with `cloudtrail-unreadable` instead of refused with `cloudtrail-missing`; that error
//! stays for when what was read settles it.

use kmsctl_core::{Control, Finding, Location, Note, NoteLevel, Rule};

use super::MonitorDiff;
use crate::desired::DesiredMonitor;
use crate::observe::{
    ObservedMonitor, ObservedTrail, TrailAdvancedSelector, TrailEventSelector, TrailFieldSelector,
};

pub const CLOUDTRAIL_MISSING: Rule = Rule::error(
    "cloudtrail-missing",
    Some(Control::Monitoring),
    "alerts have a logging CloudTrail trail that logs KMS's write management events in the region",
);

pub const CLOUDTRAIL_UNREADABLE: Rule = Rule::warning(
    "cloudtrail-unreadable",
    Some(Control::Monitoring),
    "with alerts, AWS denied no CloudTrail read that might show a trail delivering KMS's write management events (a warning: the alerts may well fire)",
);

/// The actions the check calls, for the fix of a denied read.
const READS: &str =
    "cloudtrail:DescribeTrails, cloudtrail:GetTrailStatus and cloudtrail:GetEventSelectors";

/// KMS's event source, as CloudTrail and the alert patterns name it.
const KMS: &str = "kms.amazonaws.com";

/// What one trail does for the alerts of a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// It delivers KMS's write management events of the region.
    Delivers,
    /// It logs its home region only, which is another.
    OtherRegion,
    /// It is stopped.
    NotLogging,
    /// No selector takes management events.
    NoManagementEvents,
    /// Its management events exclude KMS's.
    ExcludesKms,
    /// It takes read-only management events only.
    ReadOnly,
    /// An advanced selector filters management events on a field kmsctl cannot judge.
    Filtered(String),
    /// AWS denied a read that would tell: its selectors, or its status while its selectors
    /// take KMS's write events.
    Unreadable,
}

/// Whether `trail` delivers KMS's write management events of `region`, and if not, why. Pure.
/// A denied read makes the trail [`Coverage::Unreadable`] only when what was read does not
/// settle it; an organization, multi-Region trail whose status alone is unknown is judged by its
/// selectors (see the module's documentation).
pub fn coverage(trail: &ObservedTrail, region: &str) -> Coverage {
    if !trail.logs_region(region) {
        return Coverage::OtherRegion;
    }
    if trail.status_denied.is_none() && !trail.logging {
        return Coverage::NotLogging;
    }
    if trail.selectors_denied.is_some() {
        return Coverage::Unreadable;
    }
    match selected(trail) {
        Coverage::Delivers if trail.status_denied.is_some() && !assumed_logging(trail) => {
            Coverage::Unreadable
        }
        selected => selected,
    }
}

/// An organization, multi-Region trail whose status could not be read is taken to be logging.
fn assumed_logging(trail: &ObservedTrail) -> bool {
    trail.status_denied.is_some() && trail.organization && trail.multi_region
}

/// What the trail's event selectors take of KMS's write management events.
fn selected(trail: &ObservedTrail) -> Coverage {
    let verdicts = trail
        .event_selectors
        .iter()
        .map(basic)
        .chain(trail.advanced_event_selectors.iter().map(advanced));
    // The event is logged if any selector takes it; otherwise the reason of the selector that
    // came nearest (management events, but not KMS's or not writes) says why.
    let mut nearest = Coverage::NoManagementEvents;
    for verdict in verdicts {
        if verdict == Coverage::Delivers {
            return verdict;
        }
        if rank(&verdict) > rank(&nearest) {
            nearest = verdict;
        }
    }
    nearest
}

fn rank(coverage: &Coverage) -> u8 {
    match coverage {
        Coverage::NoManagementEvents => 0,
        Coverage::Filtered(_) => 1,
        Coverage::ReadOnly => 2,
        Coverage::ExcludesKms => 3,
        _ => 4,
    }
}

fn basic(selector: &TrailEventSelector) -> Coverage {
    if !selector.include_management_events.unwrap_or(true) {
        return Coverage::NoManagementEvents;
    }
    if selector
        .exclude_management_event_sources
        .iter()
        .any(|source| source == KMS)
    {
        return Coverage::ExcludesKms;
    }
    match selector.read_write_type.as_deref() {
        Some("ReadOnly") => Coverage::ReadOnly,
        _ => Coverage::Delivers,
    }
}

/// An advanced selector logs an event that matches all its fields: here, a KMS write
/// management event (`eventCategory` Management, `eventSource` kms.amazonaws.com, `readOnly`
/// false).
fn advanced(selector: &TrailAdvancedSelector) -> Coverage {
    let field = |name: &'static str| {
        selector
            .field_selectors
            .iter()
            .filter(move |f| f.field == name)
    };
    let category: Vec<&TrailFieldSelector> = field("eventCategory").collect();
    if category.is_empty() || !category.iter().all(|f| admits(f, "Management")) {
        return Coverage::NoManagementEvents;
    }
    if !field("eventSource").all(|f| admits(f, KMS)) {
        return Coverage::ExcludesKms;
    }
    if !field("readOnly").all(|f| admits(f, "false")) {
        return Coverage::ReadOnly;
    }
    match selector.field_selectors.iter().find(|f| {
        !matches!(
            f.field.as_str(),
            "eventCategory" | "eventSource" | "readOnly"
        )
    }) {
        Some(other) => Coverage::Filtered(other.field.clone()),
        None => Coverage::Delivers,
    }
}

/// Whether a field selector lets an event whose field is `value` through: every inclusive
/// operator given matches it, and no exclusive one does.
fn admits(selector: &TrailFieldSelector, value: &str) -> bool {
    let includes = |values: &[String], test: &dyn Fn(&str) -> bool| {
        values.is_empty() || values.iter().any(|v| test(v))
    };
    let excludes = |values: &[String], test: &dyn Fn(&str) -> bool| values.iter().any(|v| test(v));
    includes(&selector.equals, &|v| value == v)
        && includes(&selector.starts_with, &|v| value.starts_with(v))
        && includes(&selector.ends_with, &|v| value.ends_with(v))
        && !excludes(&selector.not_equals, &|v| value == v)
        && !excludes(&selector.not_starts_with, &|v| value.starts_with(v))
        && !excludes(&selector.not_ends_with, &|v| value.ends_with(v))
}

/// What was found of one trail that does not deliver, for the message.
fn found(trail: &ObservedTrail, coverage: &Coverage) -> String {
    let mut what = format!("trail {:?}", trail.name);
    if trail.organization {
        what.push_str(" (organization trail)");
    }
    let why = match coverage {
        Coverage::Delivers => "delivers them".to_owned(),
        Coverage::OtherRegion => format!("logs only its home region {}", trail.home_region),
        Coverage::NotLogging => "is not logging".to_owned(),
        Coverage::NoManagementEvents => "logs no management events".to_owned(),
        Coverage::ExcludesKms => format!("excludes KMS events ({KMS})"),
        Coverage::ReadOnly => "logs only read-only management events".to_owned(),
        Coverage::Filtered(field) => {
            format!("filters its management events on {field}")
        }
        Coverage::Unreadable => format!("could not be read ({})", denials(trail)),
    };
    format!("{what} {why}")
}

/// The reads of `trail` AWS denied, with its words.
fn denials(trail: &ObservedTrail) -> String {
    [
        ("cloudtrail:GetTrailStatus", &trail.status_denied),
        ("cloudtrail:GetEventSelectors", &trail.selectors_denied),
    ]
    .into_iter()
    .filter_map(|(operation, why)| {
        why.as_ref()
            .map(|why| format!("{operation} was denied: {why}"))
    })
    .collect::<Vec<_>>()
    .join("; ")
}

/// How to make one trail deliver, if it can be.
fn repair(trail: &ObservedTrail, coverage: &Coverage) -> Option<String> {
    let home = &trail.home_region;
    let fix = match coverage {
        Coverage::Delivers | Coverage::OtherRegion | Coverage::Unreadable => return None,
        Coverage::NotLogging => format!(
            "start trail {:?}: aws cloudtrail start-logging --name {} --region {home}",
            trail.name, trail.arn
        ),
        _ => format!(
            "log KMS's management events on trail {:?}: aws cloudtrail put-event-selectors --trail-name {} --region {home} --event-selectors '[{{\"ReadWriteType\":\"All\",\"IncludeManagementEvents\":true}}]' (this replaces its selectors: keep its data event selectors in the list; with advanced selectors, one with eventCategory = Management and no eventSource NotEquals {KMS} or readOnly = true)",
            trail.name, trail.name
        ),
    };
    Some(if trail.organization {
        format!("{fix}, from the organization's management account")
    } else {
        fix
    })
}

pub(super) fn diff(desired: &DesiredMonitor, observed: &ObservedMonitor, out: &mut MonitorDiff) {
    let (Some(alerts), Some(trails)) = (&desired.alerts, &observed.trails) else {
        return;
    };
    let region = &desired.region;
    let judged: Vec<(&ObservedTrail, Coverage)> =
        trails.iter().map(|t| (t, coverage(t, region))).collect();
    let delivering: Vec<&ObservedTrail> = judged
        .iter()
        .filter(|(_, c)| *c == Coverage::Delivers)
        .map(|(t, _)| *t)
        .collect();
    if !delivering.is_empty() {
        if delivering.iter().all(|t| assumed_logging(t)) {
            out.notes.push(assumed(&delivering, region));
        }
        return;
    }
    let mut unreadable: Vec<String> = observed
        .trails_denied
        .iter()
        .map(|why| {
            format!(
                "cloudtrail:DescribeTrails was denied ({why}), so which trails exist is unknown"
            )
        })
        .collect();
    unreadable.extend(
        judged
            .iter()
            .filter(|(_, c)| *c == Coverage::Unreadable)
            .map(|(t, c)| found(t, c)),
    );
    if !unreadable.is_empty() {
        out.findings.push(unreadable_finding(
            desired,
            alerts.location.clone(),
            &judged,
            &unreadable,
        ));
        return;
    }
    let found = if judged.is_empty() {
        "no trail".to_owned()
    } else {
        judged
            .iter()
            .map(|(t, c)| found(t, c))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let create = format!(
        "create a multi-Region trail and start it: aws cloudtrail create-trail --name kms-management-events --s3-bucket-name BUCKET --is-multi-region-trail --region {region}, then aws cloudtrail start-logging --name kms-management-events --region {region} (BUCKET's policy must let cloudtrail.amazonaws.com write to it; a new trail logs all management events)"
    );
    let mut fixes: Vec<String> = judged.iter().filter_map(|(t, c)| repair(t, c)).collect();
    fixes.push(if fixes.is_empty() {
        create
    } else {
        format!("or {create}")
    });
    out.findings.push(Finding::of(
        &CLOUDTRAIL_MISSING,
        alerts.location.clone(),
        format!(
            "no CloudTrail trail logs KMS's write management events in {region} of account {}: EventBridge would never receive the KMS API calls the alert rules match, so no alert would fire (found: {found})",
            desired.account_id
        ),
        fixes.join("; "),
    ));
}

/// No readable trail counts, and denied reads may hide one that does: a warning, as the alerts
/// may well fire.
fn unreadable_finding(
    desired: &DesiredMonitor,
    location: Location,
    judged: &[(&ObservedTrail, Coverage)],
    unreadable: &[String],
) -> Finding {
    let region = &desired.region;
    let others: Vec<String> = judged
        .iter()
        .filter(|(_, c)| *c != Coverage::Unreadable)
        .map(|(t, c)| found(t, c))
        .collect();
    let others = if others.is_empty() {
        String::new()
    } else {
        format!(" (found, not counting: {})", others.join("; "))
    };
    let mut fixes = vec![format!(
        "grant the deployer {READS} (an SCP or permissions boundary may deny them), or make sure a trail logs KMS's write management events in {region} (for an organization trail, ask the organization's management account)"
    )];
    fixes.extend(judged.iter().filter_map(|(t, c)| repair(t, c)));
    Finding::of(
        &CLOUDTRAIL_UNREADABLE,
        location,
        format!(
            "kmsctl could not check that a CloudTrail trail logs KMS's write management events in {region} of account {}: {}{others}; without such a trail EventBridge never receives the KMS API calls the alert rules match, so no alert would fire",
            desired.account_id,
            unreadable.join("; ")
        ),
        fixes.join("; or "),
    )
}

/// The only trails that count are organization trails whose status could not be read.
fn assumed(trails: &[&ObservedTrail], region: &str) -> Note {
    let names = trails
        .iter()
        .map(|t| format!("{:?} ({})", t.name, denials(t)))
        .collect::<Vec<_>>()
        .join("; ");
    let (trail, its) = match trails {
        [_] => ("trail", "its"),
        _ => ("trails", "their"),
    };
    Note::new(
        NoteLevel::Info,
        None,
        format!(
            "CloudTrail: the alerts in {region} count on organization {trail} {names}: {its} event selectors take KMS's write management events, and {its} status, which could not be read, is taken to be logging (the organization's management account keeps it)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGION: &str = "us-east-1";

    /// A logging single-Region trail of the region with AWS's default selector.
    fn trail() -> ObservedTrail {
        ObservedTrail {
            name: "management".into(),
            arn: "arn:aws:cloudtrail:us-east-1:111111111111:trail/management".into(),
            home_region: REGION.into(),
            multi_region: false,
            organization: false,
            logging: true,
            event_selectors: vec![TrailEventSelector {
                read_write_type: Some("All".into()),
                include_management_events: Some(true),
                exclude_management_event_sources: vec![],
            }],
            advanced_event_selectors: vec![],
            status_denied: None,
            selectors_denied: None,
        }
    }

    fn field(name: &str, equals: &[&str]) -> TrailFieldSelector {
        TrailFieldSelector {
            field: name.into(),
            equals: equals.iter().map(|v| (*v).to_owned()).collect(),
            ..TrailFieldSelector::default()
        }
    }

    fn with_advanced(fields: Vec<TrailFieldSelector>) -> ObservedTrail {
        ObservedTrail {
            event_selectors: vec![],
            advanced_event_selectors: vec![TrailAdvancedSelector {
                name: Some("management".into()),
                field_selectors: fields,
            }],
            ..trail()
        }
    }

    fn with_basic(selector: TrailEventSelector) -> ObservedTrail {
        ObservedTrail {
            event_selectors: vec![selector],
            ..trail()
        }
    }

    #[test]
    fn a_logging_trail_of_the_region_with_default_selectors_delivers() {
        assert_eq!(coverage(&trail(), REGION), Coverage::Delivers);
        // Fields AWS leaves out are its defaults: management events, read and write.
        let defaults = with_basic(TrailEventSelector::default());
        assert_eq!(coverage(&defaults, REGION), Coverage::Delivers);
        let writes = with_basic(TrailEventSelector {
            read_write_type: Some("WriteOnly".into()),
            ..TrailEventSelector::default()
        });
        assert_eq!(coverage(&writes, REGION), Coverage::Delivers);
    }

    #[test]
    fn a_trail_of_another_region_delivers_only_when_multi_region() {
        let elsewhere = ObservedTrail {
            home_region: "eu-west-1".into(),
            ..trail()
        };
        assert_eq!(coverage(&elsewhere, REGION), Coverage::OtherRegion);
        let multi = ObservedTrail {
            multi_region: true,
            ..elsewhere.clone()
        };
        assert_eq!(coverage(&multi, REGION), Coverage::Delivers);
        // An organization trail logs the member accounts in the regions it logs.
        let organization = ObservedTrail {
            organization: true,
            ..elsewhere
        };
        assert_eq!(coverage(&organization, REGION), Coverage::OtherRegion);
        let organization = ObservedTrail {
            multi_region: true,
            ..organization
        };
        assert_eq!(coverage(&organization, REGION), Coverage::Delivers);
    }

    #[test]
    fn a_stopped_trail_does_not_deliver() {
        let stopped = ObservedTrail {
            logging: false,
            ..trail()
        };
        assert_eq!(coverage(&stopped, REGION), Coverage::NotLogging);
    }

    #[test]
    fn basic_selectors_must_take_kms_write_management_events() {
        let read_only = with_basic(TrailEventSelector {
            read_write_type: Some("ReadOnly".into()),
            ..TrailEventSelector::default()
        });
        assert_eq!(coverage(&read_only, REGION), Coverage::ReadOnly);
        let no_management = with_basic(TrailEventSelector {
            include_management_events: Some(false),
            ..TrailEventSelector::default()
        });
        assert_eq!(
            coverage(&no_management, REGION),
            Coverage::NoManagementEvents
        );
        let without_kms = with_basic(TrailEventSelector {
            exclude_management_event_sources: vec!["rdsdata.amazonaws.com".into(), KMS.into()],
            ..TrailEventSelector::default()
        });
        assert_eq!(coverage(&without_kms, REGION), Coverage::ExcludesKms);
        let without_rds_data = with_basic(TrailEventSelector {
            exclude_management_event_sources: vec!["rdsdata.amazonaws.com".into()],
            ..TrailEventSelector::default()
        });
        assert_eq!(coverage(&without_rds_data, REGION), Coverage::Delivers);
        // No selector at all logs nothing.
        let none = with_basic(TrailEventSelector::default());
        let none = ObservedTrail {
            event_selectors: vec![],
            ..none
        };
        assert_eq!(coverage(&none, REGION), Coverage::NoManagementEvents);
    }

    #[test]
    fn any_selector_that_delivers_is_enough() {
        let mut trail = with_basic(TrailEventSelector {
            read_write_type: Some("ReadOnly".into()),
            ..TrailEventSelector::default()
        });
        trail.event_selectors.push(TrailEventSelector {
            read_write_type: Some("WriteOnly".into()),
            ..TrailEventSelector::default()
        });
        assert_eq!(coverage(&trail, REGION), Coverage::Delivers);
    }

    #[test]
    fn advanced_selectors_must_admit_a_kms_write_management_event() {
        let management = with_advanced(vec![field("eventCategory", &["Management"])]);
        assert_eq!(coverage(&management, REGION), Coverage::Delivers);
        let writes = with_advanced(vec![
            field("eventCategory", &["Management"]),
            field("readOnly", &["false"]),
        ]);
        assert_eq!(coverage(&writes, REGION), Coverage::Delivers);
        let reads = with_advanced(vec![
            field("eventCategory", &["Management"]),
            field("readOnly", &["true"]),
        ]);
        assert_eq!(coverage(&reads, REGION), Coverage::ReadOnly);
        let without_kms = with_advanced(vec![
            field("eventCategory", &["Management"]),
            TrailFieldSelector {
                field: "eventSource".into(),
                not_equals: vec![KMS.into()],
                ..TrailFieldSelector::default()
            },
        ]);
        assert_eq!(coverage(&without_kms, REGION), Coverage::ExcludesKms);
        let without_rds_data = with_advanced(vec![
            field("eventCategory", &["Management"]),
            TrailFieldSelector {
                field: "eventSource".into(),
                not_equals: vec!["rdsdata.amazonaws.com".into()],
                ..TrailFieldSelector::default()
            },
        ]);
        assert_eq!(coverage(&without_rds_data, REGION), Coverage::Delivers);
        let data_only = with_advanced(vec![
            field("eventCategory", &["Data"]),
            field("resources.type", &["AWS::S3::Object"]),
        ]);
        assert_eq!(coverage(&data_only, REGION), Coverage::NoManagementEvents);
        let by_name = with_advanced(vec![
            field("eventCategory", &["Management"]),
            field("eventName", &["CreateBucket"]),
        ]);
        assert_eq!(
            coverage(&by_name, REGION),
            Coverage::Filtered("eventName".into())
        );
    }

    fn desired() -> DesiredMonitor {
        let tags = std::collections::BTreeMap::new();
        crate::desired::build(
            &crate::config::tests_support::declaration(),
            &crate::desired::Context {
                environment: "prod",
                account_id: "222222222222",
                region: REGION,
                tags: &tags,
                topic_key: None,
            },
        )
    }

    fn findings(trails: Option<Vec<ObservedTrail>>) -> Vec<Finding> {
        judge(ObservedMonitor {
            trails,
            ..ObservedMonitor::default()
        })
        .findings
    }

    fn judge(observed: ObservedMonitor) -> MonitorDiff {
        let mut out = MonitorDiff::default();
        diff(&desired(), &observed, &mut out);
        out
    }

    const DENIED: &str = "AccessDeniedException: User: arn:aws:sts::222222222222:assumed-role/deployer/kmsctl is not authorized to perform: cloudtrail:GetEventSelectors with an explicit deny in a service control policy";

    /// A trail whose event selectors AWS would not show.
    fn selectors_denied() -> ObservedTrail {
        ObservedTrail {
            name: "hidden".into(),
            event_selectors: vec![],
            selectors_denied: Some(DENIED.into()),
            ..trail()
        }
    }

    /// An organization trail whose status AWS would not show, with AWS's default selector.
    fn organization_status_denied() -> ObservedTrail {
        ObservedTrail {
            name: "org".into(),
            arn: "arn:aws:cloudtrail:eu-west-1:999999999999:trail/org".into(),
            home_region: "eu-west-1".into(),
            multi_region: true,
            organization: true,
            logging: false,
            status_denied: Some("AccessDeniedException: not authorized".into()),
            ..trail()
        }
    }

    #[test]
    fn a_denied_read_makes_a_trail_unreadable_unless_what_was_read_settles_it() {
        assert_eq!(coverage(&selectors_denied(), REGION), Coverage::Unreadable);
        let status_denied = ObservedTrail {
            logging: false,
            status_denied: Some("AccessDeniedException: no".into()),
            ..trail()
        };
        assert_eq!(coverage(&status_denied, REGION), Coverage::Unreadable);
        // Its selectors do not take KMS's writes: logging or not, it does not count.
        let reads = ObservedTrail {
            event_selectors: vec![TrailEventSelector {
                read_write_type: Some("ReadOnly".into()),
                ..TrailEventSelector::default()
            }],
            ..status_denied
        };
        assert_eq!(coverage(&reads, REGION), Coverage::ReadOnly);
        // Stopped, whatever its selectors.
        let stopped = ObservedTrail {
            logging: false,
            ..selectors_denied()
        };
        assert_eq!(coverage(&stopped, REGION), Coverage::NotLogging);
        // A denied trail of another region is not needed.
        let elsewhere = ObservedTrail {
            home_region: "eu-west-1".into(),
            ..selectors_denied()
        };
        assert_eq!(coverage(&elsewhere, REGION), Coverage::OtherRegion);
    }

    #[test]
    fn an_organization_trail_whose_status_alone_is_unknown_counts_by_its_selectors() {
        assert_eq!(
            coverage(&organization_status_denied(), REGION),
            Coverage::Delivers
        );
        let out = judge(ObservedMonitor {
            trails: Some(vec![organization_status_denied()]),
            ..ObservedMonitor::default()
        });
        assert!(out.findings.is_empty(), "{:?}", out.findings);
        assert_eq!(out.notes.len(), 1);
        assert_eq!(out.notes[0].level, NoteLevel::Info);
        assert!(
            out.notes[0].message.contains(
                "organization trail \"org\" (cloudtrail:GetTrailStatus was denied: AccessDeniedException: not authorized)"
            ),
            "{}",
            out.notes[0].message
        );
        // With a trail read in full delivering too, nothing is assumed.
        let out = judge(ObservedMonitor {
            trails: Some(vec![organization_status_denied(), trail()]),
            ..ObservedMonitor::default()
        });
        assert!(out.findings.is_empty() && out.notes.is_empty());

        // Not for one of a single Region, nor when its selectors are unknown too.
        let single = ObservedTrail {
            home_region: REGION.into(),
            multi_region: false,
            ..organization_status_denied()
        };
        assert_eq!(coverage(&single, REGION), Coverage::Unreadable);
        let blind = ObservedTrail {
            selectors_denied: Some(DENIED.into()),
            ..organization_status_denied()
        };
        assert_eq!(coverage(&blind, REGION), Coverage::Unreadable);
        // Its selectors excluding KMS settle it.
        let without_kms = ObservedTrail {
            event_selectors: vec![TrailEventSelector {
                exclude_management_event_sources: vec![KMS.into()],
                ..TrailEventSelector::default()
            }],
            ..organization_status_denied()
        };
        assert_eq!(coverage(&without_kms, REGION), Coverage::ExcludesKms);
    }

    #[test]
    fn denied_trails_are_a_warning_with_aws_words_and_the_fix() {
        let out = judge(ObservedMonitor {
            trails: Some(vec![]),
            trails_denied: Some(
                "AccessDeniedException: not authorized to perform: cloudtrail:DescribeTrails"
                    .into(),
            ),
            ..ObservedMonitor::default()
        });
        assert_eq!(out.findings.len(), 1, "{:?}", out.findings);
        let warning = &out.findings[0];
        assert_eq!(warning.rule, "cloudtrail-unreadable");
        assert!(!warning.is_error(), "a warning does not refuse the plan");
        assert_eq!(warning.control, Some(Control::Monitoring));
        assert!(
            warning.message.starts_with(
                "kmsctl could not check that a CloudTrail trail logs KMS's write management events in us-east-1 of account 222222222222: cloudtrail:DescribeTrails was denied (AccessDeniedException: not authorized to perform: cloudtrail:DescribeTrails), so which trails exist is unknown; "
            ),
            "{}",
            warning.message
        );
        assert_eq!(
            warning.fix,
            "grant the deployer cloudtrail:DescribeTrails, cloudtrail:GetTrailStatus and cloudtrail:GetEventSelectors (an SCP or permissions boundary may deny them), or make sure a trail logs KMS's write management events in us-east-1 (for an organization trail, ask the organization's management account)"
        );
        assert_eq!(
            warning.location.file,
            std::path::Path::new("environments/prod/monitor.toml")
        );
    }

    #[test]
    fn one_unreadable_trail_beside_one_that_delivers_finds_nothing() {
        let out = judge(ObservedMonitor {
            trails: Some(vec![selectors_denied(), trail()]),
            ..ObservedMonitor::default()
        });
        assert!(out.findings.is_empty(), "{:?}", out.findings);
        assert!(out.notes.is_empty());
    }

    #[test]
    fn an_unreadable_trail_and_none_that_counts_is_a_warning_naming_it() {
        let found = findings(Some(vec![selectors_denied()]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "cloudtrail-unreadable");
        assert!(!found[0].is_error());
        assert!(
            found[0].message.contains(&format!(
                "of account 222222222222: trail \"hidden\" could not be read (cloudtrail:GetEventSelectors was denied: {DENIED}); without such a trail"
            )),
            "{}",
            found[0].message
        );

        // The trails read in full that do not count are named, with their fixes.
        let stopped = ObservedTrail {
            logging: false,
            ..trail()
        };
        let found = findings(Some(vec![selectors_denied(), stopped]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "cloudtrail-unreadable");
        assert!(
            found[0]
                .message
                .contains("(found, not counting: trail \"management\" is not logging)"),
            "{}",
            found[0].message
        );
        assert!(
            found[0]
                .fix
                .contains("; or start trail \"management\": aws cloudtrail start-logging"),
            "{}",
            found[0].fix
        );
    }

    #[test]
    fn a_denied_read_that_settles_nothing_leaves_the_error() {
        // The status is unknown, but the selectors take only reads: no trail counts, surely.
        let reads = ObservedTrail {
            logging: false,
            status_denied: Some("AccessDeniedException: no".into()),
            event_selectors: vec![TrailEventSelector {
                read_write_type: Some("ReadOnly".into()),
                ..TrailEventSelector::default()
            }],
            ..trail()
        };
        let found = findings(Some(vec![reads]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "cloudtrail-missing");
        assert!(found[0].is_error());
    }

    #[test]
    fn without_a_delivering_trail_the_finding_says_what_was_found_and_how_to_fix_it() {
        let found = findings(Some(vec![]));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, "cloudtrail-missing");
        assert!(
            found[0]
                .message
                .contains("in us-east-1 of account 222222222222")
        );
        assert!(found[0].message.contains("(found: no trail)"));
        assert!(
            found[0]
                .fix
                .starts_with("create a multi-Region trail and start it: aws cloudtrail create-trail --name kms-management-events --s3-bucket-name BUCKET --is-multi-region-trail"),
            "{}",
            found[0].fix
        );
        assert_eq!(
            found[0].location.file,
            std::path::Path::new("environments/prod/monitor.toml")
        );

        let stopped = ObservedTrail {
            logging: false,
            ..trail()
        };
        let without_kms = with_basic(TrailEventSelector {
            exclude_management_event_sources: vec![KMS.into()],
            ..TrailEventSelector::default()
        });
        let without_kms = ObservedTrail {
            name: "cheap".into(),
            ..without_kms
        };
        let found = findings(Some(vec![stopped, without_kms]));
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains(
                "(found: trail \"management\" is not logging; trail \"cheap\" excludes KMS events (kms.amazonaws.com))"
            ),
            "{}",
            found[0].message
        );
        assert!(
            found[0].fix.starts_with(
                "start trail \"management\": aws cloudtrail start-logging --name arn:aws:cloudtrail:us-east-1:111111111111:trail/management --region us-east-1; log KMS's management events on trail \"cheap\": aws cloudtrail put-event-selectors --trail-name cheap"
            ),
            "{}",
            found[0].fix
        );
        assert!(found[0].fix.contains("; or create a multi-Region trail"));
    }

    #[test]
    fn a_delivering_trail_or_no_alerts_or_trails_not_read_find_nothing() {
        assert!(findings(Some(vec![trail()])).is_empty());
        assert!(findings(None).is_empty(), "not read: nothing to judge");
        let mut out = MonitorDiff::default();
        let mut desired = desired();
        desired.alerts = None;
        let observed = ObservedMonitor {
            trails: Some(vec![]),
            ..ObservedMonitor::default()
        };
        diff(&desired, &observed, &mut out);
        assert!(out.findings.is_empty());
    }
}
