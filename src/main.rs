//! The `lymphosim` command; all the work is in the library and in `cli/`.

mod cli;

fn main() -> anyhow::Result<()> {
    cli::run()
}
