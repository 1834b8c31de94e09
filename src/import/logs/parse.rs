//! One Lambda log line → a [`Record`].
//!
//! A line is a log event's message, possibly preceded by what the export put in front of it: an ISO-8601 time
//! (S3 exports, `aws logs tail`) and a log stream name (`aws logs tail`, `sam logs`), in either order. The message
//! is a platform line Lambda writes — `INIT_START`, `START RequestId: …`, `END`, `REPORT RequestId: …` with its
//! tab-separated fields (AWS, "Lambda function logs"), `RESTORE_START` — or the same as a JSON record of Lambda's
//! JSON log format (`platform.initStart`, `platform.start`, `platform.report`, `platform.restoreStart`), or anything
//! else the function printed.

use serde_json::Value;

/// What a REPORT line says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub duration_ms: f64,
    pub memory_size_mb: Option<u64>,
    pub max_memory_used_mb: Option<u64>,
    pub init_ms: Option<f64>,
    pub restore_ms: Option<f64>,
    /// `Status: timeout` (or `error`): the invocation did not end normally.
    pub status: Option<String>,
}

/// A parsed line.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// An execution environment started its Init (or restore) phase.
    InitStart {
        function: Option<String>,
    },
    Start {
        request_id: String,
    },
    End,
    Report {
        request_id: String,
        report: Report,
    },
    /// A line the function printed (or the platform wrote that the import does not need).
    Other,
    /// A platform line that is cut short or garbled.
    Malformed,
}

/// A parsed line with what its prefix said.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Nanoseconds since the Unix epoch, when the line carries a time.
    pub time_ns: Option<u64>,
    pub stream: Option<String>,
    pub kind: Kind,
}

/// Parses one line of text.
pub fn line(text: &str) -> Record {
    let mut rest = text.trim_end_matches(['\n', '\r']);
    let mut time_ns = None;
    let mut stream = None;
    // Up to two leading tokens: a time and a log stream name, in either order.
    for _ in 0..2 {
        let (token, after) = rest.split_once(' ').unwrap_or((rest, ""));
        if time_ns.is_none()
            && let Some(t) = iso8601_ns(token)
        {
            time_ns = Some(t);
            rest = after;
        } else if stream.is_none() && is_stream_name(token) {
            stream = Some(token.to_string());
            rest = after;
        } else {
            break;
        }
    }
    let (kind, json_time) = message(rest);
    Record {
        time_ns: time_ns.or(json_time),
        stream,
        kind,
    }
}

/// A log stream name Lambda makes: `YYYY/MM/DD/[VERSION]hex`, or `YYYY/MM/DD/function[VERSION]hex` in a log group
/// shared by several functions.
fn is_stream_name(token: &str) -> bool {
    let b = token.as_bytes();
    b.len() > 12 && b[4] == b'/' && b[7] == b'/' && b[10] == b'/' && token.contains('[')
}

/// The function a stream name carries (a shared log group's `YYYY/MM/DD/function[VERSION]hex`).
pub fn function_of_stream(stream: &str) -> Option<&str> {
    let rest = stream.get(11..)?;
    let name = &rest[..rest.find('[')?];
    (!name.is_empty()).then_some(name)
}

/// A log event's message (from a text line, or a JSON event's `message`); the time a JSON record carries.
pub fn message(text: &str) -> (Kind, Option<u64>) {
    let text = text.trim_end_matches(['\n', '\r']);
    if text.starts_with('{') {
        return platform_json(text);
    }
    let kind = if let Some(rest) = text.strip_prefix("START RequestId: ") {
        match rest.split_once(' ') {
            // A line cut short loses its `Version:`, and may have lost part of the id with it.
            Some((id, v)) if request_id_ok(id) && v.starts_with("Version: ") => Kind::Start {
                request_id: id.to_string(),
            },
            _ => Kind::Malformed,
        }
    } else if let Some(rest) = text.strip_prefix("REPORT RequestId: ") {
        report_line(rest)
    } else if text.starts_with("END RequestId: ") {
        Kind::End
    } else if text.starts_with("INIT_START ") || text.starts_with("RESTORE_START ") {
        Kind::InitStart { function: None }
    } else if ["START", "REPORT", "END", "INIT_START", "RESTORE_START"]
        .iter()
        .any(|p| text.starts_with(p))
    {
        Kind::Malformed
    } else {
        Kind::Other
    };
    (kind, None)
}

