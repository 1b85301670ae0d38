//! `config_recorder`: the region's AWS Config recorder and delivery channel. Config rules
//! evaluate nothing without one; kmsctl manages it only when `[config_recorder]` declares it.

use kmsctl_core::{Action, Address, AttributeChange, Control, Finding, Rule};
use serde_json::json;

use super::{MonitorDiff, change};
use crate::desired::DesiredMonitor;
use crate::kinds::CONFIG_RECORDER;
use crate::observe::ObservedMonitor;
use crate::ops::MonitorOp;

pub const CONFIG_RECORDER_MISSING: Rule = Rule::error(
    "config-recorder-missing",
    Some(Control::Monitoring),
    "config rules have a configuration recorder in the region (or [config_recorder] declares one)",
);
pub const CONFIG_RECORDER_STOPPED: Rule = Rule::error(
    "config-recorder-stopped",
    Some(Control::Monitoring),
    "the region's configuration recorder is recording",
);
pub const CONFIG_RECORDER_NAME: Rule = Rule::error(
    "config-recorder-name",
    Some(Control::Monitoring),
    "the declared recorder's name is the region's recorder's (AWS allows one per region)",
);

pub(super) fn diff(desired: &DesiredMonitor, observed: &ObservedMonitor, out: &mut MonitorDiff) {
    let live = observed.recorder.as_ref();
    let Some(wanted) = &desired.recorder else {
        let Some(first_rule) = desired.rules.first() else {
            return;
        };
        let fix = format!(
            "declare [config_recorder] (role_arn, delivery_bucket) in {} so kmsctl manages the recorder, or turn AWS Config recording on in {} of account {} (console: AWS Config → Get started; CLI: aws configservice put-configuration-recorder, put-delivery-channel, start-configuration-recorder)",
            first_rule.location.file.display(),
            desired.region,
            desired.account_id
        );
        match live {
            None => out.findings.push(Finding::of(
                &CONFIG_RECORDER_MISSING,
                first_rule.location.clone(),
                format!(
                    "AWS Config has no configuration recorder in {} of account {}: the declared config rules would never evaluate",
                    desired.region, desired.account_id
                ),
                fix,
            )),
            Some(recorder) if !recorder.recording => out.findings.push(Finding::of(
                &CONFIG_RECORDER_STOPPED,
                first_rule.location.clone(),
                format!(
                    "the configuration recorder {:?} in {} is not recording: the declared config rules would never evaluate",
                    recorder.name, desired.region
                ),
                format!("start it (aws configservice start-configuration-recorder --configuration-recorder-name {}), or {fix}", recorder.name),
            )),
            Some(_) => {}
        }
        return;
    };
    let address = Address::new(CONFIG_RECORDER, wanted.name.clone());
    let source = Some(wanted.location.clone());
    let put_recorder = MonitorOp::PutConfigurationRecorder {
        name: wanted.name.clone(),
        role_arn: wanted.role_arn.clone(),
        resource_types: wanted.resource_types.clone(),
    };
    let put_channel = MonitorOp::PutDeliveryChannel {
        name: "default".into(),
        bucket: wanted.bucket.clone(),
    };
    let start = MonitorOp::StartConfigurationRecorder {
        name: wanted.name.clone(),
    };
    let recorded = |types: &[String]| {
        if types.is_empty() {
            json!("all supported resource types")
        } else {
            json!(types)
        }
    };
    let Some(live) = live else {
        out.changes.push(change(
            address,
            Action::Create,
            vec![
                AttributeChange::added("role_arn", wanted.role_arn.clone()),
                AttributeChange::added("resource_types", recorded(&wanted.resource_types)),
                AttributeChange::added("delivery_bucket", wanted.bucket.clone()),
                AttributeChange::added("recording", true),
            ],
            vec![put_recorder, put_channel, start],
            vec![],
            source,
        ));
        return;
    };
    if live.name != wanted.name {
        out.findings.push(Finding::of(
            &CONFIG_RECORDER_NAME,
            wanted.location.clone(),
            format!(
                "the region already has a configuration recorder named {:?}, and AWS allows one per region",
                live.name
            ),
            format!("set name = {:?} in [config_recorder] to manage that one", live.name),
        ));
        return;
    }
    let mut attributes = Vec::new();
    let mut operations = Vec::new();
    let live_types = if live.all_supported {
        vec![]
    } else {
        live.resource_types.clone()
    };
    let mut wanted_types = wanted.resource_types.clone();
    wanted_types.sort();
    let mut sorted_live = live_types.clone();
    sorted_live.sort();
    if live.role_arn.as_deref() != Some(wanted.role_arn.as_str()) || sorted_live != wanted_types {
        if live.role_arn.as_deref() != Some(wanted.role_arn.as_str()) {
            attributes.push(AttributeChange::new(
                "role_arn",
                live.role_arn.clone().map(Into::into),
                Some(wanted.role_arn.clone().into()),
            ));
        }
        if sorted_live != wanted_types {
            attributes.push(AttributeChange::new(
                "resource_types",
                Some(recorded(&live_types)),
                Some(recorded(&wanted.resource_types)),
            ));
        }
        operations.push(put_recorder);
    }
    if live.bucket.as_deref() != Some(wanted.bucket.as_str()) {
        attributes.push(AttributeChange::new(
            "delivery_bucket",
            live.bucket.clone().map(Into::into),
            Some(wanted.bucket.clone().into()),
        ));
        operations.push(MonitorOp::PutDeliveryChannel {
            name: live.channel.clone().unwrap_or_else(|| "default".into()),
            bucket: wanted.bucket.clone(),
        });
    }
    if !live.recording {
        attributes.push(AttributeChange::new(
            "recording",
            Some(false.into()),
            Some(true.into()),
        ));
        operations.push(start);
    }
    if !operations.is_empty() {
        out.changes.push(change(
            address,
            Action::Update,
            attributes,
            operations,
            vec![],
            source,
        ));
    }
}
