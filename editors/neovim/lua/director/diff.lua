--- A run's proposals as a unified diff (what `:DirectorDiff` shows), built
--- from `director/run`'s proposals and the current text of their file.
local render = require("director.render")

local M = {}

local shown_states = { open = true, conflicted = true, stale = true }

--- The diff's lines.
---@param detail table the `director/run` result
---@param path string the file's name as shown in the headers
---@param line fun(row: integer): string the file's current line at a 0-based row ("" past the end)
---@return string[]
function M.unified(detail, path, line)
  local run = detail.run or {}
  local proposals = {}
  for _, proposal in ipairs(detail.proposals or {}) do
    if shown_states[proposal.state] then
      proposals[#proposals + 1] = proposal
    end
  end
  local function start_line(proposal)
    return proposal.range and proposal.range.start.line or math.huge
  end
  table.sort(proposals, function(left, right)
    return start_line(left) < start_line(right)
  end)

  local lines = {
    ("# director run %s (%s, %s): %s"):format(
      tostring(run.id),
      tostring(run.agent),
      tostring(run.state),
      (tostring(run.instruction or "")):gsub("\n", " ")
    ),
  }
  if #proposals == 0 then
    lines[#lines + 1] = "# no open proposals"
    return lines
  end
  lines[#lines + 1] = "--- a/" .. path
  lines[#lines + 1] = "+++ b/" .. path

  local line_delta = 0
  for _, proposal in ipairs(proposals) do
    local label = ("hunk %d, %s"):format(proposal.hunk, proposal.state)
    local old_lines, new_lines, old_start
    if proposal.range then
      local hunk = {
        lnum = proposal.range.start.line,
        col = proposal.range.start.character,
        end_lnum = proposal.range["end"].line,
        end_col = proposal.range["end"].character,
      }
      old_lines = {}
      local removes_text = hunk.lnum ~= hunk.end_lnum or hunk.col ~= hunk.end_col
      local inserts_whole_lines = not removes_text and hunk.col == 0 and proposal.newText:sub(-1) == "\n"
      if inserts_whole_lines then
        new_lines = render.split_lines(proposal.newText)
      else
        for row = hunk.lnum, render.last_row(hunk) do
          old_lines[#old_lines + 1] = line(row)
        end
        new_lines = render.new_lines(hunk, proposal.newText, line)
      end
      old_start = hunk.lnum + 1
    else
      label = label .. ", file not open"
      old_lines = render.split_lines(proposal.baseText or "")
      new_lines = render.split_lines(proposal.newText or "")
      old_start = 1
    end
    -- A range of zero lines is numbered after the line it follows.
    local old_number = #old_lines == 0 and old_start - 1 or old_start
    local new_number = #new_lines == 0 and old_start - 1 + line_delta or old_start + line_delta
    lines[#lines + 1] = ("@@ -%d,%d +%d,%d @@ %s"):format(old_number, #old_lines, new_number, #new_lines, label)
    for _, text in ipairs(old_lines) do
      lines[#lines + 1] = "-" .. text
    end
    for _, text in ipairs(new_lines) do
      lines[#lines + 1] = "+" .. text
    end
    line_delta = line_delta + #new_lines - #old_lines
  end
  return lines
end

return M
