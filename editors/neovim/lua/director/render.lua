--- Draws proposals as extmarks: the text a hunk would remove is highlighted
--- (struck through), the text it would add is shown as inline virtual text or
--- as virtual lines under the hunk. The buffer text itself is never touched.
local M = {}

M.namespace = vim.api.nvim_create_namespace("director_proposals")

--- Defines the highlight groups (as defaults, so colour schemes and users win).
function M.define_highlights()
  local delete = vim.api.nvim_get_hl(0, { name = "DiffDelete", link = false })
  delete.strikethrough = true
  delete.default = true
  vim.api.nvim_set_hl(0, "DirectorRemoved", delete)
  vim.api.nvim_set_hl(0, "DirectorAdded", { link = "DiffAdd", default = true })
  vim.api.nvim_set_hl(0, "DirectorConflicted", { link = "DiffChange", default = true })
  vim.api.nvim_set_hl(0, "DirectorHint", { link = "Comment", default = true })
  vim.api.nvim_set_hl(0, "DirectorHintConflicted", { link = "DiagnosticWarn", default = true })
end

--- Splits text into lines; a final newline ends the last line rather than
--- starting an empty one, and empty text has no lines.
---@param text string
---@return string[]
function M.split_lines(text)
  if text == "" then
    return {}
  end
  local lines = vim.split(text, "\n", { plain = true })
  if lines[#lines] == "" then
    table.remove(lines)
  end
  return lines
end

--- The last buffer row a hunk covers: a range ending at column 0 of a later
--- row ends with the previous row's newline.
---@param hunk {lnum: integer, end_lnum: integer, end_col: integer}
---@return integer
function M.last_row(hunk)
  if hunk.end_col == 0 and hunk.end_lnum > hunk.lnum then
    return hunk.end_lnum - 1
  end
  return hunk.end_lnum
end

--- The lines the covered rows would hold once the hunk is accepted.
---@param hunk {lnum: integer, col: integer, end_lnum: integer, end_col: integer}
---@param new_text string
---@param line fun(row: integer): string the buffer's line at a 0-based row ("" past the end)
---@return string[]
function M.new_lines(hunk, new_text, line)
  local prefix = line(hunk.lnum):sub(1, hunk.col)
  local suffix = ""
  if M.last_row(hunk) == hunk.end_lnum then
    suffix = line(hunk.end_lnum):sub(hunk.end_col + 1)
  end
  return M.split_lines(prefix .. new_text .. suffix)
end

--- The extmarks that show one hunk, as `{row, col, opts}` for nvim_buf_set_extmark.
---@param hunk {lnum: integer, col: integer, end_lnum: integer, end_col: integer, conflicted: boolean, run: integer}
---@param new_text string
---@param buffer {line_count: integer, line: fun(row: integer): string}
---@param hint string|nil text shown at the end of the hunk's last line
---@return {[1]: integer, [2]: integer, [3]: table}[]
function M.marks(hunk, new_text, buffer, hint)
  local marks = {}
  local added_group = hunk.conflicted and "DirectorConflicted" or "DirectorAdded"
  local last_row = math.min(M.last_row(hunk), buffer.line_count - 1)
  local removes_text = hunk.lnum ~= hunk.end_lnum or hunk.col ~= hunk.end_col

  if removes_text then
    local end_row, end_col = hunk.end_lnum, hunk.end_col
    if end_row >= buffer.line_count then
      end_row, end_col = buffer.line_count - 1, #buffer.line(buffer.line_count - 1)
    end
    marks[#marks + 1] = {
      hunk.lnum,
      hunk.col,
      { end_row = end_row, end_col = end_col, hl_group = "DirectorRemoved", hl_eol = end_col == 0, priority = 150 },
    }
  end

  local inserts_whole_lines = not removes_text and hunk.col == 0 and new_text:sub(-1) == "\n"
  if hunk.lnum == hunk.end_lnum and hunk.end_lnum < buffer.line_count and not new_text:find("\n", 1, true) then
    if new_text ~= "" then
      marks[#marks + 1] = {
        hunk.end_lnum,
        hunk.end_col,
        { virt_text = { { new_text, added_group } }, virt_text_pos = "inline" },
      }
    end
  elseif inserts_whole_lines and hunk.lnum < buffer.line_count then
    marks[#marks + 1] = { hunk.lnum, 0, { virt_lines = M.virtual_lines(M.split_lines(new_text), added_group), virt_lines_above = true } }
  else
    local lines = M.new_lines(hunk, new_text, buffer.line)
    if #lines > 0 then
      marks[#marks + 1] = { last_row, 0, { virt_lines = M.virtual_lines(lines, added_group) } }
    end
  end

  if hint then
    marks[#marks + 1] = {
      last_row,
      0,
      {
        virt_text = { { hint, hunk.conflicted and "DirectorHintConflicted" or "DirectorHint" } },
        virt_text_pos = "eol",
      },
    }
  end
  return marks
end

--- virt_lines chunks: one highlighted chunk per line, tabs expanded so they line up.
---@param lines string[]
---@param group string
function M.virtual_lines(lines, group)
  local tab = string.rep(" ", vim.bo.tabstop > 0 and vim.bo.tabstop or 8)
  return vim.tbl_map(function(text)
    return { { (text:gsub("\t", tab)), group } }
  end, lines)
end

--- Clears the buffer's proposal extmarks and draws `hunks` (those with known new text).
---@param bufnr integer
---@param hunks table[] from director.proposals
---@param new_texts table<integer, string> new text by hunk id
---@param hint fun(hunk: table): string|nil
function M.draw(bufnr, hunks, new_texts, hint)
  if not vim.api.nvim_buf_is_loaded(bufnr) then
    return
  end
  vim.api.nvim_buf_clear_namespace(bufnr, M.namespace, 0, -1)
  local line_count = vim.api.nvim_buf_line_count(bufnr)
  local buffer = {
    line_count = line_count,
    line = function(row)
      if row >= line_count then
        return ""
      end
      return vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
    end,
  }
  for _, hunk in ipairs(hunks) do
    local new_text = new_texts[hunk.hunk]
    if new_text then
      for _, mark in ipairs(M.marks(hunk, new_text, buffer, hint(hunk))) do
        mark[3].strict = false
        -- The diagnostics may describe a slightly older text than the buffer
        -- holds now; a mark that no longer fits is skipped, and the next
        -- publication of the diagnostics redraws it.
        pcall(vim.api.nvim_buf_set_extmark, bufnr, M.namespace, mark[1], mark[2], mark[3])
      end
    end
  end
end

return M
