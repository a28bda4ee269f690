//! The `lymphosim` command; all the work is in the library and in `cli/`.

mod cli;

fn main() -> anyhow::Result<()> {
    restore_sigpipe();
    cli::run()
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`lymphosim presets | head -1`) would panic. A command-line
/// tool should instead end quietly, as `cat` does: restore the default action.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called once at start-up, before any thread exists; SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
