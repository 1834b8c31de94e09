//! `lambda-sim import sam|logs`: a scenario from an AWS SAM / CloudFormation template or from Lambda's logs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::CliError;
use crate::import::sam::{self, SamOptions};

#[derive(clap::Args, Debug)]
pub(crate) struct ImportArgs {
    #[command(subcommand)]
    what: ImportCommand,
}

#[derive(clap::Subcommand, Debug)]
enum ImportCommand {
    /// An AWS SAM or CloudFormation template (YAML or JSON) → a commented scenario. What cannot be mapped is
    /// listed, by logical id, in the file and on stderr.
    Sam(SamArgs),
    /// CloudWatch Logs of Lambda functions (plain text, platform JSON, or `aws logs filter-log-events` JSON) →
    /// arrival traces, a profile per function and a scenario that replays them.
    Logs(super::import_logs::LogsArgs),
}

#[derive(clap::Args, Debug)]
struct SamArgs {
    /// The template file.
    template: PathBuf,
    /// Write the scenario here [default: standard output].
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// A value for a template parameter (repeatable), as `sam deploy --parameter-overrides` gives it.
    #[arg(long = "parameter", value_name = "NAME=VALUE", value_parser = parameter)]
    parameters: Vec<(String, String)>,
}

fn parameter(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{text:?} is not NAME=VALUE")),
    }
}

/// The `code` of lambda-sim's stand-in handler as an imported scenario writes it: relative when the command runs
/// from the checkout (as the README does), otherwise the checkout's absolute path.
pub(crate) fn stand_in_code() -> String {
    let relative = Path::new("functions/stand-in");
    if relative.join("Cargo.toml").exists() {
        relative.display().to_string()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(relative)
            .display()
            .to_string()
    }
}

pub(crate) fn run(args: ImportArgs) -> Result<ExitCode, CliError> {
    match args.what {
        ImportCommand::Sam(a) => run_sam(a),
        ImportCommand::Logs(a) => super::import_logs::run(a),
    }
}

fn run_sam(args: SamArgs) -> Result<ExitCode, CliError> {
    let options = SamOptions {
        parameters: args.parameters.into_iter().collect::<BTreeMap<_, _>>(),
        stand_in: stand_in_code(),
    };
    let result = sam::import(&args.template, &options).map_err(|e| CliError::usage_of(&e))?;
    match &args.output {
        Some(path) => super::write_output("-o", path, &result.scenario)?,
        None => print!("{}", result.scenario),
    }
    for f in &result.placeholders {
        eprintln!("placeholder: {f}");
    }
    for f in &result.unmapped {
        eprintln!("not mapped: {f}");
    }
    if let Some(path) = &args.output {
        eprintln!(
            "wrote {}: {} function(s) ({}); {} placeholder(s), {} item(s) not mapped",
            path.display(),
            result.functions.len(),
            result.functions.join(", "),
            result.placeholders.len(),
            result.unmapped.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
