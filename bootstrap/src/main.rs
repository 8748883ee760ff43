//! rget-bootstrap: installs only a verified rget. For now it prints its version; the fetch, verify,
//! install and exec steps come with the bootstrap issue.
#![forbid(unsafe_code)]

fn main() {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        None | Some("--version") | Some("-V") => {
            println!("rget-bootstrap {}", env!("CARGO_PKG_VERSION"));
        }
        Some(other) => {
            eprintln!(
                "rget-bootstrap: unknown argument {other:?} (this build only supports --version)"
            );
            std::process::exit(2);
        }
    }
}
