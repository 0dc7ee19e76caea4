//! Issue sources as a port: a source registered in the composition gets notes, task
//! context, per-source rules and worktree links exactly like the built-in ones, and local
//! tasks are the default source.

use std::sync::Arc;

use openkit_core::context::task_context;
use openkit_core::issues::{Capabilities, IssueRef, LinkedIssue, NewIssue, SourceId};
use openkit_core::rules::{BranchInput, RuleKind, RuleStore};
use openkit_core::tasks::{TaskFields, TaskStatus};
use openkit_core::testing::{MemoryIssues, TestRepo};
use openkit_core::{LocalConfig, RenameWorktree, Workbench};

use crate::{code, create, listed, within};

fn with_source(repo: &TestRepo, source: MemoryIssues) -> Arc<Workbench> {
    repo.composition()
        .issue_source(Arc::new(source))
        .build()
        .expect("building the workbench")
}

async fn linked(wb: &Workbench, worktree: &str) -> Option<LinkedIssue> {
    listed(wb, worktree)
        .await
        .unwrap_or_else(|| panic!("{worktree} is listed"))
        .linked_issue
}

#[tokio::test]
async fn a_registered_source_gets_notes_context_rules_and_links() {
    let repo = TestRepo::new();
    let wb = with_source(
        &repo,
        MemoryIssues::new("acme").with_issue(
            "ACME-1",
            "Ship the widget",
            "In Review",
            "Make it blue.",
        ),
    );
    let sources = wb.issue_sources();
    assert_eq!(
        sources.names(),
        vec![SourceId::new("acme").unwrap(), SourceId::local()]
    );
    assert_eq!(
        code(sources.get(&SourceId::new("nope").unwrap()).map(|_| ())),
        "UNKNOWN_ISSUE_SOURCE"
    );

    // Notes: accepted because the source is registered; written where they always are.
    let issue = wb.notes().issue("acme", "ACME-1").unwrap();
    wb.notes()
        .set_section(&issue, "aiContext", "Use the design tokens.")
        .unwrap();
    wb.notes().add_todo(&issue, "Check the contrast").unwrap();
    assert!(
        repo.root()
            .join(".openkit/issues/acme/ACME-1/notes.json")
            .is_file()
    );
    assert_eq!(code(wb.notes().issue("nope", "X-1")), "INVALID_SOURCE");
    assert_eq!(code(wb.notes().issue("acme", "../x")), "INVALID_ISSUE_ID");

    // Task context: the issue comes from the adapter, the rest from the notes.
    let adapter = sources.get(&issue.source).unwrap();
    adapter
        .add_comment(&issue.id, "Looks good to me")
        .await
        .unwrap();
    let context = within(task_context(
        wb.notes(),
        wb.paths(),
        &LocalConfig::default(),
        &issue,
    ))
    .await
    .unwrap()
    .expect("a context");
    assert_eq!(
        (
            context.source.as_str(),
            context.title.as_str(),
            context.status.as_str(),
            context.url.as_deref()
        ),
        (
            "acme",
            "Ship the widget",
            "In Review",
            Some("https://acme.invalid/ACME-1")
        )
    );
    assert_eq!(
        context.extra_context.as_deref(),
        Some("Use the design tokens.")
    );
    assert_eq!(context.comments[0].body, "Looks good to me");
    assert_eq!(context.todos[0].text, "Check the contrast");
    let markdown = context.to_markdown();
    assert!(
        markdown.starts_with("# ACME-1 — Ship the widget\n")
            && markdown.contains("**Source:** acme")
            && markdown.contains("Make it blue."),
        "{markdown}"
    );

    // Rules: the source has its own branch-name script.
    let rules = RuleStore::new(wb.paths().clone()).with_sources(Arc::clone(sources));
    let acme = rules.source(Some("acme")).unwrap();
    rules
        .put(
            RuleKind::BranchName,
            acme.as_ref(),
            Some("({ issueId }) => `acme/${issueId}`"),
        )
        .unwrap();
    assert!(
        repo.root()
            .join(".openkit/scripts/branch-name.acme.mjs")
            .is_file()
    );
    assert!(rules.overrides(RuleKind::BranchName).has("acme"));
    let branch = rules.branch_name(
        acme.as_ref(),
        &BranchInput {
            issue_id: issue.id.to_string(),
            name: context.title.clone(),
            r#type: "feature".into(),
        },
    );
    assert_eq!(branch, "acme/ACME-1");
    assert_eq!(code(rules.source(Some("nope"))), "INVALID_SOURCE");

    // The worktree of the issue shows it, with the adapter's status and URL.
    let wt = create(&wb, &branch, Some("ACME-1")).await;
    assert_eq!(wt.linked_issue, None);
    wb.notes().link(&issue, Some(&wt.id)).unwrap();
    assert_eq!(
        linked(&wb, "ACME-1").await,
        Some(LinkedIssue {
            issue: issue.clone(),
            url: Some("https://acme.invalid/ACME-1".into()),
            status: Some("In Review".into()),
        })
    );
    adapter.update_status(&issue.id, "Done").await.unwrap();
    assert_eq!(
        linked(&wb, "ACME-1")
            .await
            .and_then(|l| l.status)
            .as_deref(),
        Some("Done")
    );

    // The link follows a rename and is cleared by a delete.
    within(wb.rename_worktree(
        "ACME-1",
        RenameWorktree {
            name: Some("acme-widget".into()),
            branch: None,
        },
    ))
    .await
    .unwrap();
    assert_eq!(
        linked(&wb, "acme-widget").await.map(|l| l.issue),
        Some(issue.clone())
    );
    let report = within(wb.delete_worktree("acme-widget")).await.unwrap();
    assert_eq!(report.cleared_links, 1);
    assert_eq!(wb.notes().get(&issue).unwrap().linked_worktree_id, None);
}

