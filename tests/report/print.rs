//! Issue 15: "Print" hands the PDF to the configured printer command (on its standard
//! input, no shell) or writes it whole into the print folder; a failing command is an
//! error with its status, and nothing configured says so.

use cmr_kiosk::report::print::{PrintConfig, PrintError, Printed, file_stem, print};

const PDF: &[u8] = b"%PDF-1.7\n% a sheet\n%%EOF\n";

#[test]
fn issue_15_print_pipes_the_pdf_to_the_printer_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("spooled.pdf");
    // `tee FILE` stands in for `lp`: it reads the PDF from its standard input.
    let config = PrintConfig {
        print_command: format!("tee {}", out.display()),
        print_folder: String::new(),
    };
    let done = print(PDF, "sheet", &config).unwrap();
    assert!(matches!(done, Printed::Command(_)), "{done:?}");
    assert_eq!(std::fs::read(&out).unwrap(), PDF);
}

#[test]
fn issue_15_print_writes_the_pdf_whole_into_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("print");
    let config = PrintConfig {
        print_command: String::new(),
        print_folder: folder.display().to_string(),
    };
    let stem = file_stem(&["20261207-0930", "P/00 12", "2f3a9c1d"]);
    assert_eq!(stem, "20261207-0930_P_00_12_2f3a9c1d");
    let done = print(PDF, &stem, &config).unwrap();
    let Printed::Saved(path) = done else {
        panic!("{done:?}")
    };
    assert_eq!(path, folder.join(format!("{stem}.pdf")));
    assert_eq!(std::fs::read(&path).unwrap(), PDF);
    // Only the PDF: no partial file left beside it.
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 1);
}

#[test]
fn issue_15_a_failing_printer_command_is_an_error_with_its_status() {
    let config = PrintConfig {
        print_command: "false".into(),
        print_folder: String::new(),
    };
    let err = print(PDF, "sheet", &config).unwrap_err();
    assert!(matches!(err, PrintError::Command { .. }), "{err}");
    assert!(err.to_string().contains("exit status: 1"), "{err}");
    let missing = PrintConfig {
        print_command: "/nonexistent/lp".into(),
        print_folder: String::new(),
    };
    assert!(print(PDF, "sheet", &missing).is_err());
    let none = PrintConfig::default();
    assert!(matches!(
        print(PDF, "sheet", &none),
        Err(PrintError::NotConfigured)
    ));
}

/// A printer command that never answers is given up at the deadline (here 300 ms
/// instead of `PRINT_TIMEOUT`), even when it reads nothing of a PDF larger than a
/// pipe holds.
#[test]
fn issue_15_a_printer_command_that_never_answers_is_given_up_at_the_deadline() {
    let config = PrintConfig {
        print_command: "sleep 30".into(),
        print_folder: String::new(),
    };
    let big = vec![b'%'; 1024 * 1024];
    let started = std::time::Instant::now();
    let err = cmr_kiosk::report::print::print_within(
        &big,
        "sheet",
        &config,
        std::time::Duration::from_millis(300),
    )
    .unwrap_err();
    assert!(err.to_string().contains("no answer within 300 ms"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}
