//! `jobs-dev`: runs Job Manager locally (see `docs/local.md`). Configuration comes from
//! `JOBS_DEV_*` variables; `--demo` turns the demo workers on. Ctrl-C stops everything.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut config = match jobs_dev::DevConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("jobs-dev: {e}");
            return ExitCode::FAILURE;
        }
    };
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--demo" => config.demo = true,
            "--no-demo" => config.demo = false,
            other => {
                eprintln!("jobs-dev: unknown argument {other:?} (expected --demo or --no-demo)");
                return ExitCode::FAILURE;
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("jobs-dev: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async {
        let dev = match jobs_dev::start(config).await {
            Ok(dev) => dev,
            Err(e) => {
                eprintln!("jobs-dev: {e}");
                return ExitCode::FAILURE;
            }
        };
        print_banner(&dev);
        runtime_shim::shutdown_signal().await;
        println!("jobs-dev: stopping…");
        dev.stop().await;
        ExitCode::SUCCESS
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

fn print_banner(dev: &jobs_dev::Dev) {
    let c = &dev.config;
    println!("Job Manager (local)");
    println!("  dashboard:   {}/jobs", dev.url());
    println!(
        "  executions:  POST {}/v1/functions/{{functionId}}/executions",
        dev.url()
    );
    let user = c.current_user();
    println!(
        "  identity:    {} (teams [{}], labels [{}]), project {}",
        user.id,
        user.teams.join(", "),
        user.labels.join(", "),
        c.project
    );
    println!("  server key:  set JOBS_DEV_KEY to choose it; workers send it as X-Appwrite-Key");
    println!("  data:        {}", c.data_dir.display());
    for (id, schedule) in &dev.functions {
        if schedule.is_empty() {
            println!("  function:    {id}");
        } else {
            println!("  function:    {id} (schedule {schedule})");
        }
    }
    println!("  demo workers: {}", if c.demo { "on" } else { "off" });
    println!("jobs-dev: ready at {}/jobs (Ctrl-C to stop)", dev.url());
}
