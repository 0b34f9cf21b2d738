//! Thousands of generated and mutated baselines thrown at the loader: it never panics, never hangs,
//! and every rejection names a line and a key path.
//!
//! The inputs start from the shipped baselines (`baselines/standard.yaml`, `baselines/strict.yaml`):
//! keys deleted, values replaced by scalars of another type or by random unicode, subtrees nested
//! deeply, the text truncated, lines duplicated (duplicate keys) or spliced with random characters;
//! and, from nothing, random documents built from the schema's top-level keys.
//!
//! The loader cannot make an AWS call: [`Baseline::parse`] takes a path and a text, no client and no
//! configuration (the type ascription in [`the_loader_takes_no_client`] fails to compile otherwise),
//! and nothing it calls builds one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mamori::baseline::{Baseline, BaselineError};
use proptest::prelude::*;
use serde_json::Value;

/// Generated cases per property (three properties: 2,400 baselines in all, in well under 30 s).
const CASES: u32 = 800;

/// How long one load may take (a load of a shipped baseline takes milliseconds).
const LOAD_LIMIT: Duration = Duration::from_secs(2);

const SEEDS: [&str; 2] = [include_str!("../baselines/standard.yaml"), include_str!("../baselines/strict.yaml")];

const TOP_LEVEL_KEYS: &[&str] = &["version", "name", "regions", "kms", "ebs", "s3", "root", "iam", "logs", "ec2", "ssm", "vpc", "organization", "exceptions"];

/// Where the fuzzed file claims to be: next to the shipped baselines, so that templates resolve.
fn fuzzed_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines/fuzzed.yaml")
}

#[test]
fn the_loader_takes_no_client() {
    let _loader: fn(&Path, &str) -> Result<Baseline, BaselineError> = Baseline::parse;
}

/// Loads `text` and checks the loader's promises for it.
fn check(text: &str) -> Result<(), TestCaseError> {
    let started = Instant::now();
    let loaded = Baseline::parse(&fuzzed_path(), text);
    prop_assert!(started.elapsed() < LOAD_LIMIT, "a load took {:?}", started.elapsed());
    if let Err(error) = loaded {
        prop_assert!(error.position.is_some(), "a rejection without a line: {error}\n--- input ---\n{}", excerpt(text));
        prop_assert!(error.key.is_some(), "a rejection without a key path: {error}\n--- input ---\n{}", excerpt(text));
        prop_assert!(error.to_string().starts_with(&fuzzed_path().display().to_string()), "a rejection that does not name the file: {error}");
    }
    Ok(())
}

fn excerpt(text: &str) -> String {
    text.chars().take(2_000).collect()
}

/// The shipped baselines as JSON-like trees (YAML's keys are all strings there).
fn seed_trees() -> Vec<Value> {
    SEEDS.iter().map(|seed| serde_yaml_ng::from_str(seed).expect("a shipped baseline parses")).collect()
}

/// Every path (object keys and array indices) to a node of `tree`.
fn paths(tree: &Value) -> Vec<Vec<PathStep>> {
    fn walk(node: &Value, here: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
        out.push(here.clone());
        match node {
            Value::Object(map) => {
                for (key, child) in map {
                    here.push(PathStep::Key(key.clone()));
                    walk(child, here, out);
                    here.pop();
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    here.push(PathStep::Index(index));
                    walk(child, here, out);
                    here.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(tree, &mut Vec::new(), &mut out);
    out
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn node_mut<'a>(tree: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    path.iter().try_fold(tree, |node, step| match step {
        PathStep::Key(key) => node.get_mut(key.as_str()),
        PathStep::Index(index) => node.get_mut(*index),
    })
}

/// One change to a tree.
#[derive(Clone, Debug)]
enum Mutation {
    Delete,
    Replace(Value),
    Nest(usize),
    AddKey(String, Value),
}

/// Scalars of every YAML type, including awkward strings.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::String),
        prop::sample::select(vec!["", "-1", "0", "1e400", "~", "yes", "no", "on", "null", "*", "{account_id}", "{nope}", "us-east-9", "0.0.0.0/0", "aws/ebs", "🔑"])
            .prop_map(|s| Value::String(s.to_string())),
    ]
}

/// A small random tree of scalars, lists and maps.
fn tree() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}|\\PC{1,8}", inner, 0..4).prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Delete),
        scalar().prop_map(Mutation::Replace),
        tree().prop_map(Mutation::Replace),
        (1usize..60).prop_map(Mutation::Nest),
        ("[a-z_]{1,16}|\\PC{1,8}", tree()).prop_map(|(key, value)| Mutation::AddKey(key, value)),
    ]
}

