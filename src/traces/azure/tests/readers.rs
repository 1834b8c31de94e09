//! The 2019 per-minute invocation counts reader: the fixture, hand-made rows, and every error with its position.

use std::io::{BufRead, Cursor, Read};

use super::super::{AzureTraceError, InvocationCountsReader, MINUTES_PER_DAY, Trigger};
use super::{INVOCATIONS, fixture, invocations_header, invocations_row};

fn reader(text: String) -> InvocationCountsReader<Cursor<Vec<u8>>> {
    InvocationCountsReader::new(Cursor::new(text.into_bytes()), "day.csv").expect("valid header")
}

fn new_err(text: String) -> AzureTraceError {
    match InvocationCountsReader::new(Cursor::new(text.into_bytes()), "day.csv") {
        Ok(_) => panic!("header accepted"),
        Err(e) => e,
    }
}

#[test]
fn fixture_rows_have_1440_minutes_and_the_generated_skew() {
    let rows: Vec<_> = InvocationCountsReader::new(fixture(INVOCATIONS), INVOCATIONS)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 60);
    assert!(
        rows.iter()
            .all(|r| r.owner.len() == 64 && r.app.len() == 64 && r.function.len() == 64)
    );
    let mut totals: Vec<u64> = rows.iter().map(|r| r.total()).collect();
    totals.sort_unstable();
    // Most functions are rare, a few carry nearly all the load (the skew of the ATC'20 paper).
    assert!(
        totals[totals.len() / 2] <= 10,
        "median total {}",
        totals[totals.len() / 2]
    );
    let all: u64 = totals.iter().sum();
    let top3: u64 = totals.iter().rev().take(3).sum();
    assert!(top3 * 10 > all * 9, "top 3 carry {top3} of {all}");
    // Timer functions fire on a fixed period: equal gaps between the minutes they ran.
    let timers: Vec<_> = rows
        .iter()
        .filter(|r| r.trigger == Trigger::Timer)
        .collect();
    assert!(!timers.is_empty());
    for t in timers {
        let fired: Vec<usize> = (0..MINUTES_PER_DAY).filter(|&m| t.counts[m] > 0).collect();
        let gaps: Vec<usize> = fired.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.windows(2).all(|g| g[0] == g[1]), "timer gaps {gaps:?}");
    }
}

#[test]
fn a_row_maps_columns_to_minutes() {
    let text = format!(
        "{}\n{}\n",
        invocations_header(),
        invocations_row("o1", "a1", "f1", "queue", &[(1, 3), (720, 1), (1440, 7)])
    );
    let rows: Vec<_> = reader(text).collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(
        (r.owner.as_str(), r.app.as_str(), r.function.as_str()),
        ("o1", "a1", "f1")
    );
    assert_eq!(r.trigger, Trigger::Queue);
    assert_eq!(
        (r.counts[0], r.counts[719], r.counts[1439], r.counts[1]),
        (3, 1, 7, 0)
    );
    assert_eq!(r.total(), 11);
}

#[test]
fn crlf_line_endings_and_blank_lines_are_accepted() {
    let text = format!(
        "{}\r\n{}\r\n\r\n{}\r\n",
        invocations_header(),
        invocations_row("o", "a", "f1", "http", &[(2, 1)]),
        invocations_row("o", "a", "f2", "timer", &[(1440, 4)])
    );
    let rows: Vec<_> = reader(text).collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].counts[1439], 4);
}

#[test]
fn every_trigger_group_parses_and_others_are_refused() {
    for t in Trigger::ALL {
        assert_eq!(Trigger::parse(t.as_str()), Some(t));
    }
    let text = format!(
        "{}\n{}\n",
        invocations_header(),
        invocations_row("o", "a", "f", "HTTP", &[])
    );
    let err = reader(text).next().unwrap().unwrap_err();
    match &err {
        AzureTraceError::Value {
            line,
            column,
            field,
            value,
            ..
        } => assert_eq!(
            (*line, *column, field.as_str(), value.as_str()),
            (2, 4, "Trigger", "HTTP")
        ),
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .contains("one of http, timer, event, queue, storage, orchestration, others")
    );
}

