//! The `procedo` binary: a thin shell over [`procedo::cli::run`].

/// mimalloc: less memory held back from freed small allocations than the system
/// allocator (a long-running `watch` allocates and frees per event while it holds
/// every open case).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    procedo::cli::run(std::env::args_os())
}
