//! `hook-metrics-fetch` alone behind the open-runtimes shim (see `jobs_dev::standalone`).
fn main() -> std::process::ExitCode {
    jobs_dev::standalone::serve(hook_metrics_fetch::main, hook_metrics_fetch::handle)
}
