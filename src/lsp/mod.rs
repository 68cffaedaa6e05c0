//! `procedo lsp`: a language server (LSP over JSON-RPC) on the library.
//!
//! The server keeps the open documents ([`workspace`]) and answers from what the
//! library says about them: diagnostics from building and linting exactly as
//! `procedo lint` does (root, `procedo.yaml`, allow comments), names and outline
//! from the typed AST ([`index`]), formatting from `fmt`. Every message is answered
//! or ignored; none ends the server but `exit` (a malformed one gets an error
//! reply, a handler that fails gets an error reply). It writes only to the
//! connection; the CLI hands it the byte streams.

pub mod features;
pub mod index;
pub mod text;
pub mod transport;
pub mod workspace;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use crossbeam_channel::Sender;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::{InitializeResult, PublishDiagnosticsParams, ServerCapabilities, ServerInfo, Uri};
use serde::de::DeserializeOwned;

use workspace::{Analysis, Document, Workspace, canonical, to_lsp};

/// A request handler's failure: JSON-RPC error code and message.
pub type Failure = (i32, String);

/// Serves one client: reads messages from `input`, writes to `output`, and returns
/// when the client sends `exit` or closes its end.
pub fn serve(
    input: impl BufRead + Send + 'static,
    output: impl Write + Send + 'static,
) -> Result<(), String> {
    let (to_server, from_client) = crossbeam_channel::unbounded::<Message>();
    let (to_client, from_server) = crossbeam_channel::unbounded::<Message>();
    // The reader blocks on the input; it ends with it (never joined: the input may outlive us).
    std::thread::Builder::new()
        .name("procedo-lsp-reader".to_string())
        .spawn(move || transport::read_loop(input, &to_server))
        .map_err(|e| format!("cannot start the reader thread: {e}"))?;
    let writer = std::thread::Builder::new()
        .name("procedo-lsp-writer".to_string())
        .spawn(move || transport::write_loop(output, &from_server))
        .map_err(|e| format!("cannot start the writer thread: {e}"))?;
    let connection = Connection {
        sender: to_client,
        receiver: from_client,
    };
    let mut server = Server::new(connection.sender.clone());
    for msg in &connection.receiver {
        if !server.handle(msg) {
            break;
        }
    }
    drop(server);
    drop(connection);
    writer
        .join()
        .map_err(|_| "the writer thread failed".to_string())
}

/// The server's state.
pub struct Server {
    ws: Workspace,
    /// Each open document's analysis, redone whenever it or a file it uses changes.
    analyses: BTreeMap<String, Analysis>,
    /// Each open document's file and the files it uses (canonical paths).
    deps: BTreeMap<String, BTreeSet<PathBuf>>,
    sender: Sender<Message>,
    initialized: bool,
    shutdown: bool,
}

impl Server {
    pub fn new(sender: Sender<Message>) -> Self {
        Server {
            ws: Workspace::default(),
            analyses: BTreeMap::new(),
            deps: BTreeMap::new(),
            sender,
            initialized: false,
            shutdown: false,
        }
    }

    fn send(&self, msg: impl Into<Message>) {
        // A closed output only means the client has gone; the loop ends on its own.
        let _ = self.sender.send(msg.into());
    }

    fn notify(&self, method: &str, params: impl serde::Serialize) {
        self.send(Notification::new(method.to_string(), params));
    }

    /// Handles one message; `false` when the server must stop.
    pub fn handle(&mut self, msg: Message) -> bool {
        match msg {
            Message::Request(req) => {
                let id = req.id.clone();
                let result = catch_unwind(AssertUnwindSafe(|| self.request(req)));
                let response = match result {
                    Ok(Ok(value)) => Response {
                        id,
                        response_result: Ok(value),
                    },
                    Ok(Err((code, message))) => Response::new_err(id, code, message),
                    Err(_) => Response::new_err(
                        id,
                        ErrorCode::InternalError as i32,
                        "internal error: procedo failed on this request (a bug; please report it)"
                            .to_string(),
                    ),
                };
                self.send(response);
                true
            }
            Message::Notification(n) => {
                if n.method == "exit" {
                    return false;
                }
                // A failing notification handler must not stop the server either.
                let _ = catch_unwind(AssertUnwindSafe(|| self.notification(n)));
                true
            }
            // Replies to requests we never send.
            Message::Response(_) => true,
        }
    }

