//! Reading one log file, streaming, on a thread of its own: lines or JSON events → [`Event`]s in time order, sent
//! in batches over a bounded channel (so a file is never held in memory, and parsing overlaps the analysis).
//!
//! Formats, told apart by the file's first line: plain text (one log event per line, see [`super::parse`]); the
//! text `aws logs … --output text` prints (`EVENTS\t…`); the CSV a CloudWatch Logs Insights query exports from the
//! console (a header naming `@timestamp`, `@message` and optionally `@logStream`, `@log`); JSON Lines of log events
//! (`{"timestamp", "message", …}` or Lambda's JSON log records); or one JSON document as
//! `aws logs filter-log-events` / `get-log-events` print it (`{"events": [...]}`, several documents one after
//! another, or a bare array), parsed event by event.
//!
//! Events are put in time order within a window (`reorder_window_ns`): exports of several log streams interleave
//! them, and a cold start's arrival is its `INIT_START`, logged before the `START` it belongs to. An event later
//! than the window allows is moved up to the window's edge and counted.

use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use serde::Deserialize;

use super::parse::{self, Kind, Record};

/// A parsed log event, placed in time.
#[derive(Debug, Clone)]
pub struct Event {
    /// Nanoseconds since the epoch: the event's own time, or (untimed) the last time seen before it. A `START`'s is
    /// its request's arrival: the `INIT_START` before it in its log stream, when there is one.
    pub time_ns: u64,
    pub timed: bool,
    pub function: Arc<str>,
    pub kind: Kind,
}

/// Counts of what a file held.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FileCounts {
    pub lines: u64,
    pub bytes: u64,
    pub malformed: u64,
    pub other: u64,
    /// Events later than the reorder window allowed (moved up to it).
    pub late: u64,
    /// JSON events that were not log events (no `message`).
    pub not_events: u64,
}

/// What a reader thread sends.
pub enum Message {
    Batch(Vec<Event>),
    Done(FileCounts),
    Failed(String),
}

const BATCH: usize = 4096;

/// Reads `path` and sends its events; `default_function` names events nothing else names.
pub fn read_file(
    path: PathBuf,
    default_function: String,
    reorder_window_ns: u64,
    tx: SyncSender<Message>,
) {
    let mut order = Orderer::new(default_function, reorder_window_ns, tx.clone());
    let result = read_into(&path, &mut order);
    let counts = order.finish();
    if let Err(e) = result {
        let _ = tx.send(Message::Failed(format!("{}: {e}", path.display())));
    }
    let _ = tx.send(Message::Done(counts));
}

fn read_into(path: &Path, order: &mut Orderer) -> Result<(), String> {
    let file: Box<dyn Read + Send> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(File::open(path).map_err(|e| e.to_string())?)
    };
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let head = reader.fill_buf().map_err(|e| e.to_string())?;
    let first = head.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let first_line = head
        .split(|b| *b == b'\n')
        .find(|l| !l.trim_ascii().is_empty())
        .unwrap_or(&[]);
    let json_lines =
        first == Some(b'{') && serde_json::from_slice::<serde_json::Value>(first_line).is_ok();
    if first == Some(b'{') && !json_lines || first == Some(b'[') {
        return json_document(reader, order);
    }
    let csv = (first_line.starts_with(b"@timestamp") || first_line.starts_with(b"\"@timestamp"))
        .then(|| InsightsCsv::new(&String::from_utf8_lossy(first_line)));
    let mut buf = Vec::with_capacity(4096);
    if csv.is_some() {
        reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| e.to_string())?;
        order.counts.lines += 1;
        order.counts.bytes += buf.len() as u64;
    }
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Ok(());
        }
        order.counts.lines += 1;
        order.counts.bytes += n as u64;
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_end();
        if text.is_empty() {
            continue;
        }
        if let Some(csv) = &csv {
            let (record, group) = csv.record(text);
            let function = group.map(|g| order.name(g.as_str()));
            order.push(record, function);
        } else if json_lines && text.starts_with('{') {
            match serde_json::from_str::<RawEvent>(text) {
                Ok(e) if e.message.is_some() => order.push_raw(e),
                _ => order.push(parse::line(text), None),
            }
        } else if let Some(rest) = text.strip_prefix("EVENTS\t") {
            order.push(cli_text_event(rest), None);
        } else {
            order.push(parse::line(text), None);
        }
    }
}

