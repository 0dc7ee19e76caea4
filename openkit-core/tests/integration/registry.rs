//! The registries against a temporary HOME and project: every agent and scope, files
//! of the user's kept byte-for-byte, status read from the files as they are.

use std::collections::BTreeMap;
use std::path::Path;

use openkit_core::DomainError;
use openkit_core::registry::deploy::ScanMode;
use openkit_core::registry::mcp::{NewMcpServer, Transport};
use openkit_core::registry::{Registries, Scope, Tool};
use openkit_core::testing::TestRepo;
use serde_json::{Value, json};

fn registries(repo: &TestRepo) -> Registries {
    Registries::new(&repo.paths(), &repo.host_env())
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Pre-existing user files, with comments and odd formatting, for every agent file.
/// (A servers object left empty by an undeploy is removed, and a one-line servers object
/// becomes multi-line when an entry joins it, so the seeds have neither.)
fn seed(repo: &TestRepo) -> BTreeMap<String, String> {
    let home = repo.home();
    let root = repo.root();
    let files = [
        (
            home.join(".claude.json"),
            "{\n  \"numStartups\": 12,\n  \"projects\": {}\n}\n",
        ),
        (
            root.join(".mcp.json"),
            "{\n    \"mcpServers\": {\n        \"team\": {\"command\": \"team-mcp\"}\n    }\n}\n",
        ),
        (
            home.join(".gemini/settings.json"),
            "// gemini\n{\n  \"theme\": \"Dracula\", // dark\n}\n",
        ),
        (root.join(".gemini/settings.json"), "{}\n"),
        (
            home.join(".codex/config.toml"),
            "# codex\nmodel = \"o3\"  # fast\n\n[profiles.x]\nmodel = \"o4\"\n",
        ),
        (root.join(".codex/config.toml"), ""),
        (home.join(".cursor/mcp.json"), "{\n  \"other\":1\n}"),
        (
            root.join(".cursor/mcp.json"),
            "{\n\t\"mcpServers\": {\n\t\t\"db\": { \"url\": \"http://localhost:9\" }\n\t}\n}\n",
        ),
        (
            home.join(".config/Code/User/mcp.json"),
            "{\n  // inputs first\n  \"inputs\": [],\n  \"servers\": {\n    \"mine\": {\"type\": \"http\", \"url\": \"https://m\"}\n  },\n}\n",
        ),
    ];
    files
        .into_iter()
        .map(|(path, text)| {
            write(&path, text);
            (path.display().to_string(), text.to_string())
        })
        .collect()
}

#[test]
fn every_agent_and_scope_round_trips_and_keeps_the_users_files() {
    let repo = TestRepo::new();
    let before = seed(&repo);
    let reg = registries(&repo);
    reg.mcp()
        .create(NewMcpServer {
            name: "Search".into(),
            command: Some("npx".into()),
            args: Some(vec!["-y".into(), "search-mcp".into()]),
            env: BTreeMap::from([("API_KEY".into(), "global".into())]),
            ..NewMcpServer::default()
        })
        .unwrap();
    reg.mcp()
        .create(NewMcpServer {
            name: "remote".into(),
            transport: Some(Transport::Sse),
            url: Some("https://mcp.example.com/sse".into()),
            ..NewMcpServer::default()
        })
        .unwrap();
    reg.mcp()
        .set_env_overrides(
            "search",
            BTreeMap::from([("API_KEY".into(), "project".into())]),
        )
        .unwrap();

    for tool in Tool::ALL {
        for scope in Scope::ALL {
            let path = reg.deploy_server("search", tool, scope).unwrap();
            reg.deploy_server("remote", tool, scope).unwrap();
            // Idempotent: a second deploy writes nothing new.
            let once = read(&path);
            reg.deploy_server("search", tool, scope).unwrap();
            assert_eq!(read(&path), once, "{tool} {scope:?}");
        }
    }
    let status = reg.server_status().unwrap();
    for tool in Tool::ALL {
        let s = &status["search"][&tool];
        assert!(s.project.deployed && !s.project.drifted, "{tool}");
        let g = s.global.as_ref().unwrap();
        assert!(g.deployed && !g.drifted, "{tool}");
    }

    // What each agent reads.
    let claude: Value = serde_json::from_str(&read(&repo.home().join(".claude.json"))).unwrap();
    assert_eq!(claude["numStartups"], 12);
    assert_eq!(
        claude["mcpServers"]["search"],
        json!({"command": "npx", "args": ["-y", "search-mcp"], "env": {"API_KEY": "project"}})
    );
    assert_eq!(
        claude["mcpServers"]["remote"],
        json!({"type": "sse", "url": "https://mcp.example.com/sse"})
    );
    let codex = read(&repo.home().join(".codex/config.toml"));
    assert!(
        codex.starts_with("# codex\nmodel = \"o3\"  # fast\n"),
        "{codex}"
    );
    assert!(codex.contains("[mcp_servers.search]\ncommand = \"npx\"\nargs = [\"-y\", \"search-mcp\"]\nenv = { API_KEY = \"project\" }\n"), "{codex}");
    let vscode = read(&repo.home().join(".config/Code/User/mcp.json"));
    assert!(
        vscode.starts_with("{\n  // inputs first\n  \"inputs\": [],\n"),
        "{vscode}"
    );
    assert!(vscode.contains("\"type\": \"stdio\""), "{vscode}");
    let gemini = read(&repo.home().join(".gemini/settings.json"));
    assert!(
        gemini.starts_with("// gemini\n{\n  \"theme\": \"Dracula\", // dark\n"),
        "{gemini}"
    );

    // Drift: an entry edited by hand; removal by hand.
    let cursor = repo.root().join(".cursor/mcp.json");
    let edited = read(&cursor).replace("search-mcp", "search-mcp@2");
    write(&cursor, &edited);
    let claude_project = repo.root().join(".mcp.json");
    let mut doc = openkit_core::registry::json_doc::JsonDoc::parse(&read(&claude_project)).unwrap();
    doc.remove(&["mcpServers"], "search");
    write(&claude_project, &doc.text());
    let status = reg.server_status().unwrap();
    assert!(status["search"][&Tool::Cursor].project.drifted);
    assert!(!status["search"][&Tool::Claude].project.deployed);

    // Undeploying everything gives every file back as it was.
    for tool in Tool::ALL {
        for scope in Scope::ALL {
            reg.undeploy_server("search", tool, scope).unwrap();
            reg.undeploy_server("remote", tool, scope).unwrap();
        }
    }
    for (path, text) in before {
        assert_eq!(read(Path::new(&path)), text, "{path}");
    }
}

#[test]
fn an_unparseable_agent_file_is_reported_and_left_untouched() {
    let repo = TestRepo::new();
    let reg = registries(&repo);
    reg.mcp()
        .create(NewMcpServer {
            name: "s".into(),
            command: Some("x".into()),
            ..NewMcpServer::default()
        })
        .unwrap();
    let broken = repo.root().join(".cursor/mcp.json");
    write(&broken, "{ \"mcpServers\": { ");
    let err = reg
        .deploy_server("s", Tool::Cursor, Scope::Project)
        .unwrap_err();
    assert_eq!(err.code(), "AGENT_CONFIG_UNPARSEABLE");
    let err = reg
        .undeploy_server("s", Tool::Cursor, Scope::Project)
        .unwrap_err();
    assert_eq!(err.code(), "AGENT_CONFIG_UNPARSEABLE");
    assert_eq!(read(&broken), "{ \"mcpServers\": { ");
    let toml = repo.root().join(".codex/config.toml");
    write(&toml, "[mcp_servers\n");
    assert_eq!(
        reg.deploy_server("s", Tool::Codex, Scope::Project)
            .unwrap_err()
            .code(),
        "AGENT_CONFIG_UNPARSEABLE"
    );
    assert_eq!(read(&toml), "[mcp_servers\n");
    let status = reg.server_status().unwrap();
    let cursor = &status["s"][&Tool::Cursor].project;
    assert!(!cursor.deployed && cursor.error.is_some());
}

#[test]
fn a_symlinked_config_file_stays_a_link() {
    let repo = TestRepo::new();
    let reg = registries(&repo);
    reg.mcp()
        .create(NewMcpServer {
            name: "s".into(),
            command: Some("x".into()),
            ..NewMcpServer::default()
        })
        .unwrap();
    let real = repo.home().join("dotfiles/claude.json");
    write(&real, "{}\n");
    std::os::unix::fs::symlink(&real, repo.home().join(".claude.json")).unwrap();
    reg.deploy_server("s", Tool::Claude, Scope::Global).unwrap();
    assert!(
        std::fs::symlink_metadata(repo.home().join(".claude.json"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(read(&real).contains("\"s\""));
}

#[test]
fn scan_finds_servers_and_blanks_secrets_of_other_projects() {
    let repo = TestRepo::new();
    let reg = registries(&repo);
    write(
        &repo.root().join(".mcp.json"),
        r#"{"mcpServers": {"local-db": {"command": "db-mcp", "env": {"TOKEN": "ours"}}}}"#,
    );
    write(
        &repo.root().join(".vscode/mcp.json"),
        "{ // c\n \"servers\": {\"local-db\": {\"type\": \"stdio\", \"command\": \"db-mcp\"}, \"web\": {\"type\": \"http\", \"url\": \"https://w\"}}}",
    );
    let other = repo.home().join("work/other/.cursor/mcp.json");
    write(
        &other,
        r#"{"mcpServers": {"secret": {"command": "s", "env": {"TOKEN": "theirs"}}}}"#,
    );
    write(
        &repo.home().join(".gemini/settings.json"),
        r#"{"mcpServers": {"g": {"httpUrl": "https://g/mcp"}}}"#,
    );

    // Claude Code's local scope for this project (and another project's, not read).
    write(
        &repo.home().join(".claude.json"),
        &json!({"projects": {
            repo.root().to_string_lossy(): {"mcpServers": {"mine": {"command": "m", "env": {"K": "v"}}}},
            "/elsewhere": {"mcpServers": {"not-mine": {"command": "n"}}}
        }})
        .to_string(),
    );
    let found = reg.scan_servers(&ScanMode::Project).unwrap();
    let keys: Vec<&str> = found.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(keys, ["local-db", "mine", "web"]);
    let mine = found[1].clone();
    assert_eq!(mine.env["K"], "v");
    assert_eq!(mine.found_in, [repo.home().join(".claude.json")]);
    assert_eq!(found[0].found_in.len(), 2);
    assert_eq!(found[0].env["TOKEN"], "ours");

    let folder = reg
        .scan_servers(&ScanMode::Folder(repo.home().join("work")))
        .unwrap();
    assert_eq!(folder.len(), 1);
    assert_eq!(
        folder[0].env["TOKEN"], "",
        "another project's secret is not handed out"
    );

    let device = reg.scan_servers(&ScanMode::Device).unwrap();
    let g = device.iter().find(|d| d.key == "g").unwrap();
    assert_eq!(
        (g.url.as_deref(), g.transport),
        (Some("https://g/mcp"), Some(Transport::Http))
    );
    assert!(device.iter().any(|d| d.key == "secret"));

    let imported = reg
        .import_servers(
            found
                .into_iter()
                .map(|d| d.into_new(None, Some("scan".into())))
                .collect(),
        )
        .unwrap();
    assert_eq!(imported, ["local-db", "mine", "web"]);
    let again = reg.scan_servers(&ScanMode::Project).unwrap();
    assert!(again.iter().all(|d| d.already_in_registry));
}
