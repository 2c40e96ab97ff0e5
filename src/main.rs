//! The `tidings` command: the command line is the library's `cli`; here are
//! only the process's own settings (logging, the runtime, the allocator).

use std::process::ExitCode;

use clap::Parser;
use tidings::cli::{Cli, LogFormat};

/// Holds the daemon's signals before anything else in the process runs (the
/// executable's pre-initializers run before the shared libraries' and before
/// `main`): a reload or a stop sent while the daemon starts waits for it
/// (see `run::service`).
#[used]
#[unsafe(link_section = ".preinit_array")]
static HOLD_SIGNALS: extern "C" fn() = {
    extern "C" fn hold() {
        tidings::run::service::hold_signals();
    }
    hold
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !cli.is_daemon() {
        tidings::run::service::release_signals();
    }
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "tidings=info".into()),
        )
        .with_writer(std::io::stderr)
        // Colours for a person at a terminal; a journal or a file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(tidings::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tidings: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// jemalloc instead of the system allocator: parsing and sanitizing allocate
/// millions of small strings across threads, and glibc's malloc costs more
/// CPU time for it (docs/performance.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: memory freed is given back to
/// the system half a second after it is freed, not ten, as a cold poll frees
/// as much as it keeps (feed bodies, parsed entries).
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: Option<&u8> = Some(&JEMALLOC_OPTIONS[0]);

const JEMALLOC_OPTIONS: [u8; 36] = *b"dirty_decay_ms:500,muzzy_decay_ms:0\0";
