#![no_main]
//! The name of the file `rget get URL` writes (without `-o`), derived from the URL's last segment:
//! whatever the URL, an accepted name is one plain file name in the current directory, never a path
//! (no `/`, `\`, NUL or control character, not `.` or `..`, not empty), and one a SHA256SUMS can list.
//! Calls the one function that derives the name, so the target follows it if it moves.
use libfuzzer_sys::fuzz_target;
use rget_core::output_name::output_name;
use std::path::{Component, Path};

fuzz_target!(|data: &[u8]| {
    let Ok(url) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(name) = output_name(url) else { return };
    assert!(
        !name.is_empty() && name != "." && name != "..",
        "{url:?} gave {name:?}"
    );
    assert!(
        !name.contains(['/', '\\', '\0']),
        "{url:?} gave the path {name:?}"
    );
    assert!(!name.chars().any(char::is_control), "{url:?} gave {name:?}");
    let mut parts = Path::new(&name).components();
    assert!(matches!(parts.next(), Some(Component::Normal(_))) && parts.next().is_none());
    assert!(rget_core::sums::check_name(&name).is_ok());
});
