//! `lambda-sim import logs`: Lambda's CloudWatch logs → arrival traces, a profile per function, and a scenario
//! that replays them.
//!
//! Each file is read on its own thread ([`read`]: plain text, `--output text`, JSON Lines, or the JSON
//! `aws logs filter-log-events` prints, parsed line by line with [`parse`]), its events put in time order; the
//! files' streams are merged by time and analysed ([`profile`]): arrivals and a per-minute timeline are written
//! as they go, distributions are kept as histograms. Then [`emit`] writes `profile.json` and `scenario.toml`.
//! Memory stays bounded whatever the size of the logs: it holds the requests in flight, a reorder window of
//! events, and the histograms.

mod emit;
mod parse;
mod profile;
mod read;

use std::collections::BinaryHeap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, sync_channel};

pub use emit::empirical_ms;
pub use parse::{Kind, Record, iso8601_ns, line as parse_line};
pub use profile::Counts;
pub use read::FileCounts;

use super::ImportError;
use read::{Event, Message};

/// What the import needs besides the files.
#[derive(Debug, Clone)]
pub struct LogsOptions {
    /// Where arrivals, timelines, `profile.json` and `scenario.toml` go (created if missing).
    pub out_dir: PathBuf,
    /// The function every event belongs to unless it names its own (log group, shared-group stream name, or
    /// `platform.initStart`); otherwise each file's name is its function's.
    pub function: Option<String>,
    /// How far out of time order events of one file may be (several log streams interleaved).
    pub reorder_window_ns: u64,
    /// The `code` of the stand-in handler.
    pub stand_in: String,
    /// The command line, for the scenario's header.
    pub command: String,
}

/// One function as the logs show it.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSummary {
    pub name: String,
    pub invocations: u64,
    pub cold_starts: u64,
    pub duration_p50_ms: f64,
    pub duration_p99_ms: f64,
    pub peak_concurrency: u32,
}

/// The result of an import.
#[derive(Debug, Clone)]
pub struct LogsImport {
    pub files: Vec<(String, FileCounts)>,
    pub counts: Counts,
    pub functions: Vec<FunctionSummary>,
    /// Files whose reading stopped early (a JSON document cut short), with why; what came before was kept.
    pub stopped: Vec<String>,
}

/// A name lambda-sim accepts for a function (`A-Za-z0-9-_`, at most 64 characters); also its files' names.
pub fn function_name(name: &str) -> String {
    super::draft::name(name, 64, "function")
}

/// The function a file's events belong to unless they say otherwise: the file's name without extensions.
pub fn default_function(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.split('.').next().unwrap_or("");
    function_name(if stem.is_empty() || path == Path::new("-") {
        "function"
    } else {
        stem
    })
}

/// Imports `files` ("-" is standard input).
pub fn import(files: &[PathBuf], options: &LogsOptions) -> Result<LogsImport, ImportError> {
    if files.is_empty() {
        return Err(ImportError::Usage(
            "give at least one log file (or - for standard input)".into(),
        ));
    }
    for f in files.iter().filter(|f| *f != Path::new("-")) {
        std::fs::File::open(f).map_err(|source| ImportError::Read {
            path: f.display().to_string(),
            source,
        })?;
    }
    let dir = &options.out_dir;
    let write_err = |source| ImportError::Write {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(write_err)?;
    let mut readers: Vec<Receiver<Message>> = Vec::new();
    let mut handles = Vec::new();
    for path in files {
        let (tx, rx) = sync_channel(4);
        let default = options
            .function
            .clone()
            .unwrap_or_else(|| default_function(path));
        let (path, window) = (path.clone(), options.reorder_window_ns);
        handles.push(std::thread::spawn(move || {
            read::read_file(path, default, window, tx)
        }));
        readers.push(rx);
    }
    let mut analysis = profile::Analysis::new(dir);
    let mut merge = Merge::new(readers);
    let mut failed = None;
    while let Some(e) = merge.next() {
        if let Err(e) = analysis.event(e) {
            failed = Some(e);
            break;
        }
    }
    if let Some(e) = failed {
        return Err(write_err(e));
    }
    analysis.finish().map_err(write_err)?;
    for h in handles {
        let _ = h.join();
    }
    let files: Vec<(String, FileCounts)> = files
        .iter()
        .map(|p| p.display().to_string())
        .zip(merge.counts)
        .collect();
    let profile = emit::profile(&analysis, &files);
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).map_err(|source| ImportError::Write {
            path: dir.join(name).display().to_string(),
            source,
        })
    };
    write("profile.json", &format!("{profile:#}\n"))?;
    let name = dir
        .file_name()
        .map(|n| function_name(&n.to_string_lossy()))
        .unwrap_or_else(|| "imported-logs".into());
    if analysis.functions.values().any(|f| f.arrivals > 0) {
        write(
            "scenario.toml",
            &emit::scenario(&analysis, &name, &options.command, &options.stand_in),
        )?;
    }
    let functions = analysis
        .functions
        .values()
        .map(|f| FunctionSummary {
            name: f.name.to_string(),
            invocations: f.arrivals,
            cold_starts: f.cold_starts,
            duration_p50_ms: f.duration_us.value_at_quantile(0.5) as f64 / 1000.0,
            duration_p99_ms: f.duration_us.value_at_quantile(0.99) as f64 / 1000.0,
            peak_concurrency: f.peak_concurrency,
        })
        .collect();
    Ok(LogsImport {
        files,
        counts: analysis.counts.clone(),
        functions,
        stopped: merge.stopped,
    })
}

/// The k-way merge of the files' time-ordered event streams (ties: the earlier file first).
struct Merge {
    readers: Vec<Option<Receiver<Message>>>,
    heads: Vec<std::collections::VecDeque<Event>>,
    heap: BinaryHeap<std::cmp::Reverse<(u64, usize)>>,
    counts: Vec<FileCounts>,
    stopped: Vec<String>,
}

impl Merge {
    fn new(readers: Vec<Receiver<Message>>) -> Self {
        let n = readers.len();
        let mut m = Merge {
            readers: readers.into_iter().map(Some).collect(),
            heads: (0..n).map(|_| Default::default()).collect(),
            heap: BinaryHeap::new(),
            counts: vec![FileCounts::default(); n],
            stopped: Vec::new(),
        };
        for i in 0..n {
            m.refill(i);
        }
        m
    }

    /// Fetches file `i`'s next batch if its buffer is empty, and puts its head in the heap.
    fn refill(&mut self, i: usize) {
        while self.heads[i].is_empty() {
            let Some(rx) = &self.readers[i] else { return };
            match rx.recv() {
                Ok(Message::Batch(b)) => self.heads[i].extend(b),
                Ok(Message::Done(c)) => {
                    self.counts[i] = c;
                    self.readers[i] = None;
                }
                Ok(Message::Failed(why)) => {
                    self.stopped.push(why);
                }
                Err(_) => self.readers[i] = None,
            }
        }
        if let Some(e) = self.heads[i].front() {
            self.heap.push(std::cmp::Reverse((e.time_ns, i)));
        }
    }

    fn next(&mut self) -> Option<Event> {
        let std::cmp::Reverse((_, i)) = self.heap.pop()?;
        let e = self.heads[i].pop_front();
        self.refill(i);
        e
    }
}
