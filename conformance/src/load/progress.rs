//! Live progress on stderr while flows run: elapsed, flows/s, purchases, failures.
//! indicatif hides itself when stderr is not a terminal (CI logs stay clean).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;

use super::options::Stop;
use super::stats::Stats;

/// The running progress display; `finish` clears it.
#[derive(Debug)]
pub struct Live {
    bar: ProgressBar,
    task: JoinHandle<()>,
}

impl Live {
    pub fn start(stop: Stop, stats: Arc<Stats>) -> Self {
        let (length, unit) = match stop {
            Stop::After(duration) => (u64::try_from(duration.as_millis()).unwrap_or(u64::MAX), "ms"),
            Stop::Flows(count) => (count, "flows"),
        };
        let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr_with_hz(4));
        let template = "{bar:30.cyan/blue} {msg}";
        bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
        let shown = bar.clone();
        let started = Instant::now();
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_millis(250));
            loop {
                ticker.tick().await;
                let p = &stats.progress;
                let (done, failed, purchases) = (
                    p.completed.load(Ordering::Relaxed),
                    p.failed.load(Ordering::Relaxed),
                    p.purchases.load(Ordering::Relaxed),
                );
                let seconds = started.elapsed().as_secs_f64().max(0.001);
                let position = if unit == "ms" {
                    u64::try_from(started.elapsed().as_millis()).unwrap_or(0)
                } else {
                    done + failed
                };
                shown.set_position(position.min(length));
                shown.set_message(format!(
                    "{seconds:6.1} s  {done} flows ({:.0}/s), {purchases} purchases ({:.0}/s), {failed} failed",
                    done as f64 / seconds,
                    purchases as f64 / seconds,
                ));
            }
        });
        Self { bar, task }
    }

    pub fn finish(self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}