    fn request(&mut self, req: Request) -> Result<serde_json::Value, Failure> {
        if req.method == "initialize" {
            if self.initialized {
                return Err((
                    ErrorCode::InvalidRequest as i32,
                    "the server is already initialized".to_string(),
                ));
            }
            self.initialized = true;
            return to_value(InitializeResult {
                capabilities: capabilities(),
                server_info: Some(ServerInfo {
                    name: "procedo".to_string(),
                    version: Some(env_version().to_string()),
                }),
            });
        }
        if !self.initialized {
            return Err((
                ErrorCode::ServerNotInitialized as i32,
                "the server has not been initialized".to_string(),
            ));
        }
        if self.shutdown {
            return Err((
                ErrorCode::InvalidRequest as i32,
                "the server is shutting down".to_string(),
            ));
        }
        let params = req.params;
        match req.method.as_str() {
            "shutdown" => {
                self.shutdown = true;
                Ok(serde_json::Value::Null)
            }
            "textDocument/hover" => to_value(features::hover(self, parse(params)?)?),
            "textDocument/definition" => to_value(features::definition(self, parse(params)?)?),
            "textDocument/references" => to_value(features::references(self, parse(params)?)?),
            "textDocument/documentSymbol" => {
                to_value(features::document_symbols(self, parse(params)?)?)
            }
            "textDocument/formatting" => to_value(features::formatting(self, parse(params)?)?),
            "textDocument/completion" => to_value(features::completion(self, parse(params)?)?),
            "textDocument/prepareRename" => {
                to_value(features::prepare_rename(self, parse(params)?)?)
            }
            "textDocument/rename" => to_value(features::rename(self, parse(params)?)?),
            "textDocument/codeAction" => to_value(features::code_actions(self, parse(params)?)?),
            "textDocument/semanticTokens/full" => {
                to_value(features::semantic_tokens(self, parse(params)?)?)
            }
            "workspace/symbol" => to_value(features::workspace_symbols(self, parse(params)?)?),
            other => Err((
                ErrorCode::MethodNotFound as i32,
                format!("procedo does not handle `{other}`"),
            )),
        }
    }

    fn notification(&mut self, n: Notification) {
        use lsp_types::{
            DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
        };
        if n.method == transport::MALFORMED {
            self.malformed(&n.params);
            return;
        }
        if !self.initialized {
            return;
        }
        match n.method.as_str() {
            "textDocument/didOpen" => {
                let Ok(p) = serde_json::from_value::<DidOpenTextDocumentParams>(n.params) else {
                    return self.log_bad(&n.method);
                };
                let uri = p.text_document.uri;
                self.ws.docs.insert(
                    uri.as_str().to_string(),
                    Document {
                        path: text::uri_to_path(&uri),
                        uri: uri.clone(),
                        text: p.text_document.text,
                        version: p.text_document.version,
                    },
                );
                self.changed(&uri);
            }
            "textDocument/didChange" => {
                let Ok(p) = serde_json::from_value::<DidChangeTextDocumentParams>(n.params) else {
                    return self.log_bad(&n.method);
                };
                let uri = p.text_document.uri;
                let Some(doc) = self.ws.docs.get_mut(uri.as_str()) else {
                    return;
                };
                for c in p.content_changes {
                    text::apply_change(&mut doc.text, c.range, &c.text);
                }
                doc.version = p.text_document.version;
                self.changed(&uri);
            }
            "textDocument/didClose" => {
                let Ok(p) = serde_json::from_value::<DidCloseTextDocumentParams>(n.params) else {
                    return self.log_bad(&n.method);
                };
                let uri = p.text_document.uri;
                let key = self
                    .ws
                    .get(&uri)
                    .and_then(|d| d.path.as_deref().map(canonical));
                self.ws.docs.remove(uri.as_str());
                self.ws.last_good.remove(uri.as_str());
                self.analyses.remove(uri.as_str());
                self.deps.remove(uri.as_str());
                self.notify(
                    "textDocument/publishDiagnostics",
                    PublishDiagnosticsParams::new(uri, Vec::new(), None),
                );
                // Files that use it now read it from disk.
                if let Some(key) = key {
                    for user in self.ws.users_of(&key, &self.deps) {
                        self.check(&user);
                    }
                }
            }
            // A file saved or changed on disk (a used file, `procedo.yaml`): every open
            // document is checked again.
            "textDocument/didSave"
            | "workspace/didChangeWatchedFiles"
            | "workspace/didChangeConfiguration" => {
                let uris: Vec<Uri> = self.ws.docs.values().map(|d| d.uri.clone()).collect();
                for u in uris {
                    self.check(&u);
                }
            }
            // `initialized`, `$/cancelRequest`, `$/setTrace`: nothing to do.
            _ => {}
        }
    }

