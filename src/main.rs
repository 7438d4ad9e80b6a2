#![forbid(unsafe_code)]

#[tokio::main]
async fn main() -> std::process::ExitCode {
    frugal_operator::cli::main().await
}
