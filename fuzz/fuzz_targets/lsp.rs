//! `procedo lsp`: JSON-RPC messages, one per line, handed to the server loop after
//! `initialize` and the opening of a procedure (its text from the input too). Every
//! request gets exactly one reply and none is an internal error (a handler's panic is
//! caught and answered with one, so it is looked for in the replies). Messages naming
//! `file:` URIs are left out: they would read the fuzzing machine's disk.
#![no_main]

use lsp_server::{ErrorCode, Message, Notification, Request, RequestId};
use serde_json::json;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut server = procedo::lsp::Server::new(tx);
    server.handle(Message::Request(Request::new(
        RequestId::from(0),
        "initialize".to_string(),
        json!({"capabilities": {}}),
    )));
    // A document, then a line `%%%`, then the messages.
    let (doc, messages) = text.split_once("\n%%%\n").unwrap_or((&text, ""));
    server.handle(Message::Notification(Notification::new(
        "textDocument/didOpen".to_string(),
        json!({"textDocument": {"uri": "untitled:fuzz.proc", "languageId": "procedo",
               "version": 1, "text": doc}}),
    )));
    let mut asked = vec![RequestId::from(0)];
    for line in messages.lines().take(64) {
        if line.contains("file:") {
            continue;
        }
        let Ok(msg) = serde_json::from_str::<Message>(line) else {
            continue;
        };
        if let Message::Request(r) = &msg {
            if asked.contains(&r.id) {
                continue;
            }
            asked.push(r.id.clone());
        }
        if !server.handle(msg) {
            break;
        }
    }
    drop(server);
    let mut answered = Vec::new();
    for m in rx.iter() {
        if let Message::Response(r) = m {
            if let Err(e) = &r.response_result {
                assert_ne!(e.code, ErrorCode::InternalError as i32, "{e:?}");
            }
            assert!(!answered.contains(&r.id), "two replies to {:?}", r.id);
            answered.push(r.id);
        }
    }
    asked.sort();
    answered.sort();
    assert_eq!(asked, answered, "every request is answered once");
});
