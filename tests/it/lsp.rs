//! `procedo lsp`: the built binary spoken to over pipes (Content-Length framed
//! JSON-RPC), every read bounded by a timeout; and the headless Neovim smoke test.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

struct Client {
    child: Child,
    stdin: ChildStdin,
    from_server: Receiver<Value>,
    /// Notifications and requests from the server not yet looked at.
    pending: Vec<Value>,
    next_id: i64,
}

fn read_frame(r: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            length = v.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

impl Client {
    fn start() -> Client {
        Client::start_in(Path::new("."))
    }

    /// A server whose working directory is `dir`.
    fn start_in(dir: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_procedo"))
            .arg("lsp")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("procedo lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            while let Some(v) = read_frame(&mut r) {
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        let mut c = Client {
            child,
            stdin,
            from_server: rx,
            pending: Vec::new(),
            next_id: 1,
        };
        let init = c.request("initialize", json!({"capabilities": {}, "processId": null}));
        assert_eq!(init["result"]["serverInfo"]["name"], "procedo");
        c.notify("initialized", json!({}));
        c
    }

    fn send_raw(&mut self, body: &[u8]) {
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        self.stdin.write_all(body).unwrap();
        self.stdin.flush().unwrap();
    }

    fn send(&mut self, v: Value) {
        let body = serde_json::to_vec(&v).unwrap();
        self.send_raw(&body);
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next message, or a panic after the timeout (never a hang).
    fn next(&mut self, deadline: Instant) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        self.from_server
            .recv_timeout(left)
            .expect("the server answers within the timeout")
    }

    /// Sends a request and waits for its response (other messages are kept).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + WAIT;
        loop {
            let m = self.next(deadline);
            if m.get("id") == Some(&json!(id)) && m.get("method").is_none() {
                return m;
            }
            self.pending.push(m);
        }
    }

    /// The next published diagnostics for a URI (earlier ones already received included).
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let is_for = |m: &Value| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
        };
        if let Some(i) = self.pending.iter().position(is_for) {
            let m = self.pending.remove(i);
            return m["params"]["diagnostics"].as_array().unwrap().clone();
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let m = self.next(deadline);
            if is_for(&m) {
                return m["params"]["diagnostics"].as_array().unwrap().clone();
            }
            self.pending.push(m);
        }
    }

    fn open(&mut self, path: &Path) -> String {
        let uri = uri(path);
        let text = std::fs::read_to_string(path).unwrap();
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "procedo", "version": 1, "text": text}}),
        );
        uri
    }

    fn change(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
        );
    }

    fn at(&mut self, method: &str, uri: &str, line: u32, character: u32) -> Value {
        self.request(
            method,
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
        )
    }

    fn stop(mut self) {
        let r = self.request("shutdown", Value::Null);
        assert!(r.get("error").is_none(), "{r}");
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "{status}");
                return;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn uri(path: &Path) -> String {
    let mut out = String::from("file://");
    for b in path.to_str().unwrap().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const LIB: &str = "library shared.common \"Common\"
  version \"1.0\"
  owner \"Control room manager\"
  effective 2026-01-01

facts
  ## How bad it is, as the caller says.
  severity: enum high | low
";

const MAIN: &str = "procedure main \"Main\"
  version \"1.0\"
  owner \"Control room manager\"
  effective 2026-01-01
  use \"lib.proc\"

priority
  scale P1 \"Critical\" > P2 > P3
  target P1 respond within 15m

roles
  ## Takes the call.
  handler \"Call handler\"

ends
  closed \"Closed\"

flow
  ## Answer within 10 s of the call.
  step answer \"Answer the call\"
    within 10s
    by handler
  decide route on priority
    when P1
      step dispatch
        by handler
    when P2
      step schedule
  end
  decide sev on severity
    when high
      step hurry
    else
      step wait
  end
  end closed
";

const MAIN_TEST: &str = "# A test beside the procedure.
incidents:
  - name: severity high is recorded
    facts: {severity: high}
    expect: {priority: P1}
cases:
  - name: answered and dispatched
    events: [answer, dispatch]
    expect: {conforming: false}
";

/// A procedures root with a library, a procedure using it, and the procedure's tests.
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("procedo.yaml"), "rules: {}\n").unwrap();
    std::fs::write(root.join("lib.proc"), LIB).unwrap();
    std::fs::write(root.join("main.proc"), MAIN).unwrap();
    std::fs::write(root.join("main.test.yaml"), MAIN_TEST).unwrap();
    (dir, root)
}

fn range(v: &Value) -> (u64, u64, u64, u64) {
    (
        v["start"]["line"].as_u64().unwrap(),
        v["start"]["character"].as_u64().unwrap(),
        v["end"]["line"].as_u64().unwrap(),
        v["end"]["character"].as_u64().unwrap(),
    )
}

