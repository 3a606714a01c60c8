--- Director for Neovim: delegate code to AI agents through the `director lsp`
--- language server and review the proposals it sends back, hunk by hunk, as
--- extmarks that never touch the buffer's text. See `:help director`.
local config = require("director.config")
local server = require("director.server")
local proposals = require("director.proposals")
local progress = require("director.progress")
local render = require("director.render")
local actions = require("director.actions")

local M = {}

--- The merged options of the last `setup()` call.
M.options = nil

local augroup_name = "director"

local plug_maps = {
  delegate = { modes = { "n", "x" }, rhs = ":DirectorDelegate<CR>", plug = "<Plug>(director-delegate)" },
  accept = { modes = { "n" }, rhs = "<Cmd>DirectorAccept<CR>", plug = "<Plug>(director-accept)" },
  reject = { modes = { "n" }, rhs = "<Cmd>DirectorReject<CR>", plug = "<Plug>(director-reject)" },
  accept_run = { modes = { "n" }, rhs = "<Cmd>DirectorAcceptRun<CR>", plug = "<Plug>(director-accept-run)" },
  reject_run = { modes = { "n" }, rhs = "<Cmd>DirectorRejectRun<CR>", plug = "<Plug>(director-reject-run)" },
  refine = { modes = { "n" }, rhs = "<Cmd>DirectorRefine<CR>", plug = "<Plug>(director-refine)" },
  cancel = { modes = { "n" }, rhs = "<Cmd>DirectorCancel<CR>", plug = "<Plug>(director-cancel)" },
  runs = { modes = { "n" }, rhs = "<Cmd>DirectorRuns<CR>", plug = "<Plug>(director-runs)" },
  diff = { modes = { "n" }, rhs = "<Cmd>DirectorDiff<CR>", plug = "<Plug>(director-diff)" },
}

--- The statusline text: "⏳ 1 running · 2 to review", or "" when idle.
---@return string
function M.statusline()
  return progress.format(progress.running_count(), proposals.count())
end

--- The same counts as numbers, for statusline plugins that format their own.
---@return {running: integer, to_review: integer}
function M.status()
  return { running = progress.running_count(), to_review = proposals.count() }
end

local function define_commands()
  local command = vim.api.nvim_create_user_command
  command("DirectorDelegate", function(args)
    local bufnr = vim.api.nvim_get_current_buf()
    local client = server.client_for(bufnr)
    if not client then
      vim.notify("director: no director language server is attached to this buffer", vim.log.levels.WARN)
      return
    end
    local range = actions.command_range(bufnr, args.range, args.line1, args.line2, client.offset_encoding)
    actions.delegate(bufnr, range, args.args)
  end, { range = true, nargs = "*", desc = "Delegate the range (or the function at the cursor) to an agent" })
  command("DirectorAccept", actions.accept, { desc = "Accept the proposal under the cursor" })
  command("DirectorReject", actions.reject, { desc = "Reject the proposal under the cursor" })
  command("DirectorAcceptRun", function(args)
    actions.accept_run(args.args)
  end, { nargs = "?", desc = "Accept every open proposal of a run" })
  command("DirectorRejectRun", function(args)
    actions.reject_run(args.args)
  end, { nargs = "?", desc = "Reject every open proposal of a run" })
  command("DirectorRefine", function(args)
    actions.refine(args.args)
  end, { nargs = "*", desc = "Redo a run with feedback" })
  command("DirectorCancel", function(args)
    actions.cancel(args.args)
  end, { nargs = "?", desc = "Cancel a run in progress" })
  command("DirectorRuns", function()
    require("director.runs_window").open(vim.api.nvim_get_current_buf())
  end, { desc = "List director's runs" })
  command("DirectorDiff", function(args)
    actions.diff(args.args ~= "" and args.args or nil)
  end, { nargs = "?", desc = "Show a run's proposals as a unified diff" })

  for _, map in pairs(plug_maps) do
    vim.keymap.set(map.modes, map.plug, map.rhs, { silent = true })
  end
end

local function set_buffer_keymaps(bufnr, keymaps)
  if not keymaps then
    return
  end
  for action, lhs in pairs(keymaps) do
    local map = plug_maps[action]
    if map and type(lhs) == "string" and lhs ~= "" then
      for _, mode in ipairs(map.modes) do
        -- Never shadow a mapping the user made.
        if vim.fn.maparg(lhs, mode) == "" then
          vim.keymap.set(mode, lhs, map.plug, { buffer = bufnr, remap = true, desc = "director: " .. action })
        end
      end
    end
  end
end

local function hint(hunk)
  if not M.options.hints then
    return nil
  end
  local keymaps = M.options.keymaps or {}
  local text = ("  run %d"):format(hunk.run)
  if hunk.conflicted then
    text = text .. " · conflicted"
  end
  if type(keymaps.accept) == "string" and not hunk.conflicted then
    text = text .. " · accept " .. keymaps.accept
  end
  if type(keymaps.reject) == "string" then
    text = text .. " · reject " .. keymaps.reject
  end
  return text
end

local function on_attach(bufnr, client)
  local lsp_namespace = vim.lsp.diagnostic.get_namespace(client.id, false)
  vim.diagnostic.config(M.options.diagnostics, lsp_namespace)
  set_buffer_keymaps(bufnr, M.options.keymaps)
  proposals.refresh(bufnr)
end

--- Sets director up: options, commands, <Plug> maps, highlights, and the
--- autocommands that start the server and follow its diagnostics and progress.
--- Calling it again replaces the options.
---@param opts table|nil see `:help director-setup`
function M.setup(opts)
  M.options = config.merge(opts)
  render.define_highlights()
  proposals.attach_hints(hint)
  define_commands()

  local group = vim.api.nvim_create_augroup(augroup_name, { clear = true })
  if M.options.autostart then
    vim.api.nvim_create_autocmd("FileType", {
      group = group,
      pattern = M.options.filetypes,
      callback = function(args)
        if vim.bo[args.buf].buftype == "" then
          server.start(args.buf, M.options)
        end
      end,
    })
  end
  vim.api.nvim_create_autocmd("LspAttach", {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == server.client_name then
        on_attach(args.buf, client)
      end
    end,
  })
  vim.api.nvim_create_autocmd("DiagnosticChanged", {
    group = group,
    callback = function(args)
      proposals.refresh(args.buf)
      vim.cmd.redrawstatus({ bang = true })
    end,
  })
  vim.api.nvim_create_autocmd("LspProgress", {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == server.client_name and progress.record(args.data.params) then
        vim.cmd.redrawstatus({ bang = true })
      end
    end,
  })
  vim.api.nvim_create_autocmd({ "BufWipeout", "BufUnload" }, {
    group = group,
    callback = function(args)
      proposals.hunks_by_buffer[args.buf] = nil
    end,
  })
  vim.api.nvim_create_autocmd("ColorScheme", { group = group, callback = render.define_highlights })

  -- Buffers opened before setup() (e.g. `nvim file.rs` with a lazy-loaded plugin).
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      local client = server.client_for(bufnr)
      if client then
        on_attach(bufnr, client)
      elseif M.options.autostart and vim.tbl_contains(M.options.filetypes, vim.bo[bufnr].filetype) then
        server.start(bufnr, M.options)
      end
    end
  end
end

return M
