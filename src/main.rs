fn main() {
    std::process::exit(rget::cli::main());
}
