--- What director's commands do: delegating a range, deciding on hunks and
--- runs, refining, cancelling, and showing a run's diff.
local server = require("director.server")
local proposals = require("director.proposals")
local progress = require("director.progress")
local diff = require("director.diff")

local M = {}

local function notify(message, level)
  vim.notify("director: " .. message, level or vim.log.levels.INFO)
end

--- The agents offered in `textDocument/codeAction` results, in order, without
--- repeats: director offers "Delegate to NAME: …" for every configured agent.
---@param actions table[]|nil
---@return string[]
function M.agents_from_code_actions(actions)
  local agents, seen = {}, {}
  for _, action in ipairs(actions or {}) do
    local command = action.command
    local name, arguments
    if type(command) == "table" then
      name, arguments = command.command, command.arguments
    else
      name, arguments = command, action.arguments
    end
    local argument = name == "director.delegate" and type(arguments) == "table" and arguments[1]
    local agent = type(argument) == "table" and argument.agent
    if type(agent) == "string" and not seen[agent] then
      seen[agent] = true
      agents[#agents + 1] = agent
    end
  end
  return agents
end

--- The LSP range a command range stands for. `line1`/`line2` are 1-based;
--- `range_count` is 0 without a range (the cursor is used: the server widens
--- it to the enclosing function). A characterwise visual selection keeps its
--- columns; anything else covers whole lines.
---@param bufnr integer
---@param range_count integer
---@param line1 integer
---@param line2 integer
---@param offset_encoding string
---@return table lsp.Range
function M.command_range(bufnr, range_count, line1, line2, offset_encoding)
  local function position(row, col)
    local character = vim.lsp.util.character_offset(bufnr, row, col, offset_encoding)
    return { line = row, character = character }
  end
  local function line_text(row)
    return vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
  end
  if range_count == 0 then
    local cursor = vim.api.nvim_win_get_cursor(0)
    local here = position(cursor[1] - 1, cursor[2])
    return { start = here, ["end"] = here }
  end
  local visual_start = vim.api.nvim_buf_get_mark(bufnr, "<")
  local visual_end = vim.api.nvim_buf_get_mark(bufnr, ">")
  if vim.fn.visualmode() == "v" and visual_start[1] == line1 and visual_end[1] == line2 then
    local last_line = line_text(line2 - 1)
    local end_col = math.min(#last_line, visual_end[2])
    -- The mark is on the selection's last character; the range ends after it.
    if end_col < #last_line then
      end_col = end_col + #vim.fn.strcharpart(last_line:sub(end_col + 1), 0, 1)
    end
    return { start = position(line1 - 1, visual_start[2]), ["end"] = position(line2 - 1, end_col) }
  end
  local start = { line = line1 - 1, character = 0 }
  if line2 < vim.api.nvim_buf_line_count(bufnr) then
    return { start = start, ["end"] = { line = line2, character = 0 } }
  end
  return { start = start, ["end"] = position(line2 - 1, #line_text(line2 - 1)) }
end

--- Hands a range of `bufnr` to an agent; asks for the agent (when several are
--- configured) and the instruction (when empty) first.
---@param bufnr integer
---@param range table lsp.Range
---@param instruction string|nil
function M.delegate(bufnr, range, instruction)
  local client = server.client_for(bufnr)
  if not client then
    notify("no director language server is attached to this buffer", vim.log.levels.WARN)
    return
  end
  local uri = vim.uri_from_bufnr(bufnr)
  local function send(agent, text)
    local argument = { uri = uri, range = range, instruction = text, agent = agent }
    server.execute(bufnr, "director.delegate", argument, function(result)
      local run = result and result.run
      notify(("run %s started%s"):format(tostring(run), agent and (" (" .. agent .. ")") or ""))
    end)
  end
  local function ask_instruction(agent)
    if instruction and instruction ~= "" then
      send(agent, instruction)
      return
    end
    vim.ui.input({ prompt = "Instruction for " .. (agent or "the agent") .. ": " }, function(text)
      if text and text ~= "" then
        send(agent, text)
      end
    end)
  end
  local params = { textDocument = { uri = uri }, range = range, context = { diagnostics = {} } }
  server.request(bufnr, "textDocument/codeAction", params, function(actions)
    local agents = M.agents_from_code_actions(actions)
    if #agents <= 1 then
      -- With none found (a file director offers no delegation on), the server
      -- picks its only agent or says why it cannot.
      ask_instruction(agents[1])
      return
    end
    vim.ui.select(agents, { prompt = "Delegate to which agent?" }, function(agent)
      if agent then
        ask_instruction(agent)
      end
    end)
  end, function()
    -- Without the list of agents, let the server pick its only one or say why not.
    ask_instruction(nil)
  end)
end

local function with_hunk_under_cursor(action)
  local hunk = proposals.hunk_under_cursor()
  if not hunk then
    notify("no director proposal under the cursor", vim.log.levels.WARN)
    return
  end
  action(hunk)
end

function M.accept()
  with_hunk_under_cursor(function(hunk)
    server.execute(0, "director.accept", { hunk = hunk.hunk })
  end)
end

function M.reject()
  with_hunk_under_cursor(function(hunk)
    server.execute(0, "director.reject", { hunk = hunk.hunk })
  end)
end

--- The run a command is about: the one given, else the one of the hunk under
--- the cursor, else the newest with hunks in this buffer, else (asking the
--- server) the newest run on this buffer's file.
---@param given string|nil
---@param on_run fun(run: integer)
local function resolve_run(given, on_run)
  local number = tonumber(given or "")
  if number then
    return on_run(number)
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local hunk = proposals.hunk_under_cursor()
  local run = (hunk and hunk.run) or proposals.newest_run_in_buffer(bufnr)
  if run then
    return on_run(run)
  end
  local uri = vim.uri_from_bufnr(bufnr)
  server.request(bufnr, "director/runs", vim.empty_dict(), function(result)
    for _, candidate in ipairs(result and result.runs or {}) do
      if candidate.uri == uri then
        return on_run(candidate.id)
      end
    end
    notify("no director run on this file", vim.log.levels.WARN)
  end)
end

function M.accept_run(given)
  resolve_run(given, function(run)
    server.execute(0, "director.acceptAll", { run = run })
  end)
end

function M.reject_run(given)
  resolve_run(given, function(run)
    server.execute(0, "director.rejectAll", { run = run })
  end)
end

--- Starts a new run on the same region with feedback (asked for when empty).
---@param feedback string|nil
function M.refine(feedback)
  resolve_run(nil, function(run)
    local function send(text)
      local argument = { run = run }
      if text and text ~= "" then
        argument.feedback = text
      end
      server.execute(0, "director.refine", argument, function(result)
        notify(("run %s refines run %d"):format(tostring(result and result.run), run))
      end)
    end
    if feedback and feedback ~= "" then
      return send(feedback)
    end
    vim.ui.input({ prompt = ("Feedback for run %d: "):format(run) }, function(text)
      if text ~= nil then
        send(text)
      end
    end)
  end)
end

--- Cancels the given run, else the newest one in progress.
---@param given string|nil
function M.cancel(given)
  local function send(run)
    server.execute(0, "director.cancel", { run = run }, function(result)
      if result and result.cancelled then
        notify(("run %d cancelled"):format(run))
      else
        notify(("run %d had already finished"):format(run))
      end
    end)
  end
  local number = tonumber(given or "") or progress.newest_active_run()
  if number then
    return send(number)
  end
  server.request(0, "director/runs", vim.empty_dict(), function(result)
    for _, run in ipairs(result and result.runs or {}) do
      if run.state == "running" or run.state == "queued" then
        return send(run.id)
      end
    end
    notify("no director run is in progress", vim.log.levels.WARN)
  end)
end

local function show_scratch(name, lines)
  local existing = vim.fn.bufnr(name)
  if existing ~= -1 then
    vim.api.nvim_buf_delete(existing, { force = true })
  end
  vim.cmd("botright new")
  local bufnr = vim.api.nvim_get_current_buf()
  vim.bo[bufnr].buftype = "nofile"
  vim.bo[bufnr].bufhidden = "wipe"
  vim.bo[bufnr].swapfile = false
  vim.api.nvim_buf_set_name(bufnr, name)
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  vim.bo[bufnr].modifiable = false
  vim.bo[bufnr].filetype = "diff"
  return bufnr
end

--- Shows a run's open proposals as a unified diff in a scratch split.
---@param given string|integer|nil
function M.diff(given)
  resolve_run(given and tostring(given), function(run)
    server.request(0, "director/run", { run = run }, function(detail)
      local uri = detail and detail.run and detail.run.uri
      if type(uri) ~= "string" then
        return notify(("run %d has no file"):format(run), vim.log.levels.WARN)
      end
      local path = vim.uri_to_fname(uri)
      local bufnr = vim.fn.bufnr(path)
      local loaded = bufnr ~= -1 and vim.api.nvim_buf_is_loaded(bufnr)
      local file_lines = loaded and vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
        or (vim.fn.filereadable(path) == 1 and vim.fn.readfile(path))
        or {}
      local client = server.any_client(loaded and bufnr or nil)
      local shown_path = require("director.runs_window").display_path(uri, client and client.config.root_dir)
      local lines = diff.unified(detail, shown_path, function(row)
        return file_lines[row + 1] or ""
      end)
      show_scratch(("director://run/%d.diff"):format(run), lines)
    end)
  end)
end

return M
