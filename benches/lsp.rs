//! Language server latency: from a `didChange` of the largest shipped procedure to its
//! `publishDiagnostics` (parse, resolve, type check, every lint rule, positions), measured
//! in process on the server loop. Run: `cargo bench --bench lsp`.

#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use lsp_server::{Message, Notification, Request, RequestId};
use serde_json::json;

/// The largest `.proc` file under `procedures/`, by lines.
fn largest() -> PathBuf {
    let mut best = (0, PathBuf::new());
    let mut dirs = vec![PathBuf::from("procedures")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "proc") {
                let lines = std::fs::read_to_string(&p).unwrap().lines().count();
                if lines > best.0 {
                    best = (lines, p);
                }
            }
        }
    }
    best.1
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

fn bench(c: &mut Criterion) {
    let path = largest();
    let text = std::fs::read_to_string(&path).unwrap();
    let uri = uri(&path);
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut server = procedo::lsp::Server::new(tx);
    server.handle(Message::Request(Request::new(
        RequestId::from(1),
        "initialize".to_string(),
        json!({"capabilities": {}}),
    )));
    server.handle(Message::Notification(Notification::new(
        "textDocument/didOpen".to_string(),
        json!({"textDocument": {"uri": uri, "languageId": "procedo", "version": 1, "text": text}}),
    )));
    while rx.try_recv().is_ok() {}
    let mut version = 1;
    let name = format!(
        "didChange to publishDiagnostics ({}, {} lines)",
        path.display(),
        text.lines().count()
    );
    c.bench_function(&name, |b| {
        b.iter(|| {
            version += 1;
            // Alternate two texts so that nothing can be reused from the last change.
            let body = if version % 2 == 0 {
                text.clone()
            } else {
                format!("{text}\n# edited\n")
            };
            server.handle(Message::Notification(Notification::new(
                "textDocument/didChange".to_string(),
                json!({"textDocument": {"uri": uri, "version": version},
                       "contentChanges": [{"text": body}]}),
            )));
            loop {
                match rx.recv() {
                    Ok(Message::Notification(n))
                        if n.method == "textDocument/publishDiagnostics" =>
                    {
                        assert_eq!(n.params["diagnostics"], json!([]));
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => panic!("the server hung up: {e}"),
                }
            }
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
