use rk_core::Error;

pub fn unreachable_reason() -> Option<&'static str> {
    None
}

pub fn set(line: &str) -> Result<(), String> {
    // The system keeps the text after we exit.
    arboard::Clipboard::new()
        .and_then(|mut c| c.set_text(line.to_string()))
        .map_err(|e| format!("the clipboard refused the text: {e}"))
}

pub fn hold() -> rk_core::Result<()> {
    Err(Error::Usage(
        "--hold-clipboard is not needed here: the system keeps the clipboard.".into(),
    ))
}
