//! The terminal rendering, like `cdk diff`.

use std::fmt::Write;

use anstyle::{AnsiColor, Effects, Style};

use super::{
    other_counts, replacement_tag, sections, security_tables, summary_line, trailing_sections,
    Table, ValueChange,
};
use crate::diff::{Action, ResourceChange, TemplateDiff};

const INDENT: &str = "    ";

/// Styles, or none at all when color is off.
struct Paint {
    color: bool,
}

impl Paint {
    fn style(&self, s: &str, style: Style) -> String {
        if self.color && !s.is_empty() {
            format!("{}{s}{}", style.render(), style.render_reset())
        } else {
            s.to_owned()
        }
    }
    fn fg(&self, s: &str, c: AnsiColor) -> String {
        self.style(s, Style::new().fg_color(Some(c.into())))
    }
    fn bold(&self, s: &str) -> String {
        self.style(s, Style::new().effects(Effects::BOLD))
    }
    fn dim(&self, s: &str) -> String {
        self.style(s, Style::new().effects(Effects::DIMMED))
    }
    fn marker(&self, action: Action) -> String {
        match action {
            Action::Add => self.fg("[+]", AnsiColor::Green),
            Action::Remove => self.fg("[-]", AnsiColor::Red),
            Action::Modify => self.fg("[~]", AnsiColor::Yellow),
        }
    }
    fn tag(&self, tag: &str) -> String {
        match tag {
            "" => String::new(),
            "replace" => format!(
                " {}",
                self.style(
                    "(replace)",
                    Style::new()
                        .fg_color(Some(AnsiColor::Red.into()))
                        .effects(Effects::BOLD)
                )
            ),
            other => format!(" {}", self.fg(&format!("({other})"), AnsiColor::Yellow)),
        }
    }
    fn line(&self, tag: char, text: &str) -> String {
        let line = format!("{tag} {text}");
        match tag {
            '-' => self.fg(&line, AnsiColor::Red),
            '+' => self.fg(&line, AnsiColor::Green),
            _ => line,
        }
    }
    fn warning(&self, text: &str) -> String {
        self.style(
            &format!("⚠ {text}"),
            Style::new()
                .fg_color(Some(AnsiColor::Yellow.into()))
                .effects(Effects::BOLD),
        )
    }
}

/// See [`TemplateDiff::render_text`].
pub(crate) fn text(diff: &TemplateDiff, stack_name: &str, color: bool) -> String {
    let p = Paint { color };
    let mut out = String::new();
    if diff.is_empty() {
        let _ = writeln!(out, "Stack {}: no differences", p.bold(stack_name));
        return out;
    }
    let new = if diff.new_stack { " (new stack)" } else { "" };
    let _ = writeln!(out, "Stack {}{new}", p.bold(stack_name));
    for (title, changes) in sections(diff) {
        section(&mut out, &p, title, &changes);
    }
    if !diff.resources.is_empty() {
        let _ = writeln!(out, "\n{}", p.bold("Resources"));
        for r in &diff.resources {
            resource(&mut out, &p, r);
        }
    }
    for (title, changes) in trailing_sections(diff) {
        section(&mut out, &p, title, &changes);
    }
    for t in security_tables(&diff.security) {
        let _ = writeln!(out, "\n{}", p.bold(t.title));
        table(&mut out, &p, &t);
    }
    out.push('\n');
    if diff.broadens_security {
        let _ = writeln!(out, "{}", p.warning(&super::broadening_line(diff)));
    }
    let mut summary = summary_line(diff.summary);
    if let Some(others) = other_counts(diff) {
        let _ = write!(summary, "; also changes {others}");
    }
    let _ = writeln!(out, "{}", p.bold(&summary));
    out
}

fn section(out: &mut String, p: &Paint, title: &str, changes: &[ValueChange]) {
    let _ = writeln!(out, "\n{}", p.bold(title));
    for c in changes {
        value_change(out, p, "", c);
    }
}

