//! Transfer progress on stderr: a bar with bytes, rate and ETA (and files done, for
//! trees) when stderr is a terminal, nothing otherwise; `--progress` and `--quiet`
//! force either way.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use smb_blocking::TreeProgress;

/// Whether to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// When stderr is a terminal (and `TERM` is not `dumb`).
    Auto,
    /// Always (`--progress`).
    Always,
    /// Never (`--quiet`).
    Never,
}

impl Mode {
    /// Whether a bar is drawn. `stdout_busy`: the transfer writes to stdout, which may be
    /// the same terminal; a bar then only when asked for.
    fn draws(self, stdout_busy: bool) -> bool {
        match self {
            Mode::Always => true,
            Mode::Never => false,
            Mode::Auto => {
                std::io::stderr().is_terminal()
                    && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
                    && !(stdout_busy && std::io::stdout().is_terminal())
            }
        }
    }
}

/// A progress bar, or nothing; and whether it has been drawn yet.
pub struct Bar(Option<ProgressBar>, std::cell::Cell<bool>);

impl Bar {
    /// A bar for bytes of one file (`total` when known), labelled `label`.
    pub fn bytes(mode: Mode, total: Option<u64>, label: &str, stdout_busy: bool) -> Bar {
        if !mode.draws(stdout_busy) {
            return Bar(None, false.into());
        }
        let style = match total {
            Some(_) => ProgressStyle::with_template(
                "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
            ),
            None => ProgressStyle::with_template(
                "{msg} {spinner} {binary_bytes} {binary_bytes_per_sec} {elapsed}",
            ),
        };
        Bar::start(total, style, label, true)
    }

    /// A bar for a tree: bytes, with the files done in the message.
    pub fn tree(mode: Mode, label: &str) -> Bar {
        if !mode.draws(false) {
            return Bar(None, false.into());
        }
        let style = ProgressStyle::with_template(
            "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
        );
        // Not drawn before the first report: until the listing is done there is no total.
        Bar::start(Some(0), style, label, false)
    }

    fn start(
        total: Option<u64>,
        style: Result<ProgressStyle, indicatif::style::TemplateError>,
        label: &str,
        draw_now: bool,
    ) -> Bar {
        // Drawn through a terminal handle even when stderr is not a terminal, for
        // `--progress`: indicatif's own stderr target hides itself there.
        let target = ProgressDrawTarget::term_like_with_hz(Box::new(console::Term::stderr()), 10);
        let bar = ProgressBar::with_draw_target(total, target);
        if let Ok(style) = style {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(crate::printable(label));
        let bar = Bar(Some(bar), false.into());
        if draw_now {
            // A first frame at once: a short transfer still shows it was under way.
            bar.draw();
        }
        bar
    }

    /// `done` bytes of `total`.
    pub fn set(&self, done: u64, total: Option<u64>) {
        if let Some(bar) = &self.0 {
            if let Some(total) = total {
                bar.set_length(total);
            }
            bar.set_position(done);
        }
    }

    /// A tree transfer's report.
    pub fn tree_update(&self, p: &TreeProgress<'_>, label: &str) {
        if let Some(bar) = &self.0 {
            bar.set_length(p.bytes_total.max(p.bytes_done));
            bar.set_position(p.bytes_done);
            if p.finished.is_some() || !self.1.get() {
                bar.set_message(format!(
                    "{} {}/{} files",
                    crate::printable(label),
                    p.files_done,
                    p.files_total
                ));
                self.draw();
            }
        }
    }

    /// Draws the first frame, and keeps it moving (the rate and ETA change while a
    /// stalled transfer reports nothing).
    fn draw(&self) {
        if let (Some(bar), false) = (&self.0, self.1.replace(true)) {
            bar.tick();
            bar.enable_steady_tick(Duration::from_millis(250));
        }
    }

    /// Removes the bar, leaving the terminal as it was.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.finish();
    }
}
