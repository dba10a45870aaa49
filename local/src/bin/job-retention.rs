//! `job-retention` alone behind the open-runtimes shim (see `local::standalone`).
fn main() -> std::process::ExitCode {
    local::standalone::serve(job_retention::main, job_retention::handle)
}
