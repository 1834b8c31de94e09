//! `[[variant]]` blocks: named sets of overrides of a scenario's account, function, traffic, queue or event source
//! settings, so one file can replay identical traffic against several configurations (`lambda-sim run`) and
//! `lambda-sim sweep` can generate a grid of them.
//!
//! Overrides are applied to the parsed TOML document before it is checked, so a variant's values go through
//! exactly the same validation as the file's own and errors point at the line and column where the bad value was
//! written. A variant may contain:
//!
//! - `name` (required, unique), `description`;
//! - `account.<key> = …` — any `[account]` key; `not_lambda.<key> = …` — any `[not_lambda]` key;
//! - `function.<name>.<key> = …` — any key of the `[[function]]` called `<name>` except `name`;
//! - `traffic.<index>.<key> = …` — any key of the 0-based `[[traffic]]` block `<index>` except `function` and
//!   `queue`;
//! - `queue.<name>.<key> = …` — any key of the `[[queue]]` called `<name>` except `name`;
//! - `event_source.<index>.<key> = …` — any key of the 0-based `[[event_source]]` block `<index>` except `queue`
//!   and `function`;
//! - `service.<name>.<key> = …` — any key of the `[[service]]` called `<name>` except `name`;
//! - `trace.<key> = …` — any key of `[trace]`, including `trace.function.<key>` (the trace functions' template).
//!
//! Tables merge key by key (`function.api.keep_alive.duration = "5m"` keeps the policy), except a table that names
//! its kind (`policy`, `distribution`, a service's connection `model`), which replaces the whole table; a traffic override that sets `pattern`
//! replaces every field of the phase but its target (`function` or `queue`) and `invocation`. `[simulation]` cannot vary: every variant sees the same
//! arrivals from the same seed.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use super::error::Source;
use super::load::build;
use super::{Scenario, ScenarioError};

/// A scenario file: the scenario as written, and its variants (empty when it declares none).
#[derive(Debug, Clone)]
pub struct ScenarioFile {
    pub base: Scenario,
    pub variants: Vec<Variant>,
}

/// One `[[variant]]`: the scenario with its overrides applied.
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub description: Option<String>,
    /// The overrides as `key = value` lines, for reports.
    pub overrides: Vec<String>,
    pub scenario: Scenario,
}

/// Keys a table may use to name its kind; such a table replaces the base table instead of merging into it.
const KIND_KEYS: [&str; 3] = ["policy", "distribution", "model"];

/// Checks every variant of the document and builds its scenario. `doc` has had its `variant` key removed; `raw`
/// is that key's value.
pub(super) fn variants(
    src: &Source,
    path: &Path,
    doc: &Spanned<DeTable<'_>>,
    raw: Spanned<DeValue<'_>>,
) -> Result<Vec<Variant>, ScenarioError> {
    let span = raw.span();
    let DeValue::Array(items) = raw.into_inner() else {
        return Err(src.err(
            &span,
            "variant must be an array of tables: write [[variant]], with double brackets, for each one",
        ));
    };
    let mut names = BTreeSet::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let span = item.span();
        let DeValue::Table(table) = item.into_inner() else {
            return Err(src.err(&span, "each variant must be a table ([[variant]])"));
        };
        let variant = variant(src, path, doc, &span, table, &mut names)?;
        out.push(variant);
    }
    Ok(out)
}

