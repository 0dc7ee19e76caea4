//! Properties of the `task context` Markdown on arbitrary content: it never panics, has no
//! front matter, starts with the `# <id> — <title>` heading, keeps section order, and lists
//! every todo with its id. Shared by the `task_context` fuzz target and its twin.

use openkit_core::context::{HookGroups, HookStep, TaskContext};
use openkit_core::notes::{EffectivePolicy, Todo};

/// A context built from arbitrary strings.
pub fn context(fields: &[String]) -> TaskContext {
    let f = |i: usize| fields.get(i).cloned().unwrap_or_default();
    let todos = (0..fields.len().min(4))
        .map(|i| Todo {
            id: format!("todo-{i}"),
            text: f(i),
            checked: i % 2 == 0,
            created_at: String::new(),
        })
        .collect();
    let step = |name: String| HookStep {
        name,
        kind: "prompt".into(),
        command: None,
        prompt: Some(f(5)),
        condition: None,
    };
    TaskContext {
        identifier: "LOCAL-1".into(),
        source: openkit_core::issues::SourceId::local(),
        title: f(0),
        status: "todo".into(),
        url: None,
        description: f(1),
        extra_context: Some(f(2)),
        comments: Vec::new(),
        todos,
        attachments: Vec::new(),
        hooks: HookGroups {
            pre_implementation: vec![step(f(3))],
            post_implementation: vec![step(f(4))],
            custom: Vec::new(),
        },
        git_policy: EffectivePolicy {
            can_commit: true,
            can_push: false,
            can_create_pr: false,
        },
        worktree_id: Some("LOCAL-1".into()),
    }
}

/// Renders and checks.
pub fn render(fields: &[String]) -> bool {
    let ctx = context(fields);
    let md = ctx.to_markdown();
    assert!(md.starts_with("# LOCAL-1 — "), "{md}");
    assert!(!md.starts_with("---"));
    let description = md.find("## Description").expect("a description section");
    let policy = md.find("## Git Policy").expect("a git policy section");
    assert!(description < policy);
    for todo in &ctx.todos {
        assert!(md.contains(&format!("(id: `{}`)", todo.id)), "{md}");
    }
    true
}

/// Splits fuzz text into fields.
pub fn lines(text: &str) -> bool {
    let fields: Vec<String> = text.split('\u{1e}').map(str::to_string).collect();
    render(&fields)
}
