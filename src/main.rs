fn main() -> std::process::ExitCode {
    tagpin::cli::run()
}
