//! The one place results reach stdout. Writes return errors instead of panicking (as `print!`
//! does), and a reader that has gone away is not an error.

use std::io::{ErrorKind, Write};

use anyhow::Context;

/// Writes `text` to stdout and flushes it.
///
/// A closed stdout (`cdkrs synth --stdout | head -1`: the reader stopped reading) drops the rest
/// of the output and returns `Ok`: what the reader did not read it did not want, and the command
/// still ends with its own result (0 when it succeeded, as ripgrep does; `diff` keeps its 1 for
/// "differences", `deploy` its 1 for "declined"). Every command prints its result last, so
/// nothing runs on after the reader has gone. Any other failure (a full disk: ENOSPC) is an error
/// naming stdout.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        written => written.context("writing to stdout"),
    }
}

/// [`print`], then a newline.
pub fn println(text: &str) -> anyhow::Result<()> {
    print(&format!("{text}\n"))
}
