//! Properties of the naming rules on arbitrary inputs: every branch name OpenKit produces
//! (built-in, sanitised script output, script result through the store) is a valid git
//! branch name, and nothing panics. Shared by the `rule_inputs` fuzz target and its
//! proptest twin.

use openkit_core::issues::SourceId;
use openkit_core::rules::{BranchInput, RuleKind, RuleStore, builtin_branch_name, sanitize_branch};
use openkit_core::worktree::validate_branch;

/// Checks one input (`issueId`, `name`, `type`) against the built-in rule, the sanitiser
/// and a user script that passes the inputs straight through.
pub fn branch_inputs(store: &RuleStore, issue_id: &str, name: &str, kind: &str) -> bool {
    let builtin = builtin_branch_name(issue_id, name);
    assert!(validate_branch(&builtin).is_ok(), "built-in {builtin:?}");
    if let Some(clean) = sanitize_branch(&format!("{kind}/{issue_id}-{name}")) {
        assert!(validate_branch(&clean).is_ok(), "sanitised {clean:?}");
    }
    let scripted = store.branch_name(
        Some(&SourceId::local()),
        &BranchInput {
            issue_id: issue_id.to_string(),
            name: name.to_string(),
            r#type: kind.to_string(),
        },
    );
    assert!(validate_branch(&scripted).is_ok(), "scripted {scripted:?}");
    true
}

/// A store whose local branch rule passes the inputs through, so hostile inputs reach the
/// sanitiser.
pub fn pass_through_store(dir: &std::path::Path) -> RuleStore {
    let store = RuleStore::new(openkit_core::Paths::new(dir, dir.join("global")));
    store
        .put(
            RuleKind::BranchName,
            Some(&SourceId::local()),
            Some("({ issueId, name, type }) => `${type}/${issueId}-${name}`"),
        )
        .expect("writing the rule");
    store
}

/// Splits fuzz text into three fields (by `\n`) and checks them.
pub fn lines(store: &RuleStore, text: &str) -> bool {
    let mut parts = text.splitn(3, '\n');
    let issue_id = parts.next().unwrap_or_default();
    let name = parts.next().unwrap_or_default();
    let kind = parts.next().unwrap_or_default();
    branch_inputs(store, issue_id, name, kind)
}
