//! `hook-sqs-poll` alone behind the open-runtimes shim (see `jobs_dev::standalone`).
fn main() -> std::process::ExitCode {
    jobs_dev::standalone::serve(hook_sqs_poll::main, hook_sqs_poll::handle)
}
