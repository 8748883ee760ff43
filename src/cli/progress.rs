//! The progress bar of `rget get` (`indicatif`): bytes, rate and time left on standard error when
//! it is a terminal, and nothing otherwise (a pipe or a log file gets only the summary).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};
use std::io::IsTerminal;

/// What a terminal sees while a download runs; [`Progress::finish`] clears it before the summary.
/// A clone draws the same bar (the download's thread updates it).
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
    color: bool,
}

impl Progress {
    /// Drawn on standard error, at most ten times a second, only if standard error is a terminal.
    /// In colour unless `NO_COLOR` is set to anything but the empty string (no-color.org).
    pub fn start() -> Progress {
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10))
        } else {
            ProgressBar::hidden()
        }
        // Also when a failed download drops it: the one-line error then starts a clean line.
        .with_finish(ProgressFinish::AndClear);
        bar.set_style(style(false, color));
        Progress { bar, color }
    }

    /// `got` bytes received so far, of `total` when the server said how many.
    pub fn update(&mut self, got: u64, total: Option<u64>) {
        if let Some(t) = total.filter(|t| self.bar.length() != Some(*t)) {
            self.bar.set_length(t);
            self.bar.set_style(style(true, self.color));
        }
        self.bar.set_position(got);
    }

    /// Removes the bar, so the summary starts on a clean line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A line that says what rget is waiting for, with the seconds so far, redrawn on standard error
/// only when it is a terminal (nothing otherwise); cleared when dropped, so the summary or the
/// one-line error that follows starts a clean line. For waits whose length only the other side
/// knows: a log answering a submission once its witnesses cosigned.
pub struct Waiting {
    bar: ProgressBar,
}

impl Waiting {
    /// Starts the line for `what` (escaped for the terminal), redrawn every 250 ms until dropped.
    pub fn start(what: &str) -> Waiting {
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4))
        } else {
            ProgressBar::hidden()
        }
        .with_finish(ProgressFinish::AndClear);
        // A constant template that parses (the unit test checks it).
        bar.set_style(
            ProgressStyle::with_template(WAITING_TEMPLATE)
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(rget_core::escape::for_terminal(what).into_owned());
        bar.enable_steady_tick(std::time::Duration::from_millis(250));
        Waiting { bar }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

const WAITING_TEMPLATE: &str = "{spinner} {msg} ({elapsed})";

/// The bar, bytes, total, rate and time left when the length is known; bytes and rate when not.
fn template(total_known: bool, color: bool) -> &'static str {
    match (total_known, color) {
        (true, true) => {
            "{bar:30.cyan/blue} {bytes}/{total_bytes}  {binary_bytes_per_sec}  ETA {eta}"
        }
        (true, false) => "{bar:30} {bytes}/{total_bytes}  {binary_bytes_per_sec}  ETA {eta}",
        (false, _) => "{bytes}  {binary_bytes_per_sec}",
    }
}

fn style(total_known: bool, color: bool) -> ProgressStyle {
    // Each template is a constant that parses (the unit test checks them all).
    ProgressStyle::with_template(template(total_known, color))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waiting_template_parses() {
        assert!(ProgressStyle::with_template(WAITING_TEMPLATE).is_ok());
    }

    #[test]
    fn templates_parse_and_no_color_means_no_colour() {
        for known in [false, true] {
            for color in [false, true] {
                let t = template(known, color);
                assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
                assert_eq!(t.contains(".cyan"), known && color, "{t}");
                assert_eq!(t.contains("{eta}"), known, "{t}");
            }
        }
    }
}