/// Applies LSP text edits (non-overlapping) to a text.
fn apply(text: &str, edits: &[Value]) -> String {
    let offset = |line: u64, ch: u64| -> usize {
        let mut off = 0;
        for (i, l) in text.split_inclusive('\n').enumerate() {
            if i as u64 == line {
                let mut units = 0;
                for (k, c) in l.char_indices() {
                    if units >= ch {
                        return off + k;
                    }
                    units += c.len_utf16() as u64;
                }
                return off + l.trim_end_matches('\n').len();
            }
            off += l.len();
        }
        text.len()
    };
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            let (l0, c0, l1, c1) = range(&e["range"]);
            (
                offset(l0, c0),
                offset(l1, c1),
                e["newText"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    spans.sort_by_key(|b| std::cmp::Reverse(b.0));
    let mut out = text.to_string();
    for (s, e, t) in spans {
        out.replace_range(s..e, &t);
    }
    out
}

#[test]
fn lsp_diagnostics_have_the_rule_code_range_and_link() {
    let (_dir, root) = fixture();
    let mut c = Client::start();
    let main = c.open(&root.join("main.proc"));
    let diags = c.diagnostics(&main);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert_eq!(d["code"], "decision-not-exhaustive");
    assert_eq!(d["severity"], 1);
    assert_eq!(range(&d["range"]), (22, 2, 22, 26));
    assert_eq!(
        d["codeDescription"]["href"],
        "https://github.com/procedo/procedo/blob/main/docs/rules/decision-not-exhaustive.md"
    );
    assert!(
        d["message"].as_str().unwrap().contains("priority = P3"),
        "{d}"
    );

    // As the author types: a name that does not resolve, at its exact place.
    let typo = MAIN.replace("    by handler\n  decide", "    by handlr\n  decide");
    c.change(&main, 2, &typo);
    let diags = c.diagnostics(&main);
    let codes: Vec<&str> = diags.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["undefined-role"], "{diags:#?}");
    assert_eq!(range(&diags[0]["range"]), (21, 7, 21, 13));
    assert!(diags[0]["codeDescription"].is_null());

    // A syntax error.
    c.change(
        &main,
        3,
        &MAIN.replace("  step answer \"Answer the call\"", "  step \"Answer\""),
    );
    let diags = c.diagnostics(&main);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0]["severity"], 1);
    assert_eq!(diags[0]["range"]["start"]["line"], 19);
    c.stop();
}

#[test]
fn lsp_honours_procedo_yaml_and_allow_comments() {
    let (_dir, root) = fixture();
    std::fs::write(
        root.join("procedo.yaml"),
        "rules:\n  decision-not-exhaustive: off\n",
    )
    .unwrap();
    let mut c = Client::start();
    let main = c.open(&root.join("main.proc"));
    assert_eq!(c.diagnostics(&main), Vec::<Value>::new());
    std::fs::write(root.join("procedo.yaml"), "rules: {}\n").unwrap();
    // The configuration changed on disk: the open file is checked again.
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": uri(&root.join("procedo.yaml")), "type": 2}]}),
    );
    let diags = c.diagnostics(&main);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0]["code"], "decision-not-exhaustive");
    // A bad configuration is shown, and the default one is used meanwhile.
    std::fs::write(root.join("procedo.yaml"), "rules:\n  no-such-rule: off\n").unwrap();
    c.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": main}}),
    );
    let diags = c.diagnostics(&main);
    let codes: Vec<&str> = diags.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["bad-config", "decision-not-exhaustive"]);
    assert_eq!(range(&diags[0]["range"]), (0, 0, 0, 0));
    let message = diags[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("{}:2:3: ", root.join("procedo.yaml").display())),
        "{message}"
    );
    std::fs::write(root.join("procedo.yaml"), "rules: {}\n").unwrap();
    let allowed = MAIN.replace(
        "  decide route on priority\n",
        "  # procedo: allow(decision-not-exhaustive) reason \"P3 calls never reach this line\"\n  decide route on priority\n",
    );
    c.change(&main, 2, &allowed);
    assert_eq!(c.diagnostics(&main), Vec::<Value>::new());
    c.stop();
}

#[test]
fn lsp_rechecks_the_files_that_use_an_edited_file() {
    let (_dir, root) = fixture();
    let mut c = Client::start();
    let main = c.open(&root.join("main.proc"));
    assert_eq!(c.diagnostics(&main).len(), 1);
    let lib = c.open(&root.join("lib.proc"));
    assert_eq!(c.diagnostics(&lib), Vec::<Value>::new());
    // Opening the library re-checks its user (with the same text).
    assert_eq!(c.diagnostics(&main).len(), 1);
    // Renaming the fact in the (unsaved) library breaks its user.
    c.change(&lib, 2, &LIB.replace("severity:", "gravity:"));
    assert_eq!(c.diagnostics(&lib), Vec::<Value>::new());
    let diags = c.diagnostics(&main);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0]["code"], "undefined-name", "{diags:#?}");
    assert_eq!(range(&diags[0]["range"]), (29, 16, 29, 24));
    c.stop();
}

