//! The `lymphosim` command; all the work is in the library and in `cli/`.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    restore_sigpipe();
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The message and its causes, never a backtrace: errors here are about the user's input or files.
            let mut shown = e.to_string();
            eprintln!("error: {shown}");
            for cause in e.chain().skip(1).map(|c| c.to_string()) {
                if !shown.contains(&cause) {
                    eprintln!("  caused by: {cause}");
                    shown.push_str(&cause);
                }
            }
            ExitCode::FAILURE
        }
    }
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
