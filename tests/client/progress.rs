//! The progress bar of `rget get` as a terminal sees it (a pseudo-terminal here): drawn on standard
//! error while the file downloads, with the rate, then cleared so the summary starts on a clean line;
//! in colour unless `NO_COLOR` is set. (With standard error not a terminal nothing of it is written:
//! every other test of `get` reads exactly the summary, or nothing, there.)

use crate::common::on_a_terminal;
use crate::common::release::World;

/// Runs `rget get` with standard error on a new pseudo-terminal; returns the exit code and what
/// the terminal received.
fn get_on_a_terminal(w: &World, name: &str, no_color: bool) -> (i32, String) {
    let (state, dl) = (
        w.dir(&format!("state-{name}")),
        w.dir(&format!("dl-{name}")),
    );
    let dest = dl.join("app");
    let url = w.url(&w.rel.path("app-1.0.tar.gz"));
    let mut cmd = w
        .client(&state, &["get", &url, "-o", dest.to_str().unwrap()])
        .command();
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    on_a_terminal(&mut cmd)
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