fn variant(
    src: &Source,
    path: &Path,
    doc: &Spanned<DeTable<'_>>,
    span: &std::ops::Range<usize>,
    table: DeTable<'_>,
    names: &mut BTreeSet<String>,
) -> Result<Variant, ScenarioError> {
    let name = match table.get("name") {
        None => return Err(src.err(span, "variant: name is required")),
        Some(v) => match v.get_ref() {
            DeValue::String(s) if !s.trim().is_empty() => s.trim().to_string(),
            other => {
                return Err(src.err(
                    &v.span(),
                    format!(
                        "variant: name must be a non-empty string, not {}",
                        other.type_str()
                    ),
                ));
            }
        },
    };
    if !names.insert(name.clone()) {
        let at = table.get("name").map_or(span.clone(), |v| v.span());
        return Err(src.err(&at, format!("variant \"{name}\" is declared twice")));
    }
    let what = format!("variant \"{name}\"");
    let description = match table.get("description") {
        None => None,
        Some(v) => match v.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            other => {
                return Err(src.err(
                    &v.span(),
                    format!(
                        "{what}: description must be a string, not {}",
                        other.type_str()
                    ),
                ));
            }
        },
    };

    let mut merged = doc.clone();
    let mut overrides = Vec::new();
    for (key, value) in table {
        match key.get_ref().as_ref() {
            "name" | "description" => {}
            top @ ("account" | "not_lambda") => {
                let top = if top == "account" {
                    "account"
                } else {
                    "not_lambda"
                };
                let over = expect_table(src, &what, top, value)?;
                let base = top_table(merged.get_mut(), top);
                list_overrides(top, &over, &mut overrides);
                merge(base, over);
            }
            "function" => {
                let over = expect_table(src, &what, "function", value)?;
                for (fname, fvalue) in over {
                    let key = format!("function.{}", fname.get_ref());
                    let fover = expect_table(src, &what, &key, fvalue)?;
                    if let Some(v) = fover.get("name") {
                        return Err(src.err(
                            &v.span(),
                            format!("{what}: {key}.name cannot be overridden (it is how the variant finds the function)"),
                        ));
                    }
                    let base = named_table(src, &what, merged.get_mut(), "function", &fname)?;
                    // Keys of a table the file leaves at its default can't merge into it: say what to write.
                    for kind_table in ["keep_alive"] {
                        if let (None, Some(v)) = (base.get(kind_table), fover.get(kind_table))
                            && let DeValue::Table(t) = v.get_ref()
                            && !t.contains_key("policy")
                        {
                            return Err(src.err(
                                &v.span(),
                                format!("{what}: {key}.{kind_table} sets no policy, and the function has no {kind_table} in the file to take it from (the default is \"lambda\"); give it whole, e.g. {key}.{kind_table} = {{ policy = \"fixed\", duration = \"10m\" }}"),
                            ));
                        }
                    }
                    list_overrides(&key, &fover, &mut overrides);
                    merge(base, fover);
                }
            }
            "traffic" => {
                let over = expect_table(src, &what, "traffic", value)?;
                for (index, tvalue) in over {
                    let key = format!("traffic.{}", index.get_ref());
                    let tover = expect_table(src, &what, &key, tvalue)?;
                    fixed_keys(src, &what, &key, &tover, &["function", "queue"], "traffic")?;
                    let base = indexed_table(src, &what, merged.get_mut(), "traffic", &index)?;
                    list_overrides(&key, &tover, &mut overrides);
                    if tover.contains_key("pattern") {
                        // A new pattern replaces the arrivals, not where they go or how.
                        let kept: Vec<_> = ["function", "queue", "invocation"]
                            .into_iter()
                            .filter_map(|k| base.remove(k).map(|v| (k, v)))
                            .collect();
                        base.clear();
                        for (k, v) in kept {
                            base.insert(Spanned::new(0..0, DeString::Borrowed(k)), v);
                        }
                    }
                    merge(base, tover);
                }
            }
            kind @ ("queue" | "service") => {
                let over = expect_table(src, &what, kind, value)?;
                for (qname, qvalue) in over {
                    let key = format!("{kind}.{}", qname.get_ref());
                    let qover = expect_table(src, &what, &key, qvalue)?;
                    if let Some(v) = qover.get("name") {
                        return Err(src.err(
                            &v.span(),
                            format!("{what}: {key}.name cannot be overridden (it is how the variant finds the {kind})"),
                        ));
                    }
                    let base = named_table(src, &what, merged.get_mut(), kind, &qname)?;
                    list_overrides(&key, &qover, &mut overrides);
                    merge(base, qover);
                }
            }
            "event_source" => {
                let over = expect_table(src, &what, "event_source", value)?;
                for (index, evalue) in over {
                    let key = format!("event_source.{}", index.get_ref());
                    let eover = expect_table(src, &what, &key, evalue)?;
                    fixed_keys(
                        src,
                        &what,
                        &key,
                        &eover,
                        &["queue", "function"],
                        "event_source",
                    )?;
                    let base = indexed_table(src, &what, merged.get_mut(), "event_source", &index)?;
                    list_overrides(&key, &eover, &mut overrides);
                    merge(base, eover);
                }
            }
            "trace" => {
                let over = expect_table(src, &what, "trace", value)?;
                if !matches!(
                    merged.get_ref().get("trace").map(|v| v.get_ref()),
                    Some(DeValue::Table(_))
                ) {
                    return Err(src.err(
                        &key.span(),
                        format!(
                            "{what}: trace.<key> overrides the file's [trace], but it has none"
                        ),
                    ));
                }
                let base = top_table(merged.get_mut(), "trace");
                list_overrides("trace", &over, &mut overrides);
                merge(base, over);
            }
            "simulation" => {
                return Err(src.err(
                    &key.span(),
                    format!("{what}: [simulation] cannot vary between variants: every variant replays the same arrivals from the same seed (run the file twice to compare seeds or durations)"),
                ));
            }
            other => {
                return Err(src.err(
                    &key.span(),
                    format!("{what}: unknown key `{other}`; a variant may set name, description, account.<key>, not_lambda.<key>, function.<name>.<key>, traffic.<index>.<key>, queue.<name>.<key>, event_source.<index>.<key>, service.<name>.<key> and trace.<key>"),
                ));
            }
        }
    }
    let scenario = build(src, path, merged).map_err(|mut e| {
        e.message = format!("{what}: {}", e.message);
        e
    })?;
    Ok(Variant {
        name,
        description,
        overrides,
        scenario,
    })
}

