//! `hook-campaign-run` alone behind the open-runtimes shim (see `local::standalone`).
fn main() -> std::process::ExitCode {
    local::standalone::serve(hook_campaign_run::main, hook_campaign_run::handle)
}
