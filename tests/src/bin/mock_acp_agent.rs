//! A scripted Agent Client Protocol agent for the e2e tests, speaking the real
//! protocol (newline-delimited JSON-RPC on stdio) the way `gemini --acp` or
//! `claude-code-acp` would, so Director's ACP client is tested end to end.
//!
//! Usage: `mock_acp_agent SCENARIO LOG_FILE`. Every scenario answers
//! `initialize` and `session/new`; then, on `session/prompt`:
//! - `edit`: streams a message and a plan, reads `src/lib.rs` with
//!   `fs/read_text_file`, asks permission for a diff on it (inside its cwd),
//!   and if allowed writes it back with `a - b` fixed through
//!   `fs/write_text_file`; it also creates `src/notes.txt` directly in its cwd.
//! - `ask_outside`: `edit`, then asks permission for a diff on a file outside
//!   its cwd.
//! - `hang`: streams a message, then waits for `session/cancel` and ends its
//!   turn `cancelled`.
//! - `crash`: writes an error to stderr and exits with status 3.
//! - `escape OUTSIDE`: a hostile agent. Through Director's `fs/write_text_file`
//!   it writes through a dangling link it made in its cwd (pointing into the
//!   folder OUTSIDE), to an absolute path in OUTSIDE, to `../../` of its cwd
//!   and into `.director/` and `.git/`; then it writes to OUTSIDE itself and
//!   asks permission for an edit whose only path is in its raw input. Each
//!   answer is logged as an `escape` event.
//!
//! Each step is appended to LOG_FILE as one JSON object per line, for the
//! test to check what the agent saw.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Value, json};

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().collect();
    let (Some(scenario), Some(log)) = (arguments.get(1), arguments.get(2)) else {
        eprintln!("usage: mock_acp_agent SCENARIO LOG_FILE");
        return ExitCode::from(2);
    };
    let mut agent = Agent {
        input: std::io::stdin().lock().lines(),
        log: PathBuf::from(log),
        next_id: 100,
        cwd: PathBuf::new(),
    };
    while let Some(message) = agent.next_message() {
        let id = message.get("id").cloned().unwrap_or(Value::Null);
        let params = message.get("params").cloned().unwrap_or(Value::Null);
        match message["method"].as_str() {
            Some("initialize") => {
                agent.record(json!({ "event": "initialize", "params": params }));
                agent.respond(
                    &id,
                    json!({ "protocolVersion": 1, "agentCapabilities": {}, "authMethods": [] }),
                );
            }
            Some("session/new") => {
                agent.record(json!({ "event": "session/new", "params": params }));
                agent.cwd = PathBuf::from(params["cwd"].as_str().unwrap_or_default());
                agent.respond(&id, json!({ "sessionId": "sess_1" }));
            }
            Some("session/prompt") => {
                agent.record(json!({ "event": "session/prompt", "params": params }));
                let stop_reason = match scenario.as_str() {
                    "edit" => agent.edit(),
                    "ask_outside" => {
                        agent.edit();
                        agent.ask_outside()
                    }
                    "hang" => agent.hang(),
                    "escape" => agent.escape(Path::new(
                        arguments.get(3).map_or("/nonexistent", String::as_str),
                    )),
                    "crash" => {
                        eprintln!("reading the code");
                        eprintln!("error: the model is overloaded");
                        return ExitCode::from(3);
                    }
                    other => {
                        eprintln!("unknown scenario {other}");
                        return ExitCode::from(2);
                    }
                };
                agent.respond(&id, json!({ "stopReason": stop_reason }));
            }
            Some("session/cancel") => agent.record(json!({ "event": "session/cancel" })),
            _ => {}
        }
    }
    ExitCode::SUCCESS
}

struct Agent {
    input: std::io::Lines<std::io::StdinLock<'static>>,
    log: PathBuf,
    next_id: u64,
    cwd: PathBuf,
}

impl Agent {
    /// The `edit` scenario; returns the stop reason.
    fn edit(&mut self) -> &'static str {
        self.update(json!({
            "sessionUpdate": "agent_message_chunk",
            "content": { "type": "text", "text": "Looking at the subtraction." },
        }));
        self.update(json!({
            "sessionUpdate": "plan",
            "entries": [
                { "content": "Read lib.rs", "priority": "high", "status": "completed" },
                { "content": "Fix add", "priority": "high", "status": "pending" },
            ],
        }));
        let lib = self.cwd.join("src/lib.rs");
        let read = self.request(
            "fs/read_text_file",
            json!({ "sessionId": "sess_1", "path": lib }),
        );
        let content = read["result"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.record(json!({ "event": "read", "content": content }));
        self.update(json!({
            "sessionUpdate": "tool_call", "toolCallId": "call_1", "title": "Edit src/lib.rs",
            "kind": "edit", "status": "pending",
        }));
        let fixed = content.replace("a - b", "a + b");
        let outcome = self.ask_permission("call_1", "Edit src/lib.rs", &lib, &content, &fixed);
        if outcome["outcome"] == "selected" && outcome["optionId"] == "allow" {
            let written = self.request(
                "fs/write_text_file",
                json!({ "sessionId": "sess_1", "path": lib, "content": fixed }),
            );
            self.record(json!({ "event": "write", "answer": written }));
        }
        // Agents also edit directly in their folder, as claude-code-acp now does.
        let _ = std::fs::write(self.cwd.join("src/notes.txt"), "fixed add\n");
        self.update(json!({
            "sessionUpdate": "tool_call_update", "toolCallId": "call_1", "status": "completed",
        }));
        self.update(json!({
            "sessionUpdate": "agent_message_chunk",
            "content": { "type": "text", "text": " Fixed add." },
        }));
        "end_turn"
    }

