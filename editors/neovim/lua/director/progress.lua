--- Runs in progress, from the `$/progress` reports director sends (tokens
--- `director/run/<id>`), and the statusline text built from them and from the
--- proposals waiting for review.
local M = {}

--- Active runs: run id → the latest progress value (title, message, percentage).
---@type table<integer, table>
M.active_runs = {}

--- The run id a director progress token names, or nil.
---@param token any
---@return integer|nil
function M.run_of_token(token)
  if type(token) ~= "string" then
    return nil
  end
  local id = token:match("^director/run/(%d+)$")
  return id and tonumber(id)
end

--- Records one `$/progress` value; returns true when it was director's.
---@param params {token: any, value: table}
---@return boolean
function M.record(params)
  local run = M.run_of_token(params.token)
  if not run or type(params.value) ~= "table" then
    return false
  end
  if params.value.kind == "end" then
    M.active_runs[run] = nil
  else
    M.active_runs[run] = vim.tbl_extend("force", M.active_runs[run] or {}, params.value)
  end
  return true
end

--- The newest run in progress, or nil.
---@return integer|nil
function M.newest_active_run()
  local newest = nil
  for run in pairs(M.active_runs) do
    if not newest or run > newest then
      newest = run
    end
  end
  return newest
end

--- "⏳ 1 running · 2 to review", either half alone, or "" when there is nothing to say.
---@param running integer
---@param to_review integer
---@return string
function M.format(running, to_review)
  local parts = {}
  if running > 0 then
    parts[#parts + 1] = ("⏳ %d running"):format(running)
  end
  if to_review > 0 then
    parts[#parts + 1] = ("%d to review"):format(to_review)
  end
  return table.concat(parts, " · ")
end

--- How many runs are in progress.
---@return integer
function M.running_count()
  return vim.tbl_count(M.active_runs)
end

return M
