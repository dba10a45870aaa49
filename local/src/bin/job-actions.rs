//! `job-actions` alone behind the open-runtimes shim (see `local::standalone`).
fn main() -> std::process::ExitCode {
    local::standalone::serve(job_actions::main, job_actions::handle)
}