/// `EVENTS\t<eventId>\t<ingestionTime>\t<logStreamName>\t<message>\t<timestamp>` (`--output text`; the message
/// may itself hold tabs).
fn cli_text_event(rest: &str) -> Record {
    let mut parts = rest.splitn(4, '\t');
    let (_id, _ingested, stream, tail) = (parts.next(), parts.next(), parts.next(), parts.next());
    let Some((message, ts)) = tail.and_then(|t| t.rsplit_once('\t')) else {
        return Record {
            time_ns: None,
            stream: None,
            kind: Kind::Malformed,
        };
    };
    let (kind, json_time) = parse::message(message);
    Record {
        time_ns: ts
            .trim()
            .parse::<u64>()
            .ok()
            .map(|ms| ms * 1_000_000)
            .or(json_time),
        stream: stream.map(str::to_string),
        kind,
    }
}

/// The columns of a Logs Insights CSV export.
struct InsightsCsv {
    timestamp: Option<usize>,
    message: Option<usize>,
    stream: Option<usize>,
    log: Option<usize>,
}

impl InsightsCsv {
    fn new(header: &str) -> Self {
        let names = csv_fields(header.trim_end());
        let at = |n: &str| names.iter().position(|x| x == n);
        InsightsCsv {
            timestamp: at("@timestamp"),
            message: at("@message"),
            stream: at("@logStream"),
            log: at("@log"),
        }
    }

    /// A row's record, and the function its `@log` (`account:/aws/lambda/name`) names.
    fn record(&self, row: &str) -> (Record, Option<String>) {
        let f = csv_fields(row);
        let get = |i: Option<usize>| i.and_then(|i| f.get(i)).map(String::as_str);
        let Some(message) = get(self.message) else {
            return (
                Record {
                    time_ns: None,
                    stream: None,
                    kind: Kind::Malformed,
                },
                None,
            );
        };
        let (kind, json_time) = parse::message(message);
        let group =
            get(self.log).and_then(|l| l.split_once(":/aws/lambda/").map(|(_, f)| f.to_string()));
        let record = Record {
            time_ns: get(self.timestamp)
                .and_then(parse::iso8601_ns)
                .or(json_time),
            stream: get(self.stream).map(str::to_string),
            kind,
        };
        (record, group)
    }
}

/// The fields of one CSV row (RFC 4180 quoting; a field cannot span lines here).
fn csv_fields(row: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = row.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// One log event as the CloudWatch Logs API returns it (other fields are ignored).
#[derive(Debug, Deserialize)]
pub struct RawEvent {
    timestamp: Option<u64>,
    message: Option<String>,
    #[serde(rename = "logStreamName")]
    stream: Option<String>,
    #[serde(rename = "logGroupName")]
    group: Option<String>,
}

fn json_document<R: Read>(reader: R, order: &mut Orderer) -> Result<(), String> {
    let mut counted = CountingReader {
        inner: reader,
        bytes: 0,
    };
    let result = {
        let mut de = serde_json::Deserializer::from_reader(&mut counted);
        let mut out = Ok(());
        while de.end().is_err() {
            if let Err(e) = serde::de::DeserializeSeed::deserialize(Document(order), &mut de) {
                out = Err(format!("line {} column {}: {e}", e.line(), e.column()));
                break;
            }
        }
        out
    };
    order.counts.bytes += counted.bytes;
    result
}

struct CountingReader<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// A `{"events": [...], …}` document, or a bare array of events.
struct Document<'a>(&'a mut Orderer);

impl<'de> serde::de::DeserializeSeed<'de> for Document<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Document<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a CloudWatch Logs document {\"events\": [...]} or an array of log events")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "events" {
                map.next_value_seed(Events(&mut *self.0))?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Events(self.0).visit_seq(seq)
    }
}

struct Events<'a>(&'a mut Orderer);

impl<'de> serde::de::DeserializeSeed<'de> for Events<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Events<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of log events")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(e) = seq.next_element::<RawEvent>()? {
            self.0.counts.lines += 1;
            if e.message.is_some() {
                self.0.push_raw(e);
            } else {
                self.0.counts.not_events += 1;
            }
        }
        Ok(())
    }
}

