//! The `director` binary: the language server and the headless commands.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Director: direct AI agents from any LSP editor.
#[derive(Debug, Parser)]
#[command(name = "director", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the language server over stdin/stdout (what editors start).
    Lsp,
    /// List the runs recorded in a workspace's journal.
    Runs(director::cli::runs::RunsArgs),
    /// Run an agent on a region of a file and print the proposed diff.
    Delegate(director::cli::delegate::DelegateArgs),
    /// Lint the specs of a workspace and report how requirements trace to code.
    Check(director::cli::check::CheckArgs),
}

fn main() -> ExitCode {
    director::document::return_large_allocations_when_freed();
    init_logging();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Lsp => director::lsp::serve_stdio()
                .await
                .map(|()| ExitCode::SUCCESS)
                .map_err(|error| anyhow::anyhow!("the LSP input cannot be read any more: {error}")),
            Command::Runs(args) => director::cli::runs::run(args).map(|()| ExitCode::SUCCESS),
            Command::Delegate(args) => director::cli::delegate::run(args).await,
            Command::Check(args) => director::cli::check::run(args),
        }
    });
    // Nothing may keep the process alive once the work is done: a client that
    // keeps stdin open would otherwise block the runtime's shutdown.
    runtime.shutdown_background();
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs go to stderr only: stdout carries the protocol. `DIRECTOR_LOG` sets the
/// filter (e.g. `debug`, `director=trace`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DIRECTOR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}
