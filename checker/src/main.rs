//! `checker`: the program behind `cargo kata`, for learners. Everything is in the library.

fn main() -> std::process::ExitCode {
    checker::run()
}
