//! The 2019 duration and memory readers and the 2021 per-invocation reader: the fixture, hand-made rows, errors.

use std::collections::BTreeSet;
use std::io::Cursor;

use super::super::{
    AzureTraceError, DurationsReader, InvocationCountsReader, InvocationTraceReader, MemoryReader,
};
use super::{DURATIONS, INVOCATIONS, MEMORY, TRACE_2021, fixture};

const DURATIONS_HEADER: &str = "HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,\
percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,percentile_Average_99,\
percentile_Average_100";
const MEMORY_HEADER: &str = "HashOwner,HashApp,SampleCount,AverageAllocatedMb,AverageAllocatedMb_pct1,\
AverageAllocatedMb_pct5,AverageAllocatedMb_pct25,AverageAllocatedMb_pct50,AverageAllocatedMb_pct75,\
AverageAllocatedMb_pct95,AverageAllocatedMb_pct99,AverageAllocatedMb_pct100";

fn cursor(text: &str) -> Cursor<Vec<u8>> {
    Cursor::new(text.as_bytes().to_vec())
}

#[test]
fn fixture_durations_and_memory_match_the_invocation_file() {
    let functions: BTreeSet<(String, String, String)> =
        InvocationCountsReader::new(fixture(INVOCATIONS), INVOCATIONS)
            .unwrap()
            .map(|r| r.map(|r| (r.owner, r.app, r.function)))
            .collect::<Result<_, _>>()
            .unwrap();
    let durations: Vec<_> = DurationsReader::new(fixture(DURATIONS), DURATIONS)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(durations.len(), functions.len());
    for d in &durations {
        assert!(functions.contains(&(d.owner.clone(), d.app.clone(), d.function.clone())));
        assert!(d.percentiles_ms.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
        assert!(
            d.minimum_ms.unwrap() <= d.percentiles_ms[0]
                && d.maximum_ms.unwrap() >= d.percentiles_ms[6]
        );
        assert!(d.count >= 1);
    }
    let apps: BTreeSet<(String, String)> = functions.into_iter().map(|(o, a, _)| (o, a)).collect();
    let memory: Vec<_> = MemoryReader::new(fixture(MEMORY), MEMORY)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let memory_apps: BTreeSet<(String, String)> = memory
        .iter()
        .map(|m| (m.owner.clone(), m.app.clone()))
        .collect();
    assert_eq!(memory_apps, apps);
    for m in &memory {
        assert!(m.percentiles_mb.windows(2).all(|w| w[0] <= w[1]), "{m:?}");
        assert!(m.average_mb > 0.0 && m.sample_count > 0);
    }
}

#[test]
fn a_durations_row_reads_all_columns_and_empty_min_max_are_none() {
    let text = format!(
        "{DURATIONS_HEADER}\no,a,f,12.5,40,,,1,2,3,4,5,6,7\no,a,g,100,3,90,130,91,92,93,94,95,96,97\n"
    );
    let rows: Vec<_> = DurationsReader::new(cursor(&text), "dur.csv")
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows[0].average_ms, 12.5);
    assert_eq!(rows[0].count, 40);
    assert_eq!((rows[0].minimum_ms, rows[0].maximum_ms), (None, None));
    assert_eq!(rows[0].percentiles_ms, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
    assert_eq!(
        (rows[1].minimum_ms, rows[1].maximum_ms),
        (Some(90.0), Some(130.0))
    );
    assert_eq!(rows[1].function, "g");
}

#[test]
fn durations_errors_name_their_position() {
    let text = format!(
        "{DURATIONS_HEADER}\no,a,f,abc,40,1,2,1,2,3,4,5,6,7\no,a,f,1,4.5,1,2,1,2,3,4,5,6,7\n\
         o,a,f,1,4,1,2,1,2,3,NaN,5,6,7\no,a,f,1,4\n"
    );
    let errs: Vec<String> = DurationsReader::new(cursor(&text), "dur.csv")
        .unwrap()
        .map(|r| r.unwrap_err().to_string())
        .collect();
    assert_eq!(
        errs,
        [
            "dur.csv:2:4: field `Average` has value `abc`; expected a finite number >= 0",
            "dur.csv:3:5: field `Count` has value `4.5`; expected an integer from 0 to 18446744073709551615",
            "dur.csv:4:11: field `percentile_Average_50` has value `NaN`; expected a finite number >= 0",
            "dur.csv:5: expected 14 comma-separated columns, found 5",
        ]
    );
    let wrong = DURATIONS_HEADER.replace("percentile_Average_99", "percentile_Average_95");
    let err = DurationsReader::new(cursor(&wrong), "dur.csv")
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "dur.csv:1:13: header field `percentile_Average_95` should be `percentile_Average_99`"
    );
}

