//! `hook-campaign-run` alone behind the open-runtimes shim (see `jobs_dev::standalone`).
fn main() -> std::process::ExitCode {
    jobs_dev::standalone::serve(hook_campaign_run::main, hook_campaign_run::handle)
}
