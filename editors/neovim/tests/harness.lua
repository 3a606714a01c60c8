--- A small test runner for the plugin's Lua tests, run with `nvim -l`: named
--- tests, equality checks with readable failures, and a result file plus exit
--- code the Rust test (tests/tests/neovim.rs) asserts on.
local M = {}

local results = {}
local failures = 0

--- The plugin's folder (editors/neovim), found from this file's path.
M.plugin_root = vim.fs.dirname(vim.fs.dirname(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p")))

--- Puts the plugin on 'runtimepath' so `require("director")` finds it.
function M.load_plugin()
  vim.opt.runtimepath:prepend(M.plugin_root)
end

--- Fails the current test unless `actual` equals `expected` (deep comparison).
function M.eq(expected, actual, what)
  if not vim.deep_equal(expected, actual) then
    error(("%s:\n  expected: %s\n  actual:   %s"):format(what or "values differ", vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

--- Fails the current test unless `condition` holds.
function M.ok(condition, what)
  if not condition then
    error(what or "condition failed", 2)
  end
end

--- Waits up to `timeout_ms` for `condition`; fails with `what` (and the
--- condition's last value) when it never holds.
function M.wait_for(condition, what, timeout_ms)
  local last
  local held = vim.wait(timeout_ms or 20000, function()
    last = condition()
    return last and true or false
  end, 20)
  if not held then
    error(("timed out waiting for %s (last value: %s)"):format(what, vim.inspect(last)), 2)
  end
  return last
end

--- Runs one named test, recording a failure instead of stopping.
function M.test(name, body)
  local ok, err = xpcall(body, debug.traceback)
  if ok then
    results[#results + 1] = "ok   " .. name
  else
    failures = failures + 1
    results[#results + 1] = "FAIL " .. name .. "\n" .. tostring(err)
  end
end

--- Writes the results to $DIRECTOR_TEST_RESULT (and stdout) and exits: 0 when
--- every test passed.
function M.finish()
  local lines = vim.list_extend({}, results)
  lines[#lines + 1] = failures == 0 and "PASS" or ("FAILED %d"):format(failures)
  local text = table.concat(lines, "\n") .. "\n"
  io.stdout:write(text)
  local path = os.getenv("DIRECTOR_TEST_RESULT")
  if path and path ~= "" then
    local file = assert(io.open(path, "w"))
    file:write(text)
    file:close()
  end
  vim.cmd(("cquit %d"):format(failures == 0 and 0 or 1))
end

return M
