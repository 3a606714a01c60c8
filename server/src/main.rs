//! The `director` binary.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "director", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lint spec files and print the traceability report
    Check(director::cli::check::CheckArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => director::cli::check::run(args).unwrap_or_else(|error| {
            eprintln!("director: {error:#}");
            ExitCode::from(2)
        }),
    }
}
