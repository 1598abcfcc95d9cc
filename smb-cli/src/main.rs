//! `smb`: a command-line SMB2/3 client over smb-blocking (the library half holds it all,
//! so the parser can be fuzzed and tested without a process).

fn main() -> std::process::ExitCode {
    smb_cli::main()
}
