//! The environment a dev server runs with: the port-offset contract.

use std::collections::BTreeMap;
use std::path::Path;

/// Replaces every `${<port>}` in `template` with `<port + offset>`; other text is kept.
pub fn render_template(template: &str, offset: u32) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) if after[..end].parse::<u64>().is_ok() => {
                let port: u64 = after[..end].parse().unwrap_or(0);
                out.push_str(&(port + u64::from(offset)).to_string());
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// What a dev server needs besides the inherited environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortEnv {
    /// Variables to set.
    pub vars: Vec<(String, String)>,
}

/// The inherited values the hooks extend rather than replace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InheritedEnv<'a> {
    /// The inherited `NODE_OPTIONS`.
    pub node_options: Option<&'a str>,
    /// The inherited `LD_PRELOAD`.
    pub ld_preload: Option<&'a str>,
}

/// The port-offset environment: `__WM_PORT_OFFSET__`, `__WM_KNOWN_PORTS__`, every
/// `envMapping` rendered with the offset, `FORCE_COLOR=1`, and one port hook: the native
/// `LD_PRELOAD` shim when `native_hook` is given (after an inherited `LD_PRELOAD`), else
/// the Node `--require` hook (appended to an inherited `NODE_OPTIONS`). Never both, so no
/// port is moved twice.
pub fn port_env(
    offset: u32,
    known_ports: &[u16],
    env_mapping: &BTreeMap<String, String>,
    node_hook: Option<&Path>,
    native_hook: Option<&Path>,
    inherited: InheritedEnv<'_>,
) -> PortEnv {
    let mut vars = vec![
        ("__WM_PORT_OFFSET__".to_string(), offset.to_string()),
        (
            "__WM_KNOWN_PORTS__".to_string(),
            serde_json::to_string(known_ports).unwrap_or_else(|_| "[]".into()),
        ),
        ("FORCE_COLOR".to_string(), "1".to_string()),
    ];
    for (name, template) in env_mapping {
        vars.push((name.clone(), render_template(template, offset)));
    }
    match (native_hook, node_hook) {
        (Some(lib), _) => vars.push((
            "LD_PRELOAD".into(),
            extend(inherited.ld_preload, &lib.to_string_lossy()),
        )),
        (None, Some(hook)) => vars.push((
            "NODE_OPTIONS".into(),
            extend(
                inherited.node_options,
                &format!("--require {}", hook.to_string_lossy()),
            ),
        )),
        (None, None) => {}
    }
    PortEnv { vars }
}

/// A space-separated list variable (`LD_PRELOAD`, `NODE_OPTIONS`) with `addition` after
/// what was inherited.
fn extend(inherited: Option<&str>, addition: &str) -> String {
    match inherited.filter(|value| !value.trim().is_empty()) {
        Some(existing) => format!("{existing} {addition}"),
        None => addition.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert_eq!(
            render_template("http://localhost:${3000}/api", 10),
            "http://localhost:3010/api"
        );
        assert_eq!(render_template("${3000},${5173}", 1), "3001,5174");
        assert_eq!(render_template("${HOME} and ${", 5), "${HOME} and ${");
        assert_eq!(render_template("plain", 5), "plain");
        assert_eq!(render_template("${4294967295}", 1), "4294967296");
        assert_eq!(render_template("${-1} ${} ${3000", 1), "${-1} ${} ${3000");
    }

    #[test]
    fn one_hook_only() {
        let mapping = BTreeMap::from([(
            "API_URL".to_string(),
            "http://localhost:${3000}".to_string(),
        )]);
        let env = port_env(
            20,
            &[3000],
            &mapping,
            Some(Path::new("/h.cjs")),
            None,
            InheritedEnv {
                node_options: Some("--max-old-space-size=4096"),
                ld_preload: Some("/other.so"),
            },
        );
        let get = |k: &str| {
            env.vars
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("__WM_PORT_OFFSET__").as_deref(), Some("20"));
        assert_eq!(get("__WM_KNOWN_PORTS__").as_deref(), Some("[3000]"));
        assert_eq!(get("API_URL").as_deref(), Some("http://localhost:3020"));
        assert_eq!(
            get("NODE_OPTIONS").as_deref(),
            Some("--max-old-space-size=4096 --require /h.cjs")
        );
        assert_eq!(get("FORCE_COLOR").as_deref(), Some("1"));
        assert_eq!(
            get("LD_PRELOAD"),
            None,
            "the inherited LD_PRELOAD is left alone"
        );
        let native = port_env(
            20,
            &[3000],
            &mapping,
            Some(Path::new("/h.cjs")),
            Some(Path::new("/p.so")),
            InheritedEnv {
                node_options: Some("--inspect"),
                ld_preload: Some("/other.so"),
            },
        );
        assert!(
            native
                .vars
                .iter()
                .any(|(k, v)| k == "LD_PRELOAD" && v == "/other.so /p.so")
        );
        assert!(
            !native.vars.iter().any(|(k, _)| k == "NODE_OPTIONS"),
            "never two hooks"
        );
    }
}
