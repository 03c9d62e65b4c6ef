//! SAM's `Globals` section: `Globals.<Section>` (`Function`, `StateMachine`, `Api`, ...) merged
//! into the properties of every `AWS::Serverless::<Section>` resource, before any intrinsic
//! function is evaluated.

use super::intrinsics::intrinsic;
use super::parse::Template;
use serde_json::Value;

/// Merges each resource's globals into its properties.
pub(super) fn apply(template: &mut Template) {
    for declared in &mut template.resources {
        let Some(section) = declared.kind.strip_prefix("AWS::Serverless::") else {
            continue;
        };
        if let Some(globals) = template.globals.get(section) {
            let own = std::mem::take(&mut declared.properties);
            declared.properties = merge(globals, own);
        }
    }
}

/// SAM (docs/globals.rst, "Overriding globals"): "Primitive Values are replaced: Value specified
/// in the resource will replace Global value"; "Maps are merged: Map entries in the resource
/// will be merged with global map entries. In case of duplicates the resource entry will
/// override the global entry"; "Lists are additive: Global entries will be prepended to the
/// list in the resource". An intrinsic function is a value, not a map: the resource's replaces.
fn merge(global: &Value, own: Value) -> Value {
    match (global, own) {
        (Value::Object(global), Value::Object(own))
            if intrinsic(global).is_none() && intrinsic(&own).is_none() =>
        {
            let mut merged = global.clone();
            for (key, value) in own {
                let value = match merged.get(&key) {
                    Some(global) => merge(global, value),
                    None => value,
                };
                merged.insert(key, value);
            }
            Value::Object(merged)
        }
        (Value::Array(global), Value::Array(own)) => {
            Value::Array(global.iter().cloned().chain(own).collect())
        }
        (_, own) => own,
    }
}