    /// Re-checks a document and every open document that uses it.
    fn changed(&mut self, uri: &Uri) {
        self.check(uri);
        let key = self
            .ws
            .get(uri)
            .and_then(|d| d.path.as_deref().map(canonical));
        if let Some(key) = key {
            for user in self.ws.users_of(&key, &self.deps) {
                if user != *uri {
                    self.check(&user);
                }
            }
        }
    }

    /// Analyses one open document and publishes its diagnostics.
    fn check(&mut self, uri: &Uri) {
        let Some(analysis) = self.ws.analyse(uri) else {
            return;
        };
        let Some(doc) = self.ws.get(uri) else { return };
        let shift = if doc.text.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
        let diagnostics = analysis
            .diagnostics
            .iter()
            .map(|d| to_lsp(d, &analysis.view, &doc.text, shift))
            .collect();
        let mut deps: BTreeSet<PathBuf> = analysis.view.scope.iter().cloned().collect();
        deps.insert(analysis.view.key.clone());
        let version = doc.version;
        self.deps.insert(uri.as_str().to_string(), deps);
        self.analyses.insert(uri.as_str().to_string(), analysis);
        self.notify(
            "textDocument/publishDiagnostics",
            PublishDiagnosticsParams::new(uri.clone(), diagnostics, Some(version)),
        );
    }

    /// The analysis of an open document (analysed now if it has none).
    pub fn analysis(&mut self, uri: &Uri) -> Result<&Analysis, Failure> {
        if !self.analyses.contains_key(uri.as_str()) {
            let a = self.ws.analyse(uri).ok_or_else(|| not_open(uri))?;
            self.analyses.insert(uri.as_str().to_string(), a);
        }
        self.analyses.get(uri.as_str()).ok_or_else(|| not_open(uri))
    }

    pub fn workspace(&self) -> &Workspace {
        &self.ws
    }

    fn malformed(&self, params: &serde_json::Value) {
        let error = params
            .get("error")
            .and_then(|e| e.as_str())
            .unwrap_or("malformed message")
            .to_string();
        let id = params
            .get("id")
            .cloned()
            .and_then(|id| serde_json::from_value::<RequestId>(id).ok());
        match id {
            Some(id) => self.send(Response::new_err(
                id,
                ErrorCode::InvalidRequest as i32,
                error,
            )),
            None => self.notify(
                "window/logMessage",
                lsp_types::LogMessageParams {
                    typ: lsp_types::MessageType::ERROR,
                    message: format!("procedo: skipped a message: {error}"),
                },
            ),
        }
    }

    fn log_bad(&self, method: &str) {
        self.notify(
            "window/logMessage",
            lsp_types::LogMessageParams {
                typ: lsp_types::MessageType::ERROR,
                message: format!("procedo: ignored `{method}` with malformed parameters"),
            },
        );
    }
}

fn not_open(uri: &Uri) -> Failure {
    (
        ErrorCode::InvalidParams as i32,
        format!("`{}` is not open", uri.as_str()),
    )
}

fn env_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

fn parse<P: DeserializeOwned>(params: serde_json::Value) -> Result<P, Failure> {
    serde_json::from_value(params).map_err(|e| {
        (
            ErrorCode::InvalidParams as i32,
            format!("invalid parameters: {e}"),
        )
    })
}

fn to_value(v: impl serde::Serialize) -> Result<serde_json::Value, Failure> {
    serde_json::to_value(v).map_err(|e| {
        (
            ErrorCode::InternalError as i32,
            format!("cannot write the result: {e}"),
        )
    })
}

/// What the server can do.
pub fn capabilities() -> ServerCapabilities {
    use lsp_types::*;
    ServerCapabilities {
        position_encoding: Some(PositionEncodingKind::UTF16),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                ..Default::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        workspace_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![" ".to_string(), "[".to_string(), ",".to_string()]),
            ..Default::default()
        }),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..Default::default()
        })),
        semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
            SemanticTokensOptions {
                legend: features::legend(),
                full: Some(SemanticTokensFullOptions::Bool(true)),
                range: None,
                work_done_progress_options: Default::default(),
            },
        )),
        ..Default::default()
    }
}