/// Puts a file's events in time order within the window and sends them in batches.
struct Orderer {
    default_function: Arc<str>,
    names: HashMap<String, Arc<str>>,
    window_ns: u64,
    heap: BinaryHeap<Pending>,
    seq: u64,
    max_seen: u64,
    last_sent: u64,
    /// `INIT_START` times by log stream, waiting for their `START`.
    init_start: HashMap<String, u64>,
    /// Log stream → function, from `platform.initStart` records.
    stream_function: HashMap<String, Arc<str>>,
    batch: Vec<Event>,
    tx: SyncSender<Message>,
    counts: FileCounts,
}

struct Pending(Event, u64);

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        (self.0.time_ns, self.1) == (o.0.time_ns, o.1)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    // A min-heap on (time, sequence).
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.0.time_ns, o.1).cmp(&(self.0.time_ns, self.1))
    }
}

impl Orderer {
    fn new(default_function: String, window_ns: u64, tx: SyncSender<Message>) -> Self {
        Orderer {
            default_function: default_function.into(),
            names: HashMap::new(),
            window_ns,
            heap: BinaryHeap::new(),
            seq: 0,
            max_seen: 0,
            last_sent: 0,
            init_start: HashMap::new(),
            stream_function: HashMap::new(),
            batch: Vec::with_capacity(BATCH),
            tx,
            counts: FileCounts::default(),
        }
    }

    fn name(&mut self, n: &str) -> Arc<str> {
        if let Some(a) = self.names.get(n) {
            return a.clone();
        }
        let a: Arc<str> = n.into();
        self.names.insert(n.to_string(), a.clone());
        a
    }

    fn push_raw(&mut self, e: RawEvent) {
        let message = e.message.as_deref().unwrap_or("");
        let (kind, json_time) = parse::message(message);
        let record = Record {
            time_ns: e.timestamp.map(|ms| ms * 1_000_000).or(json_time),
            stream: e.stream,
            kind,
        };
        let group_function = e
            .group
            .as_deref()
            .and_then(|g| g.strip_prefix("/aws/lambda/"));
        let function = group_function.map(|f| self.name(f));
        self.push(record, function);
    }

    fn push(&mut self, r: Record, function: Option<Arc<str>>) {
        match &r.kind {
            Kind::Malformed => self.counts.malformed += 1,
            Kind::Other | Kind::End => {
                if matches!(r.kind, Kind::Other) {
                    self.counts.other += 1;
                }
                return;
            }
            _ => {}
        }
        let stream_key = r.stream.clone().unwrap_or_default();
        let function = match function {
            Some(f) => f,
            None => match r.stream.as_deref().and_then(parse::function_of_stream) {
                Some(f) => self.name(f),
                None => self
                    .stream_function
                    .get(&stream_key)
                    .cloned()
                    .unwrap_or_else(|| self.default_function.clone()),
            },
        };
        let timed = r.time_ns.is_some();
        let at = r.time_ns.unwrap_or(self.max_seen);
        let mut time_ns = at;
        match &r.kind {
            Kind::InitStart { function: named } => {
                if let Some(n) = named {
                    let n = self.name(n);
                    self.stream_function.insert(stream_key.clone(), n);
                }
                if timed {
                    self.init_start.insert(stream_key, at);
                }
                return;
            }
            Kind::Start { .. } => {
                if let Some(init) = self.init_start.remove(&stream_key)
                    && init <= at
                {
                    time_ns = init;
                }
            }
            _ => {}
        }
        let event = Event {
            time_ns,
            timed,
            function,
            kind: r.kind,
        };
        self.max_seen = self.max_seen.max(at);
        self.seq += 1;
        self.heap.push(Pending(event, self.seq));
        while let Some(top) = self.heap.peek() {
            if top.0.time_ns.saturating_add(self.window_ns) > self.max_seen {
                break;
            }
            if let Some(Pending(e, _)) = self.heap.pop() {
                self.send(e);
            }
        }
    }

    fn send(&mut self, mut e: Event) {
        if e.time_ns < self.last_sent {
            self.counts.late += 1;
            e.time_ns = self.last_sent;
        }
        self.last_sent = e.time_ns;
        self.batch.push(e);
        if self.batch.len() >= BATCH {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            let _ = self.tx.send(Message::Batch(batch));
        }
    }

    fn finish(mut self) -> FileCounts {
        while let Some(Pending(e, _)) = self.heap.pop() {
            self.send(e);
        }
        if !self.batch.is_empty() {
            let batch = std::mem::take(&mut self.batch);
            let _ = self.tx.send(Message::Batch(batch));
        }
        self.counts
    }
}
