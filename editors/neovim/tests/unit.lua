--- Unit tests of the plugin's pure logic and of its drawing on a real buffer
--- (no server): `nvim --headless --clean -u NONE -l tests/unit.lua`.
local t = dofile(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)) .. "/harness.lua")
t.load_plugin()

local config = require("director.config")
local render = require("director.render")
local proposals = require("director.proposals")
local progress = require("director.progress")
local actions = require("director.actions")
local diff = require("director.diff")
local runs_window = require("director.runs_window")

local function buffer_of(lines)
  return {
    line_count = #lines,
    line = function(row)
      return lines[row + 1] or ""
    end,
  }
end

local function hunk(lnum, col, end_lnum, end_col, extra)
  return vim.tbl_extend("force", { hunk = 1, run = 1, lnum = lnum, col = col, end_lnum = end_lnum, end_col = end_col, conflicted = false }, extra or {})
end

t.test("config: defaults, partial keymaps, keymaps off, lists replaced", function()
  local defaults = config.merge(nil)
  t.eq({ "director", "lsp" }, defaults.cmd, "default cmd")
  t.ok(vim.tbl_contains(defaults.filetypes, "toml"), "toml is served for director.toml")
  local merged = config.merge({ keymaps = { accept = "<leader>y", reject = false }, filetypes = { "rust" } })
  t.eq("<leader>y", merged.keymaps.accept, "overridden key")
  t.eq(false, merged.keymaps.reject, "disabled key")
  t.eq("<leader>dd", merged.keymaps.delegate, "kept default key")
  t.eq({ "rust" }, merged.filetypes, "filetypes replaced")
  t.eq(false, config.merge({ keymaps = false }).keymaps, "all keymaps disabled")
  t.eq(defaults.keymaps, config.merge({ keymaps = true }).keymaps, "keymaps = true keeps defaults")
  t.eq(false, config.merge({ diagnostics = { signs = false } }).diagnostics.signs, "diagnostics merged")
  t.ok(not pcall(config.merge, { cmd = "director lsp" }), "a string cmd is refused")
end)

t.test("render: split_lines and last_row", function()
  t.eq({}, render.split_lines(""), "empty text")
  t.eq({ "a", "b" }, render.split_lines("a\nb\n"), "final newline ends the last line")
  t.eq({ "a", "" }, render.split_lines("a\n\n"), "a blank last line is kept")
  t.eq(2, render.last_row(hunk(1, 0, 3, 0)), "range ending at column 0 ends the row before")
  t.eq(3, render.last_row(hunk(1, 0, 3, 2)), "range ending inside a row")
  t.eq(1, render.last_row(hunk(1, 0, 1, 0)), "insertion point")
end)

