#![forbid(unsafe_code)]

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// The static build's `memcpy` and `memmove` (crates/musl-memcpy), linked for its symbols: musl's
// copy short runs a byte at a time.
#[cfg(all(target_env = "musl", target_arch = "x86_64"))]
extern crate musl_memcpy;

fn main() -> std::process::ExitCode {
    frugal_operator::cli::main()
}
