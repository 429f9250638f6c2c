//! Build steps:
//! * compiles the Slint UI (debug builds carry element debug info so UI tests can
//!   find elements by id or accessible label);
//! * embeds every Fluent file under `locales/<lang>/*.ftl` into the binary.
use std::fmt::Write as _;
use std::path::Path;

fn main() {
    #[cfg(feature = "ui")]
    {
        let mut config = slint_build::CompilerConfiguration::new();
        if std::env::var("PROFILE").as_deref() != Ok("release") {
            config = config.with_debug_info(true);
        }
        slint_build::compile_with_config("ui/app.slint", config).expect("Slint UI compiles");
        println!("cargo:rerun-if-changed=ui");
    }
    // Migrations are embedded by sqlx::migrate!.
    println!("cargo:rerun-if-changed=migrations");

    embed_locales();
}

fn embed_locales() {
    // The manifest folder of this build (read when the script runs, not when it was
    // compiled: a build script binary can serve more than one checkout).
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("locales");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    for lang in std::fs::read_dir(&root).expect("locales/ exists") {
        let lang = lang.expect("locales/ is readable").path();
        if !lang.is_dir() {
            continue;
        }
        println!("cargo:rerun-if-changed={}", lang.display());
        for file in std::fs::read_dir(&lang).expect("locale folder is readable") {
            let file = file.expect("locale folder is readable").path();
            if file.extension().is_some_and(|e| e == "ftl") {
                println!("cargo:rerun-if-changed={}", file.display());
                files.push(file);
            }
        }
    }
    files.sort();
    let mut out =
        String::from("/// Every embedded Fluent file: (language tag, file name, contents).\n");
    out.push_str("pub const FTL_FILES: &[(&str, &str, &str)] = &[\n");
    for f in &files {
        let lang = f
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .expect("utf-8 path");
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 file name");
        writeln!(
            out,
            "    ({lang:?}, {name:?}, include_str!({:?})),",
            f.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("locales.rs");
    std::fs::write(dest, out).expect("write locales.rs");
}