fn expect_table<'i>(
    src: &Source,
    what: &str,
    key: &str,
    value: Spanned<DeValue<'i>>,
) -> Result<DeTable<'i>, ScenarioError> {
    let span = value.span();
    match value.into_inner() {
        DeValue::Table(t) => Ok(t),
        other => Err(src.err(
            &span,
            format!(
                "{what}: {key} must be a table of overrides (e.g. {key}.<key> = value), not {}",
                other.type_str()
            ),
        )),
    }
}

/// The document's top-level table `key`, created empty if absent.
fn top_table<'a, 'i>(doc: &'a mut DeTable<'i>, key: &'static str) -> &'a mut DeTable<'i> {
    let entry = doc
        .entry(Spanned::new(0..0, DeString::Borrowed(key)))
        .or_insert_with(|| Spanned::new(0..0, DeValue::Table(DeTable::new())));
    if !matches!(entry.get_ref(), DeValue::Table(_)) {
        *entry = Spanned::new(0..0, DeValue::Table(DeTable::new()));
    }
    match entry.get_mut() {
        DeValue::Table(t) => t,
        _ => unreachable!("just made a table"),
    }
}

/// Keys of an indexed block (`[[traffic]]`, `[[event_source]]`) that say what it connects; a variant may not change
/// them.
fn fixed_keys(
    src: &Source,
    what: &str,
    key: &str,
    over: &DeTable<'_>,
    fixed: &[&str],
    block: &str,
) -> Result<(), ScenarioError> {
    for k in fixed {
        if let Some(v) = over.get(*k) {
            return Err(src.err(
                &v.span(),
                format!("{what}: {key}.{k} cannot be overridden; declare another [[{block}]] block instead"),
            ));
        }
    }
    Ok(())
}

/// The `[[kind]]` table (`function`, `queue`) whose name is `name`.
fn named_table<'a, 'i>(
    src: &Source,
    what: &str,
    doc: &'a mut DeTable<'i>,
    kind: &str,
    name: &Spanned<DeString<'_>>,
) -> Result<&'a mut DeTable<'i>, ScenarioError> {
    let mut declared = Vec::new();
    if let Some(DeValue::Array(items)) = doc.get_mut(kind).map(|v| v.get_mut()) {
        for item in items.iter_mut() {
            if let DeValue::Table(t) = item.get_mut() {
                let found = t
                    .get("name")
                    .and_then(|v| v.get_ref().as_str())
                    .unwrap_or("");
                if found == name.get_ref().as_ref() {
                    return Ok(t);
                }
                declared.push(found.to_string());
            }
        }
    }
    let declared = if declared.is_empty() {
        format!("no [[{kind}]] is declared")
    } else {
        format!("declared: {}", declared.join(", "))
    };
    Err(src.err(
        &name.span(),
        format!(
            "{what}: {kind} \"{}\" is not declared ({declared})",
            name.get_ref()
        ),
    ))
}