#[test]
fn lsp_hover_shows_types_docs_limits_targets_and_rules() {
    let (_dir, root) = fixture();
    let mut c = Client::start();
    let main = c.open(&root.join("main.proc"));
    // The fact `severity` in `decide sev on severity` (line 29).
    let h = c.at("textDocument/hover", &main, 29, 20);
    let text = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(text.starts_with("**fact** `severity` — from `"), "{text}");
    assert!(text.contains("severity: enum high | low"), "{text}");
    assert!(text.contains("type: `enum high | low`"), "{text}");
    assert!(
        text.contains("How bad it is, as the caller says."),
        "{text}"
    );
    assert_eq!(range(&h["result"]["range"]), (29, 16, 29, 24));
    // The step `answer`: its limit, role and doc.
    let h = c.at("textDocument/hover", &main, 19, 8);
    let text = h["result"]["contents"]["value"].as_str().unwrap();
    assert_eq!(
        text,
        "**step** `answer`\n\n```proc\nstep answer \"Answer the call\"\n  within 10s\n  by handler\n```\n\nAnswer within 10 s of the call."
    );
    // A role where it is used.
    let h = c.at("textDocument/hover", &main, 21, 8);
    let text = h["result"]["contents"]["value"].as_str().unwrap();
    assert_eq!(
        text,
        "**role** `handler`\n\n```proc\nhandler \"Call handler\"\n```\n\nTakes the call."
    );
    // A level with its targets.
    let h = c.at("textDocument/hover", &main, 23, 10);
    let text = h["result"]["contents"]["value"].as_str().unwrap();
    assert_eq!(
        text,
        "**priority level** `P1`\n\n```proc\nP1 \"Critical\"\ntarget P1 respond within 15m\n```"
    );
    // The rule behind a finding.
    let h = c.at("textDocument/hover", &main, 22, 4);
    let text = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(
        text.starts_with("**decision-not-exhaustive** (correctness, error by default)"),
        "{text}"
    );
    assert!(
        text.contains("the handler is left without a next step"),
        "{text}"
    );
    // The assessed level.
    let h = c.at("textDocument/hover", &main, 22, 20);
    let text = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(
        text.starts_with("**priority**: the incident's assessed level\n\nscale: P1 > P2 > P3"),
        "{text}"
    );
    // Nothing at a blank place.
    let h = c.at("textDocument/hover", &main, 5, 0);
    assert!(h["result"].is_null(), "{h}");
    c.stop();
}

#[test]
fn lsp_goes_to_definitions_and_finds_references() {
    let (_dir, root) = fixture();
    let mut c = Client::start();
    let main = c.open(&root.join("main.proc"));
    let d = c.at("textDocument/definition", &main, 29, 20);
    assert_eq!(d["result"]["uri"], uri(&root.join("lib.proc")));
    assert_eq!(range(&d["result"]["range"]), (7, 2, 7, 10));
    // The role from `by handler`.
    let d = c.at("textDocument/definition", &main, 21, 8);
    assert_eq!(d["result"]["uri"], main);
    assert_eq!(range(&d["result"]["range"]), (12, 2, 12, 9));
    // The `use`d file.
    let d = c.at("textDocument/definition", &main, 4, 8);
    assert_eq!(d["result"]["uri"], uri(&root.join("lib.proc")));
    // References of the role: its definition and two `by` lines.
    let r = c.request(
        "textDocument/references",
        json!({"textDocument": {"uri": main}, "position": {"line": 12, "character": 4},
               "context": {"includeDeclaration": true}}),
    );
    let locs = r["result"].as_array().unwrap();
    assert_eq!(locs.len(), 3, "{r}");
    let r = c.request(
        "textDocument/references",
        json!({"textDocument": {"uri": main}, "position": {"line": 12, "character": 4},
               "context": {"includeDeclaration": false}}),
    );
    assert_eq!(r["result"].as_array().unwrap().len(), 2, "{r}");
    // References of the used file, from its `use`: the `use` line (and the library's id).
    let r = c.request(
        "textDocument/references",
        json!({"textDocument": {"uri": main}, "position": {"line": 4, "character": 9},
               "context": {"includeDeclaration": true}}),
    );
    let locs = r["result"].as_array().unwrap();
    assert_eq!(locs.len(), 2, "{r}");
    assert_eq!(locs[0]["uri"], uri(&root.join("lib.proc")));
    assert_eq!(range(&locs[0]["range"]), (0, 8, 0, 21));
    assert_eq!(locs[1]["uri"], main);
    assert_eq!(range(&locs[1]["range"]), (4, 6, 4, 16));
    // References of the library's fact from the library: its user is read from disk.
    let lib = c.open(&root.join("lib.proc"));
    let r = c.request(
        "textDocument/references",
        json!({"textDocument": {"uri": lib}, "position": {"line": 7, "character": 4},
               "context": {"includeDeclaration": true}}),
    );
    let locs = r["result"].as_array().unwrap();
    assert_eq!(locs.len(), 2, "{r}");
    assert!(locs.iter().any(|l| l["uri"] == main), "{r}");
    c.stop();
}

