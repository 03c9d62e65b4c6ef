//! `--output table|json|csv` for the commands that list rows (`--json` is kept as another way
//! to say `--output json`).

/// How a listing is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned columns for a person; long details wrapped, never cut.
    Table,
    /// The full record, as JSON.
    Json,
    /// A header row, then one row per line of the table (RFC 4180 quoting).
    Csv,
}

/// The `--output` and `--json` flags.
#[derive(Debug, Clone, Copy, clap::Args)]
pub(crate) struct OutputArgs {
    /// How to print the result.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Table)]
    output: OutputFormat,
    /// Print JSON (the same as `--output json`).
    #[arg(long, conflicts_with = "output")]
    json: bool,
}

impl OutputArgs {
    /// The format asked for.
    pub(crate) fn format(self) -> OutputFormat {
        if self.json {
            OutputFormat::Json
        } else {
            self.output
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{OutputArgs, OutputFormat};
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Listing {
        #[command(flatten)]
        output: OutputArgs,
    }

    fn format(args: &[&str]) -> Result<OutputFormat, clap::Error> {
        Listing::try_parse_from(std::iter::once("fabric").chain(args.iter().copied()))
            .map(|listing| listing.output.format())
    }

    #[test]
    fn when_no_format_is_asked_then_it_is_a_table_and_json_is_a_synonym_of_output_json() {
        assert_eq!(format(&[]).expect("parses"), OutputFormat::Table);
        assert_eq!(format(&["--json"]).expect("parses"), OutputFormat::Json);
        assert_eq!(
            format(&["--output", "json"]).expect("parses"),
            OutputFormat::Json
        );
        assert_eq!(
            format(&["--output", "csv"]).expect("parses"),
            OutputFormat::Csv
        );
    }

    #[test]
    fn when_json_and_another_output_are_both_asked_then_it_is_refused() {
        assert!(format(&["--json", "--output", "csv"]).is_err());
        assert!(format(&["--output", "xml"]).is_err());
    }
}
