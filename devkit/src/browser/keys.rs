//! The keys `Browser::press` knows, as the `Input.dispatchKeyEvent` pair (down, up) that
//! a real keyboard produces: the DOM `key` and `code`, the Windows virtual key code that
//! Chromium's focus navigation and default actions read, and the text a key types.

use serde_json::{Value, json};

/// The `modifiers` bit for Shift.
const SHIFT: u8 = 8;

/// `(name, key, code, windowsVirtualKeyCode, text)`.
const KEYS: &[(&str, &str, &str, u32, &str)] = &[
    ("Tab", "Tab", "Tab", 9, ""),
    ("Enter", "Enter", "Enter", 13, "\r"),
    ("Escape", "Escape", "Escape", 27, ""),
    (" ", " ", "Space", 32, " "),
    ("ArrowLeft", "ArrowLeft", "ArrowLeft", 37, ""),
    ("ArrowUp", "ArrowUp", "ArrowUp", 38, ""),
    ("ArrowRight", "ArrowRight", "ArrowRight", 39, ""),
    ("ArrowDown", "ArrowDown", "ArrowDown", 40, ""),
    ("Backspace", "Backspace", "Backspace", 8, ""),
    ("PageUp", "PageUp", "PageUp", 33, ""),
    ("PageDown", "PageDown", "PageDown", 34, ""),
    ("End", "End", "End", 35, ""),
    ("Home", "Home", "Home", 36, ""),
];

/// The names [`events`] knows, for an error message.
pub(super) fn names() -> String {
    let mut names: Vec<String> = KEYS.iter().map(|k| format!("{:?}", k.0)).collect();
    names.push("\"Shift+Tab\" (Shift+ before any of them)".into());
    names.join(", ")
}

/// The key-down and key-up events for `name` (`"Tab"`, `"Enter"`, `" "`, …; `"Shift+"`
/// before a name holds Shift), or `None` for a name not in the table.
pub(super) fn events(name: &str) -> Option<[Value; 2]> {
    let (modifiers, name) = match name.strip_prefix("Shift+") {
        Some(rest) => (SHIFT, rest),
        None => (0, name),
    };
    let &(_, key, code, virtual_key, text) = KEYS.iter().find(|k| k.0 == name)?;
    // As Puppeteer does: a key that types text is a `keyDown` with its text (the page
    // gets keydown, keypress, input); one that does not is a `rawKeyDown`.
    let down_type = if text.is_empty() { "rawKeyDown" } else { "keyDown" };
    let event = |kind: &str, text: &str| {
        json!({
            "type": kind,
            "key": key,
            "code": code,
            "windowsVirtualKeyCode": virtual_key,
            "nativeVirtualKeyCode": virtual_key,
            "modifiers": modifiers,
            "text": text,
            "unmodifiedText": text,
        })
    };
    Some([event(down_type, text), event("keyUp", "")])
}
