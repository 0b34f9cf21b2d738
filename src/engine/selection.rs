//! Which controls a run covers, and in which order.
//!
//! `--only` names controls by id (`logs.trail`) or by group (`logs`). The selection adds, transitively,
//! the controls the named ones depend on (they are observed, and applied when needed), and returns
//! everything in dependency order. A name that matches nothing is an error before any AWS call.

use std::collections::BTreeSet;

use super::control::Reconciler;

/// An `--only` name that matches no control.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--only {name}: no control or group of that name (known controls: {known})")]
pub struct UnknownControl {
    pub name: String,
    pub known: String,
}

/// The controls of `catalogue` selected by `only` (all when empty) plus their dependencies, in
/// catalogue order, which lists every control after those it depends on.
pub fn select<'c>(catalogue: &[&'c dyn Reconciler], only: &[String]) -> Result<Vec<&'c dyn Reconciler>, UnknownControl> {
    if only.is_empty() {
        return Ok(catalogue.to_vec());
    }
    let mut wanted: BTreeSet<&str> = BTreeSet::new();
    for name in only {
        let matches: Vec<&str> =
            catalogue.iter().map(|c| c.meta()).filter(|m| m.id == name || m.group() == name).map(|m| m.id).collect();
        if matches.is_empty() {
            let known = catalogue.iter().map(|c| c.meta().id).collect::<Vec<_>>().join(", ");
            return Err(UnknownControl { name: name.clone(), known });
        }
        wanted.extend(matches);
    }
    let mut todo: Vec<&str> = wanted.iter().copied().collect();
    while let Some(id) = todo.pop() {
        if let Some(control) = catalogue.iter().find(|c| c.meta().id == id) {
            for dependency in control.meta().depends_on {
                if wanted.insert(dependency) {
                    todo.push(dependency);
                }
            }
        }
    }
    Ok(catalogue.iter().copied().filter(|c| wanted.contains(c.meta().id)).collect())
}

/// The dependency depth of each control of `controls` (0 = depends on nothing selected).
pub fn layers(controls: &[&dyn Reconciler]) -> Vec<usize> {
    let mut depth = vec![0usize; controls.len()];
    for (i, control) in controls.iter().enumerate() {
        for dependency in control.meta().depends_on {
            if let Some(j) = controls[..i].iter().position(|c| c.meta().id == *dependency) {
                depth[i] = depth[i].max(depth[j] + 1);
            }
        }
    }
    depth
}

/// Checks that every control comes after those it depends on (the catalogue's invariant).
pub fn is_ordered(controls: &[&dyn Reconciler]) -> bool {
    controls.iter().enumerate().all(|(i, control)| {
        control.meta().depends_on.iter().all(|dependency| controls[..i].iter().any(|c| c.meta().id == *dependency))
    })
}
