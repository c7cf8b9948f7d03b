//! The `hetal` command-line tool (see [`hetal_train::cli`]).

fn main() {
    std::process::exit(hetal_train::cli::main());
}
