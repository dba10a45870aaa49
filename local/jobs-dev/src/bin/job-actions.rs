//! `job-actions` alone behind the open-runtimes shim (see `jobs_dev::standalone`).
fn main() -> std::process::ExitCode {
    jobs_dev::standalone::serve(job_actions::main, job_actions::handle)
}
