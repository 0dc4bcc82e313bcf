//! Thin: parse the command line, run it, render any error once, map to an exit code.

use std::process::ExitCode;

use clap::Parser;
use crosscheck::cli::{self, Cli, exit};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::ERROR
            } else {
                exit::PASS
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli::main_with(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{}", render_error(&e));
            ExitCode::from(exit::ERROR)
        }
    }
}

fn render_error(e: &crosscheck::Error) -> String {
    match e {
        crosscheck::Error::Config(diagnostics) => diagnostics.to_string(),
        other => format!(
            "error: {}",
            crosscheck::shorten::message(&other.to_string())
        ),
    }
}
