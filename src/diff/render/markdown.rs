//! The Markdown rendering, for a pull-request comment (GitHub-flavoured).

use std::fmt::Write;

use super::{
    other_counts, replacement_tag, sections, security_tables, summary_line, trailing_sections,
    ValueChange,
};
use crate::diff::{Action, ResourceChange, TemplateDiff};

/// See [`TemplateDiff::render_markdown`].
pub(crate) fn markdown(diff: &TemplateDiff, stack_name: &str) -> String {
    let mut out = String::new();
    let new = if diff.new_stack { " (new stack)" } else { "" };
    let _ = writeln!(out, "### cdkrs diff: stack {}{new}\n", code(stack_name));
    if diff.is_empty() {
        out.push_str("No differences.\n");
        return out;
    }
    let mut summary = summary_line(diff.summary);
    if let Some(others) = other_counts(diff) {
        let _ = write!(summary, "; also changes {others}");
    }
    let _ = writeln!(out, "**{}**\n", cell(&summary));
    if diff.broadens_security {
        let _ = writeln!(
            out,
            "> [!WARNING]\n> {}\n",
            cell(&super::broadening_line(diff))
        );
    }
    if !diff.resources.is_empty() {
        out.push_str("| Action | Logical ID | Type | Replacement | Notes |\n");
        out.push_str("| --- | --- | --- | --- | --- |\n");
        for r in &diff.resources {
            resource_row(&mut out, r);
        }
        out.push('\n');
    }
    let details = resource_details(diff);
    let entry_sections: Vec<_> = sections(diff)
        .into_iter()
        .chain(trailing_sections(diff))
        .collect();
    if !details.is_empty() || !entry_sections.is_empty() {
        out.push_str("<details>\n<summary>Details</summary>\n\n");
        out.push_str(&details);
        for (title, changes) in entry_sections {
            let _ = writeln!(out, "#### {title}\n");
            fenced(&mut out, &changes);
        }
        out.push_str("</details>\n\n");
    }
    for t in security_tables(&diff.security) {
        let _ = writeln!(out, "#### {}\n", t.title);
        let _ = writeln!(out, "| {} |", t.headers.join(" | "));
        let _ = writeln!(out, "|{}", " --- |".repeat(t.headers.len()));
        for row in &t.rows {
            let cells: Vec<String> = row
                .cells
                .iter()
                .enumerate()
                .map(|(i, lines)| match i {
                    0 => lines.join(""),
                    // The logical id, then what part of it (`(trust policy)`) as plain text.
                    1 => lines
                        .iter()
                        .enumerate()
                        .map(|(j, l)| if j == 0 { code(l) } else { cell(l) })
                        .collect::<Vec<_>>()
                        .join("<br>"),
                    _ => lines
                        .iter()
                        .map(|l| code(l))
                        .collect::<Vec<_>>()
                        .join("<br>"),
                })
                .collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out.push('\n');
    }
    // One newline at the end, whatever came last.
    let end = out.trim_end().len();
    out.truncate(end);
    out.push('\n');
    out
}

fn resource_row(out: &mut String, r: &ResourceChange) {
    let action = match r.action {
        Action::Add => "add",
        Action::Remove => "remove",
        Action::Modify => "modify",
    };
    let replacement = match (r.action, replacement_tag(r.replacement)) {
        (Action::Modify, "replace") => "**replace**",
        (Action::Modify, "may replace") => "may replace",
        _ => "",
    };
    let type_name = match &r.old_resource_type {
        Some(old) => format!("{} → {}", code(old), code(&r.resource_type)),
        None => code(&r.resource_type),
    };
    let notes: Vec<String> = r
        .warnings
        .iter()
        .map(|w| format!("⚠️ {}", cell(w)))
        .chain(r.notes.iter().map(|n| cell(n)))
        .collect();
    let _ = writeln!(
        out,
        "| {action} | {} | {type_name} | {replacement} | {} |",
        code(&r.logical_id),
        notes.join("<br>")
    );
}

/// One `diff` block per modified resource.
fn resource_details(diff: &TemplateDiff) -> String {
    let mut out = String::new();
    for r in diff
        .resources
        .iter()
        .filter(|r| !r.property_changes.is_empty())
    {
        let tag = replacement_tag(r.replacement);
        let tag = if tag.is_empty() {
            String::new()
        } else {
            format!(" ({tag})")
        };
        let _ = writeln!(
            out,
            "#### {} {}{tag}\n",
            code(&r.logical_id),
            code(&r.resource_type)
        );
        let changes: Vec<ValueChange> = r
            .property_changes
            .iter()
            .map(|c| {
                ValueChange::new(c.path.clone(), c.old.as_ref(), c.new.as_ref())
                    .with(replacement_tag(c.replacement), c.note.as_deref())
            })
            .collect();
        fenced(&mut out, &changes);
    }
    out
}

/// A ```` ```diff ```` block of value changes (`~ label`, then `-` / `+` lines).
fn fenced(out: &mut String, changes: &[ValueChange]) {
    let mut body = String::new();
    for c in changes {
        let sign = match c.action {
            Action::Add => '+',
            Action::Remove => '-',
            Action::Modify => '~',
        };
        let tag = if c.tag.is_empty() {
            String::new()
        } else {
            format!(" ({})", c.tag)
        };
        match (&c.inline, c.action) {
            (Some(v), Action::Add | Action::Remove) => {
                let _ = writeln!(body, "{sign} {}{tag}: {v}", c.label);
            }
            (Some(v), Action::Modify) => {
                let _ = writeln!(body, "~ {}{tag}: {v}", c.label);
            }
            (None, _) => {
                let _ = writeln!(body, "{sign} {}{tag}:", c.label);
                for (t, line) in &c.body {
                    let _ = writeln!(body, "{t}   {line}");
                }
            }
        }
        if let Some(note) = &c.note {
            let _ = writeln!(body, "    note: {note}");
        }
    }
    let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
    let _ = writeln!(out, "{fence}diff\n{body}{fence}\n");
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Text for a table cell: Markdown and HTML specials escaped, newlines as `<br>`.
pub(crate) fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            other => out.push(other),
        }
    }
    out
}

/// Text as a code span in a table cell (`|` escaped, which GFM allows inside code spans); text
/// with a backtick or a line break falls back to escaped plain text.
pub(crate) fn code(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else if s.contains(['`', '\n', '\r']) {
        cell(s)
    } else {
        format!("`{}`", s.replace('|', "\\|"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_pipes_backticks_and_html() {
        assert_eq!(cell("a|b`c<d>"), "a\\|b\\`c&lt;d&gt;");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("a`b"), "a\\`b");
    }

    #[test]
    fn a_fence_is_longer_than_any_backtick_run_in_its_content() {
        assert_eq!(longest_backtick_run("x ```` y ` z"), 4);
    }
}
