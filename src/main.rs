//! The `procedo` binary: a thin shell over [`procedo::cli::run`].

fn main() -> std::process::ExitCode {
    procedo::cli::run(std::env::args_os())
}
