//! Builds the web dashboard (`dashboard/`, TypeScript + Vite) and generates the table of
//! its files that `src/dashboard.rs` embeds, so the `openkit` binary serves it with
//! nothing fetched at run time.
//!
//! - `OPENKIT_DASHBOARD_DIST=<dir>`: embed that prebuilt dashboard instead (for machines
//!   without Node); nothing is built.
//! - Otherwise `npm ci` runs in `dashboard/` when `node_modules` is missing or older than
//!   `package-lock.json` (under a lock file, so parallel builds do not race), then
//!   `npm run build` writes into `$OUT_DIR/dashboard`. Cargo reruns this script only when
//!   the dashboard's sources, manifest, lockfile or build configuration change.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

/// Files and directories whose change means a rebuild of the dashboard.
const INPUTS: [&str; 6] = [
    "dashboard/src",
    "dashboard/index.html",
    "dashboard/package.json",
    "dashboard/package-lock.json",
    "dashboard/vite.config.ts",
    "dashboard/tsconfig.json",
];

const NEEDS_NODE: &str = "building the OpenKit dashboard needs Node.js >= 20 with npm on PATH \
    (Debian/Ubuntu: `apt-get install nodejs npm`, or https://nodejs.org); on a machine \
    without Node, set OPENKIT_DASHBOARD_DIST to a dashboard built elsewhere \
    (`npm ci && npm run build` in openkit-http/dashboard, then the `dist` directory)";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=OPENKIT_DASHBOARD_DIST");
    for input in INPUTS {
        println!("cargo:rerun-if-changed={input}");
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dist = match std::env::var_os("OPENKIT_DASHBOARD_DIST").filter(|d| !d.is_empty()) {
        Some(prebuilt) => {
            let prebuilt = PathBuf::from(prebuilt);
            if !prebuilt.join("index.html").is_file() {
                fail(&format!(
                    "OPENKIT_DASHBOARD_DIST={} has no index.html: point it at the output \
                     directory of `npm run build` in openkit-http/dashboard",
                    prebuilt.display()
                ));
            }
            println!("cargo:rerun-if-changed={}", prebuilt.display());
            prebuilt
        }
        None => {
            let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set"));
            let dist = out.join("dashboard");
            build_dashboard(&manifest.join("dashboard"), &dist);
            dist
        }
    };
    write_table(&dist, &out.join("dashboard_assets.rs"));
}

/// Stops the build with `message` (cargo shows this script's stderr when it fails).
fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}

fn npm() -> Command {
    let mut command = Command::new("npm");
    // Keep npm quiet and offline-friendly where it can be.
    command
        .env("npm_config_fund", "false")
        .env("npm_config_audit", "false")
        .env("npm_config_update_notifier", "false");
    command
}

/// Runs `command`; a failure stops the build with its output.
fn run(command: &mut Command, what: &str) {
    let output: Output = match command.output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => fail(NEEDS_NODE),
        Err(e) => fail(&format!("{what}: could not run npm: {e}")),
    };
    if !output.status.success() {
        fail(&format!(
            "{what} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// `npm ci` when the installed packages are missing or older than the lockfile, then
/// `npm run build` into `dist`.
fn build_dashboard(dir: &Path, dist: &Path) {
    // One build at a time per checkout: `npm ci` replaces node_modules wholesale.
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".build-lock"))
        .unwrap_or_else(|e| fail(&format!("creating dashboard/.build-lock: {e}")));
    lock.lock()
        .unwrap_or_else(|e| fail(&format!("locking dashboard/.build-lock: {e}")));
    // npm writes node_modules/.package-lock.json on every install.
    let installed = modified(&dir.join("node_modules/.package-lock.json"));
    let wanted = modified(&dir.join("package-lock.json"));
    if installed.is_none() || installed < wanted {
        run(
            npm().arg("ci").arg("--no-audit").current_dir(dir),
            "npm ci (openkit-http/dashboard)",
        );
    }
    run(
        npm()
            .args(["run", "build", "--", "--outDir"])
            .arg(dist)
            .arg("--emptyOutDir")
            .current_dir(dir),
        "npm run build (openkit-http/dashboard)",
    );
}

/// Every file under `dir`, as paths relative to it with `/` separators, sorted.
fn files(dir: &Path, prefix: &str, found: &mut Vec<(String, PathBuf)>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| fail(&format!("reading {}: {e}", dir.display())))
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if path.is_dir() {
            files(&path, &format!("{prefix}{name}/"), found);
        } else {
            found.push((format!("{prefix}{name}"), path));
        }
    }
}

/// Writes `ASSETS`, a sorted table of `(path, bytes)` over the built files.
fn write_table(dist: &Path, table: &Path) {
    let mut found = Vec::new();
    files(dist, "", &mut found);
    let mut code = String::from(
        "/// The dashboard's files (generated by build.rs), sorted by path.\n\
         pub(crate) static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for (name, path) in &found {
        let absolute = path
            .canonicalize()
            .unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
        writeln!(code, "    ({name:?}, include_bytes!({absolute:?})),").expect("string");
    }
    code.push_str("];\n");
    fs::write(table, code).unwrap_or_else(|e| fail(&format!("writing the asset table: {e}")));
}
