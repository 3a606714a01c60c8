//! The part of the Agent Client Protocol v1 schema Director speaks, as serde
//! types: what it sends (initialize, session/new, session/prompt,
//! session/cancel) and what it reads from the agent (session/update, fs/*,
//! session/request_permission).
//!
//! Written by hand rather than taken from `agent-client-protocol-schema`: the
//! subset is small, the crate's types are built through builders and pull in
//! schemars, and every variant Director does not use is read as `Other` so an
//! agent that speaks more of the protocol is never refused for it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The protocol major version Director speaks.
pub const PROTOCOL_VERSION: u16 = 1;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeRequest {
    pub protocol_version: u16,
    pub client_capabilities: ClientCapabilities,
    pub client_info: Implementation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientCapabilities {
    pub fs: FileSystemCapability,
    pub terminal: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileSystemCapability {
    pub read_text_file: bool,
    pub write_text_file: bool,
}

/// Who is on the other end, for the agent's logs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Implementation {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResponse {
    pub protocol_version: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSessionRequest {
    /// Absolute: the sandbox's copy of the workspace root.
    pub cwd: PathBuf,
    /// Director offers the agent no MCP server; always empty.
    pub mcp_servers: [(); 0],
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSessionResponse {
    pub session_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptRequest {
    pub session_id: String,
    pub prompt: Vec<ContentBlock>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptResponse {
    pub stop_reason: StopReason,
    /// The tokens the turn cost, which some agents (opencode) report with
    /// the end of the turn.
    #[serde(default)]
    pub usage: Option<TurnUsage>,
}

/// The tokens of a whole turn, as the agent counted them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnUsage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
}

/// Why the agent ended its turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    MaxTokens,
    MaxTurnRequests,
    Refusal,
    Cancelled,
    #[serde(other)]
    Other,
}

/// The `session/cancel` notification's parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelNotification {
    pub session_id: String,
}

/// A piece of a message; Director only reads and writes text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text {
        text: String,
    },
    #[serde(other)]
    Other,
}

/// The `session/update` notification's parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionNotification {
    pub update: SessionUpdate,
}

/// What the agent reports while it works.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(
    tag = "sessionUpdate",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum SessionUpdate {
    AgentMessageChunk {
        content: ContentBlock,
    },
    /// The whole plan, replacing the one sent before.
    Plan {
        entries: Vec<PlanEntry>,
    },
    ToolCall {
        tool_call_id: String,
        title: String,
        #[serde(default)]
        status: Option<ToolCallStatus>,
        /// The files it works on, which a later permission request may not repeat.
        #[serde(default)]
        locations: Option<Vec<ToolCallLocation>>,
        /// The tool's own arguments (`file_path`, …).
        #[serde(default)]
        raw_input: Option<serde_json::Value>,
    },
    /// Only the fields that changed are present.
    ToolCallUpdate {
        tool_call_id: String,
        #[serde(default)]
        title: Option<String>,
        #[serde(default)]
        status: Option<ToolCallStatus>,
        #[serde(default)]
        locations: Option<Vec<ToolCallLocation>>,
        #[serde(default)]
        raw_input: Option<serde_json::Value>,
    },
    /// How much of its context window the agent has used, and its cost so far.
    UsageUpdate {
        used: u64,
        size: u64,
        #[serde(default)]
        cost: Option<Cost>,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PlanEntry {
    pub content: String,
    pub status: PlanEntryStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanEntryStatus {
    Pending,
    InProgress,
    Completed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolCallStatus {
    Pending,
    InProgress,
    Completed,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Cost {
    pub amount: f64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadTextFileRequest {
    pub path: PathBuf,
    /// The first line to return, from 1.
    #[serde(default)]
    pub line: Option<u32>,
    /// How many lines to return.
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadTextFileResponse {
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WriteTextFileRequest {
    pub path: PathBuf,
    /// The whole new text of the file.
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestPermissionRequest {
    pub tool_call: PermissionToolCall,
    pub options: Vec<PermissionOption>,
}

/// The tool call a permission is asked for (a `ToolCallUpdate` in the schema).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionToolCall {
    /// The tool call this asks about, reported earlier with its locations.
    #[serde(default)]
    pub tool_call_id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    /// The tool's own arguments (`file_path`, …).
    #[serde(default)]
    pub raw_input: Option<serde_json::Value>,
    #[serde(default)]
    pub content: Option<Vec<ToolCallContent>>,
    #[serde(default)]
    pub locations: Option<Vec<ToolCallLocation>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolCallContent {
    Diff {
        path: PathBuf,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ToolCallLocation {
    pub path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionOption {
    pub option_id: String,
    pub name: String,
    pub kind: PermissionOptionKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermissionOptionKind {
    AllowOnce,
    AllowAlways,
    RejectOnce,
    RejectAlways,
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestPermissionResponse {
    pub outcome: PermissionOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PermissionOutcome {
    Cancelled,
    Selected {
        #[serde(rename = "optionId")]
        option_id: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn updates_are_read_by_their_discriminator_and_unknown_ones_are_kept_as_other() {
        let chunk: SessionNotification = serde_json::from_value(json!({
            "sessionId": "s",
            "update": { "sessionUpdate": "agent_message_chunk", "content": { "type": "text", "text": "hi" } }
        }))
        .expect("a chunk");
        assert_eq!(
            chunk.update,
            SessionUpdate::AgentMessageChunk {
                content: ContentBlock::Text { text: "hi".into() }
            }
        );
        let update: SessionUpdate = serde_json::from_value(json!({
            "sessionUpdate": "tool_call_update", "toolCallId": "c1", "status": "in_progress"
        }))
        .expect("an update");
        assert_eq!(
            update,
            SessionUpdate::ToolCallUpdate {
                tool_call_id: "c1".into(),
                title: None,
                status: Some(ToolCallStatus::InProgress),
                locations: None,
                raw_input: None,
            }
        );
        let unknown: SessionUpdate = serde_json::from_value(json!({
            "sessionUpdate": "available_commands_update", "availableCommands": []
        }))
        .expect("an unknown update");
        assert_eq!(unknown, SessionUpdate::Other);
        let image: ContentBlock = serde_json::from_value(
            json!({ "type": "image", "data": "…", "mimeType": "image/png" }),
        )
        .expect("an image");
        assert_eq!(image, ContentBlock::Other);
    }

    #[test]
    fn requests_and_outcomes_have_the_wire_shape() {
        let new_session = NewSessionRequest {
            cwd: PathBuf::from("/sandbox"),
            mcp_servers: [],
        };
        assert_eq!(
            serde_json::to_value(&new_session).expect("JSON"),
            json!({ "cwd": "/sandbox", "mcpServers": [] })
        );
        let selected = RequestPermissionResponse {
            outcome: PermissionOutcome::Selected {
                option_id: "allow".into(),
            },
        };
        assert_eq!(
            serde_json::to_value(&selected).expect("JSON"),
            json!({ "outcome": { "outcome": "selected", "optionId": "allow" } })
        );
        let cancelled = RequestPermissionResponse {
            outcome: PermissionOutcome::Cancelled,
        };
        assert_eq!(
            serde_json::to_value(&cancelled).expect("JSON"),
            json!({ "outcome": { "outcome": "cancelled" } })
        );
    }
}
