//! `lambda-sim import logs` (being written).

use std::process::ExitCode;

use super::CliError;

#[derive(clap::Args, Debug)]
pub(crate) struct LogsArgs {}

pub(crate) fn run(_args: LogsArgs) -> Result<ExitCode, CliError> {
    Err(CliError::usage("not yet"))
}
