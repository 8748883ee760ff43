//! The progress bar of `rget get` as a terminal sees it (a pseudo-terminal here): drawn on standard
//! error while the file downloads, with the rate, then cleared so the summary starts on a clean line;
//! in colour unless `NO_COLOR` is set. (With standard error not a terminal nothing of it is written:
//! every other test of `get` reads exactly the summary, or nothing, there.)

use crate::common::release::World;
use crate::common::text;
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use std::io::Read;
use std::process::Stdio;

/// Runs `rget get` with standard error on a new pseudo-terminal; returns the exit code and what
/// the terminal received.
fn get_on_a_terminal(w: &World, name: &str, no_color: bool) -> (i32, String) {
    let (state, dl) = (
        w.dir(&format!("state-{name}")),
        w.dir(&format!("dl-{name}")),
    );
    let dest = dl.join("app");
    let url = w.url(&w.rel.path("app-1.0.tar.gz"));
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let path = ptsname(&master, Vec::new()).expect("ptsname");
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path.to_str().expect("UTF-8 pty path"))
        .expect("open the terminal side");
    let mut cmd = w
        .client(&state, &["get", &url, "-o", dest.to_str().unwrap()])
        .command();
    cmd.env("TERM", "xterm")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(terminal);
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let mut child = crate::common::spawn(&mut cmd);
    // Only the child holds the terminal side now, so reading ends (EIO) once it exits.
    drop(cmd);
    let mut screen = Vec::new();
    let _ = std::fs::File::from(master).read_to_end(&mut screen);
    let status = child.wait().expect("wait for rget");
    (status.code().unwrap_or(-1), text(&screen))
}

#[test]
fn a_terminal_sees_the_progress_bar_cleared_before_the_summary_and_no_color_turns_colour_off() {
    let w = World::new();
    for no_color in [false, true] {
        let (exit, screen) = get_on_a_terminal(&w, &format!("tty-{no_color}"), no_color);
        assert_eq!(exit, 0, "{screen:?}");
        // The bar: bytes so far of the total, and the rate.
        assert!(screen.contains("B/s"), "no progress bar drawn: {screen:?}");
        // Cleared (back to the line's start, erased) right before the summary, which so starts a
        // clean line of its own.
        let summary = screen.find("rget: verified").expect("the summary");
        assert!(
            screen[..summary].ends_with("\r\x1b[2K"),
            "the bar was not cleared before the summary: {screen:?}"
        );
        // SGR colour sequences only without NO_COLOR.
        assert_eq!(
            screen.contains("\x1b[3"),
            !no_color,
            "NO_COLOR={no_color}: {screen:?}"
        );
    }
}