fn apply(tree: &mut Value, path: &[PathStep], mutation: &Mutation) {
    match mutation {
        Mutation::Delete => {
            if let Some((last, parent)) = path.split_last() {
                match (node_mut(tree, parent), last) {
                    (Some(Value::Object(map)), PathStep::Key(key)) => {
                        map.remove(key);
                    }
                    (Some(Value::Array(items)), PathStep::Index(index)) if *index < items.len() => {
                        items.remove(*index);
                    }
                    _ => {}
                }
            }
        }
        Mutation::Replace(value) => {
            if let Some(node) = node_mut(tree, path) {
                *node = value.clone();
            }
        }
        Mutation::Nest(levels) => {
            if let Some(node) = node_mut(tree, path) {
                let mut nested = node.take();
                for level in 0..*levels {
                    nested = if level % 2 == 0 { Value::Array(vec![nested]) } else { serde_json::json!({ "nested": nested }) };
                }
                *node = nested;
            }
        }
        Mutation::AddKey(key, value) => {
            if let Some(Value::Object(map)) = node_mut(tree, path) {
                map.insert(key.clone(), value.clone());
            }
        }
    }
}

/// A shipped baseline with one to four structural mutations, written back as YAML.
fn mutated_tree() -> impl Strategy<Value = String> {
    (0..SEEDS.len(), prop::collection::vec((any::<prop::sample::Index>(), mutation()), 1..5)).prop_map(|(seed, mutations)| {
        let mut tree = seed_trees().swap_remove(seed);
        for (at, mutation) in mutations {
            let all = paths(&tree);
            let path = at.get(&all).clone();
            apply(&mut tree, &path, &mutation);
        }
        serde_yaml_ng::to_string(&tree).expect("a JSON tree is YAML")
    })
}

/// One change to a shipped baseline's text.
#[derive(Clone, Debug)]
enum TextEdit {
    Truncate(prop::sample::Index),
    DuplicateLine(prop::sample::Index),
    DeleteLine(prop::sample::Index),
    Insert(prop::sample::Index, String),
}

fn text_edit() -> impl Strategy<Value = TextEdit> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(TextEdit::Truncate),
        any::<prop::sample::Index>().prop_map(TextEdit::DuplicateLine),
        any::<prop::sample::Index>().prop_map(TextEdit::DeleteLine),
        (any::<prop::sample::Index>(), prop_oneof!["\\PC{1,12}", "[\\[\\]{}:,\\-#&*!|>'\"%@` \\t\\n]{1,6}"]).prop_map(|(at, text)| TextEdit::Insert(at, text)),
    ]
}

fn edit(text: &str, edit: &TextEdit) -> String {
    let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    match edit {
        TextEdit::Truncate(at) => text[..*at.get(&boundaries)].to_string(),
        TextEdit::DuplicateLine(at) => {
            let line = at.index(lines.len());
            lines[..=line].iter().chain(&lines[line..]).copied().collect()
        }
        TextEdit::DeleteLine(at) => {
            let line = at.index(lines.len());
            lines.iter().enumerate().filter(|(i, _)| *i != line).map(|(_, l)| *l).collect()
        }
        TextEdit::Insert(at, inserted) => {
            let at = *at.get(&boundaries);
            format!("{}{inserted}{}", &text[..at], &text[at..])
        }
    }
}

/// A shipped baseline's text with one to three edits.
fn mutated_text() -> impl Strategy<Value = String> {
    (prop::sample::select(SEEDS.to_vec()), prop::collection::vec(text_edit(), 1..4))
        .prop_map(|(seed, edits)| edits.iter().fold(seed.to_string(), |text, e| edit(&text, e)))
}

/// A document built from the schema's top-level keys with random values.
fn generated() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(TOP_LEVEL_KEYS), tree()), 0..8).prop_map(|entries| {
        let map: serde_json::Map<String, Value> = entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        serde_yaml_ng::to_string(&Value::Object(map)).expect("a JSON tree is YAML")
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn structurally_mutated_shipped_baselines_load_or_are_rejected_with_line_and_key(text in mutated_tree()) {
        check(&text)?;
    }

    #[test]
    fn textually_mutated_shipped_baselines_load_or_are_rejected_with_line_and_key(text in mutated_text()) {
        check(&text)?;
    }

    #[test]
    fn generated_baselines_load_or_are_rejected_with_line_and_key(text in generated()) {
        check(&text)?;
    }
}

#[test]
fn the_shipped_baselines_load() {
    for seed in SEEDS {
        Baseline::parse(&fuzzed_path(), seed).unwrap_or_else(|e| panic!("{e}"));
    }
}