#[tokio::test]
async fn local_tasks_are_the_default_source_and_their_status_shows_at_once() {
    let repo = TestRepo::new();
    let wb = crate::workbench(&repo);
    assert_eq!(wb.issue_sources().names(), vec![SourceId::local()]);
    let local = wb.issue_sources().get(&SourceId::local()).unwrap();
    let created = local
        .create(NewIssue {
            title: "Add a login page".into(),
            ..NewIssue::default()
        })
        .await
        .unwrap();
    let issue = created.summary.issue.clone();
    assert_eq!(issue, IssueRef::local("LOCAL-1").unwrap());
    assert_eq!(wb.tasks().get("LOCAL-1").unwrap().title, "Add a login page");

    let wt = create(&wb, "LOCAL-1/add_a_login_page", Some("LOCAL-1")).await;
    wb.notes().link(&issue, Some(&wt.id)).unwrap();
    let expect = |status: &str| LinkedIssue {
        issue: issue.clone(),
        url: None,
        status: Some(status.into()),
    };
    assert_eq!(linked(&wb, "LOCAL-1").await, Some(expect("todo")));

    // Writes through the task store and through the port are seen by the next list.
    wb.tasks()
        .update(
            "LOCAL-1",
            TaskFields {
                status: Some(TaskStatus::InProgress),
                ..TaskFields::default()
            },
        )
        .unwrap();
    assert_eq!(linked(&wb, "LOCAL-1").await, Some(expect("in-progress")));
    local.update_status(&issue.id, "done").await.unwrap();
    assert_eq!(linked(&wb, "LOCAL-1").await, Some(expect("done")));
    assert_eq!(
        code(local.update_status(&issue.id, "later").await),
        "INVALID_INPUT"
    );

    // Deleting the task deletes its notes, so the worktree is no longer linked.
    wb.tasks().delete("LOCAL-1").unwrap();
    assert_eq!(linked(&wb, "LOCAL-1").await, None);
    assert_eq!(linked(&wb, "root").await, None);
}

#[tokio::test]
async fn a_read_only_source_says_so_and_still_has_notes() {
    let repo = TestRepo::new();
    let wb = with_source(
        &repo,
        MemoryIssues::new("archive")
            .with_capabilities(Capabilities::READ_ONLY)
            .with_issue("OLD-7", "An old issue", "closed", ""),
    );
    let archive = wb
        .issue_sources()
        .get(&SourceId::new("archive").unwrap())
        .unwrap();
    assert!(archive.capabilities().is_read_only());
    assert_eq!(
        code(
            archive
                .create(NewIssue {
                    title: "x".into(),
                    ..NewIssue::default()
                })
                .await
        ),
        "ISSUE_OPERATION_UNSUPPORTED"
    );
    let old = wb.notes().issue("archive", "OLD-7").unwrap();
    assert_eq!(
        code(archive.update_status(&old.id, "open").await),
        "ISSUE_OPERATION_UNSUPPORTED"
    );
    assert_eq!(archive.list().await.unwrap().len(), 1);
    let notes = wb.notes().add_todo(&old, "Reopen?").unwrap();
    assert_eq!(notes.todos.len(), 1);

    // Built-in trackers are accepted for notes before their adapter is configured.
    for builtin in ["jira", "linear", "github", "kiket", "kizuna"] {
        let issue = wb.notes().issue(builtin, "X-1").unwrap();
        assert!(wb.notes().get(&issue).is_ok(), "{builtin}");
    }
}
