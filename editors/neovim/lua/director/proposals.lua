--- The proposals shown in each buffer: read from the diagnostics director
--- publishes (where they are, which hunk and run, whether conflicted), with
--- each hunk's new text fetched once through `director/run`.
local server = require("director.server")
local render = require("director.render")

local M = {}

---@class director.Hunk
---@field hunk integer hunk id
---@field run integer run id
---@field lnum integer 0-based rows and byte columns, end exclusive
---@field col integer
---@field end_lnum integer
---@field end_col integer
---@field conflicted boolean conflicted or stale: shown, but accepting is refused

--- Open hunks by buffer, in document order.
---@type table<integer, director.Hunk[]>
M.hunks_by_buffer = {}

--- New text by hunk id; a hunk's new text never changes (refining makes new hunks).
---@type table<integer, string>
M.new_texts = {}

--- Runs whose `director/run` request is in flight.
local fetching_runs = {}

--- The director proposal hunks among vim.diagnostic entries.
---@param diagnostics vim.Diagnostic[]
---@return director.Hunk[]
function M.hunks_from_diagnostics(diagnostics)
  local hunks = {}
  for _, diagnostic in ipairs(diagnostics) do
    local lsp = diagnostic.user_data and diagnostic.user_data.lsp
    local data = lsp and lsp.data
    if
      diagnostic.source == "director"
      and diagnostic.code == "proposal"
      and type(data) == "table"
      and type(data.hunk) == "number"
      and type(data.run) == "number"
    then
      hunks[#hunks + 1] = {
        hunk = data.hunk,
        run = data.run,
        lnum = diagnostic.lnum,
        col = diagnostic.col,
        end_lnum = diagnostic.end_lnum or diagnostic.lnum,
        end_col = diagnostic.end_col or diagnostic.col,
        conflicted = diagnostic.severity ~= vim.diagnostic.severity.INFO,
      }
    end
  end
  table.sort(hunks, function(left, right)
    if left.lnum ~= right.lnum then
      return left.lnum < right.lnum
    end
    return left.col < right.col
  end)
  return hunks
end

--- The hunk at a 0-based (row, col) position among `hunks`, or nil.
---@param hunks director.Hunk[]
---@param row integer
---@return director.Hunk|nil
function M.hunk_at(hunks, row)
  for _, hunk in ipairs(hunks) do
    if hunk.lnum <= row and row <= render.last_row(hunk) then
      return hunk
    end
  end
  return nil
end

--- The hunk under the cursor of the current window, or nil.
---@return director.Hunk|nil
function M.hunk_under_cursor()
  local bufnr = vim.api.nvim_get_current_buf()
  local row = vim.api.nvim_win_get_cursor(0)[1] - 1
  return M.hunk_at(M.hunks_by_buffer[bufnr] or {}, row)
end

--- The newest run that has open hunks in `bufnr`, or nil.
---@param bufnr integer
---@return integer|nil
function M.newest_run_in_buffer(bufnr)
  local newest = nil
  for _, hunk in ipairs(M.hunks_by_buffer[bufnr] or {}) do
    if not newest or hunk.run > newest then
      newest = hunk.run
    end
  end
  return newest
end

--- How many open hunks all buffers hold.
---@return integer
function M.count()
  local total = 0
  for _, hunks in pairs(M.hunks_by_buffer) do
    total = total + #hunks
  end
  return total
end

local hint_for -- set by M.attach_hints

--- Sets the function that writes the end-of-line hint for a hunk.
---@param hint fun(hunk: director.Hunk): string|nil
function M.attach_hints(hint)
  hint_for = hint
end

local function draw(bufnr)
  render.draw(bufnr, M.hunks_by_buffer[bufnr] or {}, M.new_texts, hint_for or function() end)
end

local function fetch_run(bufnr, run)
  if fetching_runs[run] then
    return
  end
  fetching_runs[run] = true
  server.request(bufnr, "director/run", { run = run }, function(detail)
    fetching_runs[run] = nil
    for _, proposal in ipairs(detail and detail.proposals or {}) do
      if type(proposal.hunk) == "number" and type(proposal.newText) == "string" then
        M.new_texts[proposal.hunk] = proposal.newText
      end
    end
    for buffer in pairs(M.hunks_by_buffer) do
      draw(buffer)
    end
  end, function()
    fetching_runs[run] = nil
  end)
end

--- Re-reads the buffer's director diagnostics, redraws, and fetches the new
--- text of hunks not seen before.
---@param bufnr integer
function M.refresh(bufnr)
  if not vim.api.nvim_buf_is_valid(bufnr) then
    M.hunks_by_buffer[bufnr] = nil
    return
  end
  local hunks = M.hunks_from_diagnostics(vim.diagnostic.get(bufnr))
  M.hunks_by_buffer[bufnr] = #hunks > 0 and hunks or nil
  local runs_to_fetch = {}
  for _, hunk in ipairs(hunks) do
    if not M.new_texts[hunk.hunk] then
      runs_to_fetch[hunk.run] = true
    end
  end
  for run in pairs(runs_to_fetch) do
    fetch_run(bufnr, run)
  end
  draw(bufnr)
end

return M
