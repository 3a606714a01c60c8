--- Director's options: the defaults, and how `setup()` merges the user's.
local M = {}

--- The defaults; `setup(opts)` deep-merges `opts` over a copy of these.
M.defaults = {
  -- The command that starts the language server.
  cmd = { "director", "lsp" },
  -- Start the server for these filetypes; `director.toml` is `toml`.
  filetypes = { "rust", "python", "go", "typescript", "typescriptreact", "javascript", "javascriptreact", "toml" },
  -- Files that mark the workspace root (the folder holding director.toml).
  root_markers = { "director.toml", ".git" },
  -- false: start nothing and use a client named "director" started elsewhere
  -- (nvim-lspconfig, vim.lsp.enable, your own vim.lsp.start).
  autostart = true,
  -- How Neovim shows director's own diagnostics; the proposals themselves are
  -- drawn as extmarks, so the diagnostics' virtual text would only repeat them.
  diagnostics = { virtual_text = false, underline = false, signs = true },
  -- Buffer-local keymaps set in the buffers the server serves. false disables
  -- them all, false on one key disables that one. A key the user already
  -- mapped in that buffer is left alone. Every action also has a <Plug> map.
  keymaps = {
    delegate = "<leader>dd",
    accept = "<leader>da",
    reject = "<leader>dr",
    accept_run = "<leader>dA",
    reject_run = "<leader>dR",
    refine = "<leader>df",
    cancel = "<leader>dc",
    runs = "<leader>dl",
    diff = "<leader>dD",
  },
  -- Show "run N · accept <key> · reject <key>" at the end of a proposal's last line.
  hints = true,
}

--- Returns the defaults with `opts` merged over them; lists are replaced, not merged.
---@param opts table|nil
---@return table
function M.merge(opts)
  opts = opts or {}
  vim.validate({
    cmd = { opts.cmd, { "table", "function" }, true },
    filetypes = { opts.filetypes, "table", true },
    root_markers = { opts.root_markers, "table", true },
    autostart = { opts.autostart, "boolean", true },
    diagnostics = { opts.diagnostics, "table", true },
    keymaps = { opts.keymaps, { "table", "boolean" }, true },
    hints = { opts.hints, "boolean", true },
  })
  local merged = vim.deepcopy(M.defaults)
  for key, value in pairs(opts) do
    if key == "keymaps" then
      if value == false then
        merged.keymaps = false
      elseif type(value) == "table" then
        merged.keymaps = vim.tbl_extend("force", merged.keymaps, value)
      end
    elseif key == "diagnostics" then
      merged.diagnostics = vim.tbl_extend("force", merged.diagnostics, value)
    else
      merged[key] = value
    end
  end
  return merged
end

return M
