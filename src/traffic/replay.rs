//! Replayed traces: a CSV file of arrival times, streamed line by line.
//!
//! Format: one row per request; the first column is seconds (a float) from the phase start; an optional second
//! column names the function (it must be this phase's function, or empty; for a queue phase, the queue); an optional
//! third names a JSON payload file (relative paths resolved like the scenario's, see
//! [`crate::scenario::resolve_path`]; empty: the phase's payload). Fields are separated by commas and trimmed; surrounding double quotes are removed (no embedded commas).
//! Blank lines and lines starting with `#` are skipped; the first row may be a header (a first field that is not a
//! number). Rows must be sorted by time; rows at or after the phase end are ignored.
//!
//! [`ReplayStream::open`] reads the whole file once to check it (sorting, columns, payload files — errors name the
//! file, line and column) and loads each distinct payload file once; then it streams the file again for the
//! arrivals. Memory is independent of the number of rows.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::process::Next;
use crate::scenario::{ScenarioError, resolve_path};

#[derive(Debug)]
pub(super) struct ReplayStream {
    path: PathBuf,
    reader: BufReader<File>,
    buf: String,
    line_no: usize,
    seen_row: bool,
    start_ns: u64,
    end_ns: u64,
    last_ns: u64,
    payloads: HashMap<String, Bytes>,
}