#[test]
fn lsp_outline_lists_sections_and_what_they_define() {
    let (_dir, root) = fixture();
    let mut c = Client::start();
    let main = c.open(&root.join("main.proc"));
    let r = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": main}}),
    );
    let syms = r["result"].as_array().unwrap();
    let names: Vec<&str> = syms.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["main", "priority", "roles", "ends", "flow"]);
    let flow: Vec<&str> = syms[4]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(flow, ["answer", "route", "sev"]);
    let route: Vec<&str> = syms[4]["children"][1]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(route, ["dispatch", "schedule"]);
    // Workspace symbols: across the root, by substring.
    let r = c.request("workspace/symbol", json!({"query": "sever"}));
    let found: Vec<&str> = r["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(found, ["severity"], "{r}");
    c.stop();
}

#[test]
fn lsp_formats_to_the_fmt_layout() {
    let (_dir, root) = fixture();
    let messy = MAIN
        .replace("    within 10s\n", "        within 10s\n")
        .replace("  scale P1", "scale   P1");
    std::fs::write(root.join("main.proc"), &messy).unwrap();
    let mut c = Client::start();
    let main = c.open(&root.join("main.proc"));
    let r = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": main}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let edits = r["result"].as_array().unwrap();
    assert_eq!(edits.len(), 1, "{r}");
    assert_eq!(apply(&messy, edits), MAIN);
    // Formatted text: no edit.
    c.change(&main, 2, MAIN);
    let r = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": main}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(r["result"], json!([]));
    // Text that does not parse: an error, not a crash.
    c.change(&main, 3, "procedure x\n  step\n");
    let r = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": main}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(r["error"]["code"], -32803, "{r}");
    c.stop();
}

fn labels(r: &Value) -> Vec<String> {
    r["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn lsp_completes_in_context() {
    let (_dir, root) = fixture();
    let mut c = Client::start();
    let main = c.open(&root.join("main.proc"));
    c.diagnostics(&main);
    // Typing `by ` under a step: the roles.
    let typed = MAIN.replace(
        "      step schedule\n",
        "      step schedule\n        by \n",
    );
    c.change(&main, 2, &typed);
    let got = labels(&c.at("textDocument/completion", &main, 28, 11));
    assert_eq!(got, ["handler"]);
    // `when ` under `decide sev on severity`: the fact's values.
    let typed = MAIN.replace("    when high\n", "    when high\n    when \n");
    c.change(&main, 3, &typed);
    let got = labels(&c.at("textDocument/completion", &main, 31, 9));
    assert_eq!(got, ["high", "low"]);
    // `within 10`: duration units.
    let got = labels(&c.at("textDocument/completion", &main, 20, 13));
    assert_eq!(got, ["10s", "10m", "10h", "10d", "10w"]);
    // A new statement in the flow: statement keywords.
    let got = labels(&c.at("textDocument/completion", &main, 36, 2));
    assert!(
        got.contains(&"decide".to_string()) && got.contains(&"step".to_string()),
        "{got:?}"
    );
    // Column 0: section keywords.
    let got = labels(&c.at("textDocument/completion", &main, 5, 0));
    assert!(
        got.contains(&"facts".to_string()) && got.contains(&"flow".to_string()),
        "{got:?}"
    );
    // `go to `: steps.
    let typed = MAIN.replace("      step wait\n", "      go to \n");
    c.change(&main, 4, &typed);
    let got = labels(&c.at("textDocument/completion", &main, 33, 12));
    for s in ["answer", "dispatch", "hurry", "route"] {
        assert!(got.contains(&s.to_string()), "{got:?}");
    }
    // `end `: end states.
    let got = labels(&c.at("textDocument/completion", &main, 35, 6));
    assert_eq!(got, ["closed"]);
    // In an expression: facts (from the library too) and levels.
    let typed = MAIN.replace("  decide sev on severity\n", "  decide sev on \n");
    c.change(&main, 5, &typed);
    let got = labels(&c.at("textDocument/completion", &main, 29, 18));
    for s in ["severity", "P1", "P2"] {
        assert!(got.contains(&s.to_string()), "{got:?}");
    }
    // A new line in the `priority` section: its keywords.
    let typed = MAIN.replace("within 15m\n", "within 15m\n  \n");
    c.change(&main, 6, &typed);
    let got = labels(&c.at("textDocument/completion", &main, 9, 2));
    assert_eq!(
        got,
        [
            "scale", "target", "override", "regrade", "matrix", "table", "score", "combine"
        ]
    );
    c.stop();
}

#[test]
fn lsp_renames_across_users_and_the_test_yaml() {
    let (_dir, root) = fixture();
    let mut c = Client::start();
    let lib = c.open(&root.join("lib.proc"));
    let main_uri = uri(&root.join("main.proc"));
    let yaml_uri = uri(&root.join("main.test.yaml"));
    let prep = c.at("textDocument/prepareRename", &lib, 7, 4);
    assert_eq!(prep["result"]["placeholder"], "severity");
    let r = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": lib}, "position": {"line": 7, "character": 4}, "newName": "gravity"}),
    );
    let changes = r["result"]["changes"].as_object().unwrap();
    let mut files: Vec<&String> = changes.keys().collect();
    files.sort();
    let mut expected = vec![&lib, &main_uri, &yaml_uri];
    expected.sort();
    assert_eq!(files, expected);
    assert_eq!(
        apply(LIB, changes[&lib].as_array().unwrap()),
        LIB.replace("severity:", "gravity:")
    );
    assert_eq!(
        apply(MAIN, changes[&main_uri].as_array().unwrap()),
        MAIN.replace("on severity", "on gravity")
    );
    // The test's `name:` line keeps its words; the fact key is renamed.
    assert_eq!(
        apply(MAIN_TEST, changes[&yaml_uri].as_array().unwrap()),
        MAIN_TEST.replace("{severity: high}", "{gravity: high}")
    );
    // A role renamed in the procedure: its definition and both `by` lines.
    let main = c.open(&root.join("main.proc"));
    let r = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": main}, "position": {"line": 12, "character": 3}, "newName": "call_handler"}),
    );
    let edits = r["result"]["changes"][&main].as_array().unwrap();
    assert_eq!(
        apply(MAIN, edits),
        MAIN.replace("handler \"Call", "call_handler \"Call")
            .replace("by handler", "by call_handler")
    );
    // A step from where it is used: the procedure and the recorded cases of its tests.
    let r = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": main}, "position": {"line": 24, "character": 12}, "newName": "send"}),
    );
    let changes = r["result"]["changes"].as_object().unwrap();
    assert_eq!(changes.len(), 2, "{r}");
    assert_eq!(
        apply(MAIN, changes[&main].as_array().unwrap()),
        MAIN.replace("step dispatch", "step send")
    );
    assert_eq!(
        apply(MAIN_TEST, changes[&yaml_uri].as_array().unwrap()),
        MAIN_TEST.replace("[answer, dispatch]", "[answer, send]")
    );
    // A level: the scale, its target, the branch and the tests' expectations.
    let r = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": main}, "position": {"line": 23, "character": 10}, "newName": "urgent"}),
    );
    let changes = r["result"]["changes"].as_object().unwrap();
    assert_eq!(
        apply(MAIN, changes[&main].as_array().unwrap()),
        MAIN.replace("P1", "urgent")
    );
    assert_eq!(
        apply(MAIN_TEST, changes[&yaml_uri].as_array().unwrap()),
        MAIN_TEST.replace("P1", "urgent")
    );
    // Bad names are refused with an error.
    let r = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": main}, "position": {"line": 12, "character": 3}, "newName": "when"}),
    );
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let r = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": main}, "position": {"line": 19, "character": 8}, "newName": "dispatch"}),
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already a step"),
        "{r}"
    );
    c.stop();
}

