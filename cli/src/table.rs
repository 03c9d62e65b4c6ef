//! The tables the command prints (a run's report, a plan's locations, an onboarding report):
//! columns as wide as their widest cell, the last one (the detail) wrapped at word boundaries to
//! the output's width, with its continuation lines under it, so that no reason is ever cut; and
//! the same rows as CSV, quoted as RFC 4180 says.

use crate::style::Style;
use std::borrow::Cow;
use std::io::Write;

/// Every table is indented by this much under the line that introduces it.
const INDENT: &str = "  ";

/// Between two columns.
const GAP: &str = "  ";

/// The last column is never narrower than this, however narrow the terminal: each of its lines
/// then runs past the terminal's edge rather than holding a word or two.
const NARROWEST_DETAIL: usize = 24;

/// One cell of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cell {
    /// Text as it is.
    Text(String),
    /// A status word, coloured by the style.
    Status(String),
    /// Nothing to say: `-` in a table, an empty field in CSV.
    Absent,
}

impl Cell {
    /// A text cell.
    pub(crate) fn text(text: impl Into<String>) -> Self {
        Self::Text(text.into())
    }

    /// A status cell.
    pub(crate) fn status(status: impl Into<String>) -> Self {
        Self::Status(status.into())
    }

    /// What the cell shows in a table, uncoloured.
    fn shown(&self) -> &str {
        match self {
            Self::Text(text) | Self::Status(text) => text,
            Self::Absent => "-",
        }
    }

    /// What the cell holds in CSV.
    fn field(&self) -> &str {
        match self {
            Self::Text(text) | Self::Status(text) => text,
            Self::Absent => "",
        }
    }

    /// `text` (one of the cell's lines), coloured if the cell is a status.
    fn paint(&self, text: &str, style: Style) -> String {
        match self {
            Self::Status(status) => style.paint_as(status, text),
            Self::Text(_) | Self::Absent => text.to_owned(),
        }
    }
}

