//! Detecting start/install commands and the base branch from a project directory.

use std::path::Path;

use serde::Serialize;

/// Values detected from a project, used as defaults by init.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DetectedConfig {
    /// e.g. `pnpm dev`; empty when nothing was found.
    pub start_command: String,
    /// e.g. `pnpm install`; empty when nothing was found.
    pub install_command: String,
    /// The repository's default branch.
    pub base_branch: String,
    /// The package manager whose lockfile was found.
    pub package_manager: Option<String>,
}

/// Inspects `project_root`: lockfiles (pnpm, yarn, bun, npm), `package.json` scripts
/// (`dev`, then `start`), and git (`origin/HEAD`, then develop, main, master).
pub fn detect(project_root: &Path) -> DetectedConfig {
    let pm = [
        "pnpm-lock.yaml",
        "yarn.lock",
        "bun.lockb",
        "bun.lock",
        "package-lock.json",
    ]
    .iter()
    .find(|f| project_root.join(f).is_file())
    .map(|f| match *f {
        "pnpm-lock.yaml" => "pnpm",
        "yarn.lock" => "yarn",
        "bun.lockb" | "bun.lock" => "bun",
        _ => "npm",
    })
    .or_else(|| project_root.join("package.json").is_file().then_some("npm"));
    let scripts = std::fs::read(project_root.join("package.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("scripts").cloned());
    let has_script = |name: &str| {
        scripts
            .as_ref()
            .and_then(|s| s.get(name))
            .is_some_and(|v| v.is_string())
    };
    let (start_command, install_command) = match pm {
        Some(pm) => {
            let run = |script: &str| match (pm, script) {
                ("npm", "start") => "npm start".to_string(),
                ("npm", s) => format!("npm run {s}"),
                (pm, s) => format!("{pm} {s}"),
            };
            let start = if has_script("dev") {
                run("dev")
            } else if has_script("start") {
                run("start")
            } else {
                String::new()
            };
            (start, format!("{pm} install"))
        }
        None => (String::new(), String::new()),
    };
    DetectedConfig {
        start_command,
        install_command,
        base_branch: detect_base_branch(project_root),
        package_manager: pm.map(str::to_string),
    }
}

fn detect_base_branch(project_root: &Path) -> String {
    let Ok(repo) = git2::Repository::open(project_root) else {
        return "main".into();
    };
    if let Ok(head) = repo.find_reference("refs/remotes/origin/HEAD")
        && let Ok(Some(target)) = head.symbolic_target()
        && let Some(name) = target.strip_prefix("refs/remotes/origin/")
    {
        return name.to_string();
    }
    for name in ["develop", "main", "master"] {
        if repo.find_reference(&format!("refs/heads/{name}")).is_ok()
            || repo
                .find_reference(&format!("refs/remotes/origin/{name}"))
                .is_ok()
        {
            return name.to_string();
        }
    }
    repo.head()
        .ok()
        .and_then(|h| h.shorthand().ok().map(str::to_string))
        .filter(|b| b != "HEAD")
        .unwrap_or_else(|| "main".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_managers_and_scripts() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        assert_eq!(detect(p).start_command, "");
        std::fs::write(
            p.join("package.json"),
            r#"{"scripts":{"start":"node s.js"}}"#,
        )
        .unwrap();
        let d = detect(p);
        assert_eq!(
            (d.start_command.as_str(), d.install_command.as_str()),
            ("npm start", "npm install")
        );
        std::fs::write(
            p.join("package.json"),
            r#"{"scripts":{"dev":"vite","start":"x"}}"#,
        )
        .unwrap();
        std::fs::write(p.join("pnpm-lock.yaml"), "").unwrap();
        let d = detect(p);
        assert_eq!(
            (d.start_command.as_str(), d.install_command.as_str()),
            ("pnpm dev", "pnpm install")
        );
        std::fs::remove_file(p.join("pnpm-lock.yaml")).unwrap();
        std::fs::write(p.join("yarn.lock"), "").unwrap();
        assert_eq!(detect(p).start_command, "yarn dev");
        assert_eq!(detect(p).base_branch, "main");
    }
}
