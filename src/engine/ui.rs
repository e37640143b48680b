//! What the engine tells the user and asks them: a seam, so the tests can read every line and
//! answer every question, and the terminal gets an indicatif progress bar.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::api::StackEvent;

/// The engine's user interface. Everything goes to stderr; results go to stdout from the CLI.
pub trait Ui {
    /// One line of information.
    fn info(&mut self, line: &str);
    /// A yes/no question; `Err` when nobody can answer (not a terminal), naming `skip`, the
    /// flag that answers it up front.
    fn confirm(&mut self, question: &str, skip: &str) -> Result<bool>;
    /// An operation with `total` resources begins.
    fn progress_start(&mut self, label: &str, total: usize);
    /// A new event; `done` resources have finished, `in_progress` are still working.
    fn progress_event(&mut self, event: &StackEvent, done: usize, in_progress: &[String]);
    /// The operation ended.
    fn progress_finish(&mut self);
}

/// The terminal: a progress bar when stderr is a terminal, one line per event otherwise (CI
/// logs); questions are read from stdin only when it is a terminal.
#[derive(Default)]
pub struct TerminalUi {
    bar: Option<ProgressBar>,
}

impl TerminalUi {
    fn plain(&self) -> bool {
        self.bar.as_ref().is_none_or(|b| b.is_hidden())
    }
}

impl Ui for TerminalUi {
    fn info(&mut self, line: &str) {
        match &self.bar {
            Some(bar) if !bar.is_hidden() => bar.println(line),
            _ => eprintln!("{line}"),
        }
    }

    fn confirm(&mut self, question: &str, skip: &str) -> Result<bool> {
        if !std::io::stdin().is_terminal() {
            bail!(
                "{question} needs an answer, but stdin is not a terminal: review the output \
                 above and run again with {skip} to proceed without asking"
            );
        }
        eprint!("{question} [y/N] ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
    }

    fn progress_start(&mut self, label: &str, total: usize) {
        let bar = ProgressBar::with_draw_target(
            Some(total as u64),
            if std::io::stderr().is_terminal() {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(label.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        self.bar = Some(bar);
        if self.plain() {
            eprintln!("{label}: {total} resources");
        }
    }

    fn progress_event(&mut self, event: &StackEvent, done: usize, in_progress: &[String]) {
        let line = event_line(event);
        match &self.bar {
            Some(bar) if !bar.is_hidden() => {
                bar.println(line);
                bar.set_position(done as u64);
                bar.set_message(in_progress_message(in_progress));
            }
            _ => eprintln!("{line}"),
        }
    }

    fn progress_finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// What is still working, briefly: the first three logical ids and a count of the rest.
pub fn in_progress_message(in_progress: &[String]) -> String {
    match in_progress.len() {
        0 => String::new(),
        n if n <= 3 => format!("in progress: {}", in_progress.join(", ")),
        n => format!(
            "in progress: {} and {} more",
            in_progress[..3].join(", "),
            n - 3
        ),
    }
}

/// One event as a log line: status, type, logical id, reason.
pub fn event_line(e: &StackEvent) -> String {
    let mut line = format!(
        "  {:<36} {:<40} {}",
        e.status, e.resource_type, e.logical_id
    );
    if let Some(reason) = e.reason.as_deref().filter(|r| !r.is_empty()) {
        line.push_str(": ");
        line.push_str(reason);
    }
    line
}

/// A UI that records everything and answers questions from a script (tests, benchmarks).
#[derive(Debug, Default)]
pub struct RecordingUi {
    /// Every line, in order (questions prefixed with `? `, events with their line).
    pub lines: Vec<String>,
    /// Answers to questions, in order; a question with no answer left is an error.
    pub answers: Vec<bool>,
    /// The largest `done` count reported, and the total announced.
    pub progress: Option<(usize, usize)>,
}

impl RecordingUi {
    /// Everything recorded, one line each.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

impl Ui for RecordingUi {
    fn info(&mut self, line: &str) {
        self.lines.push(line.to_owned());
    }

    fn confirm(&mut self, question: &str, skip: &str) -> Result<bool> {
        self.lines.push(format!("? {question}"));
        if self.answers.is_empty() {
            bail!("{question} needs an answer, but none was scripted (skip it with {skip})");
        }
        Ok(self.answers.remove(0))
    }

    fn progress_start(&mut self, label: &str, total: usize) {
        self.lines.push(format!("{label}: {total} resources"));
        self.progress = Some((0, total));
    }

    fn progress_event(&mut self, event: &StackEvent, done: usize, _in_progress: &[String]) {
        self.lines.push(event_line(event));
        if let Some((d, _)) = &mut self.progress {
            *d = (*d).max(done);
        }
    }

    fn progress_finish(&mut self) {}
}
