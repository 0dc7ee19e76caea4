//! The registries through the router: MCP servers (CRUD, deploy to every agent, status,
//! env overrides, scan and import), skills and custom agents.

use axum::http::{Method, StatusCode};
use openkit_core::testing::TestRepo;
use serde_json::{Value, json};

use crate::harness::{Api, assert_error};

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write(path: &std::path::Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

async fn create_search(api: &Api) -> Value {
    let (status, body) = api
        .post(
            "/api/mcp-servers",
            json!({
                "name": "My MCP Server",
                "description": "Searches the web",
                "tags": ["search", "web"],
                "command": "npx",
                "args": ["-y", "my-mcp-server"],
                "env": {"API_KEY": "global-key"}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn mcp_server_crud_with_filters_and_errors() {
    let api = Api::new();
    let body = create_search(&api).await;
    insta::assert_json_snapshot!("mcp_server_created", body, {
        ".server.createdAt" => "[ts]", ".server.updatedAt" => "[ts]"
    });
    let dup = api
        .post(
            "/api/mcp-servers",
            json!({"name": "my mcp server", "command": "x"}),
        )
        .await;
    assert_error(&dup, StatusCode::CONFLICT, "MCP_SERVER_EXISTS");
    assert_eq!(dup.1["error"], "Server \"my-mcp-server\" already exists");
    let (status, remote) = api
        .post(
            "/api/mcp-servers",
            json!({"name": "remote-mcp", "type": "http", "url": "https://mcp.example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{remote}");
    assert_eq!(remote["server"]["type"], "http");

    for bad in [
        json!({"command": "x"}),
        json!({"name": "n"}),
        json!({"name": "n", "url": "file:///etc/passwd"}),
        json!({"name": "n", "id": "../../x", "command": "x"}),
    ] {
        let answer = api.post("/api/mcp-servers", bad.clone()).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "INVALID_REGISTRY_ENTRY");
    }

    let ids = |body: &Value| -> Vec<String> {
        body["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, all) = api.get("/api/mcp-servers").await;
    assert_eq!(ids(&all), ["my-mcp-server", "remote-mcp"]);
    let (_, found) = api.get("/api/mcp-servers?q=EXAMPLE").await;
    assert_eq!(ids(&found), ["remote-mcp"]);
    let (_, tagged) = api.get("/api/mcp-servers?tag=search").await;
    assert_eq!(ids(&tagged), ["my-mcp-server"]);

    let (status, patched) = api
        .call(
            Method::PATCH,
            "/api/mcp-servers/remote-mcp",
            Some(json!({"description": "now documented", "type": "sse"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["server"]["type"], "sse");
    let (_, one) = api.get("/api/mcp-servers/remote-mcp").await;
    assert_eq!(one["server"]["description"], "now documented");

    let missing = api.get("/api/mcp-servers/nope").await;
    assert_error(&missing, StatusCode::NOT_FOUND, "MCP_SERVER_NOT_FOUND");
    assert_eq!(missing.1["error"], "Server not found");
    let missing = api
        .call(
            Method::PATCH,
            "/api/mcp-servers/nope",
            Some(json!({"name": "x"})),
        )
        .await;
    assert_error(&missing, StatusCode::NOT_FOUND, "MCP_SERVER_NOT_FOUND");
    let (status, _) = api
        .call(Method::DELETE, "/api/mcp-servers/remote-mcp", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let gone = api
        .call(Method::DELETE, "/api/mcp-servers/remote-mcp", None)
        .await;
    assert_error(&gone, StatusCode::NOT_FOUND, "MCP_SERVER_NOT_FOUND");
}

#[tokio::test]
async fn mcp_deploy_to_every_agent_status_and_undeploy() {
    let api = Api::new();
    create_search(&api).await;
    let home = api.repo.home().to_path_buf();
    let root = api.repo.root().to_path_buf();
    let settings = home.join(".config/Code/User/mcp.json");
    let original = "{\n  // mine\n  \"inputs\": [],\n}\n";
    write(&settings, original);

    // Per-project env overrides are merged over the registry env on deploy.
    let (status, env) = api
        .call(
            Method::PUT,
            "/api/mcp-env/my-mcp-server",
            Some(json!({"env": {"API_KEY": "project-key"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{env}");
    assert_eq!(
        env,
        json!({"success": true, "env": {"API_KEY": "project-key"}})
    );
    let (_, env) = api.get("/api/mcp-env/my-mcp-server").await;
    assert_eq!(env, json!({"env": {"API_KEY": "project-key"}}));
    let missing = api.get("/api/mcp-env/nope").await;
    assert_error(&missing, StatusCode::NOT_FOUND, "MCP_SERVER_NOT_FOUND");

    for tool in ["claude", "codex", "cursor", "gemini", "vscode"] {
        for scope in ["global", "project"] {
            let (status, body) = api
                .post(
                    "/api/mcp-servers/my-mcp-server/deploy",
                    json!({"tool": tool, "scope": scope}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{tool} {scope}: {body}");
            assert_eq!(body, json!({"success": true}));
        }
    }
    let claude: Value = serde_json::from_str(&read(&home.join(".claude.json"))).unwrap();
    assert_eq!(
        claude["mcpServers"]["my-mcp-server"],
        json!({"command": "npx", "args": ["-y", "my-mcp-server"], "env": {"API_KEY": "project-key"}})
    );
    assert!(read(&root.join(".codex/config.toml")).contains("[mcp_servers.my-mcp-server]"));
    assert!(read(&settings).starts_with("{\n  // mine\n  \"inputs\": [],\n"));

    // Removed by hand from Cursor's project file: not deployed there any more.
    write(&root.join(".cursor/mcp.json"), "{}\n");
    let (status, body) = api.get("/api/mcp-servers/deployment-status").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    insta::assert_json_snapshot!("mcp_deployment_status", body, {
        ".status.*.*.globalPath" => "[path]", ".status.*.*.projectPath" => "[path]"
    });
    let cursor = &body["status"]["my-mcp-server"]["cursor"];
    assert_eq!(cursor["project"], false);
    assert!(
        cursor["globalPath"]
            .as_str()
            .unwrap()
            .ends_with("/.cursor/mcp.json")
    );

    let bad = api
        .post(
            "/api/mcp-servers/my-mcp-server/deploy",
            json!({"tool": "vim", "scope": "global"}),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "UNKNOWN_TOOL");
    let bad = api
        .post(
            "/api/mcp-servers/my-mcp-server/deploy",
            json!({"tool": "claude", "scope": "team"}),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "UNKNOWN_SCOPE");
    let missing = api
        .post(
            "/api/mcp-servers/nope/deploy",
            json!({"tool": "claude", "scope": "global"}),
        )
        .await;
    assert_error(&missing, StatusCode::NOT_FOUND, "MCP_SERVER_NOT_FOUND");

    // A file that does not parse is reported and left as it is.
    let broken = root.join(".gemini/settings.json");
    write(&broken, "{ \"mcpServers\": ");
    let refused = api
        .post(
            "/api/mcp-servers/my-mcp-server/undeploy",
            json!({"tool": "gemini", "scope": "project"}),
        )
        .await;
    assert_error(&refused, StatusCode::CONFLICT, "AGENT_CONFIG_UNPARSEABLE");
    assert_eq!(read(&broken), "{ \"mcpServers\": ");

    let (status, _) = api
        .post(
            "/api/mcp-servers/my-mcp-server/undeploy",
            json!({"tool": "vscode", "scope": "global"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        read(&settings),
        original,
        "the user's file is back as it was"
    );
    let (_, body) = api.get("/api/mcp-servers/deployment-status").await;
    assert_eq!(body["status"]["my-mcp-server"]["vscode"]["global"], false);
    assert_eq!(body["status"]["my-mcp-server"]["claude"]["global"], true);
}

#[tokio::test]
async fn mcp_scan_and_import() {
    let api = Api::new();
    let root = api.repo.root().to_path_buf();
    write(
        &root.join(".mcp.json"),
        r#"{"mcpServers": {"docs": {"command": "docs-mcp", "args": ["--x"], "env": {"TOKEN": "t"}}}}"#,
    );
    write(
        &root.join(".vscode/mcp.json"),
        "{\n // comment\n \"servers\": {\"remote\": {\"type\": \"sse\", \"url\": \"https://r/sse\"}}\n}",
    );
    let (status, body) = api
        .post("/api/mcp-servers/scan", json!({"mode": "project"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    insta::assert_json_snapshot!("mcp_scan_project", body, {
        ".discovered[].foundIn[].configPath" => "[path]"
    });

    let bad = api
        .post("/api/mcp-servers/scan", json!({"mode": "galaxy"}))
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "INVALID_REGISTRY_ENTRY");
    let bad = api
        .post("/api/mcp-servers/scan", json!({"mode": "folder"}))
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "INVALID_REGISTRY_ENTRY");
    let other = api.repo.home().join("src/other/.cursor/mcp.json");
    write(
        &other,
        r#"{"mcpServers": {"theirs": {"command": "t", "env": {"SECRET": "s3cr3t"}}}}"#,
    );
    let (status, folder) = api
        .post(
            "/api/mcp-servers/scan",
            json!({"mode": "folder", "scanPath": api.repo.home().join("src")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{folder}");
    assert_eq!(folder["discovered"][0]["key"], "theirs");
    assert_eq!(folder["discovered"][0]["env"], json!({"SECRET": ""}));

    let servers: Vec<Value> = body["discovered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let mut d = d.clone();
            d["source"] = d["foundIn"][0]["configPath"].clone();
            d
        })
        .collect();
    let (status, imported) = api
        .post("/api/mcp-servers/import", json!({"servers": servers}))
        .await;
    assert_eq!(status, StatusCode::OK, "{imported}");
    assert_eq!(
        imported,
        json!({"success": true, "imported": ["docs", "remote"]})
    );
    let (_, again) = api
        .post("/api/mcp-servers/import", json!({"servers": servers}))
        .await;
    assert_eq!(again["imported"], json!([]));
    let (_, docs) = api.get("/api/mcp-servers/docs").await;
    assert_eq!(docs["server"]["env"], json!({"TOKEN": "t"}));
    let (_, rescanned) = api.post("/api/mcp-servers/scan", json!({})).await;
    assert_eq!(rescanned["discovered"][0]["alreadyInRegistry"], true);
}

/// Writes an executable script. The file is written by a child `sh`, so no descriptor
/// open for writing is ever held by this (multi-threaded) test process, whose concurrent
/// forks would otherwise make executing it fail with ETXTBSY.
fn script(dir: &std::path::Path, name: &str, body: &str) {
    use std::io::Write;
    let path = dir.join(name);
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg("cat > \"$1\" && chmod 755 \"$1\"")
        .arg("sh")
        .arg(&path)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("#!/bin/sh\n{body}\n").as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[tokio::test]
async fn skills_crud_frontmatter_merge_and_deploy() {
    let api = Api::new();
    let (status, body) = api
        .post(
            "/api/skills",
            json!({
                "name": "My Skill",
                "description": "What it does",
                "allowedTools": "Bash, Read, Write",
                "argumentHint": "",
                "disableModelInvocation": false,
                "userInvocable": false,
                "instructions": "# My Skill\n\nDo the thing."
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    insta::assert_json_snapshot!("skill_created", body, { ".skill.path" => "[path]" });
    let dup = api.post("/api/skills", json!({"name": "my-skill"})).await;
    assert_error(&dup, StatusCode::CONFLICT, "SKILL_EXISTS");
    assert_eq!(dup.1["error"], "Skill \"my-skill\" already exists");
    let nameless = api.post("/api/skills", json!({"description": "x"})).await;
    assert_error(&nameless, StatusCode::BAD_REQUEST, "INVALID_REGISTRY_ENTRY");

    let (status, _) = api
        .call(
            Method::PATCH,
            "/api/skills/my-skill",
            Some(json!({"frontmatter": {"description": "updated", "model": "sonnet"}, "referenceMd": "# Reference\n"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, detail) = api.get("/api/skills/my-skill").await;
    insta::assert_json_snapshot!("skill_detail", detail, { ".skill.path" => "[path]" });
    let missing = api.get("/api/skills/nope").await;
    assert_error(&missing, StatusCode::NOT_FOUND, "SKILL_NOT_FOUND");
    assert_eq!(missing.1["error"], "Skill not found");
    let traversal = api.get("/api/skills/..%2F..%2Fetc").await;
    assert_error(&traversal, StatusCode::NOT_FOUND, "SKILL_NOT_FOUND");

    for (agent, scope) in [
        ("claude", "project"),
        ("codex", "global"),
        ("vscode", "project"),
    ] {
        let (status, body) = api
            .post(
                "/api/skills/my-skill/deploy",
                json!({"agent": agent, "scope": scope}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{agent}: {body}");
    }
    let link = api.repo.root().join(".claude/skills/my-skill");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(read(&link.join("SKILL.md")).contains("description: updated"));
    let bad = api
        .post(
            "/api/skills/my-skill/deploy",
            json!({"agent": "emacs", "scope": "project"}),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "UNKNOWN_TOOL");

    // A skill directory of the user's own, found where an agent reads skills.
    write(
        &api.repo.home().join(".cursor/skills/handmade/SKILL.md"),
        "---\nname: handmade\n---\nMine.\n",
    );
    let (_, status) = api.get("/api/skills/deployment-status").await;
    insta::assert_json_snapshot!("skill_deployment_status", status);

    let (status, _) = api
        .post(
            "/api/skills/my-skill/undeploy",
            json!({"agent": "claude", "scope": "project"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(std::fs::symlink_metadata(&link).is_err());
    let (_, list) = api.get("/api/skills").await;
    assert_eq!(list["skills"][0]["name"], "my-skill");
    let (status, _) = api.call(Method::DELETE, "/api/skills/my-skill", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(std::fs::symlink_metadata(api.repo.home().join(".codex/skills/my-skill")).is_err());
    let gone = api.call(Method::DELETE, "/api/skills/my-skill", None).await;
    assert_error(&gone, StatusCode::NOT_FOUND, "SKILL_NOT_FOUND");
}

#[tokio::test]
async fn skills_scan_and_import() {
    let api = Api::new();
    write(
        &api.repo.root().join(".claude/skills/review/SKILL.md"),
        "---\nname: review\ndescription: Reviews changes\n---\nReview.\n",
    );
    let (status, body) = api
        .post("/api/skills/scan", json!({"mode": "project"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    insta::assert_json_snapshot!("skill_scan_project", body, { ".discovered[].skillPath" => "[path]" });
    let skills = json!([{"name": "review", "skillPath": body["discovered"][0]["skillPath"]}]);
    let (status, imported) = api
        .post("/api/skills/import", json!({"skills": skills}))
        .await;
    assert_eq!(status, StatusCode::OK, "{imported}");
    assert_eq!(imported, json!({"success": true, "imported": ["review"]}));
    let (_, detail) = api.get("/api/skills/review").await;
    assert_eq!(detail["skill"]["description"], "Reviews changes");
    let bad = api
        .post(
            "/api/skills/import",
            json!({"skills": [{"name": "x", "skillPath": "/nonexistent"}]}),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "INVALID_REGISTRY_ENTRY");
}

#[tokio::test]
async fn skills_install_through_a_fake_npx() {
    let bin = tempfile::tempdir().unwrap();
    let api = Api::with_search_path(
        openkit_core::testing::TestRepo::new(),
        vec![bin.path().to_path_buf()],
    );
    let (_, available) = api.get("/api/skills/npx-available").await;
    assert_eq!(available, json!({"available": false}));
    let missing = api
        .post("/api/skills/install", json!({"repo": "owner/repo"}))
        .await;
    assert_error(
        &missing,
        StatusCode::SERVICE_UNAVAILABLE,
        "NPX_NOT_AVAILABLE",
    );

    // A fake npx that checks its arguments and "installs" one skill for Claude Code.
    script(
        bin.path(),
        "npx",
        "[ \"$*\" = \"-y skills add owner/repo --skill lint -a claude-code -a cursor -y\" ] || { echo \"bad args: $*\" >&2; exit 3; }\n\
         mkdir -p .claude/skills/lint && printf -- '---\\nname: lint\\n---\\n' > .claude/skills/lint/SKILL.md",
    );
    let (_, available) = api.get("/api/skills/npx-available").await;
    assert_eq!(available, json!({"available": true}));
    let (status, body) = api
        .post(
            "/api/skills/install",
            json!({"repo": "owner/repo", "skill": "lint", "agents": ["claude", "cursor"], "scope": "project"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"success": true, "installed": ["lint"]}));
    let failed = api
        .post("/api/skills/install", json!({"repo": "other/repo"}))
        .await;
    assert_error(&failed, StatusCode::BAD_REQUEST, "SKILL_INSTALL_FAILED");
    assert!(failed.1["error"].as_str().unwrap().contains("bad args"));
    let injected = api
        .post("/api/skills/install", json!({"repo": "--config=x"}))
        .await;
    assert_error(&injected, StatusCode::BAD_REQUEST, "INVALID_REGISTRY_ENTRY");

    let (_, feed) = api.get("/api/activity?category=system").await;
    let kinds: Vec<&str> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "skill_install_started",
            "skill_installed",
            "skill_install_started",
            "skill_install_failed"
        ]
    );
}

#[tokio::test]
async fn custom_agents_create_deploy_sync_scan_and_import() {
    let api = Api::new();
    let (status, body) = api
        .post(
            "/api/claude/custom-agents",
            json!({
                "name": "reviewer",
                "description": "Code review specialist",
                "tools": "Read, Grep, Glob",
                "instructions": "# reviewer\nReview carefully.",
                "scope": "project",
                "deployAgents": ["claude", "codex"]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    insta::assert_json_snapshot!("custom_agent_created", body, {
        ".agent.agentPath" => "[path]", ".agent.installPath" => "[path]"
    });
    let root = api.repo.root().to_path_buf();
    assert!(root.join(".claude/agents/reviewer.md").is_file());
    assert!(root.join(".codex/agents/reviewer.md").is_file());
    let dup = api
        .post("/api/claude/custom-agents", json!({"name": "reviewer"}))
        .await;
    assert_error(&dup, StatusCode::CONFLICT, "CUSTOM_AGENT_EXISTS");
    let bad = api
        .post(
            "/api/claude/custom-agents",
            json!({"name": "x", "deployAgents": ["vim"]}),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "UNKNOWN_TOOL");

    let (_, list) = api.get("/api/claude/custom-agents").await;
    insta::assert_json_snapshot!("custom_agent_list", list);

    let (status, body) = api
        .post(
            "/api/claude/custom-agents/custom::reviewer/deploy",
            json!({"agent": "vscode", "scope": "global"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let vscode = api
        .repo
        .home()
        .join(".config/Code/User/prompts/reviewer.agent.md");
    assert!(vscode.is_file());
    let content = "---\nname: reviewer\ndescription: v2\n---\nNew body\n";
    let (status, saved) = api
        .call(
            Method::PATCH,
            "/api/claude/custom-agents/custom::reviewer",
            Some(json!({"content": content})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["agent"]["description"], "v2");
    assert_eq!(
        read(&vscode),
        content,
        "deployed copies follow the registry"
    );
    assert_eq!(read(&root.join(".claude/agents/reviewer.md")), content);

    let (status, _) = api
        .post(
            "/api/claude/custom-agents/custom::reviewer/undeploy",
            json!({"agent": "codex", "scope": "project"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, detail) = api.get("/api/claude/custom-agents/custom::reviewer").await;
    assert_eq!(
        detail["agent"]["deployments"]["codex"],
        json!({"global": false, "project": false})
    );
    assert_eq!(
        detail["agent"]["deployments"]["vscode"],
        json!({"global": true, "project": false})
    );
    assert_eq!(detail["agent"]["content"], content);

    let invalid = api.get("/api/claude/custom-agents/reviewer").await;
    assert_error(&invalid, StatusCode::BAD_REQUEST, "INVALID_CUSTOM_AGENT_ID");
    assert_eq!(invalid.1["error"], "Invalid custom agent id");
    let missing = api.get("/api/claude/custom-agents/custom::nobody").await;
    assert_error(&missing, StatusCode::NOT_FOUND, "CUSTOM_AGENT_NOT_FOUND");
    assert_eq!(missing.1["error"], "Custom agent not found");

    // Scan another folder and import what is there.
    let elsewhere = api.repo.home().join("code/app/.cursor/agents/tester.md");
    write(
        &elsewhere,
        "---\nname: tester\ndescription: Writes tests\n---\nTest.\n",
    );
    let (status, found) = api
        .post(
            "/api/claude/custom-agents/scan",
            json!({"mode": "folder", "scanPath": api.repo.home().join("code")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["discovered"][0]["name"], "tester");
    assert_eq!(found["discovered"][0]["alreadyInRegistry"], false);
    let (status, imported) = api
        .post(
            "/api/claude/custom-agents/import",
            json!({
                "scope": "project",
                "deployAgents": ["gemini"],
                "agents": [{"name": "tester", "agentPath": elsewhere}]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{imported}");
    assert_eq!(imported, json!({"success": true, "imported": ["tester"]}));
    assert!(root.join(".gemini/agents/tester.md").is_file());

    let (status, _) = api
        .call(
            Method::DELETE,
            "/api/claude/custom-agents/custom::reviewer",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!vscode.exists());
    let gone = api
        .call(
            Method::DELETE,
            "/api/claude/custom-agents/custom::reviewer",
            None,
        )
        .await;
    assert_error(&gone, StatusCode::NOT_FOUND, "CUSTOM_AGENT_NOT_FOUND");
}

/// A plugin install directory with a manifest, an agent, a command and an MCP server.
fn plugin_dir(root: &std::path::Path) -> std::path::PathBuf {
    let dir = root.join("plugins/cache/fmt");
    for (rel, text) in [
        (
            ".claude-plugin/plugin.json",
            r#"{"name": "fmt", "description": "Formats code", "version": "1.0.0", "author": {"name": "Ann"}, "license": "MIT", "keywords": ["format"]}"#,
        ),
        (
            "agents/reviewer.md",
            "---\nname: reviewer\ndescription: Reviews formatting\n---\nReview.\n",
        ),
        ("commands/format.md", "# format\n"),
        (
            ".mcp.json",
            r#"{"mcpServers": {"fmt": {"command": "sh", "env": {"TOKEN": "${FMT_TOKEN}"}}}}"#,
        ),
        ("README.md", "# fmt\n"),
    ] {
        write(&dir.join(rel), text);
    }
    dir
}

#[tokio::test]
async fn claude_plugins_through_a_fake_claude_cli() {
    let bin = tempfile::tempdir().unwrap();
    let api = Api::with_search_path(
        openkit_core::testing::TestRepo::new(),
        vec![bin.path().to_path_buf()],
    );
    let dir = plugin_dir(api.repo.home());
    let log = bin.path().join("calls.log");
    script(
        bin.path(),
        "claude",
        &format!(
            r#"echo "$*" >> {log}
case "$*" in
  "plugin list --json") printf '[{{"id": "fmt@market", "version": "1.0.0", "scope": "user", "enabled": true, "installPath": "{dir}"}}]' ;;
  "plugin marketplace list --json") printf '[{{"name": "market", "source": "github", "repo": "acme/market"}}]' ;;
  "plugin install fmt@market --scope project"|"plugin enable fmt@market --scope project"|"plugin disable fmt@market --scope user"|"plugin update fmt@market"|"plugin marketplace add acme/other") ;;
  "plugin uninstall fmt@market --scope project"|"plugin enable fmt@market"|"plugin disable fmt@market --scope local"|"plugin marketplace remove market"|"plugin marketplace update market") ;;
  *) echo "unknown command: $*" >&2; exit 1 ;;
esac"#,
            log = log.display(),
            dir = dir.display()
        ),
    );

    let (status, list) = api.get("/api/claude/plugins").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    insta::assert_json_snapshot!("claude_plugins", list);
    let (status, detail) = api.get("/api/claude/plugins/fmt@market").await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(
        detail["plugin"]["components"]["agents"],
        json!(["reviewer"])
    );
    assert_eq!(detail["plugin"]["readme"], "# fmt\n");
    assert_eq!(detail["plugin"]["license"], "MIT");
    let missing = api.get("/api/claude/plugins/nope@market").await;
    assert_error(&missing, StatusCode::NOT_FOUND, "PLUGIN_NOT_FOUND");
    assert_eq!(missing.1["error"], "Plugin not found");
    let (_, raw) = api.get("/api/claude/plugins/debug").await;
    assert_eq!(raw["success"], true);
    assert_eq!(raw["parsed"][0]["id"], "fmt@market");

    let (status, _) = api
        .post(
            "/api/claude/plugins/install",
            json!({"ref": "fmt@market", "scope": "project"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let failed = api
        .post(
            "/api/claude/plugins/install",
            json!({"ref": "other@market"}),
        )
        .await;
    assert_error(&failed, StatusCode::BAD_REQUEST, "PLUGIN_COMMAND_FAILED");
    assert!(
        failed.1["error"]
            .as_str()
            .unwrap()
            .contains("unknown command")
    );
    let injected = api
        .post("/api/claude/plugins/install", json!({"ref": "--help"}))
        .await;
    assert_error(&injected, StatusCode::BAD_REQUEST, "INVALID_REGISTRY_ENTRY");
    let (status, _) = api
        .post("/api/claude/plugins/fmt@market/update", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, markets) = api.get("/api/claude/plugins/marketplaces").await;
    assert_eq!(
        markets,
        json!({"marketplaces": [{"name": "market", "source": "github", "repo": "acme/market"}]})
    );
    let (status, _) = api
        .post(
            "/api/claude/plugins/marketplaces",
            json!({"source": "acme/other"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for (path, body) in [
        (
            "/api/claude/plugins/fmt@market/uninstall",
            json!({"scope": "project"}),
        ),
        ("/api/claude/plugins/fmt@market/enable", json!({})),
        (
            "/api/claude/plugins/fmt@market/disable",
            json!({"scope": "local"}),
        ),
        ("/api/claude/plugins/marketplaces/market/update", json!({})),
    ] {
        let (status, answer) = api.post(path, body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    }
    let (status, _) = api
        .call(
            Method::DELETE,
            "/api/claude/plugins/marketplaces/market",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let bad_scope = api
        .post(
            "/api/claude/plugins/fmt@market/enable",
            json!({"scope": "team"}),
        )
        .await;
    assert_error(&bad_scope, StatusCode::BAD_REQUEST, "UNKNOWN_SCOPE");

    // Plugin agents: copied to other agents, the plugin enabled/disabled for Claude.
    let (_, agents) = api.get("/api/claude/agents").await;
    assert_eq!(agents["cliAvailable"], true);
    assert_eq!(agents["agents"][0]["id"], "fmt@market::reviewer");
    assert_eq!(
        agents["agents"][0]["deployments"]["claude"],
        json!({"global": true, "project": false})
    );
    let (status, body) = api
        .post(
            "/api/claude/agents/deploy",
            json!({"id": "fmt@market::reviewer", "agent": "cursor", "scope": "project"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let copy = api.repo.root().join(".cursor/agents/reviewer.md");
    assert_eq!(read(&copy), read(&dir.join("agents/reviewer.md")));
    let (_, detail) = api
        .get("/api/claude/agents/detail?id=fmt@market::reviewer")
        .await;
    assert_eq!(
        detail["agent"]["deployments"]["cursor"],
        json!({"global": false, "project": true})
    );
    assert_eq!(detail["agent"]["content"], read(&copy));
    let (_, by_path) = api.get("/api/claude/agents/fmt@market::reviewer").await;
    assert_eq!(by_path, detail);
    let (status, _) = api
        .post(
            "/api/claude/agents/deploy",
            json!({"id": "fmt@market::reviewer", "agent": "claude", "scope": "project"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api
        .post(
            "/api/claude/agents/undeploy",
            json!({"id": "fmt@market::reviewer", "agent": "claude", "scope": "global"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api
        .post(
            "/api/claude/agents/undeploy",
            json!({"id": "fmt@market::reviewer", "agent": "cursor", "scope": "project"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!copy.exists());
    let bad = api.get("/api/claude/agents/detail?id=reviewer").await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "INVALID_AGENT_ID");
    assert_eq!(bad.1["error"], "Invalid agent id");
    let gone = api
        .get("/api/claude/agents/detail?id=fmt@market::ghost")
        .await;
    assert_error(&gone, StatusCode::NOT_FOUND, "AGENT_DEFINITION_NOT_FOUND");

    let calls = read(&log);
    for expected in [
        "plugin install fmt@market --scope project",
        "plugin update fmt@market",
        "plugin marketplace add acme/other",
        "plugin enable fmt@market --scope project",
        "plugin disable fmt@market --scope user",
        "plugin uninstall fmt@market --scope project",
        "plugin enable fmt@market",
        "plugin disable fmt@market --scope local",
        "plugin marketplace remove market",
        "plugin marketplace update market",
    ] {
        assert!(
            calls.lines().any(|l| l == expected),
            "{expected} in {calls}"
        );
    }
    // Every run is in the ops log.
    let (_, ops) = api.get("/api/logs?search=plugin%20install").await;
    assert!(!ops["events"].as_array().unwrap().is_empty(), "{ops}");
}

#[tokio::test]
async fn claude_plugins_without_the_cli_are_read_from_files() {
    let bin = tempfile::tempdir().unwrap();
    let api = Api::with_search_path(
        openkit_core::testing::TestRepo::new(),
        vec![bin.path().to_path_buf()],
    );
    let home = api.repo.home().to_path_buf();
    let dir = plugin_dir(&home);
    write(
        &home.join(".claude/plugins/installed_plugins.json"),
        &json!({"version": 2, "plugins": {"fmt@market": [{"scope": "user", "installPath": dir, "version": "1.0.0"}]}}).to_string(),
    );
    write(
        &home.join(".claude/settings.json"),
        r#"{"enabledPlugins": {"fmt@market": false}}"#,
    );
    let market = home.join(".claude/plugins/marketplaces/market");
    write(
        &home.join(".claude/plugins/known_marketplaces.json"),
        &json!({"market": {"source": {"source": "github", "repo": "acme/market"}, "installLocation": market}}).to_string(),
    );
    write(
        &market.join(".claude-plugin/marketplace.json"),
        r#"{"name": "market", "plugins": [{"name": "fmt", "description": "Formats code", "version": "1.0.0"}, {"name": "lint", "description": "Lints"}]}"#,
    );

    let (status, list) = api.get("/api/claude/plugins").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["cliAvailable"], false);
    assert_eq!(list["plugins"][0]["id"], "fmt@market");
    assert_eq!(list["plugins"][0]["enabled"], false);
    let (_, markets) = api.get("/api/claude/plugins/marketplaces").await;
    assert_eq!(
        markets["marketplaces"][0],
        json!({"name": "market", "source": "github", "repo": "acme/market"})
    );
    let (_, available) = api.get("/api/claude/plugins/available").await;
    insta::assert_json_snapshot!("claude_plugins_available", available);

    let unavailable = api.get("/api/claude/plugins/fmt@market").await;
    assert_error(
        &unavailable,
        StatusCode::NOT_IMPLEMENTED,
        "CLAUDE_CLI_UNAVAILABLE",
    );
    assert_eq!(unavailable.1["error"], "Claude CLI not available");
    assert_eq!(unavailable.1["cliAvailable"], false);
    let unavailable = api
        .post("/api/claude/plugins/install", json!({"ref": "lint@market"}))
        .await;
    assert_error(
        &unavailable,
        StatusCode::NOT_IMPLEMENTED,
        "CLAUDE_CLI_UNAVAILABLE",
    );
    let (_, agents) = api.get("/api/claude/agents").await;
    assert_eq!(agents["cliAvailable"], false);
    assert_eq!(agents["agents"][0]["pluginEnabled"], false);
}

#[tokio::test]
async fn config_init_enables_the_work_on_task_skill_for_every_agent() {
    let api = Api::new();
    let root = api.repo.root().to_path_buf();
    // Something of the user's in one agent's place: left alone, init still succeeds.
    write(
        &root.join(".cursor/skills/work-on-task/SKILL.md"),
        "---\nname: mine\n---\n",
    );
    let (status, body) = api
        .post("/api/config/init", json!({"baseBranch": "main"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for dir in [
        ".claude/skills",
        ".codex/skills",
        ".gemini/skills",
        ".github/skills",
    ] {
        let skill = read(&root.join(dir).join("work-on-task/SKILL.md"));
        assert!(skill.contains("openkit task context"), "{dir}");
    }
    assert_eq!(
        read(&root.join(".cursor/skills/work-on-task/SKILL.md")),
        "---\nname: mine\n---\n"
    );
    let (_, skill) = api.get("/api/skills/work-on-task").await;
    assert_eq!(skill["skill"]["frontmatter"]["name"], "work-on-task");
}

#[tokio::test]
async fn mcp_env_values_never_reach_the_ops_log() {
    let api = Api::new();
    let (status, _) = api
        .post(
            "/api/mcp-servers",
            json!({"name": "s", "command": "x", "env": {"OPENAI_KEY": "sk-very-secret-value"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api
        .call(
            Method::PUT,
            "/api/mcp-env/s",
            Some(json!({"env": {"REGION_SECRETISH": "eu-secret-value"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    api.backbone.flush();
    let log = std::fs::read_to_string(api.repo.root().join(".openkit/ops-log.jsonl")).unwrap();
    assert!(log.contains("/api/mcp-servers"), "the request is traced");
    assert!(!log.contains("sk-very-secret-value"), "{log}");
    assert!(!log.contains("eu-secret-value"), "{log}");
}

#[tokio::test]
async fn the_builtin_openkit_server_is_listed_and_deployable() {
    let repo = TestRepo::new();
    let api = Api::with_composition(
        repo,
        |h| h,
        |c| c.openkit_program("/opt/openkit/bin/openkit"),
    );
    let root = api.repo.root().to_path_buf();
    let (status, body) = api.get("/api/mcp-servers/deployment-status").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["status"]["openkit"]["claude"]["project"], false,
        "{body}"
    );

    let (status, body) = api
        .post(
            "/api/mcp-servers/openkit/deploy",
            json!({"tool": "claude", "scope": "project"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let project: Value = serde_json::from_str(&read(&root.join(".mcp.json"))).unwrap();
    assert_eq!(
        project["mcpServers"]["openkit"],
        json!({"command": "/opt/openkit/bin/openkit", "args": ["mcp"]})
    );
    let (_, body) = api.get("/api/mcp-servers/deployment-status").await;
    assert_eq!(
        body["status"]["openkit"]["claude"]["project"], true,
        "{body}"
    );

    let (status, body) = api
        .post(
            "/api/mcp-servers/openkit/undeploy",
            json!({"tool": "claude", "scope": "project"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = api.get("/api/mcp-servers/deployment-status").await;
    assert_eq!(body["status"]["openkit"]["claude"]["project"], false);
    // Without the program (an embedder that did not give it) there is no built-in.
    let plain = Api::new();
    let (_, body) = plain.get("/api/mcp-servers/deployment-status").await;
    assert!(body["status"].get("openkit").is_none(), "{body}");
}
