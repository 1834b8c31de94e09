//! The `lambda-sim` binary: see `lambda_sim::cli`.

fn main() -> std::process::ExitCode {
    lambda_sim::cli::main()
}
