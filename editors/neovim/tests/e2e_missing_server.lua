--- End-to-end: a `cmd` that is not an executable gives one clear error and
--- starts nothing. Run by tests/tests/neovim.rs with DIRECTOR_WORKSPACE and
--- DIRECTOR_TEST_RESULT.
local t = dofile(vim.fs.dirname(debug.getinfo(1, "S").source:sub(2)) .. "/harness.lua")
t.load_plugin()

local workspace = assert(os.getenv("DIRECTOR_WORKSPACE"), "DIRECTOR_WORKSPACE is not set")
local missing = workspace .. "/no-such-director"

local notifications = {}
vim.notify = function(message, level)
  notifications[#notifications + 1] = { message = message, level = level }
end

vim.cmd("filetype on")
vim.cmd.cd(vim.fn.fnameescape(workspace))
require("director").setup({ cmd = { missing, "lsp" } })

t.test("a missing director executable is reported once, as an error", function()
  vim.cmd.edit("src/lib.rs")
  vim.cmd.edit("src/other.py")
  vim.wait(200)
  t.eq(1, #notifications, "one message for two buffers: " .. vim.inspect(notifications))
  t.eq(vim.log.levels.ERROR, notifications[1].level, "an error")
  t.ok(notifications[1].message:find(missing, 1, true), "names the command: " .. notifications[1].message)
  t.eq({}, vim.lsp.get_clients({ name = "director" }), "no client started")
end)

t.test("commands say that no server is attached instead of failing", function()
  vim.cmd("DirectorDelegate Do it")
  t.ok(notifications[2] and notifications[2].message:find("no director language server", 1, true), vim.inspect(notifications))
end)

t.finish()
