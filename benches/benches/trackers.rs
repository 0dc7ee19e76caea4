//! Jira and Linear (issue 11), against the fake servers on 127.0.0.1 (OpenKit's cost
//! plus loopback round trips, not the trackers' latency), and the ADF renderer.
//!
//! - `trackers/jira_assigned/500`: `JiraService::issues(None)`: the assigned, not-done
//!   issues through `POST /rest/api/3/search/jql`, five pages of 100 followed by
//!   `nextPageToken`, parsed and mapped.
//! - `trackers/linear_assigned/500`: `LinearService::issues(None)`: five GraphQL pages of
//!   100 followed by `pageInfo.endCursor`, parsed and mapped.
//! - `trackers/adf_render/1MiB`: `jira::adf::to_markdown` of a 1 MiB ADF document
//!   (headings, paragraphs with marks and links, nested lists, code blocks, tables),
//!   already parsed.
//!
//! Run: `cargo bench -p openkit-benches --bench trackers` (`-- --quick` for a fast pass).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use openkit_benches::{project, runtime, workbench};
use openkit_integrations::Integrations;
use openkit_integrations::hub::Endpoints;
use openkit_integrations::jira::adf;
use openkit_integrations::secret::Secret;
use openkit_integrations::{testing_jira, testing_linear};
use serde_json::{Value, json};

const N: usize = 500;

/// An ADF document of about `bytes` bytes of JSON.
fn adf_document(bytes: usize) -> Value {
    let text = |t: &str| json!({"type": "text", "text": t});
    let mut content = Vec::new();
    let mut size = 0;
    let mut i = 0;
    while size < bytes {
        let block = match i % 5 {
            0 => {
                json!({"type": "heading", "attrs": {"level": 2}, "content": [text(&format!("Section {i}"))]})
            }
            1 => json!({"type": "paragraph", "content": [
                text("The login page breaks when "),
                {"type": "text", "text": "submit", "marks": [{"type": "code"}]},
                text(" is pressed twice; see "),
                {"type": "text", "text": "the log", "marks": [{"type": "strong"}, {"type": "link", "attrs": {"href": "https://example.invalid/log"}}]},
                {"type": "hardBreak"},
                {"type": "mention", "attrs": {"text": "@ann"}},
            ]}),
            2 => json!({"type": "bulletList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [text("first step")]},
                    {"type": "orderedList", "content": [{"type": "listItem", "content": [{"type": "paragraph", "content": [text("nested")]}]}]}]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": [text("second step")]}]},
            ]}),
            3 => {
                json!({"type": "codeBlock", "attrs": {"language": "rust"}, "content": [text("fn main() {\n    println!(\"hello\");\n}")]})
            }
            _ => json!({"type": "table", "content": [
                {"type": "tableRow", "content": [
                    {"type": "tableHeader", "content": [{"type": "paragraph", "content": [text("key")]}]},
                    {"type": "tableHeader", "content": [{"type": "paragraph", "content": [text("value")]}]}]},
                {"type": "tableRow", "content": [
                    {"type": "tableCell", "content": [{"type": "paragraph", "content": [text("a")]}]},
                    {"type": "tableCell", "content": [{"type": "paragraph", "content": [text("b")]}]}]},
            ]}),
        };
        size += serde_json::to_vec(&block).map(|v| v.len()).unwrap_or(0) + 1;
        content.push(block);
        i += 1;
    }
    json!({"type": "doc", "version": 1, "content": content})
}

fn trackers(c: &mut Criterion) {
    let rt = runtime();
    let jira_fake = rt.block_on(testing_jira::FakeJira::start());
    let linear_fake = rt.block_on(testing_linear::FakeLinear::start());
    for n in 0..N {
        jira_fake.add_issue(&format!("PROJ-{n}"), &format!("Issue number {n}"));
        linear_fake.add_issue(&format!("ENG-{n}"), &format!("Issue number {n}"));
    }
    let repo = project();
    let wb = workbench(&repo);
    let endpoints = Endpoints {
        linear_api: linear_fake.api_url(),
        ..Endpoints::default()
    };
    let integrations = Integrations::with_endpoints(Arc::clone(&wb), endpoints);
    rt.block_on(async {
        integrations
            .jira()
            .setup(
                jira_fake.url(),
                testing_jira::EMAIL,
                Secret::new(testing_jira::TOKEN),
            )
            .await
            .expect("Jira setup");
        integrations
            .linear()
            .setup(Secret::new(testing_linear::API_KEY))
            .await
            .expect("Linear setup");
    });
    let jira = Arc::clone(integrations.jira());
    let linear = Arc::clone(integrations.linear());
    assert_eq!(rt.block_on(jira.issues(None)).unwrap().len(), N);
    assert_eq!(rt.block_on(linear.issues(None)).unwrap().len(), N);

    let mut group = c.benchmark_group("trackers");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function(BenchmarkId::new("jira_assigned", N), |b| {
        b.iter(|| black_box(rt.block_on(jira.issues(None)).unwrap().len()))
    });
    group.bench_function(BenchmarkId::new("linear_assigned", N), |b| {
        b.iter(|| black_box(rt.block_on(linear.issues(None)).unwrap().len()))
    });
    let doc = adf_document(1024 * 1024);
    let size = serde_json::to_vec(&doc).unwrap().len();
    let rendered = adf::to_markdown(&doc);
    assert!(rendered.len() > 100_000, "the document renders");
    group.throughput(Throughput::Bytes(size as u64));
    group.bench_function(BenchmarkId::new("adf_render", "1MiB"), |b| {
        b.iter(|| black_box(adf::to_markdown(black_box(&doc)).len()))
    });
    group.finish();
}

criterion_group!(benches, trackers);
criterion_main!(benches);