/// The quick fixes offered on a line.
fn fixes(c: &mut Client, uri: &str, line: u32) -> Vec<Value> {
    let r = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri},
               "range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 1}},
               "context": {"diagnostics": []}}),
    );
    r["result"].as_array().unwrap().clone()
}

#[test]
fn lsp_quick_fixes_lint_clean() {
    let (_dir, root) = fixture();
    let mut c = Client::start();
    let main = c.open(&root.join("main.proc"));
    assert_eq!(c.diagnostics(&main).len(), 1);
    // Add the missing `else`.
    let actions = fixes(&mut c, &main, 22);
    let titles: Vec<&str> = actions
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Add an `else` branch that ends the case (`end closed`)",
            "Allow `decision-not-exhaustive` here (with a reason)"
        ]
    );
    let fixed = apply(
        MAIN,
        actions[0]["edit"]["changes"][&main].as_array().unwrap(),
    );
    assert!(
        fixed.contains("      step schedule\n    else\n      end closed\n  end\n"),
        "{fixed}"
    );
    c.change(&main, 2, &fixed);
    assert_eq!(c.diagnostics(&main), Vec::<Value>::new());
    std::fs::write(root.join("main.proc"), &fixed).unwrap();
    let (code, out, _) = crate::procedo(&[
        "lint",
        "--deny",
        "warnings",
        root.join("main.proc").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");

    // Give an allow comment its reason.
    let unreasoned = MAIN.replace(
        "  decide route on priority\n",
        "  # procedo: allow(decision-not-exhaustive)\n  decide route on priority\n",
    );
    c.change(&main, 3, &unreasoned);
    let diags = c.diagnostics(&main);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0]["code"], "allow-without-reason");
    assert_eq!(range(&diags[0]["range"]), (22, 2, 22, 43));
    let actions = fixes(&mut c, &main, 22);
    assert_eq!(actions[0]["title"], "Add a reason to the allow comment");
    let fixed = apply(
        &unreasoned,
        actions[0]["edit"]["changes"][&main].as_array().unwrap(),
    );
    c.change(&main, 4, &fixed);
    assert_eq!(c.diagnostics(&main), Vec::<Value>::new());
    std::fs::write(root.join("main.proc"), &fixed).unwrap();
    let (code, out, _) = crate::procedo(&[
        "lint",
        "--deny",
        "warnings",
        root.join("main.proc").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");

    // A misspelt name: the one it means.
    let typo = MAIN.replace("    by handler\n  decide", "    by handlr\n  decide");
    c.change(&main, 5, &typo);
    c.diagnostics(&main);
    let actions = fixes(&mut c, &main, 21);
    assert_eq!(actions[0]["title"], "Replace with `handler`");
    assert_eq!(
        apply(
            &typo,
            actions[0]["edit"]["changes"][&main].as_array().unwrap()
        ),
        MAIN
    );

    // A name not in snake case: renamed everywhere.
    let camel = MAIN.replace("step schedule", "step scheduleVisit");
    c.change(&main, 6, &camel);
    let codes: Vec<String> = c
        .diagnostics(&main)
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes, ["decision-not-exhaustive", "naming-convention"]);
    let actions = fixes(&mut c, &main, 27);
    assert_eq!(
        actions[0]["title"],
        "Rename `scheduleVisit` to `schedule_visit` everywhere"
    );
    assert_eq!(
        apply(
            &camel,
            actions[0]["edit"]["changes"][&main].as_array().unwrap()
        ),
        MAIN.replace("step schedule", "step schedule_visit")
    );

    // An unused fact: removed with its doc comment.
    let unused = MAIN.replacen(
        "priority\n",
        "facts\n  ## The caller's age.\n  caller_age: int\n\npriority\n",
        1,
    );
    c.change(&main, 7, &unused);
    let codes: Vec<String> = c
        .diagnostics(&main)
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes, ["unused-fact", "decision-not-exhaustive"]);
    let actions = fixes(&mut c, &main, 8);
    assert_eq!(actions[0]["title"], "Remove the unused fact `caller_age`");
    assert_eq!(
        apply(
            &unused,
            actions[0]["edit"]["changes"][&main].as_array().unwrap()
        ),
        MAIN.replacen("priority\n", "facts\n\npriority\n", 1)
    );
    c.stop();
}

