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

/// Reads one frame: `None` at the end of the input.
fn read_frame(input: &mut dyn BufRead) -> Option<Frame> {
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
    if n > MAX_PAYLOAD {
        // Skip the body without keeping it.
        let skipped = std::io::copy(
            &mut std::io::Read::take(&mut *input, n as u64),
            &mut std::io::sink(),
        );
        return match skipped {
            Ok(k) if k as usize == n => Some(Frame::Bad(format!(
                "a payload of {n} bytes is over the limit of {MAX_PAYLOAD}"
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
pub fn read_loop(mut input: impl BufRead, to_server: &Sender<Message>) {
    while let Some(frame) = read_frame(&mut input) {
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