/// A table of `N` columns, the last of which is wrapped.
#[derive(Debug, Clone)]
pub(crate) struct Table<const N: usize> {
    /// Each column's header.
    headers: [&'static str; N],
    rows: Vec<[Cell; N]>,
}

impl<const N: usize> Table<N> {
    /// A table with these column headers and no rows yet.
    pub(crate) fn new(headers: [&'static str; N]) -> Self {
        Self {
            headers,
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub(crate) fn push(&mut self, row: [Cell; N]) {
        self.rows.push(row);
    }

    /// True when the table has no rows.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The width of each column but the last: its header's or its widest cell's.
    fn widths(&self) -> Vec<usize> {
        self.headers
            .iter()
            .take(N.saturating_sub(1))
            .enumerate()
            .map(|(index, header)| {
                self.rows
                    .iter()
                    .map(|row| width_of(row[index].shown()))
                    .fold(width_of(header), usize::max)
            })
            .collect()
    }

    /// The table for a person: a header line, then each row, its last cell wrapped to
    /// `style.width` with its continuation lines indented under it.
    pub(crate) fn write_text(&self, style: Style, out: &mut impl Write) -> std::io::Result<()> {
        let widths = self.widths();
        let detail_column =
            INDENT.len() + widths.iter().map(|width| width + GAP.len()).sum::<usize>();
        let detail_width = style
            .width
            .saturating_sub(detail_column)
            .max(NARROWEST_DETAIL);
        let continuation = " ".repeat(detail_column);
        let headers = self.headers.map(Cell::text);
        for row in std::iter::once(&headers).chain(&self.rows) {
            let mut line = INDENT.to_owned();
            for (cell, width) in row.iter().zip(&widths) {
                line.push_str(&cell.paint(cell.shown(), style));
                line.push_str(&" ".repeat(width.saturating_sub(width_of(cell.shown()))));
                line.push_str(GAP);
            }
            let Some(detail) = row.last() else {
                continue;
            };
            for (index, text) in wrap(detail.shown(), detail_width).iter().enumerate() {
                if index > 0 {
                    writeln!(out, "{}", line.trim_end())?;
                    line.clone_from(&continuation);
                }
                line.push_str(&detail.paint(text, style));
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }

    /// The table as CSV: the headers in lower case, then one record per row, each field whole.
    pub(crate) fn write_csv(&self, out: &mut impl Write) -> std::io::Result<()> {
        let headers = self.headers.map(str::to_lowercase);
        writeln!(out, "{}", csv_record(headers.iter().map(String::as_str)))?;
        for row in &self.rows {
            writeln!(out, "{}", csv_record(row.iter().map(Cell::field)))?;
        }
        Ok(())
    }
}

/// How many columns `text` takes.
fn width_of(text: &str) -> usize {
    text.chars().count()
}

/// `text` in lines of at most `width` columns, broken only between words; a word wider than
/// `width` (an ARN, a URL) gets a line of its own, whole. Each line of `text` starts a new
/// line; runs of spaces are one space.
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        let mut line_width = 0;
        for word in paragraph.split_whitespace() {
            let word_width = width_of(word);
            if line_width > 0 && line_width + 1 + word_width > width {
                lines.push(std::mem::take(&mut line));
                line_width = 0;
            }
            if line_width > 0 {
                line.push(' ');
                line_width += 1;
            }
            line.push_str(word);
            line_width += word_width;
        }
        lines.push(line);
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// One CSV record: the fields joined by commas, each quoted if it must be.
pub(crate) fn csv_record<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
    fields
        .into_iter()
        .map(csv_field)
        .collect::<Vec<_>>()
        .join(",")
}

/// A CSV field as RFC 4180 writes it: in double quotes, with its quotes doubled, when it holds a
/// comma, a quote or a line break; as it is otherwise.
fn csv_field(field: &str) -> Cow<'_, str> {
    if field.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(field)
    }
}

/// Asserts that every word of `text` is in `shown` whole (a test's check that nothing was cut).
#[cfg(test)]
pub(crate) fn assert_every_word_whole(text: &str, shown: &str) {
    for word in text.split_whitespace() {
        assert!(
            shown
                .split_whitespace()
                .any(|shown_word| shown_word == word),
            "{word} is not whole in\n{shown}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{Cell, Table, csv_record, wrap};
    use crate::style::Style;

    const ARN: &str = "arn:aws:iam::190284592411:role/AWS-SystemsManager-AutomationExecutionRole";

    fn text(table: &Table<3>, style: Style) -> String {
        let mut out = Vec::new();
        table.write_text(style, &mut out).expect("written");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn when_a_text_is_wrapped_then_no_word_is_cut_and_no_line_is_wider_than_the_width() {
        let reason = "Step fails when it is Executing. Fail to execute step. Unable to assume role in account 190284592411 because the trust policy does not name the central account";
        let lines = wrap(reason, 30);
        assert!(lines.len() > 3, "{lines:?}");
        assert!(
            lines.iter().all(|line| line.chars().count() <= 30),
            "{lines:?}"
        );
        assert_eq!(lines.join(" "), reason);
    }

    #[test]
    fn when_a_word_is_wider_than_the_column_then_it_has_a_line_of_its_own_whole() {
        let lines = wrap(&format!("Unable to assume role {ARN} in account 190"), 30);
        assert_eq!(
            lines,
            vec!["Unable to assume role", ARN, "in account 190"],
            "{lines:?}"
        );
    }

    #[test]
    fn when_a_text_has_line_breaks_then_each_starts_a_line() {
        assert_eq!(
            wrap("first\nsecond  line", 80),
            vec!["first", "second line"]
        );
        assert_eq!(wrap("", 80), vec![String::new()]);
    }

    #[test]
    fn when_a_detail_wraps_then_its_continuation_lines_start_under_the_detail_column() {
        let mut table = Table::new(["ACCOUNT", "STATUS", "DETAIL"]);
        table.push([
            Cell::text("190284592411"),
            Cell::status("Failed"),
            Cell::text(format!(
                "Unable to assume role {ARN} in account 190284592411"
            )),
        ]);
        table.push([
            Cell::text("444455556666"),
            Cell::status("Success"),
            Cell::Absent,
        ]);
        let style = Style {
            width: 50,
            ..Style::PLAIN
        };
        let shown = text(&table, style);
        let lines: Vec<&str> = shown.lines().collect();
        let column = "  190284592411  Success  ".len();
        assert_eq!(lines[0], "  ACCOUNT       STATUS   DETAIL");
        assert_eq!(lines[1], "  190284592411  Failed   Unable to assume role");
        assert_eq!(lines[2], format!("{}{ARN}", " ".repeat(column)));
        assert_eq!(
            lines[3],
            format!("{}in account 190284592411", " ".repeat(column))
        );
        assert_eq!(lines[4], "  444455556666  Success  -");
        assert_eq!(lines.len(), 5, "{shown}");
    }

    #[test]
    fn when_colour_is_on_then_statuses_are_coloured_and_the_columns_still_line_up() {
        let mut table = Table::new(["ACCOUNT", "STATUS", "DETAIL"]);
        table.push([
            Cell::text("190284592411"),
            Cell::status("Failed"),
            Cell::text("denied"),
        ]);
        let coloured = Style {
            colour: true,
            ..Style::PLAIN
        };
        let shown = text(&table, coloured);
        assert!(
            shown.contains("  190284592411  \x1b[31mFailed\x1b[0m  denied"),
            "{shown:?}"
        );
        assert!(!text(&table, Style::PLAIN).contains('\x1b'));
    }

    #[test]
    fn when_a_field_holds_a_comma_a_quote_or_a_line_break_then_csv_quotes_it() {
        assert_eq!(
            csv_record([
                "190284592411",
                "a, b",
                "say \"no\"",
                "one\ntwo",
                "plain",
                ""
            ]),
            "190284592411,\"a, b\",\"say \"\"no\"\"\",\"one\ntwo\",plain,"
        );
    }

    #[test]
    fn when_a_table_is_written_as_csv_then_it_has_a_header_and_every_field_whole() {
        let mut table = Table::new(["ACCOUNT", "WAVE", "DETAIL"]);
        table.push([
            Cell::text("190284592411"),
            Cell::Absent,
            Cell::text(format!("Unable to assume role {ARN}, \"denied\"")),
        ]);
        let mut out = Vec::new();
        table.write_csv(&mut out).expect("written");
        assert_eq!(
            String::from_utf8(out).expect("UTF-8"),
            format!(
                "account,wave,detail\n190284592411,,\"Unable to assume role {ARN}, \"\"denied\"\"\"\n"
            )
        );
    }
}