fn request_id_ok(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `REPORT RequestId: <id>\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t…`.
fn report_line(rest: &str) -> Kind {
    let mut fields = rest.split('\t');
    let Some(id) = fields.next().map(str::trim).filter(|id| request_id_ok(id)) else {
        return Kind::Malformed;
    };
    let mut r = Report::default();
    let mut duration = None;
    for f in fields {
        let Some((key, value)) = f.split_once(": ") else {
            if f.trim().is_empty() {
                continue;
            }
            return Kind::Malformed;
        };
        let number = || {
            value
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<f64>().ok())
        };
        let whole = || number().filter(|x| *x >= 0.0).map(|x| x as u64);
        match key {
            "Duration" => duration = number(),
            "Memory Size" => r.memory_size_mb = whole(),
            "Max Memory Used" => r.max_memory_used_mb = whole(),
            "Init Duration" => r.init_ms = number(),
            "Restore Duration" => r.restore_ms = number(),
            "Status" => r.status = Some(value.trim().to_string()),
            _ => {}
        }
    }
    // A line cut short loses its tail; without a Duration and Memory Size it is not a whole REPORT.
    match (duration, r.memory_size_mb) {
        (Some(d), Some(_)) if d.is_finite() && d >= 0.0 => {
            r.duration_ms = d;
            Kind::Report {
                request_id: id.to_string(),
                report: r,
            }
        }
        _ => Kind::Malformed,
    }
}

/// Lambda's JSON log format: `{"time": "…", "type": "platform.report", "record": {…}}`.
fn platform_json(text: &str) -> (Kind, Option<u64>) {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return (Kind::Other, None);
    };
    let time = v.get("time").and_then(Value::as_str).and_then(iso8601_ns);
    let record = v.get("record");
    let field = |k: &str| record.and_then(|r| r.get(k));
    let kind = match v.get("type").and_then(Value::as_str) {
        Some("platform.initStart") | Some("platform.restoreStart") => Kind::InitStart {
            function: field("functionName")
                .and_then(Value::as_str)
                .map(str::to_string),
        },
        Some("platform.start") => match field("requestId").and_then(Value::as_str) {
            Some(id) if request_id_ok(id) => Kind::Start {
                request_id: id.to_string(),
            },
            _ => Kind::Malformed,
        },
        Some("platform.report") => {
            let metric = |k: &str| {
                field("metrics")
                    .and_then(|m| m.get(k))
                    .and_then(Value::as_f64)
            };
            match (
                field("requestId").and_then(Value::as_str),
                metric("durationMs"),
            ) {
                (Some(id), Some(d)) if request_id_ok(id) && d >= 0.0 => Kind::Report {
                    request_id: id.to_string(),
                    report: Report {
                        duration_ms: d,
                        memory_size_mb: metric("memorySizeMB").map(|x| x as u64),
                        max_memory_used_mb: metric("maxMemoryUsedMB").map(|x| x as u64),
                        init_ms: metric("initDurationMs"),
                        restore_ms: metric("restoreDurationMs"),
                        status: field("status")
                            .and_then(Value::as_str)
                            .filter(|s| *s != "success")
                            .map(str::to_string),
                    },
                },
                _ => Kind::Malformed,
            }
        }
        Some("platform.runtimeDone") | Some("platform.end") => Kind::End,
        _ => Kind::Other,
    };
    (kind, time)
}

