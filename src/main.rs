//! The `mamori` binary: parse the command line, run, exit with the documented code.

fn main() -> std::process::ExitCode {
    mamori::cli::main()
}
