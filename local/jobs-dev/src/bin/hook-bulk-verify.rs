//! `hook-bulk-verify` alone behind the open-runtimes shim (see `jobs_dev::standalone`).
fn main() -> std::process::ExitCode {
    jobs_dev::standalone::serve(hook_bulk_verify::main, hook_bulk_verify::handle)
}