#[test]
fn a_bad_count_names_file_line_column_minute_and_value() {
    let row = invocations_row("o", "a", "f", "http", &[]);
    // Minute 17 is field 4 + 17 = 21 (1-based).
    let mut fields: Vec<&str> = row.split(',').collect();
    fields[20] = "-1";
    let text = format!("{}\n{}\n", invocations_header(), fields.join(","));
    let err = reader(text).next().unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        "day.csv:2:21: field `17` has value `-1`; expected an invocation count from 0 to 10000000"
    );
    // Above the cap (a corrupt count must not make a replay allocate gigabytes).
    fields[20] = "10000001";
    let text = format!("{}\n{}\n", invocations_header(), fields.join(","));
    assert!(matches!(
        reader(text).next().unwrap(),
        Err(AzureTraceError::Value { column: 21, .. })
    ));
    fields[20] = "4294967296";
    let text = format!("{}\n{}\n", invocations_header(), fields.join(","));
    assert!(matches!(
        reader(text).next().unwrap(),
        Err(AzureTraceError::Value { column: 21, .. })
    ));
}

#[test]
fn missing_or_extra_minute_columns_are_reported() {
    let row = invocations_row("o", "a", "f", "http", &[]);
    let short = row.rsplit_once(',').unwrap().0.to_string();
    let text = format!("{}\n{short}\n{row},0\n{row}\n", invocations_header());
    let results: Vec<_> = reader(text).collect();
    assert_eq!(results.len(), 3);
    assert_eq!(
        results[0].as_ref().unwrap_err().to_string(),
        "day.csv:2: expected 1444 comma-separated columns, found 1443"
    );
    assert!(matches!(
        results[1],
        Err(AzureTraceError::ColumnCount {
            line: 3,
            expected: 1444,
            found: 1445,
            ..
        })
    ));
    // The reader goes on after a malformed row.
    assert!(results[2].is_ok());
    let text = format!("{}\no,a,f\n", invocations_header());
    assert!(matches!(
        reader(text).next().unwrap(),
        Err(AzureTraceError::ColumnCount {
            line: 2,
            found: 3,
            ..
        })
    ));
}

#[test]
fn an_empty_id_is_reported_with_its_column() {
    let text = format!(
        "{}\n{}\n",
        invocations_header(),
        invocations_row("o", "", "f", "http", &[])
    );
    assert!(matches!(
        reader(text).next().unwrap(),
        Err(AzureTraceError::Value { line: 2, column: 2, ref field, .. }) if field == "HashApp"
    ));
}

#[test]
fn header_errors_name_the_column() {
    assert!(matches!(
        new_err(String::new()),
        AzureTraceError::Empty { .. }
    ));
    let bad = invocations_header().replace(",17,", ",seventeen,");
    let err = new_err(bad);
    assert_eq!(
        err.to_string(),
        "day.csv:1:21: header field `seventeen` should be `17`"
    );
    let short = invocations_header().replace(",1440", "");
    assert!(matches!(
        new_err(short),
        AzureTraceError::Header { column: 1444, .. }
    ));
    let long = format!("{},1441", invocations_header());
    assert!(matches!(
        new_err(long),
        AzureTraceError::Header { column: 1445, .. }
    ));
    // The 2021 file is not a 2019 file.
    assert!(matches!(
        new_err("app,func,end_timestamp,duration\n".into()),
        AzureTraceError::Header { column: 1, .. }
    ));
}

/// Fails every read after the first `ok` bytes.
struct Failing {
    data: Cursor<Vec<u8>>,
    ok: usize,
}

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let pos = self.data.position() as usize;
        if pos >= self.ok {
            return Err(std::io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.ok - pos);
        self.data.read(&mut buf[..n])
    }
}

#[test]
fn an_io_error_is_reported_once_with_its_line_and_ends_the_stream() {
    let header = invocations_header();
    let text = format!(
        "{header}\n{}\n",
        invocations_row("o", "a", "f", "http", &[])
    );
    let input = Failing {
        data: Cursor::new(text.into_bytes()),
        ok: header.len() + 1 + 10,
    };
    let input: Box<dyn BufRead> = Box::new(std::io::BufReader::with_capacity(16, input));
    let mut r = InvocationCountsReader::new(input, "day.csv").unwrap();
    match r.next() {
        Some(Err(AzureTraceError::Io { line: 2, file, .. })) => assert_eq!(file, "day.csv"),
        other => panic!("{other:?}"),
    }
    assert!(r.next().is_none());
}