#[test]
fn lsp_semantic_tokens_classify_names() {
    let (_dir, root) = fixture();
    let mut c = Client::start();
    let main = c.open(&root.join("main.proc"));
    let r = c.request(
        "textDocument/semanticTokens/full",
        json!({"textDocument": {"uri": main}}),
    );
    let data: Vec<u64> = r["result"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(data.len() % 5, 0);
    // Decode to absolute (line, col, len, type).
    let (mut line, mut col) = (0, 0);
    let mut toks = Vec::new();
    for t in data.chunks(5) {
        if t[0] > 0 {
            col = 0;
        }
        line += t[0];
        col += t[1];
        toks.push((line, col, t[2], t[3]));
    }
    // `severity` in `decide sev on severity` is a fact (variable, index 3).
    assert!(toks.contains(&(29, 16, 8, 3)), "{toks:?}");
    // `handler` after `by` is a role (class, index 5).
    assert!(toks.contains(&(21, 7, 7, 5)), "{toks:?}");
    // The doc comment above the step is a comment (index 8).
    assert!(toks.contains(&(18, 2, 34, 8)), "{toks:?}");
    c.stop();
}

#[test]
fn lsp_survives_malformed_messages() {
    let (_dir, root) = fixture();
    let mut c = Client::start();
    // Not JSON at all, and JSON that is no message: the server goes on.
    c.send_raw(b"{not json");
    c.send_raw(br#"{"jsonrpc":"2.0","id":77,"params":{}}"#);
    // Invalid parameters: an error reply with the request's id.
    let r = c.request("textDocument/hover", json!({"textDocument": 5}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    // A document that is not open: an error, not a crash.
    let r = c.at("textDocument/hover", "file:///nowhere/x.proc", 0, 0);
    assert_eq!(r["error"]["code"], -32602, "{r}");
    // An unknown method.
    let r = c.request("textDocument/unknownThing", json!({}));
    assert_eq!(r["error"]["code"], -32601, "{r}");
    // Positions far outside the text.
    let main = c.open(&root.join("main.proc"));
    let r = c.at("textDocument/hover", &main, 9999, 9999);
    assert!(r.get("error").is_none(), "{r}");
    // The message with an id but no method got an error reply of its own.
    assert!(
        c.pending
            .iter()
            .any(|m| m["id"] == 77 && m["error"]["code"] == -32600),
        "{:?}",
        c.pending
    );
    c.stop();
}

#[test]
fn fuzz_lsp_an_unsaved_document_answers_with_its_own_uri_and_reads_nothing_from_disk() {
    // The server runs in a procedures root holding `lib.proc`; the unsaved buffer `use`s
    // it. A buffer has no folder: its `use` is reported, not read from the server's
    // working directory, and its locations carry its own URI (not a made-up `file:` one).
    let (_dir, root) = fixture();
    let mut c = Client::start_in(&root);
    let doc = "untitled:Untitled-1";
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": doc, "languageId": "procedo", "version": 1, "text": MAIN}}),
    );
    let diags = c.diagnostics(doc);
    let uses: Vec<&Value> = diags
        .iter()
        .filter(|d| d["code"] == "use-not-found")
        .collect();
    assert_eq!(uses.len(), 1, "{diags:?}");
    assert_eq!(range(&uses[0]["range"]), (4, 6, 4, 16));
    assert!(
        uses[0]["message"]
            .as_str()
            .unwrap()
            .contains("not saved as a file"),
        "{diags:?}"
    );
    // The role from `by handler`: defined in the buffer itself.
    let d = c.at("textDocument/definition", doc, 21, 8);
    assert_eq!(d["result"]["uri"], doc, "{d}");
    assert_eq!(range(&d["result"]["range"]), (12, 2, 12, 9));
    // Its references: the definition and both `by` lines, all in the buffer.
    let r = c.request(
        "textDocument/references",
        json!({"textDocument": {"uri": doc}, "position": {"line": 12, "character": 4},
               "context": {"includeDeclaration": true}}),
    );
    let locs = r["result"].as_array().unwrap();
    assert_eq!(locs.len(), 3, "{r}");
    assert!(locs.iter().all(|l| l["uri"] == doc), "{r}");
    // A rename edits the buffer only.
    let r = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": doc}, "position": {"line": 12, "character": 4},
               "newName": "call_handler"}),
    );
    let changes = r["result"]["changes"].as_object().unwrap();
    assert_eq!(changes.keys().collect::<Vec<_>>(), vec![doc], "{r}");
    assert_eq!(changes[doc].as_array().unwrap().len(), 3, "{r}");
    c.stop();
}