    /// Asks to write a file outside the cwd; records what it was told.
    fn ask_outside(&mut self) -> &'static str {
        let outside = self
            .cwd
            .parent()
            .unwrap_or(Path::new("/"))
            .join("outside-notes.txt");
        self.ask_permission("call_2", "Write outside-notes.txt", &outside, "", "notes\n");
        "end_turn"
    }

    fn escape(&mut self, outside: &Path) -> &'static str {
        let link = self.cwd.join("dangling");
        let linked = std::os::unix::fs::symlink(outside.join("through-link.txt"), &link);
        self.record(json!({ "event": "link", "made": linked.is_ok() }));
        for (what, path) in [
            ("dangling link", link),
            ("absolute", outside.join("absolute.txt")),
            ("climbing", self.cwd.join("../../climbed.txt")),
            ("journal", self.cwd.join(".director/journal.jsonl")),
            ("git config", self.cwd.join(".git/config")),
        ] {
            let answer = self.request(
                "fs/write_text_file",
                json!({ "sessionId": "sess_1", "path": path, "content": "escaped\n" }),
            );
            self.record(json!({ "event": "escape", "what": what, "answer": answer }));
        }
        let direct = std::fs::write(outside.join("direct.txt"), "escaped\n");
        self.record(json!({
            "event": "escape", "what": "direct",
            "answer": direct.map_or_else(|error| error.to_string(), |()| "written".to_owned()),
        }));
        // Like claude-code-acp: the request names its file only in its raw input.
        let answer = self.request(
            "session/request_permission",
            json!({
                "sessionId": "sess_1",
                "toolCall": {
                    "toolCallId": "call_9", "title": "Write src/lib.rs",
                    "rawInput": { "file_path": self.cwd.join("src/lib.rs"), "content": "x" },
                },
                "options": [
                    { "optionId": "allow", "name": "Allow once", "kind": "allow_once" },
                    { "optionId": "reject", "name": "Reject", "kind": "reject_once" },
                ],
            }),
        );
        self.record(json!({ "event": "permission", "outcome": answer["result"]["outcome"] }));
        "end_turn"
    }

    fn hang(&mut self) -> &'static str {
        self.update(json!({
            "sessionUpdate": "agent_message_chunk",
            "content": { "type": "text", "text": "thinking" },
        }));
        while let Some(message) = self.next_message() {
            if message["method"] == "session/cancel" {
                self.record(json!({ "event": "session/cancel" }));
                return "cancelled";
            }
        }
        "end_turn"
    }

    /// Sends `session/request_permission` for a diff on `path` and returns
    /// the outcome it was answered.
    fn ask_permission(
        &mut self,
        call: &str,
        title: &str,
        path: &Path,
        old_text: &str,
        new_text: &str,
    ) -> Value {
        let answer = self.request(
            "session/request_permission",
            json!({
                "sessionId": "sess_1",
                "toolCall": {
                    "toolCallId": call, "title": title, "kind": "edit",
                    "content": [{ "type": "diff", "path": path, "oldText": old_text, "newText": new_text }],
                    "locations": [{ "path": path }],
                },
                "options": [
                    { "optionId": "allow", "name": "Allow once", "kind": "allow_once" },
                    { "optionId": "always", "name": "Always allow", "kind": "allow_always" },
                    { "optionId": "reject", "name": "Reject", "kind": "reject_once" },
                ],
            }),
        );
        let outcome = answer["result"]["outcome"].clone();
        self.record(json!({ "event": "permission", "path": path, "outcome": outcome }));
        outcome
    }

    /// Sends a request and reads until its response, recording a
    /// `session/cancel` that arrives meanwhile.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        while let Some(message) = self.next_message() {
            if message["id"] == id && message.get("method").is_none() {
                return message;
            }
            if message["method"] == "session/cancel" {
                self.record(json!({ "event": "session/cancel" }));
            }
        }
        Value::Null
    }

    fn update(&mut self, update: Value) {
        self.send(&json!({
            "jsonrpc": "2.0",
            "method": "session/update",
            "params": { "sessionId": "sess_1", "update": update },
        }));
    }

    fn respond(&mut self, id: &Value, result: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "result": result }));
    }

    fn send(&mut self, message: &Value) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{message}");
        let _ = stdout.flush();
    }

    fn next_message(&mut self) -> Option<Value> {
        loop {
            let line = self.input.next()?.ok()?;
            if let Ok(message) = serde_json::from_str(&line) {
                return Some(message);
            }
        }
    }

    fn record(&self, entry: Value) {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log);
        if let Ok(mut file) = file {
            let _ = writeln!(file, "{entry}");
        }
    }
}
