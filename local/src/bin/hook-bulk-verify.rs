//! `hook-bulk-verify` alone behind the open-runtimes shim (see `local::standalone`).
fn main() -> std::process::ExitCode {
    local::standalone::serve(hook_bulk_verify::main, hook_bulk_verify::handle)
}