#[test]
fn lsp_positions_count_utf16_units() {
    let (_dir, root) = fixture();
    let text = MAIN.replace(
        "handler \"Call handler\"",
        "handler \"Call handler 🚑\" reports to supervisor\n  supervisor",
    );
    std::fs::write(root.join("main.proc"), &text).unwrap();
    let mut c = Client::start();
    let main = c.open(&root.join("main.proc"));
    // `reports to supervisor` after the emoji: the emoji is two UTF-16 units.
    let r = c.request(
        "textDocument/references",
        json!({"textDocument": {"uri": main}, "position": {"line": 13, "character": 3},
               "context": {"includeDeclaration": true}}),
    );
    let locs = r["result"].as_array().unwrap();
    assert_eq!(locs.len(), 2, "{r}");
    assert!(
        locs.iter().any(|l| range(&l["range"]) == (12, 39, 12, 49)),
        "{r}"
    );
    c.stop();
}

/// Neovim's own LSP client (`vim.lsp.start`, or `start_client` before 0.8) against
/// `procedo lsp`: the diagnostic, a hover and a definition, as Neovim reports them.
/// CI sets `PROCEDO_REQUIRE_NVIM=1` when it installed nvim, so there a missing nvim is a
/// failure, not a skip.
#[test]
fn lsp_in_headless_neovim() {
    let have = Command::new("nvim")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var_os("PROCEDO_REQUIRE_NVIM").is_none(),
            "PROCEDO_REQUIRE_NVIM is set but nvim is not installed"
        );
        eprintln!("note: nvim not installed; the Neovim smoke test is skipped");
        return;
    }
    let (_dir, root) = fixture();
    let out = root.join("out.txt");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nvim/lsp_smoke.lua");
    let mut child = Command::new("nvim")
        .args([
            "--headless",
            "--clean",
            "-u",
            "NONE",
            "-i",
            "NONE",
            "-n",
            "-c",
        ])
        .arg(format!("luafile {}", script.display()))
        .env("PROCEDO_BIN", env!("CARGO_BIN_EXE_procedo"))
        .env("PROCEDO_FILE", root.join("main.proc"))
        .env("PROCEDO_OUT", &out)
        // Neovim's own files (logs, state) in the test's folder, whatever HOME is.
        .env("XDG_CACHE_HOME", root.join("xdg/cache"))
        .env("XDG_STATE_HOME", root.join("xdg/state"))
        .env("XDG_DATA_HOME", root.join("xdg/data"))
        .env("XDG_CONFIG_HOME", root.join("xdg/config"))
        .current_dir(&root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nvim starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nvim did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let got = std::fs::read_to_string(&out).expect("the script wrote its answers");
    assert_eq!(
        got,
        "client procedo\n\
         diagnostic decision-not-exhaustive 22:2 `decide route` has no branch for priority = P3 (no `when` for priority = P3 and no `else`)\n\
         hover **step** `answer`\n\
         definition main.proc 12:2\n"
    );
}

/// Every name mentioned in the shipped library resolves to a definition (so hover,
/// definition, references and rename reach every mention), and no finding is published
/// for a file `procedo lint` passes.
#[test]
fn lsp_resolves_every_name_of_the_shipped_library() {
    use procedo::lsp::workspace::{resolve, views_of};
    let mut unresolved = Vec::new();
    let mut count = 0;
    let mut files = Vec::new();
    let mut dirs = vec![PathBuf::from("procedures")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "proc") {
                files.push(p);
            }
        }
    }
    files.sort();
    for path in &files {
        let mut loader = procedo::Loader::new(procedo::model::find_root(path));
        let unit = loader.load_path(path).unwrap();
        let views = views_of(&unit, &|_| None);
        let view = &views[0];
        for m in &view.index.mentions {
            count += 1;
            if !m.free && resolve(&views, view, &m.name, m.kinds).is_none() {
                let (l, c) = view.source.line_col(m.span.start);
                unresolved.push(format!("{}:{l}:{c}: {}", path.display(), m.name));
            }
        }
    }
    assert!(count > 1000, "{count}");
    assert!(unresolved.is_empty(), "{}", unresolved.join("\n"));
}