t.test("render: whole-line replacement strikes the old lines and shows the new below", function()
  local buffer = buffer_of({ "fn a() {", "    old();", "}" })
  local marks = render.marks(hunk(1, 0, 2, 0), "    new();\n    more();\n", buffer, "  run 1")
  t.eq(3, #marks, "removed + added + hint")
  t.eq({ 1, 0 }, { marks[1][1], marks[1][2] }, "removed starts at the hunk")
  t.eq("DirectorRemoved", marks[1][3].hl_group, "removed group")
  t.eq({ 2, 0 }, { marks[1][3].end_row, marks[1][3].end_col }, "removed ends at the hunk end")
  t.eq(1, marks[2][1], "added lines hang under the last removed row")
  t.eq({ { { "    new();", "DirectorAdded" } }, { { "    more();", "DirectorAdded" } } }, marks[2][3].virt_lines, "added lines")
  t.eq({ { "  run 1", "DirectorHint" } }, marks[3][3].virt_text, "hint")
end)

t.test("render: a change inside one line is inline", function()
  local buffer = buffer_of({ 'let name = "old";' })
  local marks = render.marks(hunk(0, 12, 0, 15), "new", buffer, nil)
  t.eq(2, #marks, "removed + inline")
  t.eq({ 0, 12, 0, 15 }, { marks[1][1], marks[1][2], marks[1][3].end_row, marks[1][3].end_col }, "removed span")
  t.eq({ 0, 15 }, { marks[2][1], marks[2][2] }, "inline text after the removed span")
  t.eq("inline", marks[2][3].virt_text_pos, "inline position")
  t.eq({ { "new", "DirectorAdded" } }, marks[2][3].virt_text, "inline text")
end)

t.test("render: inserted lines go above the insertion point, deleted lines get no virtual lines", function()
  local buffer = buffer_of({ "a", "b" })
  local inserted = render.marks(hunk(1, 0, 1, 0), "x\ny\n", buffer, nil)
  t.eq(1, #inserted, "only the virtual lines")
  t.eq(true, inserted[1][3].virt_lines_above, "above the insertion point")
  t.eq(1, inserted[1][1], "at the insertion row")
  local deleted = render.marks(hunk(0, 0, 1, 0), "", buffer, nil)
  t.eq(1, #deleted, "only the removed highlight")
  t.eq("DirectorRemoved", deleted[1][3].hl_group, "removed group")
end)

t.test("render: insertion at the end of the file and removal up to it", function()
  local buffer = buffer_of({ "a", "b" })
  local appended = render.marks(hunk(2, 0, 2, 0), "c\n", buffer, nil)
  t.eq(1, #appended, "one mark")
  t.eq(1, appended[1][1], "below the last line")
  t.eq({ { { "c", "DirectorAdded" } } }, appended[1][3].virt_lines, "appended line")
  local removed = render.marks(hunk(1, 0, 2, 0), "B\n", buffer, nil)
  t.eq({ 1, 1 }, { removed[1][3].end_row, removed[1][3].end_col }, "removal clamped to the last line")
end)

t.test("render: partial multi-line change shows whole new lines; conflicted uses its own groups", function()
  local buffer = buffer_of({ "call(a,", "     b);" })
  local marks = render.marks(hunk(0, 4, 1, 7, { conflicted = true }), "(a, b)", buffer, "  run 1 · conflicted")
  t.eq({ { { "call(a, b);", "DirectorConflicted" } } }, marks[2][3].virt_lines, "new lines with prefix and suffix")
  t.eq("DirectorHintConflicted", marks[3][3].virt_text[1][2], "conflicted hint")
end)

t.test("render: draw puts extmarks on a buffer and never changes its text", function()
  local bufnr = vim.api.nvim_create_buf(false, true)
  local lines = { "one", "two", "three" }
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  local hunks = { hunk(1, 0, 2, 0, { hunk = 7 }), hunk(2, 0, 2, 5, { hunk = 8 }), hunk(0, 0, 1, 0, { hunk = 9 }) }
  render.draw(bufnr, hunks, { [7] = "TWO\n", [8] = "3" }, function()
    return nil
  end)
  local marks = vim.api.nvim_buf_get_extmarks(bufnr, render.namespace, 0, -1, { details = true })
  t.eq(4, #marks, "two marks for each hunk with new text, none for the hunk without")
  t.eq(lines, vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), "buffer text untouched")
  render.draw(bufnr, {}, {}, function() end)
  t.eq(0, #vim.api.nvim_buf_get_extmarks(bufnr, render.namespace, 0, -1, {}), "redraw clears old marks")
end)

t.test("proposals: hunks from diagnostics", function()
  local function diagnostic(lnum, data, extra)
    return vim.tbl_extend("force", {
      lnum = lnum,
      col = 0,
      end_lnum = lnum + 1,
      end_col = 0,
      source = "director",
      code = "proposal",
      severity = vim.diagnostic.severity.INFO,
      user_data = { lsp = { data = data } },
    }, extra or {})
  end
  local hunks = proposals.hunks_from_diagnostics({
    diagnostic(5, { hunk = 2, run = 1 }),
    diagnostic(1, { hunk = 1, run = 1 }, { severity = vim.diagnostic.severity.WARN }),
    diagnostic(3, { hunk = 3, run = 1 }, { source = "rust-analyzer" }),
    diagnostic(4, { hunk = 4, run = 1 }, { code = "config" }),
    diagnostic(6, vim.NIL),
  })
  t.eq({ 1, 2 }, vim.tbl_map(function(h) return h.hunk end, hunks), "only director proposals, in document order")
  t.eq(true, hunks[1].conflicted, "warning means conflicted or stale")
  t.eq(false, hunks[2].conflicted, "information means open")
  t.eq(1, proposals.hunk_at(hunks, 1).hunk, "hunk on its row")
  t.eq(nil, proposals.hunk_at(hunks, 2), "the row a range ends at column 0 of is not in it")
  t.eq(2, proposals.hunk_at(hunks, 5).hunk, "second hunk")
end)

t.test("progress: tokens, begin/report/end, statusline text", function()
  t.eq(12, progress.run_of_token("director/run/12"), "director token")
  t.eq(nil, progress.run_of_token("rustAnalyzer/indexing"), "other token")
  t.eq(nil, progress.run_of_token(5), "numeric token")
  t.eq(true, progress.record({ token = "director/run/3", value = { kind = "begin", title = "local" } }), "begin")
  t.eq(true, progress.record({ token = "director/run/4", value = { kind = "report", message = "streaming" } }), "report")
  t.eq(false, progress.record({ token = "other", value = { kind = "begin" } }), "not director's")
  t.eq(2, progress.running_count(), "two running")
  t.eq(4, progress.newest_active_run(), "newest")
  progress.record({ token = "director/run/4", value = { kind = "end" } })
  t.eq(1, progress.running_count(), "one ended")
  t.eq("⏳ 1 running · 2 to review", progress.format(1, 2), "both")
  t.eq("3 to review", progress.format(0, 3), "review only")
  t.eq("⏳ 2 running", progress.format(2, 0), "running only")
  t.eq("", progress.format(0, 0), "idle")
end)

t.test("actions: agent names from code actions", function()
  local agents = actions.agents_from_code_actions({
    { title = "Accept this edit (run 1)", command = { command = "director.accept", arguments = { { hunk = 1 } } } },
    { title = "Delegate to local: Implement", command = { command = "director.delegate", arguments = { { agent = "local" } } } },
    { title = "Delegate to local: Simplify", command = { command = "director.delegate", arguments = { { agent = "local" } } } },
    { title = "Delegate to gpt: Simplify", command = "director.delegate", arguments = { { agent = "gpt" } } },
    { title = "Delegate", command = { command = "director.delegate", arguments = { {} } } },
    { title = "Other server", command = { command = "other.delegate", arguments = { { agent = "x" } } } },
  })
  t.eq({ "local", "gpt" }, agents, "agents in order, once each")
  t.eq({}, actions.agents_from_code_actions(nil), "no actions")
end)

t.test("actions: command ranges", function()
  local bufnr = vim.api.nvim_create_buf(true, false)
  vim.api.nvim_set_current_buf(bufnr)
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, { "héllo world", "second", "third" })
  vim.api.nvim_win_set_cursor(0, { 2, 3 })
  t.eq({ start = { line = 1, character = 3 }, ["end"] = { line = 1, character = 3 } }, actions.command_range(bufnr, 0, 2, 2, "utf-8"), "no range: the cursor")
  t.eq({ start = { line = 0, character = 0 }, ["end"] = { line = 2, character = 0 } }, actions.command_range(bufnr, 2, 1, 2, "utf-8"), "line range")
  t.eq({ start = { line = 1, character = 0 }, ["end"] = { line = 2, character = 5 } }, actions.command_range(bufnr, 2, 2, 3, "utf-16"), "range to the last line")
  -- A characterwise selection from "é" to "o" of "world".
  vim.api.nvim_win_set_cursor(0, { 1, 1 })
  vim.cmd("normal! v10l\27")
  t.eq({ start = { line = 0, character = 1 }, ["end"] = { line = 0, character = 12 } }, actions.command_range(bufnr, 2, 1, 1, "utf-8"), "charwise selection in bytes")
  t.eq({ start = { line = 0, character = 1 }, ["end"] = { line = 0, character = 11 } }, actions.command_range(bufnr, 2, 1, 1, "utf-16"), "charwise selection in utf-16")
end)

t.test("diff: two hunks with shifted numbers, an insertion, closed hunks left out", function()
  local file = { "fn a() {", "    old();", "}", "", "fn b() {}" }
  local detail = {
    run = { id = 4, agent = "local", state = "proposed", instruction = "Tidy\nup" },
    proposals = {
      { hunk = 2, state = "open", range = { start = { line = 4, character = 0 }, ["end"] = { line = 5, character = 0 } }, newText = "fn b() {\n}\n" },
      { hunk = 1, state = "open", range = { start = { line = 1, character = 0 }, ["end"] = { line = 2, character = 0 } }, newText = "    new();\n    more();\n" },
      { hunk = 3, state = "conflicted", range = { start = { line = 3, character = 0 }, ["end"] = { line = 3, character = 0 } }, newText = "// gap\n" },
      { hunk = 5, state = "accepted", range = vim.NIL, newText = "x" },
    },
  }
  local lines = diff.unified(detail, "src/lib.rs", function(row)
    return file[row + 1] or ""
  end)
  t.eq({
    "# director run 4 (local, proposed): Tidy up",
    "--- a/src/lib.rs",
    "+++ b/src/lib.rs",
    "@@ -2,1 +2,2 @@ hunk 1, open",
    "-    old();",
    "+    new();",
    "+    more();",
    "@@ -3,0 +5,1 @@ hunk 3, conflicted",
    "+// gap",
    "@@ -5,1 +7,2 @@ hunk 2, open",
    "-fn b() {}",
    "+fn b() {",
    "+}",
  }, lines, "unified diff")
  local empty = diff.unified({ run = { id = 1, agent = "a", state = "settled", instruction = "x" }, proposals = {} }, "f", function()
    return ""
  end)
  t.eq("# no open proposals", empty[2], "nothing open")
end)

t.test("runs window: one line per run", function()
  local line = runs_window.format_run({
    id = 3,
    agent = "local",
    state = "proposed",
    instruction = "Simplify   this\ncode",
    uri = vim.uri_from_fname("/work/project/src/lib.rs"),
    reason = vim.NIL,
    proposals = { open = 2, conflicted = 0, accepted = 1, rejected = 0, stale = 0 },
  }, "/work/project")
  t.ok(line:match("^#3%s+proposed%s+local%s+src/lib%.rs%s+2 open, 1 accepted%s+Simplify this code$"), "line: " .. line)
  local failed = runs_window.format_run({ id = 4, agent = "gpt", state = "failed", reason = "HTTP 500", uri = "file:///elsewhere/a.py", proposals = {} }, "/work/project")
  t.ok(failed:find("failed (HTTP 500)", 1, true), "reason shown: " .. failed)
  t.ok(failed:find("/elsewhere/a.py", 1, true), "path outside the root stays absolute: " .. failed)
end)

t.test("help: tags generate without errors and every |reference| resolves", function()
  local folder = vim.fn.tempname()
  vim.fn.mkdir(folder .. "/doc", "p")
  vim.fn.writefile(vim.fn.readfile(t.plugin_root .. "/doc/director.txt"), folder .. "/doc/director.txt")
  vim.cmd.helptags(vim.fn.fnameescape(folder .. "/doc"))
  local tags = {}
  for _, entry in ipairs(vim.fn.readfile(folder .. "/doc/tags")) do
    tags[entry:match("^[^\t]+")] = true
  end
  for _, required in ipairs({ "director", "director-setup", ":DirectorDelegate", ":DirectorRuns", "director-statusline" }) do
    t.ok(tags[required], "missing tag " .. required)
  end
  local text = table.concat(vim.fn.readfile(folder .. "/doc/director.txt"), "\n")
  for reference in text:gmatch("|([^|%s]+)|") do
    local builtin = #vim.fn.getcompletion(reference, "help") > 0
    t.ok(tags[reference] or builtin, "unresolved reference |" .. reference .. "|")
  end
  vim.opt.runtimepath:prepend(folder)
  vim.cmd("help director-setup")
  t.ok(vim.api.nvim_buf_get_name(0):match("director%.txt$"), ":help director-setup opens director.txt")
  vim.cmd("helpclose")
end)

t.finish()
