//! The formats a report is rendered into, and the one place that picks the renderer.
//!
//! Every format is rendered from the same [`Report`] (the JSON document is the source of truth), so a
//! run, or `mamori report` over saved JSON documents, writes any of them without calling AWS. A
//! renderer never drops a finding: each lists every status, `excepted` included.

use std::path::{Path, PathBuf};

use super::{asff, csv, html, json, junit, ocsf, sarif, text, Report};

/// An output format (`--output`, `--report FORMAT=PATH`, `mamori report FORMAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The terminal view.
    Text,
    /// SPEC.md's JSON document.
    Json,
    /// One self-contained page to file or send.
    Html,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// JUnit XML, for CI test dashboards.
    Junit,
    /// OCSF Compliance Finding events (class 2003).
    Ocsf,
    /// AWS Security Finding Format, for Security Hub.
    Asff,
    /// One row per finding.
    Csv,
}

/// What a renderer may need beyond the report.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// The baseline file the run read: SARIF points at the line of each control's key in it.
    pub baseline_path: Option<PathBuf>,
    /// Show passing findings too (text).
    pub verbose: bool,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Html => "html",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Ocsf => "ocsf",
            Format::Asff => "asff",
            Format::Csv => "csv",
        }
    }

    /// `report` in this format.
    pub fn render(self, report: &Report, options: &RenderOptions) -> String {
        match self {
            Format::Text => text::render_with(report, options.verbose),
            Format::Json => json::render(report),
            Format::Html => html::render(report),
            Format::Sarif => sarif::render(report, options.baseline_path.as_deref()),
            Format::Junit => junit::render(report),
            Format::Ocsf => ocsf::render(report),
            Format::Asff => asff::render(report),
            Format::Csv => csv::render(report),
        }
    }
}

/// One `--report FORMAT=PATH`: a format written to a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportFile {
    pub format: Format,
    pub path: PathBuf,
}

impl ReportFile {
    /// Parses `FORMAT=PATH` (`html=report.html`).
    pub fn parse(value: &str) -> Result<ReportFile, String> {
        use clap::ValueEnum;
        let (format, path) = value.split_once('=').ok_or_else(|| format!("expected FORMAT=PATH, got `{value}`"))?;
        let format = Format::from_str(format, true).map_err(|_| {
            let names: Vec<&str> = Format::value_variants().iter().map(|f| f.name()).collect();
            format!("unknown format `{format}` (one of {})", names.join(", "))
        })?;
        if path.is_empty() {
            return Err(format!("`{value}` names no file"));
        }
        Ok(ReportFile { format, path: Path::new(path).to_path_buf() })
    }

    /// Checks, before a run, that the file can be written: its directory exists and lets us create or
    /// replace it, and the path is no directory. A run whose report cannot be saved should fail before
    /// it calls AWS, not after `apply` has changed the account. A file the check creates is removed.
    pub fn check_writable(&self) -> Result<(), String> {
        let existed = self.path.exists();
        if self.path.is_dir() {
            return Err(format!("--report {}={}: is a directory", self.format.name(), self.path.display()));
        }
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(|e| format!("--report {}={}: cannot be written: {e}", self.format.name(), self.path.display()))?;
        if !existed {
            let _ = std::fs::remove_file(&self.path);
        }
        Ok(())
    }

    pub fn write(&self, report: &Report, options: &RenderOptions) -> std::io::Result<()> {
        std::fs::write(&self.path, self.format.render(report, options))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_files_name_a_known_format_and_a_path() {
        assert_eq!(ReportFile::parse("HTML=out/r.html"), Ok(ReportFile { format: Format::Html, path: "out/r.html".into() }));
        assert!(ReportFile::parse("pdf=r.pdf").unwrap_err().contains("one of text, json, html, sarif, junit, ocsf, asff, csv"));
        assert!(ReportFile::parse("html").is_err());
        assert!(ReportFile::parse("html=").is_err());
    }

    #[test]
    fn a_report_file_that_cannot_be_written_is_found_before_the_run_and_nothing_is_left_behind() {
        let dir = std::env::temp_dir().join(format!("mamori-report-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let writable = ReportFile { format: Format::Json, path: dir.join("r.json") };
        assert_eq!(writable.check_writable(), Ok(()));
        assert!(!writable.path.exists(), "the check leaves no empty file");
        let missing_dir = ReportFile { format: Format::Html, path: dir.join("no-such-dir/r.html") };
        assert!(missing_dir.check_writable().unwrap_err().contains("--report html="), "names the option");
        let a_directory = ReportFile { format: Format::Csv, path: dir.clone() };
        assert!(a_directory.check_writable().unwrap_err().contains("is a directory"));
        std::fs::write(dir.join("kept.json"), "earlier").unwrap();
        let existing = ReportFile { format: Format::Json, path: dir.join("kept.json") };
        assert_eq!(existing.check_writable(), Ok(()));
        assert_eq!(std::fs::read_to_string(&existing.path).unwrap(), "earlier", "an existing file is untouched until the report is written");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
