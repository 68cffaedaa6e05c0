//! JSON-RPC framing (`Content-Length` headers) between a byte stream and lsp-server
//! messages. Unlike lsp-server's own stdio threads, a malformed frame or payload
//! does not end the connection: it is skipped and reported to the server loop as a
//! `$/procedo/malformed` notification (with the request id when one can be read),
//! which answers it with an error.

use std::io::{BufRead, Write};

use crossbeam_channel::{Receiver, Sender};
use lsp_server::{Message, Notification};

/// The method of the notification the reader sends for a payload it cannot read.
pub const MALFORMED: &str = "$/procedo/malformed";

/// The largest payload read (bytes); a larger one is skipped and reported.
pub const MAX_PAYLOAD: usize = 64 * 1024 * 1024;

enum Frame {
    Payload(Vec<u8>),
    Bad(String),
}

/// Reads one frame of at most `max` bytes: `None` at the end of the input.
fn read_frame(input: &mut dyn BufRead, max: usize) -> Option<Frame> {
    let mut length: Option<usize> = None;
    let mut bad: Option<String> = None;
    let mut line = String::new();
    loop {
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        let header = line.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            if length.is_some() || bad.is_some() {
                break;
            }
            // Blank lines between frames are tolerated.
            continue;
        }
        match header.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                match value.trim().parse::<usize>() {
                    Ok(n) => length = Some(n),
                    Err(_) => bad = Some(format!("bad Content-Length header: {header:?}")),
                }
            }
            Some(_) => {}
            None => bad = Some(format!("malformed header line: {header:?}")),
        }
    }
    let Some(n) = length else {
        return Some(Frame::Bad(
            bad.unwrap_or_else(|| "a message without Content-Length".to_string()),
        ));
    };
    if n > max {
        // Skip the body without keeping it.
        let skipped = std::io::copy(
            &mut std::io::Read::take(&mut *input, n as u64),
            &mut std::io::sink(),
        );
        return match skipped {
            Ok(k) if k as usize == n => Some(Frame::Bad(format!(
                "a payload of {n} bytes is over the limit of {max}"
            ))),
            _ => None,
        };
    }
    let mut body = vec![0u8; n];
    if input.read_exact(&mut body).is_err() {
        return None;
    }
    Some(match bad {
        Some(b) => Frame::Bad(b),
        None => Frame::Payload(body),
    })
}

fn malformed(error: String, id: Option<serde_json::Value>) -> Message {
    Message::Notification(Notification::new(
        MALFORMED.to_string(),
        serde_json::json!({ "error": error, "id": id }),
    ))
}

/// Reads frames until the input ends (or the receiving side hangs up).
pub fn read_loop(input: impl BufRead, to_server: &Sender<Message>) {
    read_loop_with(input, to_server, MAX_PAYLOAD);
}

fn read_loop_with(mut input: impl BufRead, to_server: &Sender<Message>, max: usize) {
    while let Some(frame) = read_frame(&mut input, max) {
        let msg = match frame {
            Frame::Bad(e) => malformed(e, None),
            Frame::Payload(body) => match serde_json::from_slice::<Message>(&body) {
                Ok(m) => m,
                Err(e) => {
                    let id = serde_json::from_slice::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| v.get("id").cloned())
                        .filter(|id| id.is_number() || id.is_string());
                    malformed(format!("not a JSON-RPC message: {e}"), id)
                }
            },
        };
        let exit = matches!(&msg, Message::Notification(n) if n.method == "exit");
        if to_server.send(msg).is_err() || exit {
            return;
        }
    }
}

/// Writes messages until every sender is gone or the output fails.
pub fn write_loop(mut output: impl Write, from_server: &Receiver<Message>) {
    for msg in from_server {
        if msg.write(&mut output).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8], max: usize) -> Vec<Message> {
        let (tx, rx) = crossbeam_channel::unbounded();
        read_loop_with(std::io::Cursor::new(bytes.to_vec()), &tx, max);
        drop(tx);
        rx.iter().collect()
    }

    fn method(m: &Message) -> String {
        match m {
            Message::Request(r) => r.method.clone(),
            Message::Notification(n) => n.method.clone(),
            Message::Response(_) => "response".to_string(),
        }
    }

    #[test]
    fn bad_frames_are_reported_and_reading_goes_on() {
        let ok = br#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#;
        let mut input = Vec::new();
        // A header line without a colon, then a body the header does not describe.
        input.extend_from_slice(b"garbage\r\n\r\n");
        // Too large: skipped unread.
        input.extend_from_slice(b"Content-Length: 60\r\n\r\n012345678901234567890123456789012345678901234567890123456789");
        // Not JSON.
        input.extend_from_slice(b"Content-Length: 5\r\n\r\n{nope");
        // JSON with an id but no method.
        input.extend_from_slice(b"Content-Length: 10\r\n\r\n{\"id\": 7 }");
        input.extend_from_slice(format!("Content-Length: {}\r\n\r\n", ok.len()).as_bytes());
        input.extend_from_slice(ok);
        let msgs = read_all(&input, 50);
        let methods: Vec<String> = msgs.iter().map(method).collect();
        assert_eq!(
            methods,
            [MALFORMED, MALFORMED, MALFORMED, MALFORMED, "shutdown"],
            "{msgs:#?}"
        );
        let Message::Notification(n) = &msgs[1] else {
            panic!("a notification")
        };
        assert_eq!(
            n.params["error"],
            "a payload of 60 bytes is over the limit of 50"
        );
        let Message::Notification(n) = &msgs[3] else {
            panic!("a notification")
        };
        assert_eq!(n.params["id"], 7);
    }

    #[test]
    fn a_truncated_body_ends_the_input() {
        let msgs = read_all(b"Content-Length: 50\r\n\r\n{}", 100);
        assert!(msgs.is_empty());
    }
}