/// The `index`-th `[[kind]]` table (`traffic`, `event_source`).
fn indexed_table<'a, 'i>(
    src: &Source,
    what: &str,
    doc: &'a mut DeTable<'i>,
    kind: &str,
    index: &Spanned<DeString<'_>>,
) -> Result<&'a mut DeTable<'i>, ScenarioError> {
    let blocks = match doc.get_mut(kind).map(|v| v.get_mut()) {
        Some(DeValue::Array(items)) if !items.is_empty() => items,
        _ => {
            return Err(src.err(
                &index.span(),
                format!(
                    "{what}: {kind}.{index} overrides a [[{kind}]] block, but none is declared",
                    index = index.get_ref()
                ),
            ));
        }
    };
    let count = blocks.len();
    let slot = index.get_ref().parse::<usize>().ok().filter(|&i| i < count);
    let Some(i) = slot else {
        return Err(src.err(
            &index.span(),
            format!(
                "{what}: {kind}.{} must name a [[{kind}]] block by its 0-based index, 0–{}",
                index.get_ref(),
                count - 1
            ),
        ));
    };
    match blocks.get_mut(i).map(|v| v.get_mut()) {
        Some(DeValue::Table(t)) => Ok(t),
        _ => Err(src.err(&index.span(), format!("{what}: {kind}[{i}] is not a table"))),
    }
}

/// Merges `over` into `base`: tables key by key, except tables that name their kind, which replace.
fn merge<'i>(base: &mut DeTable<'i>, over: DeTable<'i>) {
    for (key, value) in over {
        let replaces = match value.get_ref() {
            DeValue::Table(t) => KIND_KEYS.iter().any(|k| t.contains_key(*k)),
            _ => true,
        };
        match base.get_mut(key.get_ref().as_ref()) {
            Some(existing) if !replaces => {
                if let (DeValue::Table(b), DeValue::Table(_)) =
                    (existing.get_mut(), value.get_ref())
                {
                    if let DeValue::Table(o) = value.into_inner() {
                        merge(b, o);
                    }
                    continue;
                }
                *existing = value;
            }
            _ => {
                base.insert(key, value);
            }
        }
    }
}

/// `prefix.key = value` lines for every leaf of `over`, in key order.
fn list_overrides(prefix: &str, over: &DeTable<'_>, out: &mut Vec<String>) {
    for (key, value) in over {
        let path = format!("{prefix}.{}", key.get_ref());
        match value.get_ref() {
            DeValue::Table(t) if !KIND_KEYS.iter().any(|k| t.contains_key(*k)) => {
                list_overrides(&path, t, out)
            }
            v => out.push(format!("{path} = {}", show(v))),
        }
    }
}

/// A value as TOML-ish text for the override list.
fn show(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => format!("{s:?}"),
        DeValue::Integer(i) => i.as_str().to_string(),
        DeValue::Float(f) => f.as_str().to_string(),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        DeValue::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|i| show(i.get_ref()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        DeValue::Table(t) => format!(
            "{{ {} }}",
            t.iter()
                .map(|(k, v)| format!("{} = {}", k.get_ref(), show(v.get_ref())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Deserializes the checked raw structs from a (possibly merged) document.
pub(super) fn raw_scenario(
    src: &Source,
    doc: Spanned<DeTable<'_>>,
) -> Result<super::raw::RawScenario, ScenarioError> {
    super::raw::RawScenario::deserialize(toml::de::Deserializer::from(doc))
        .map_err(|e| src.toml_error(&e))
}
