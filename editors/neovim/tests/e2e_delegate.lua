--- End-to-end: the plugin driving the real `director lsp` against a mock
--- agent. Run by tests/tests/neovim.rs with DIRECTOR_BIN, DIRECTOR_WORKSPACE
--- (holding director.toml with the agents "mock" and "spare", and src/lib.rs)
--- and DIRECTOR_TEST_RESULT.
local t = dofile(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)) .. "/harness.lua")
t.load_plugin()

local workspace = assert(os.getenv("DIRECTOR_WORKSPACE"), "DIRECTOR_WORKSPACE is not set")
local director_bin = assert(os.getenv("DIRECTOR_BIN"), "DIRECTOR_BIN is not set")

local notifications = {}
vim.notify = function(message, level)
  notifications[#notifications + 1] = { message = message, level = level }
end

-- Scripted answers to the plugin's questions, recording what was offered.
local offered_agents
vim.ui.select = function(items, _, on_choice)
  offered_agents = items
  on_choice("mock")
end
local input_prompts = {}
vim.ui.input = function(opts, on_confirm)
  input_prompts[#input_prompts + 1] = opts.prompt
  on_confirm("Tidy up")
end

vim.cmd("filetype on")
vim.cmd.cd(vim.fn.fnameescape(workspace))
local director = require("director")
director.setup({ cmd = { director_bin, "lsp" } })
local render = require("director.render")

local function director_marks(bufnr)
  return vim.api.nvim_buf_get_extmarks(bufnr, render.namespace, 0, -1, { details = true })
end

local function notification_text()
  return table.concat(
    vim.tbl_map(function(entry)
      return entry.message
    end, notifications),
    "\n"
  )
end

local bufnr
t.test("opening a Rust file starts and attaches the server with utf-8 positions", function()
  vim.cmd.edit("src/lib.rs")
  bufnr = vim.api.nvim_get_current_buf()
  t.eq("rust", vim.bo[bufnr].filetype, "filetype")
  local client = t.wait_for(function()
    local client = require("director.server").client_for(bufnr)
    return client and client.initialized and client
  end, "the director client to initialize")
  t.eq("utf-8", client.offset_encoding, "negotiated encoding")
  t.eq(workspace, client.config.root_dir, "root is the folder with director.toml")
end)

local original_lines
t.test(":DirectorDelegate on a range asks for the agent and instruction, shows progress and proposals", function()
  original_lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  vim.cmd("1,11DirectorDelegate")
  t.wait_for(function()
    return offered_agents
  end, "the agent picker")
  table.sort(offered_agents)
  t.eq({ "mock", "spare" }, offered_agents, "both configured agents offered")
  t.eq({ "Instruction for mock: " }, input_prompts, "instruction asked for")
  t.wait_for(function()
    return director.statusline():find("⏳ 1 running", 1, true)
  end, "the statusline to show the run in progress (" .. director.statusline() .. ")")
  t.wait_for(function()
    return director.statusline() == "2 to review"
  end, "two proposals to review in the statusline")
  t.ok(notification_text():find("run 1 started (mock)", 1, true), "notified: " .. notification_text())
end)

t.test("proposals are extmarks: inline text and virtual lines, buffer untouched", function()
  local marks = t.wait_for(function()
    local marks = director_marks(bufnr)
    local inline, lines = false, false
    for _, mark in ipairs(marks) do
      local details = mark[4]
      if details.virt_text_pos == "inline" and details.virt_text[1][1] == ": u32" and mark[2] == 1 then
        inline = true
      end
      if details.virt_lines and details.virt_lines[1][1][1] == "    // Greets the caller." then
        lines = true
      end
    end
    return inline and lines and marks
  end, "an inline mark for ': u32' on row 1 and virtual lines for the comment")
  t.ok(#marks >= 2, "marks drawn")
  t.eq(original_lines, vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), "buffer text untouched")
  t.eq(false, vim.bo[bufnr].modified, "buffer not modified")
end)

t.test(":DirectorDiff shows the run as a unified diff", function()
  vim.cmd("DirectorDiff")
  local diff_lines = t.wait_for(function()
    local name = vim.api.nvim_buf_get_name(0)
    return name:match("director://run/1%.diff$") and vim.api.nvim_buf_get_lines(0, 0, -1, false)
  end, "the diff split")
  local text = table.concat(diff_lines, "\n")
  t.ok(text:find("--- a/src/lib.rs\n+++ b/src/lib.rs", 1, true), "headers:\n" .. text)
  t.ok(text:find("-    let mut sum = 0;\n+    let mut sum: u32 = 0;", 1, true), "first hunk:\n" .. text)
  t.ok(text:find("@@ -9,0 +10,1 @@ hunk 2, open\n+    // Greets the caller.", 1, true), "second hunk:\n" .. text)
  t.eq("diff", vim.bo.filetype, "diff filetype")
  vim.cmd.close()
  t.eq(bufnr, vim.api.nvim_get_current_buf(), "back in the source buffer")
end)

t.test(":DirectorAccept on one hunk and :DirectorReject on the other", function()
  vim.cmd("only")
  vim.api.nvim_set_current_buf(bufnr)
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  vim.cmd("DirectorAccept")
  t.wait_for(function()
    return vim.api.nvim_buf_get_lines(bufnr, 1, 2, false)[1] == "    let mut sum: u32 = 0;"
  end, "the accepted hunk in the buffer")
  t.wait_for(function()
    return director.statusline() == "1 to review"
  end, "one proposal left (" .. director.statusline() .. ")")

  local greeting_row = nil
  for row, line in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
    if line == '    "hello"' then
      greeting_row = row
    end
  end
  vim.api.nvim_win_set_cursor(0, { greeting_row, 0 })
  vim.cmd("DirectorReject")
  t.wait_for(function()
    return director.statusline() == "" and #director_marks(bufnr) == 0
  end, "no proposal left and no marks")

  local expected = vim.deepcopy(original_lines)
  expected[2] = "    let mut sum: u32 = 0;"
  t.eq(expected, vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), "buffer: accepted hunk in, rejected hunk out")
  vim.cmd("undo")
  t.eq(original_lines, vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), "accepting was one undoable change")
end)

