//! Serves the conformance function through the shim; configured by `OPEN_RUNTIMES_*` variables.

fn main() -> std::process::ExitCode {
    runtime_shim::serve(runtime_conformance::main)
}
