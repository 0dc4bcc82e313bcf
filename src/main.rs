//! Thin: parse the command line, run it, render any error once, map to an exit code.

use std::process::ExitCode;

use clap::Parser;
use crosscheck::cli::{self, Cli, exit};

fn main() -> ExitCode {
    bound_malloc_arenas();
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

/// glibc gives each thread that allocates its own arena (up to 8 per core) and keeps what is
/// freed in it: the threads of a spilling sort left the process 1.5 times its memory limit
/// while the heap in use stayed under half of it (measured with heaptrack; README, Memory).
/// Two arenas keep the whole process within the limit at no measured cost in time.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn bound_malloc_arenas() {
    // SAFETY: mallopt only sets a tunable of the allocator; it is called first thing in
    // main, and M_ARENA_MAX takes any positive count.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn bound_malloc_arenas() {}

fn render_error(e: &crosscheck::Error) -> String {
    match e {
        crosscheck::Error::Config(diagnostics) => diagnostics.to_string(),
        other => format!(
            "error: {}",
            crosscheck::shorten::message(&other.to_string())
        ),
    }
}
