--- The connection to `director lsp`: starting or finding the client for a
--- buffer, and sending director's commands and requests through it.
local M = {}

M.client_name = "director"

local missing_executable_reported = false

--- The director client attached to `bufnr`, or nil.
---@param bufnr integer
---@return vim.lsp.Client|nil
function M.client_for(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = M.client_name })[1]
end

--- Any running director client (for actions not tied to a buffer), preferring
--- the one attached to `bufnr`.
---@param bufnr integer|nil
---@return vim.lsp.Client|nil
function M.any_client(bufnr)
  return (bufnr and M.client_for(bufnr)) or vim.lsp.get_clients({ name = M.client_name })[1]
end

--- Client capabilities with utf-8 offered first, so positions are byte columns.
function M.capabilities()
  return vim.tbl_deep_extend("force", vim.lsp.protocol.make_client_capabilities(), {
    general = { positionEncodings = { "utf-8", "utf-16" } },
  })
end

--- True when `cmd` names an executable that is not there; says so once per session.
---@param cmd string[]|function
---@return boolean
function M.executable_missing(cmd)
  if type(cmd) ~= "table" or vim.fn.executable(cmd[1]) == 1 then
    return false
  end
  if not missing_executable_reported then
    missing_executable_reported = true
    vim.notify(
      ("director: cannot start the language server: %q is not an executable (install it with "
        .. "`cargo install --path server` or set `cmd` in require('director').setup())"):format(cmd[1]),
      vim.log.levels.ERROR
    )
  end
  return true
end

--- Starts the server for `bufnr` (or reuses the one for its root) and attaches it.
---@param bufnr integer
---@param options table the merged setup options
---@return integer|nil client id
function M.start(bufnr, options)
  if M.executable_missing(options.cmd) then
    return nil
  end
  local root_dir = vim.fs.root(bufnr, options.root_markers) or vim.fn.getcwd()
  return vim.lsp.start({
    name = M.client_name,
    cmd = options.cmd,
    root_dir = root_dir,
    capabilities = M.capabilities(),
  }, { bufnr = bufnr })
end

local function report_error(what, err)
  vim.notify(("director: %s failed: %s"):format(what, err.message or vim.inspect(err)), vim.log.levels.WARN)
end

--- Sends `method` to the director client of `bufnr` (or any director client);
--- calls `on_result(result)` on success and reports errors with vim.notify.
---@param bufnr integer|nil
---@param method string
---@param params table|nil (an empty object must be `vim.empty_dict()`: `{}` encodes as `[]`)
---@param on_result fun(result: any)|nil
---@param on_failure fun()|nil called after the error is reported
function M.request(bufnr, method, params, on_result, on_failure)
  local client = M.any_client(bufnr)
  if not client then
    vim.notify("director: no director language server is running for this buffer", vim.log.levels.WARN)
    return
  end
  client.request(method, params, function(err, result)
    if err then
      report_error(method, err)
      if on_failure then
        on_failure()
      end
    elseif on_result then
      on_result(result)
    end
  end, bufnr)
end

--- Runs one of director's `workspace/executeCommand` commands with its single argument.
---@param bufnr integer|nil
---@param command string e.g. "director.accept"
---@param argument table
---@param on_result fun(result: any)|nil
function M.execute(bufnr, command, argument, on_result)
  M.request(bufnr, "workspace/executeCommand", { command = command, arguments = { argument } }, on_result)
end

return M
