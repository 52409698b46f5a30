// Helpers shared by the chat examples (examples/chat.rs and examples/cluster_chat.rs
// include this file).

/// How many WebSocket connections this server holds, not counting `leaving`.
fn online(server: &Server, leaving: Option<Fd>) -> usize {
    server.connections().into_iter().filter(|fd| Some(*fd) != leaving && server.is_established(*fd)).count()
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
