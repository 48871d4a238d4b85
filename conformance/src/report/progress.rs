//! The progress line shown at the bottom of a terminal while scenarios run:
//!
//! ```text
//!   ⠹ [██████████░░░░░░░░░░░░░░]  5/12  ups-device-in-use  3.2 s  +2  1 failed
//! ```
//!
//! With `--jobs`, several scenarios run at once: the line shows the one running longest
//! and how many more run beside it.
//!
//! [`ProgressLine`] is the state and its rendering (pure, tested); [`Ticker`] redraws it a
//! few times a second from a background thread so the spinner and the running scenario's
//! time move while a scenario waits (the status deadline scenarios take 20 s). The
//! terminal reporter clears the line before it prints and redraws it after, so finished
//! scenarios scroll above it. Only on a TTY: piped output and CI logs never see it.
//!
//! No dependency (indicatif) is needed for one line: it is drawn with `\r` and "erase line"
//! (`ESC [K`), kept shorter than the terminal (`COLUMNS`, else 80) so it never wraps.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const BAR: usize = 24;

/// Moves the cursor to the start of the line and erases it.
pub const CLEAR_LINE: &str = "\r\x1b[K";

/// What the progress line shows.
#[derive(Debug, Clone)]
pub struct ProgressLine {
    total: usize,
    done: usize,
    failed: usize,
    /// Running now, oldest first.
    running: Vec<(String, Instant)>,
    tick: usize,
    colour: bool,
}

impl ProgressLine {
    pub fn new(total: usize, colour: bool) -> Self {
        Self { total, done: 0, failed: 0, running: Vec::new(), tick: 0, colour }
    }

    pub fn start(&mut self, id: &str) {
        self.running.push((id.to_owned(), Instant::now()));
    }

    /// Scenario `id` has finished (scenarios may finish in any order).
    pub fn finish(&mut self, id: &str, failed: bool) {
        self.done += 1;
        self.failed += usize::from(failed);
        if let Some(at) = self.running.iter().position(|(running, _)| running == id) {
            self.running.remove(at);
        }
    }

    /// Advances the spinner.
    pub fn tick(&mut self) {
        self.tick = self.tick.wrapping_add(1);
    }

    /// The line, at most `width` columns wide (escape sequences aside), without a newline.
    pub fn render(&self, width: usize) -> String {
        let total = self.total.max(1);
        let filled = (self.done.min(total) * BAR) / total;
        let bar = format!("{}{}", "█".repeat(filled), "░".repeat(BAR - filled));
        let spinner = SPINNER[self.tick % SPINNER.len()];
        let counter = format!("{:>w$}/{}", self.done, self.total, w = self.total.to_string().len());
        let mut plain_len = 2 + 2 + BAR + 2 + 2 + counter.chars().count();
        let mut line = format!("  {} [{}]  {counter}", self.paint("36", &spinner.to_string()), self.paint("36", &bar));
        if let Some((id, since)) = self.running.first() {
            let elapsed = format!("{:.1} s", since.elapsed().as_secs_f64());
            let more = match self.running.len() - 1 {
                0 => String::new(),
                n => format!("  +{n}"),
            };
            let room = width.saturating_sub(plain_len + 2 + 2 + elapsed.chars().count() + more.chars().count() + 1);
            if room >= 4 {
                let id = shorten(id, room);
                plain_len += 2 + id.chars().count() + 2 + elapsed.chars().count() + more.chars().count();
                line.push_str(&format!("  {}  {}{more}", self.paint("1", &id), self.paint("2", &elapsed)));
            }
        }
        if self.failed > 0 {
            let failed = format!("{} failed", self.failed);
            if plain_len + 2 + failed.len() < width {
                line.push_str(&format!("  {}", self.paint("31", &failed)));
            }
        }
        line
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// The terminal's width for the progress line: `COLUMNS`, else 80, less one so the cursor
/// never wraps.
pub fn terminal_width() -> usize {
    std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<usize>().ok()).filter(|&c| c >= 20).unwrap_or(80) - 1
}

/// Calls `tick` every `period` on a background thread until dropped.
#[derive(Debug)]
pub struct Ticker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    pub fn start(period: Duration, mut tick: impl FnMut() + Send + 'static) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("progress".to_owned())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(period) {
                    tick();
                }
            })
            .ok();
        Self { stop: Some(stop), thread }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn renders_count_bar_running_scenario_and_failures() {
        let mut line = ProgressLine::new(12, false);
        for _ in 0..6 {
            line.start("x");
            line.finish("x", false);
        }
        line.start("y");
        line.finish("y", true);
        line.start("ups-device-in-use");
        let text = line.render(79);
        assert!(text.contains(" 7/12"), "{text}");
        assert!(text.contains(&format!("[{}{}]", "█".repeat(14), "░".repeat(10))), "{text}");
        assert!(text.contains("ups-device-in-use"));
        assert!(text.ends_with("1 failed"), "{text}");
        assert!(text.chars().count() <= 79);
        assert!(!text.contains('\x1b'), "no colour when asked for none");
    }

    #[test]
    fn shows_the_longest_running_of_several_and_how_many_more() {
        let mut line = ProgressLine::new(5, false);
        line.start("first");
        line.start("second");
        line.start("third");
        let text = line.render(79);
        assert!(text.contains("first") && text.contains("+2") && !text.contains("second"), "{text}");
        line.finish("first", false);
        let text = line.render(79);
        assert!(text.contains("second") && text.contains("+1"), "{text}");
        line.finish("third", false);
        line.finish("second", false);
        let text = line.render(79);
        assert!(text.contains("3/5") && !text.contains("second") && !text.contains('+'), "{text}");
    }

    #[test]
    fn stays_within_the_width() {
        let mut line = ProgressLine::new(100, true);
        line.start(&"a-very-long-scenario-id-".repeat(10));
        let text = line.render(60);
        let plain: String = strip(&text);
        assert!(plain.chars().count() <= 60, "{plain}");
        assert!(plain.contains('…'));
    }

    fn strip(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn ticker_ticks_until_dropped() {
        let ticks = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&ticks);
        let ticker = Ticker::start(Duration::from_millis(5), move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        std::thread::sleep(Duration::from_millis(60));
        drop(ticker);
        let after = ticks.load(Ordering::SeqCst);
        assert!(after > 0);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(ticks.load(Ordering::SeqCst), after, "stopped");
    }
}