/// In process, every shipped file opened and asked, at the start of a name on every
/// line and at every line's end, for a hover, a definition, completion, a rename and
/// the fixes of the line; and for its outline, tokens and formatting: nothing fails
/// (a panic would be an internal error reply), nothing is published for a clean file.
#[test]
fn lsp_answers_everywhere_in_the_shipped_library() {
    use lsp_server::{Message, Notification, Request, RequestId};
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut server = procedo::lsp::Server::new(tx);
    let mut id = 0;
    let mut ask = |server: &mut procedo::lsp::Server, method: &str, params: Value| -> Value {
        id += 1;
        server.handle(Message::Request(Request::new(
            RequestId::from(id),
            method.to_string(),
            params,
        )));
        loop {
            match rx.recv_timeout(WAIT).expect("an answer") {
                Message::Response(r) if r.id == RequestId::from(id) => {
                    return serde_json::to_value(&r).unwrap();
                }
                Message::Notification(n) if n.method == "textDocument/publishDiagnostics" => {
                    assert_eq!(n.params["diagnostics"], json!([]), "{}", n.params["uri"]);
                }
                _ => {}
            }
        }
    };
    ask(&mut server, "initialize", json!({"capabilities": {}}));
    let mut files = Vec::new();
    let mut dirs = vec![PathBuf::from("procedures")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "proc") {
                files.push(p.canonicalize().unwrap());
            }
        }
    }
    files.sort();
    let mut asked = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let u = uri(path);
        server.handle(Message::Notification(Notification::new(
            "textDocument/didOpen".to_string(),
            json!({"textDocument": {"uri": u, "languageId": "procedo", "version": 1, "text": text}}),
        )));
        let doc = json!({"textDocument": {"uri": u}});
        for method in [
            "textDocument/documentSymbol",
            "textDocument/semanticTokens/full",
        ] {
            let r = ask(&mut server, method, doc.clone());
            assert!(r.get("error").is_none(), "{method} {r}");
        }
        let r = ask(
            &mut server,
            "textDocument/formatting",
            json!({"textDocument": {"uri": u}, "options": {"tabSize": 2, "insertSpaces": true}}),
        );
        assert_eq!(r["result"], json!([]), "{} is formatted", path.display());
        for (n, line) in text.lines().enumerate() {
            let indent = line.len() - line.trim_start().len();
            let mid = line[indent..]
                .char_indices()
                .find(|(i, c)| *i > 4 && c.is_alphabetic())
                .map_or(indent, |(i, _)| indent + i);
            let end = line.encode_utf16().count();
            let cols = [indent, line[..mid].encode_utf16().count(), end];
            for col in cols {
                let at =
                    json!({"textDocument": {"uri": u}, "position": {"line": n, "character": col}});
                for method in [
                    "textDocument/hover",
                    "textDocument/definition",
                    "textDocument/completion",
                    "textDocument/prepareRename",
                ] {
                    let r = ask(&mut server, method, at.clone());
                    let code = r["error"]["code"].as_i64();
                    // prepareRename refuses names that cannot be renamed, with RequestFailed.
                    assert!(
                        code.is_none() || code == Some(-32803),
                        "{method} {}:{n}:{col} {r}",
                        path.display()
                    );
                    asked += 1;
                }
            }
            let r = ask(
                &mut server,
                "textDocument/codeAction",
                json!({"textDocument": {"uri": u},
                       "range": {"start": {"line": n, "character": 0}, "end": {"line": n, "character": end}},
                       "context": {"diagnostics": []}}),
            );
            assert_eq!(r["result"], json!([]), "{} line {n}", path.display());
        }
    }
    assert!(asked > 30_000, "{asked}");
}

/// The VS Code extension's manifest names files that exist, and its grammar is JSON
/// with the scope the manifest names and every section keyword of the language.
#[test]
fn lsp_vscode_extension_is_consistent() {
    let dir = Path::new("editors/vscode");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("package.json")).unwrap()).unwrap();
    assert!(dir.join(manifest["main"].as_str().unwrap()).is_file());
    let lang = &manifest["contributes"]["languages"][0];
    assert_eq!(lang["extensions"], json!([".proc"]));
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(lang["configuration"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    assert_eq!(config["comments"]["lineComment"], "#");
    let g = &manifest["contributes"]["grammars"][0];
    let grammar: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(g["path"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    assert_eq!(grammar["scopeName"], g["scopeName"]);
    let sections = grammar["repository"]["sections"]["patterns"][0]["match"]
        .as_str()
        .unwrap();
    for kw in [
        "facts",
        "params",
        "roles",
        "resources",
        "calendar",
        "clock",
        "validity",
        "priority",
        "decisions",
        "ends",
        "events",
        "flow",
        "constraints",
        "standards",
        "exemptions",
        "mapping",
        "links",
    ] {
        assert!(
            sections.contains(kw),
            "{kw} missing from the grammar's sections"
        );
    }
    let js = std::fs::read_to_string(dir.join("extension.js")).unwrap();
    assert!(
        js.contains("args: ['lsp']"),
        "the client starts `procedo lsp`"
    );
}