/// `2025-12-01T00:00:00.196Z` (also without a zone, or with `+00:00`, or `+0000`; any fraction of a second) →
/// nanoseconds since the Unix epoch.
pub fn iso8601_ns(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let mut x = 0i64;
        for &c in &b[r] {
            if !c.is_ascii_digit() {
                return None;
            }
            x = x * 10 + i64::from(c - b'0');
        }
        Some(x)
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac_ns = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let mut scale = 100_000_000i64;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            frac_ns += i64::from(c - b'0') * scale;
            scale /= 10;
            i += 1;
        }
    }
    let mut offset_s = 0i64;
    match b.get(i) {
        None => {}
        Some(b'Z') if i + 1 == b.len() => {}
        Some(&sign @ (b'+' | b'-')) => {
            let tail = &s[i + 1..];
            let digits: String = tail.chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let hh: i64 = digits[..2].parse().ok()?;
            let mm: i64 = digits[2..].parse().ok()?;
            offset_s = (hh * 3600 + mm * 60) * if sign == b'+' { 1 } else { -1 };
        }
        _ => return None,
    }
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    u64::try_from(secs * 1_000_000_000 + frac_ns).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(iso8601_ns("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(
            iso8601_ns("2025-12-01T00:00:00.196Z"),
            Some(1_764_547_200_196_000_000)
        );
        assert_eq!(
            iso8601_ns("2025-12-01T01:00:00+01:00"),
            Some(1_764_547_200_000_000_000)
        );
        assert_eq!(
            iso8601_ns("2025-12-01T00:00:00.000123"),
            Some(1_764_547_200_000_123_000)
        );
        assert_eq!(iso8601_ns("2025-13-01T00:00:00Z"), None);
        assert_eq!(iso8601_ns("START"), None);
    }

    #[test]
    fn text_lines() {
        let r = line(
            "2025-12-01T00:00:00.585Z START RequestId: 0741c7a8-7ce4-4c82-a807-2e8c35bf992d Version: $LATEST",
        );
        assert_eq!(r.time_ns, Some(1_764_547_200_585_000_000));
        assert_eq!(
            r.kind,
            Kind::Start {
                request_id: "0741c7a8-7ce4-4c82-a807-2e8c35bf992d".into()
            }
        );
        let r = line(
            "2025-12-01T00:00:00.894Z 2025/12/01/[$LATEST]abcdef0123 REPORT RequestId: 0741c7a8\tDuration: 309.74 ms\t\
             Billed Duration: 699 ms\tMemory Size: 256 MB\tMax Memory Used: 68 MB\tInit Duration: 389.07 ms\tStatus: timeout\t",
        );
        assert_eq!(r.stream.as_deref(), Some("2025/12/01/[$LATEST]abcdef0123"));
        let Kind::Report { request_id, report } = r.kind else {
            panic!("{r:?}")
        };
        assert_eq!(request_id, "0741c7a8");
        assert_eq!(
            report,
            Report {
                duration_ms: 309.74,
                memory_size_mb: Some(256),
                max_memory_used_mb: Some(68),
                init_ms: Some(389.07),
                restore_ms: None,
                status: Some("timeout".into()),
            }
        );
        // `sam logs`: the stream first.
        let r = line(
            "2025/12/01/orders[$LATEST]abc 2025-12-01T00:00:00Z INIT_START Runtime Version: python:3.12.v36",
        );
        assert_eq!(r.kind, Kind::InitStart { function: None });
        assert_eq!(
            function_of_stream(r.stream.as_deref().unwrap()),
            Some("orders")
        );
        assert_eq!(function_of_stream("2025/12/01/[$LATEST]abc"), None);
        // Cut short, garbled, or the function's own.
        assert_eq!(
            line("2025-12-01T00:00:00Z REPORT RequestId: abc\tDuration: 30").kind,
            Kind::Malformed
        );
        assert_eq!(line("START RequestId: ").kind, Kind::Malformed);
        assert_eq!(
            line("2025-12-01T04:41:32.900Z START RequestId: 35b97531-b1ad-472a").kind,
            Kind::Malformed
        );
        assert_eq!(
            line("2025-12-01T00:00:00Z\tabc\tINFO\thello").kind,
            Kind::Other
        );
    }

    #[test]
    fn platform_json_records() {
        let (k, t) = message(
            r#"{"time":"2025-12-01T00:00:01.000Z","type":"platform.report","record":{"requestId":"r1","metrics":{"durationMs":12.5,"billedDurationMs":13,"memorySizeMB":512,"maxMemoryUsedMB":70,"initDurationMs":200.0},"status":"success"}}"#,
        );
        assert_eq!(t, Some(1_764_547_201_000_000_000));
        assert_eq!(
            k,
            Kind::Report {
                request_id: "r1".into(),
                report: Report {
                    duration_ms: 12.5,
                    memory_size_mb: Some(512),
                    max_memory_used_mb: Some(70),
                    init_ms: Some(200.0),
                    restore_ms: None,
                    status: None
                }
            }
        );
        let (k, _) = message(
            r#"{"time":"2025-12-01T00:00:00Z","type":"platform.initStart","record":{"functionName":"orders"}}"#,
        );
        assert_eq!(
            k,
            Kind::InitStart {
                function: Some("orders".into())
            }
        );
        assert_eq!(message(r#"{"level":"INFO","message":"hi"}"#).0, Kind::Other);
    }
}
