//! `hook-sqs-poll` alone behind the open-runtimes shim (see `local::standalone`).
fn main() -> std::process::ExitCode {
    local::standalone::serve(hook_sqs_poll::main, hook_sqs_poll::handle)
}
