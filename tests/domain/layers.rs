//! The layout shows the architecture, and the layers keep to their rules: the domain
//! has no I/O, clock, async or UI types; demonstration states live only in the
//! gallery; every Slint view has one adapter file and integer states are enums.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

/// Code lines of a Rust file: comments and doc comments left out.
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn invariant_1_the_domain_reads_no_clock_does_no_io_and_names_no_ui_type() {
    let mut rs = Vec::new();
    files(&root().join("src/domain"), "rs", &mut rs);
    assert!(rs.len() >= 10, "the domain's files are found");
    let forbidden = [
        "std::fs",
        "std::io",
        "std::net",
        "std::time",
        "std::thread",
        "SystemTime",
        "Instant::now",
        "Utc::now",
        "Local::now",
        "tokio",
        "slint",
        "sqlx",
        "dicom_object",
        "crate::engine",
        "crate::ui",
        "crate::store",
        "crate::monitor",
        "crate::dicom",
        "crate::config",
        "crate::i18n",
    ];
    for file in &rs {
        let text = code(file);
        for word in forbidden {
            assert!(
                !text.contains(word),
                "{} uses {word}: the domain must stay pure",
                file.display()
            );
        }
    }
}

#[test]
fn invariant_8_demonstration_states_live_only_in_the_gallery() {
    let mut rs = Vec::new();
    for dir in [
        "src/ui",
        "src/engine",
        "src/domain",
        "src/monitor",
        "src/store",
    ] {
        files(&root().join(dir), "rs", &mut rs);
    }
    for file in &rs {
        let text = code(file);
        for word in ["DEMO_", "PREVIEWS", "fn demo_", "fn preview_build"] {
            assert!(
                !text.contains(word),
                "{} holds the demonstration item {word}: it belongs in src/gallery/",
                file.display()
            );
        }
    }
}

#[test]
fn every_view_has_its_adapter_and_tabs_are_enums_not_numbers() {
    let views = root().join("ui/views");
    for view in ["console", "nurse", "patient", "signin", "admin"] {
        let adapter = views.join(format!("{view}_adapter.slint"));
        let text = std::fs::read_to_string(&adapter)
            .unwrap_or_else(|_| panic!("{} exists", adapter.display()));
        assert!(
            text.contains("export global"),
            "{} defines the view's adapter global",
            adapter.display()
        );
    }
    let mut slint = Vec::new();
    files(&root().join("ui"), "slint", &mut slint);
    for file in &slint {
        let text = std::fs::read_to_string(file).unwrap();
        for state in [
            "<int> tab",
            "<int> link-state",
            "<int> clearance-level",
            "priority: int",
        ] {
            assert!(
                !text.contains(state),
                "{} declares {state}: states are enums in ui/types.slint",
                file.display()
            );
        }
        if file.parent() == Some(views.as_path()) {
            assert!(
                !text.contains("\"../widgets/"),
                "{} imports a widget file directly: use ui/widgets.slint",
                file.display()
            );
        }
    }
}
