--- `:DirectorRuns`: a floating window listing `director/runs`, with keys to
--- open a run's file at its first hunk, accept or reject all its hunks,
--- cancel it, show its diff, refresh, and close.
local server = require("director.server")

local M = {}

--- The keys of the runs window and what they do (shown in its header).
M.keys = {
  { "<CR>", "open" },
  { "a", "accept all" },
  { "r", "reject all" },
  { "c", "cancel" },
  { "d", "diff" },
  { "R", "refresh" },
  { "q", "close" },
}

--- A path relative to `root` when it lies inside it.
---@param uri string
---@param root string|nil
---@return string
function M.display_path(uri, root)
  local ok, path = pcall(vim.uri_to_fname, uri)
  if not ok then
    return uri
  end
  if root and root ~= "" then
    local prefix = root:gsub("/$", "") .. "/"
    if path:sub(1, #prefix) == prefix then
      return path:sub(#prefix + 1)
    end
  end
  return path
end

--- One line describing a run: "#3  proposed   local  src/lib.rs  2 open  Simplify this".
---@param run table an entry of `director/runs`
---@param root string|nil
---@return string
function M.format_run(run, root)
  local counts = run.proposals or {}
  local pieces = {}
  for _, state in ipairs({ "open", "conflicted", "accepted", "rejected", "stale" }) do
    if (counts[state] or 0) > 0 then
      pieces[#pieces + 1] = ("%d %s"):format(counts[state], state)
    end
  end
  local instruction = tostring(run.instruction or ""):gsub("%s+", " ")
  if #instruction > 60 then
    instruction = instruction:sub(1, 57) .. "..."
  end
  local state = tostring(run.state)
  if run.reason and run.reason ~= vim.NIL then
    state = state .. " (" .. tostring(run.reason) .. ")"
  end
  return ("#%-4s %-11s %-10s %-28s %-22s %s"):format(
    tostring(run.id),
    state,
    tostring(run.agent),
    M.display_path(run.uri or "", root),
    table.concat(pieces, ", "),
    instruction
  )
end

local function header()
  local parts = {}
  for _, key in ipairs(M.keys) do
    parts[#parts + 1] = key[1] .. " " .. key[2]
  end
  return table.concat(parts, "  ")
end

--- Opens the window (or refreshes it when open) with the runs the server knows.
---@param bufnr integer|nil the buffer whose director client to ask
function M.open(bufnr)
  local client = server.any_client(bufnr)
  server.request(bufnr, "director/runs", vim.empty_dict(), function(result)
    M.show(result and result.runs or {}, client and client.config.root_dir, bufnr)
  end)
end

local state = { window = nil, buffer = nil, runs = {}, origin_window = nil }

local function run_on_cursor_line()
  if not (state.window and vim.api.nvim_win_is_valid(state.window)) then
    return nil
  end
  local row = vim.api.nvim_win_get_cursor(state.window)[1]
  return state.runs[row - 1]
end

function M.close()
  if state.window and vim.api.nvim_win_is_valid(state.window) then
    vim.api.nvim_win_close(state.window, true)
  end
  state.window = nil
end

local function open_run(origin_bufnr, run)
  server.request(origin_bufnr, "director/run", { run = run.id }, function(detail)
    M.close()
    if state.origin_window and vim.api.nvim_win_is_valid(state.origin_window) then
      vim.api.nvim_set_current_win(state.origin_window)
    end
    vim.cmd.edit(vim.fn.fnameescape(vim.uri_to_fname(run.uri)))
    for _, proposal in ipairs(detail and detail.proposals or {}) do
      if proposal.range and proposal.range ~= vim.NIL then
        local row = math.min(proposal.range.start.line + 1, vim.api.nvim_buf_line_count(0))
        vim.api.nvim_win_set_cursor(0, { row, proposal.range.start.character })
        break
      end
    end
  end)
end

--- Fills the window with `runs`.
---@param runs table[]
---@param root string|nil
---@param origin_bufnr integer|nil
function M.show(runs, root, origin_bufnr)
  if not (state.buffer and vim.api.nvim_buf_is_valid(state.buffer)) then
    state.buffer = vim.api.nvim_create_buf(false, true)
    vim.bo[state.buffer].bufhidden = "wipe"
    vim.bo[state.buffer].filetype = "director-runs"
  end
  local lines = { header() }
  state.runs = runs
  for _, run in ipairs(runs) do
    lines[#lines + 1] = M.format_run(run, root)
  end
  if #runs == 0 then
    lines[#lines + 1] = "no runs yet: select code and run :DirectorDelegate"
  end
  vim.bo[state.buffer].modifiable = true
  vim.api.nvim_buf_set_lines(state.buffer, 0, -1, false, lines)
  vim.bo[state.buffer].modifiable = false

  local width = math.min(vim.o.columns - 4, 120)
  local height = math.min(vim.o.lines - 4, #lines)
  if not (state.window and vim.api.nvim_win_is_valid(state.window)) then
    state.origin_window = vim.api.nvim_get_current_win()
    state.window = vim.api.nvim_open_win(state.buffer, true, {
      relative = "editor",
      width = width,
      height = height,
      row = math.floor((vim.o.lines - height) / 2) - 1,
      col = math.floor((vim.o.columns - width) / 2),
      style = "minimal",
      border = "rounded",
      title = " director runs ",
    })
    vim.wo[state.window].cursorline = true
    if #runs > 0 then
      vim.api.nvim_win_set_cursor(state.window, { 2, 0 })
    end
  else
    vim.api.nvim_win_set_config(state.window, { width = width, height = height })
  end

  local function map(lhs, action)
    vim.keymap.set("n", lhs, action, { buffer = state.buffer, nowait = true })
  end
  local function with_run(action)
    return function()
      local run = run_on_cursor_line()
      if run then
        action(run)
      end
    end
  end
  local function refresh()
    M.open(origin_bufnr)
  end
  map("<CR>", with_run(function(run)
    open_run(origin_bufnr, run)
  end))
  map("a", with_run(function(run)
    server.execute(origin_bufnr, "director.acceptAll", { run = run.id }, refresh)
  end))
  map("r", with_run(function(run)
    server.execute(origin_bufnr, "director.rejectAll", { run = run.id }, refresh)
  end))
  map("c", with_run(function(run)
    server.execute(origin_bufnr, "director.cancel", { run = run.id }, refresh)
  end))
  map("d", with_run(function(run)
    M.close()
    require("director.actions").diff(run.id)
  end))
  map("R", refresh)
  map("q", M.close)
  map("<Esc>", M.close)
end

--- The lines the window shows now (for tests and scripts), or nil when closed.
---@return string[]|nil
function M.lines()
  if not (state.window and vim.api.nvim_win_is_valid(state.window)) then
    return nil
  end
  return vim.api.nvim_buf_get_lines(state.buffer, 0, -1, false)
end

return M
