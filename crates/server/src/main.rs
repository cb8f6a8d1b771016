//! `mfa-server`: reads configuration, loads the key, wires the adapters to
//! the use cases and runs the HTTP server or an operator command. Thin by
//! design: no rule and no HTTP shape lives here.

mod cli;
mod keyfile;
mod wiring;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let rendered = e.render().to_string();
            let first = rendered
                .lines()
                .next()
                .unwrap_or("error: invalid arguments");
            eprintln!("{first} (see mfa-server --help)");
            return ExitCode::from(2);
        }
    };
    wiring::init_logging(cli.common.log_format);
    match wiring::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