t.test(":DirectorRuns lists the run in a floating window", function()
  vim.cmd("DirectorRuns")
  local lines = t.wait_for(function()
    return require("director.runs_window").lines()
  end, "the runs window")
  t.ok(vim.api.nvim_win_get_config(0).relative ~= "", "the runs window is floating and focused")
  local text = table.concat(lines, "\n")
  t.ok(text:match("#1%s+settled%s+mock%s+src/lib%.rs%s+1 accepted, 1 rejected%s+Tidy up"), "runs window:\n" .. text)
  vim.api.nvim_feedkeys("q", "x", false)
  t.eq(nil, require("director.runs_window").lines(), "q closes it")
end)

t.test("keymaps: buffer-local <leader>d maps to the <Plug> maps", function()
  t.eq("<Plug>(director-accept)", vim.fn.maparg("<leader>da", "n"), "accept key")
  t.eq("<Plug>(director-delegate)", vim.fn.maparg("<leader>dd", "x"), "delegate key in visual mode")
  t.ok(vim.fn.maparg("<Plug>(director-reject)", "n"):find("DirectorReject", 1, true), "<Plug> map")
end)

t.test(":DirectorRefine replaces a run's proposals and :DirectorAcceptRun accepts the new run", function()
  vim.cmd("9,11DirectorDelegate Shorter greeting")
  t.wait_for(function()
    local hunks = require("director.proposals").hunks_by_buffer[bufnr] or {}
    return #hunks == 1 and hunks[1].run == 2
  end, "the proposal of run 2")
  vim.api.nvim_win_set_cursor(0, { 10, 0 })
  vim.cmd("DirectorRefine Even shorter")
  t.wait_for(function()
    local hunks = require("director.proposals").hunks_by_buffer[bufnr] or {}
    return #hunks == 1 and hunks[1].run == 3
  end, "run 3's proposal replacing run 2's")
  t.ok(notification_text():find("run 3 refines run 2", 1, true), "notified: " .. notification_text())
  vim.cmd("DirectorAcceptRun")
  local expected = vim.deepcopy(original_lines)
  for index, line in ipairs(expected) do
    if line == '    "hello"' then
      expected[index] = '    "hey"'
    end
  end
  t.wait_for(function()
    return vim.deep_equal(expected, vim.api.nvim_buf_get_lines(bufnr, 0, -1, false))
  end, "run 3's text in the buffer")
  t.wait_for(function()
    return director.statusline() == ""
  end, "nothing left to review")
end)

t.test(":DirectorCancel cancels the run in progress", function()
  vim.cmd("1,7DirectorDelegate Never finishes")
  t.wait_for(function()
    return director.statusline() == "⏳ 1 running"
  end, "run 4 in progress")
  vim.cmd("DirectorCancel")
  t.wait_for(function()
    return notification_text():find("run 4 cancelled", 1, true)
  end, "the cancellation")
  t.wait_for(function()
    return director.statusline() == ""
  end, "no run in progress")
end)

t.test("no error was reported along the way", function()
  for _, entry in ipairs(notifications) do
    t.ok(entry.level ~= vim.log.levels.ERROR and entry.level ~= vim.log.levels.WARN, "reported: " .. entry.message)
  end
end)

t.finish()