fn resource(out: &mut String, p: &Paint, r: &ResourceChange) {
    let tag = match (r.action, r.replacement) {
        (Action::Modify, rep) => p.tag(replacement_tag(rep)),
        _ => String::new(),
    };
    let type_name = match &r.old_resource_type {
        Some(old) => format!("{old} → {}", r.resource_type),
        None => r.resource_type.clone(),
    };
    let _ = writeln!(
        out,
        "{} {type_name} {}{tag}",
        p.marker(r.action),
        p.bold(&r.logical_id)
    );
    for c in &r.property_changes {
        let change = ValueChange::new(c.path.clone(), c.old.as_ref(), c.new.as_ref())
            .with(replacement_tag(c.replacement), c.note.as_deref());
        value_change(out, p, INDENT, &change);
    }
    for n in &r.notes {
        let _ = writeln!(out, "{INDENT}{}", p.dim(&format!("note: {n}")));
    }
    for w in &r.warnings {
        let _ = writeln!(out, "{INDENT}{}", p.warning(w));
    }
}

fn value_change(out: &mut String, p: &Paint, indent: &str, c: &ValueChange) {
    let head = format!("{indent}{} {}{}", p.marker(c.action), c.label, p.tag(c.tag));
    match &c.inline {
        Some(inline) => {
            let _ = writeln!(out, "{head}: {inline}");
        }
        None => {
            let _ = writeln!(out, "{head}:");
            for (tag, line) in &c.body {
                let _ = writeln!(out, "{indent}{INDENT}{}", p.line(*tag, line));
            }
        }
    }
    if let Some(note) = &c.note {
        let _ = writeln!(out, "{indent}{INDENT}{}", p.dim(&format!("note: {note}")));
    }
}

/// A box-drawn table; cells may hold several lines.
fn table(out: &mut String, p: &Paint, t: &Table) {
    let mut widths: Vec<usize> = t.headers.iter().map(|h| h.chars().count()).collect();
    for row in &t.rows {
        for (i, cell) in row.cells.iter().enumerate() {
            let w = cell.iter().map(|l| l.chars().count()).max().unwrap_or(0);
            if let Some(slot) = widths.get_mut(i) {
                *slot = (*slot).max(w);
            }
        }
    }
    let rule = |l: &str, m: &str, r: &str| {
        let parts: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
        format!("{l}{}{r}", parts.join(m))
    };
    let _ = writeln!(out, "{}", rule("┌", "┬", "┐"));
    let headers: Vec<Vec<String>> = t.headers.iter().map(|h| vec![(*h).to_owned()]).collect();
    row_lines(out, p, &widths, &headers, None);
    for row in &t.rows {
        let _ = writeln!(out, "{}", rule("├", "┼", "┤"));
        row_lines(out, p, &widths, &row.cells, Some(row.action));
    }
    let _ = writeln!(out, "{}", rule("└", "┴", "┘"));
}

fn row_lines(
    out: &mut String,
    p: &Paint,
    widths: &[usize],
    cells: &[Vec<String>],
    action: Option<Action>,
) {
    let height = cells.iter().map(Vec::len).max().unwrap_or(0).max(1);
    for line in 0..height {
        let mut text = String::from("│");
        for (i, w) in widths.iter().enumerate() {
            let content = cells
                .get(i)
                .and_then(|c| c.get(line))
                .map_or("", String::as_str);
            let pad = w.saturating_sub(content.chars().count());
            let shown = match (i, action) {
                (0, Some(Action::Add)) => p.fg(content, AnsiColor::Green),
                (0, Some(Action::Remove)) => p.fg(content, AnsiColor::Red),
                _ => content.to_owned(),
            };
            let _ = write!(text, " {shown}{} │", " ".repeat(pad));
        }
        let _ = writeln!(out, "{text}");
    }
}

/// Only the security tables and the broadening warning (the change-set review of `deploy`);
/// empty when nothing security-relevant changes.
pub(crate) fn security(diff: &TemplateDiff, color: bool) -> String {
    let p = Paint { color };
    let mut out = String::new();
    for t in security_tables(&diff.security) {
        let _ = writeln!(out, "{}", p.bold(t.title));
        table(&mut out, &p, &t);
        out.push('\n');
    }
    if diff.broadens_security {
        let _ = writeln!(out, "{}", p.warning(&super::broadening_line(diff)));
    }
    out
}