#[test]
fn a_memory_row_reads_all_columns_and_errors_name_their_position() {
    let text = format!(
        "{MEMORY_HEADER}\no,a,120,150.5,100,110,130,150,170,190,200,210\no,a,1,-3,1,2,3,4,5,6,7,8\n"
    );
    let rows: Vec<_> = MemoryReader::new(cursor(&text), "mem.csv")
        .unwrap()
        .collect();
    let m = rows[0].as_ref().unwrap();
    assert_eq!(
        (
            m.owner.as_str(),
            m.app.as_str(),
            m.sample_count,
            m.average_mb
        ),
        ("o", "a", 120, 150.5)
    );
    assert_eq!(
        m.percentiles_mb,
        [100.0, 110.0, 130.0, 150.0, 170.0, 190.0, 200.0, 210.0]
    );
    assert_eq!(
        rows[1].as_ref().unwrap_err().to_string(),
        "mem.csv:3:4: field `AverageAllocatedMb` has value `-3`; expected a finite number >= 0"
    );
    // A durations file given as the memory file is caught by its header.
    let err = MemoryReader::new(cursor(DURATIONS_HEADER), "mem.csv")
        .err()
        .unwrap();
    assert!(
        matches!(err, AzureTraceError::Header { column: 3, .. }),
        "{err:?}"
    );
}

#[test]
fn the_2021_fixture_has_invocations_with_start_end_minus_duration() {
    let rows: Vec<_> = InvocationTraceReader::new(fixture(TRACE_2021), TRACE_2021)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 300);
    for r in &rows {
        assert_eq!(r.start_ns, r.end_ns - r.duration_ns);
        assert!(r.end_ns <= 7_300_000_000_000 + r.duration_ns);
    }
    // Rows are ordered by start in the generated file, so end times are not sorted (as in the real trace).
    assert!(rows.windows(2).all(|w| w[0].start_ns <= w[1].start_ns));
    assert!(rows.windows(2).any(|w| w[0].end_ns > w[1].end_ns));
    let functions: BTreeSet<(&str, &str)> = rows
        .iter()
        .map(|r| (r.app.as_str(), r.func.as_str()))
        .collect();
    assert!(functions.len() > 5);
}

#[test]
fn a_2021_row_from_the_schema_document_converts_seconds_to_ns() {
    let text = "app,func,end_timestamp,duration\n\
        734272c01926d19690e5ec308bab64ef97950b75b1c7582283e0783fce1751d8,\
        313c03f53a0d31f70aec25f62efb33e7dd779725ca4af579018452d1204beaad,5160.142570018768,0.134\n\
        a,f,0.5,2.0\n";
    let rows: Vec<_> = InvocationTraceReader::new(cursor(text), "t.txt")
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows[0].end_ns, 5_160_142_570_019);
    assert_eq!(rows[0].duration_ns, 134_000_000);
    assert_eq!(rows[0].start_ns, 5_160_008_570_019);
    assert!(rows[0].func.starts_with("313c03f5"));
    // Began before the trace did: placed at 0, its duration kept.
    assert_eq!(
        (rows[1].start_ns, rows[1].end_ns, rows[1].duration_ns),
        (0, 500_000_000, 2_000_000_000)
    );
}

#[test]
fn the_2021_errors_name_their_position() {
    let text =
        "app,func,end_timestamp,duration\na,f,inf,1\na,f,10,-0.5\na,,10,1\na,f,1e20,0\na,f,10\n";
    let errs: Vec<String> = InvocationTraceReader::new(cursor(text), "t.txt")
        .unwrap()
        .map(|r| r.unwrap_err().to_string())
        .collect();
    assert_eq!(
        errs,
        [
            "t.txt:2:3: field `end_timestamp` has value `inf`; expected a finite number >= 0",
            "t.txt:3:4: field `duration` has value `-0.5`; expected a finite number >= 0",
            "t.txt:4:2: field `func` has value ``; expected a non-empty id without spaces",
            "t.txt:5:3: field `end_timestamp` has value `1e20`; expected a number of seconds below 1.8e10",
            "t.txt:6: expected 4 comma-separated columns, found 3",
        ]
    );
    let err = InvocationTraceReader::new(cursor("app,function,end_timestamp,duration\n"), "t.txt")
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "t.txt:1:2: header field `function` should be `func`"
    );
}

#[test]
fn a_missing_file_is_reported_with_its_path() {
    let err = super::super::open(std::path::Path::new("/nonexistent/d01.csv")).unwrap_err();
    assert!(matches!(err, AzureTraceError::Open { .. }));
    assert!(
        err.to_string()
            .starts_with("/nonexistent/d01.csv: cannot open: "),
        "{err}"
    );
}
