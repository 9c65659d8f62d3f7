//! Fuzzes the connection validator with arbitrary bytes: it must never panic, every diagnostic
//! must have a position, and a document it accepts must resolve to a connection.
#![no_main]

use conn_schema::{DocumentKind, validate_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for kind in [DocumentKind::Auto, DocumentKind::Extra, DocumentKind::Connection] {
        let report = validate_bytes(data, kind);
        assert!(report.diagnostics().iter().all(|d| {
            d.location
                .is_some_and(|at| at.line >= 1 && at.column >= 1)
        }));
        assert_eq!(report.has_errors(), report.connection().is_none());
        let _ = report.render("fuzz.json");
    }
});