/// One parsed line.
enum Line<'a> {
    Skip,
    Header,
    Row {
        secs: f64,
        function: Option<(&'a str, usize)>,
        payload: Option<(&'a str, usize)>,
    },
}

impl ReplayStream {
    /// Checks the trace at `path` for the phase whose target is `target` (`("function" | "queue", name)`) and opens it
    /// for streaming. `scenario_path` anchors
    /// payload file paths.
    pub fn open(
        path: &Path,
        scenario_path: &Path,
        target: (&str, &str),
        start_ns: u64,
        end_ns: u64,
    ) -> Result<Self, ScenarioError> {
        let payloads = check(path, scenario_path, target)?;
        let reader = BufReader::new(open_file(path)?);
        Ok(ReplayStream {
            path: path.to_path_buf(),
            reader,
            buf: String::new(),
            line_no: 0,
            seen_row: false,
            start_ns,
            end_ns,
            last_ns: start_ns,
            payloads,
        })
    }

    /// The next row's time and payload override; `None` at the end of the file or of the phase.
    pub fn next(&mut self) -> Result<Next, ScenarioError> {
        loop {
            self.buf.clear();
            let n = self
                .reader
                .read_line(&mut self.buf)
                .map_err(|e| io_error(&self.path, self.line_no + 1, &e))?;
            if n == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            let line = parse_line(&self.path, &self.buf, self.line_no, self.seen_row)?;
            if !matches!(line, Line::Skip) {
                self.seen_row = true;
            }
            let Line::Row { secs, payload, .. } = line else {
                continue;
            };
            let time = to_ns(self.start_ns, secs);
            if time >= self.end_ns {
                return Ok(None);
            }
            if time < self.last_ns {
                // Checked in `open`; only a file changed since then gets here.
                return Err(backwards(
                    &self.path,
                    self.line_no,
                    (self.last_ns - self.start_ns) as f64 / 1e9,
                ));
            }
            self.last_ns = time;
            let payload = match payload {
                Some((name, column)) => match self.payloads.get(name) {
                    Some(bytes) => Some(bytes.clone()),
                    None => {
                        return Err(at(
                            &self.path,
                            self.line_no,
                            column,
                            "payload file not seen when the trace was checked",
                        ));
                    }
                },
                None => None,
            };
            return Ok(Some((time, payload)));
        }
    }
}

/// The first pass: every row parses, times never go backwards, the function (or queue) column matches, payload files exist
/// and are JSON. Returns the payloads by the name written in the file.
fn check(
    path: &Path,
    scenario_path: &Path,
    (kind, target): (&str, &str),
) -> Result<HashMap<String, Bytes>, ScenarioError> {
    let mut reader = BufReader::new(open_file(path)?);
    let mut payloads: HashMap<String, Bytes> = HashMap::new();
    let mut buf = String::new();
    let mut line_no = 0;
    let mut seen_row = false;
    let mut last: f64 = 0.0;
    loop {
        buf.clear();
        if reader
            .read_line(&mut buf)
            .map_err(|e| io_error(path, line_no + 1, &e))?
            == 0
        {
            return Ok(payloads);
        }
        line_no += 1;
        let line = parse_line(path, &buf, line_no, seen_row)?;
        if !matches!(line, Line::Skip) {
            seen_row = true;
        }
        let Line::Row {
            secs,
            function: row_function,
            payload,
        } = line
        else {
            continue;
        };
        if secs < last {
            return Err(backwards(path, line_no, last));
        }
        last = secs;
        if let Some((name, column)) = row_function
            && name != target
        {
            return Err(at(
                path,
                line_no,
                column,
                format!(
                    "{kind} \"{name}\" does not match this traffic phase's {kind} \"{target}\""
                ),
            ));
        }
        if let Some((name, column)) = payload
            && !payloads.contains_key(name)
        {
            let file = resolve_path(scenario_path, Path::new(name));
            let text = std::fs::read_to_string(&file).map_err(|e| {
                at(
                    path,
                    line_no,
                    column,
                    format!("payload file {}: {e}", file.display()),
                )
            })?;
            serde_json::from_str::<serde::de::IgnoredAny>(&text).map_err(|e| {
                at(
                    path,
                    line_no,
                    column,
                    format!("payload file {} is not valid JSON: {e}", file.display()),
                )
            })?;
            payloads.insert(name.to_string(), Bytes::from(text));
        }
    }
}

/// `seen_row`: a row or header came before (only the first may be a header).
fn parse_line<'a>(
    path: &Path,
    raw: &'a str,
    line_no: usize,
    seen_row: bool,
) -> Result<Line<'a>, ScenarioError> {
    let line = raw.trim_end_matches(['\n', '\r']);
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    if line.trim().is_empty() || line.trim_start().starts_with('#') {
        return Ok(Line::Skip);
    }
    // Fields with their 1-based column.
    let mut fields: [(&str, usize); 3] = [("", 0); 3];
    let mut count = 0;
    let mut offset = 0;
    for part in line.split(',') {
        if count == 3 {
            return Err(at(
                path,
                line_no,
                column_of(line, offset),
                "too many columns (at most 3: seconds, function, payload file)",
            ));
        }
        let lead = part.len() - part.trim_start().len();
        let value = part.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        fields[count] = (value, column_of(line, offset + lead));
        count += 1;
        offset += part.len() + 1;
    }
    let (first, first_col) = fields[0];
    let secs = match first.parse::<f64>() {
        Ok(s) => s,
        Err(_) if !seen_row => return Ok(Line::Header),
        Err(_) => {
            return Err(at(
                path,
                line_no,
                first_col,
                format!("{first:?} is not a number of seconds"),
            ));
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(at(
            path,
            line_no,
            first_col,
            format!("time {first} must be a non-negative number of seconds"),
        ));
    }
    let optional = |i: usize| (i < count && !fields[i].0.is_empty()).then_some(fields[i]);
    Ok(Line::Row {
        secs,
        function: optional(1),
        payload: optional(2),
    })
}

fn column_of(line: &str, byte: usize) -> usize {
    line.get(..byte).map_or(1, |s| s.chars().count() + 1)
}

fn to_ns(start_ns: u64, secs: f64) -> u64 {
    let ns = (secs * 1e9).round();
    if ns >= u64::MAX as f64 {
        u64::MAX
    } else {
        start_ns.saturating_add(ns as u64)
    }
}

fn open_file(path: &Path) -> Result<File, ScenarioError> {
    File::open(path).map_err(|e| at(path, 0, 0, format!("cannot open trace: {e}")))
}

fn io_error(path: &Path, line: usize, e: &std::io::Error) -> ScenarioError {
    at(path, line, 1, format!("cannot read trace: {e}"))
}

fn backwards(path: &Path, line: usize, previous: f64) -> ScenarioError {
    at(
        path,
        line,
        1,
        format!(
            "time goes backwards (the previous row is at {previous} s); rows must be sorted by time"
        ),
    )
}

fn at(path: &Path, line: usize, column: usize, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        file: path.display().to_string(),
        line,
        column,
        message: message.into(),
    }
}
