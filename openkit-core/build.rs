//! Builds the native port hook (`native/porthook.c`) into a shared library that the crate
//! embeds, so the `openkit` binary carries it (also after `cargo install`). Linux only;
//! elsewhere an empty file is embedded and the hook reports itself unavailable.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=native/porthook.c");
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let lib = out.join("libopenkit_porthook.so");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os != "linux" {
        std::fs::write(&lib, b"").expect("writing the empty hook");
        return;
    }
    let compiler = cc::Build::new().get_compiler();
    let status = Command::new(compiler.path())
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-o"])
        .arg(&lib)
        .arg("native/porthook.c")
        .arg("-ldl")
        .status()
        .expect("running the C compiler");
    assert!(status.success(), "compiling native/porthook.c failed");
}
