//! Progress of virtual-time runs: each run publishes how far it has simulated ([`RunProgress`]); a [`Display`]
//! draws one run, or all the variants of a lab run, as a bar on stderr — simulated time of the slowest unfinished
//! run, events per second, and the time left. Wall-clock reads here only decide what to draw; they never touch
//! results.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How far one run has got, written by the run, read by a [`Display`].
#[derive(Debug, Default)]
pub struct RunProgress {
    /// The scenario's duration: arrivals stop there (invocations still running go on a little).
    duration_ns: u64,
    simulated_ns: AtomicU64,
    events: AtomicU64,
    started: AtomicBool,
    finished: AtomicBool,
}

impl RunProgress {
    /// The progress of a run of a scenario lasting `duration_ns`.
    pub fn new(duration_ns: u64) -> Arc<Self> {
        Arc::new(RunProgress {
            duration_ns: duration_ns.max(1),
            ..RunProgress::default()
        })
    }

    /// The run has simulated up to `simulated_ns`, handling `events` arrivals, completions and timers.
    pub(super) fn update(&self, simulated_ns: u64, events: u64) {
        self.started.store(true, Ordering::Relaxed);
        self.simulated_ns.store(simulated_ns, Ordering::Relaxed);
        self.events.store(events, Ordering::Relaxed);
    }

    pub(super) fn finish(&self, events: u64) {
        self.events.store(events, Ordering::Relaxed);
        self.finished.store(true, Ordering::Relaxed);
    }

    /// The fraction done, 0–1.
    fn fraction(&self) -> f64 {
        if self.finished.load(Ordering::Relaxed) {
            return 1.0;
        }
        let done = self
            .simulated_ns
            .load(Ordering::Relaxed)
            .min(self.duration_ns);
        done as f64 / self.duration_ns as f64
    }
}

/// A progress bar on stderr over some runs, drawn from a thread of its own while it lives: only when stderr is a
/// terminal, and only once the runs have taken 2 s (short runs never show one). Dropping it clears the bar.
pub struct Display {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Display {
    /// Draws `runs`; `what` names them when there are several ("variants", "points").
    pub fn start(runs: Vec<Arc<RunProgress>>, what: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = (std::io::stderr().is_terminal() && !runs.is_empty()).then(|| {
            let (stop, what) = (stop.clone(), what.to_string());
            std::thread::spawn(move || draw(&runs, &what, &stop))
        });
        Display { stop, thread }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn draw(runs: &[Arc<RunProgress>], what: &str, stop: &AtomicBool) {
    let started = Instant::now();
    let mut bar: Option<ProgressBar> = None;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        let elapsed = started.elapsed().as_secs_f64();
        if elapsed < 2.0 {
            continue;
        }
        let bar = bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        let fraction = runs.iter().map(|r| r.fraction()).sum::<f64>() / runs.len() as f64;
        bar.set_position((fraction * 1000.0) as u64);
        bar.set_message(message(runs, what, fraction, elapsed));
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

/// `37/300 simulated s · 1.2 M events/s · 24 s left`, or with several runs
/// `3/12 variants done · slowest at 37/300 simulated s · …`.
fn message(runs: &[Arc<RunProgress>], what: &str, fraction: f64, elapsed_s: f64) -> String {
    let events: u64 = runs.iter().map(|r| r.events.load(Ordering::Relaxed)).sum();
    // The slowest run going now (with one run, that run even before it has begun).
    let slowest = runs
        .iter()
        .filter(|r| {
            !r.finished.load(Ordering::Relaxed)
                && (runs.len() == 1 || r.started.load(Ordering::Relaxed))
        })
        .min_by_key(|r| r.simulated_ns.load(Ordering::Relaxed));
    let mut parts = Vec::new();
    if runs.len() > 1 {
        let done = runs
            .iter()
            .filter(|r| r.finished.load(Ordering::Relaxed))
            .count();
        parts.push(format!("{done}/{} {what} done", runs.len()));
    }
    if let Some(r) = slowest {
        let at = r.simulated_ns.load(Ordering::Relaxed).min(r.duration_ns) / 1_000_000_000;
        let of = r.duration_ns / 1_000_000_000;
        let prefix = if runs.len() > 1 { "slowest at " } else { "" };
        parts.push(format!("{prefix}{at}/{of} simulated s"));
    }
    parts.push(format!("{} events/s", si(events as f64 / elapsed_s)));
    if fraction > 0.01 {
        let left = elapsed_s * (1.0 - fraction) / fraction;
        parts.push(format!("~{} left", duration(left)));
    }
    parts.join(" · ")
}

/// 1234567 → `1.2 M`.
fn si(x: f64) -> String {
    match x {
        x if x >= 1e6 => format!("{:.1} M", x / 1e6),
        x if x >= 1e3 => format!("{:.0} k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

/// Seconds as `45 s` or `3 min 20 s`.
fn duration(s: f64) -> String {
    let s = s.round() as u64;
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{} min {} s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_slowest_unfinished_run_and_the_time_left() {
        let a = RunProgress::new(300_000_000_000);
        let b = RunProgress::new(300_000_000_000);
        let c = RunProgress::new(300_000_000_000);
        a.update(150_000_000_000, 1_000_000);
        b.finish(2_000_000);
        // c has not begun: it is not the slowest run going.
        let runs = vec![a, b, c];
        let fraction = (0.5 + 1.0 + 0.0) / 3.0;
        assert_eq!(
            message(&runs, "variants", fraction, 10.0),
            "1/3 variants done · slowest at 150/300 simulated s · 300 k events/s · ~10 s left"
        );
        // A run that has just begun counts as at 0 s, not at its end.
        let c = RunProgress::new(15_000_000_000);
        c.update(1_000_000_000, 10);
        assert_eq!(c.fraction(), 1.0 / 15.0);
    }
}
