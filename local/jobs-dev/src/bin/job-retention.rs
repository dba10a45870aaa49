//! `job-retention` alone behind the open-runtimes shim (see `jobs_dev::standalone`).
fn main() -> std::process::ExitCode {
    jobs_dev::standalone::serve(job_retention::main, job_retention::handle)
}
