//! `hook-metrics-fetch` alone behind the open-runtimes shim (see `local::standalone`).
fn main() -> std::process::ExitCode {
    local::standalone::serve(hook_metrics_fetch::main, hook_metrics_fetch::handle)
}
