-- Headless Neovim smoke test of `procedo lsp` (run by tests/it/lsp.rs):
--   PROCEDO_BIN=… PROCEDO_FILE=…/main.proc PROCEDO_OUT=…/out.txt \
--     nvim --headless --clean -u NONE -i NONE -n -c 'luafile tests/nvim/lsp_smoke.lua'
-- Opens a procedure with an error, waits for its diagnostic, asks for a hover and a
-- definition, and writes one line per answer to PROCEDO_OUT; the test checks them.

local bin = os.getenv('PROCEDO_BIN')
local file = os.getenv('PROCEDO_FILE')
local out_path = os.getenv('PROCEDO_OUT')
local lines = {}
local function say(s) table.insert(lines, s) end
local function finish()
  local f = io.open(out_path, 'w')
  f:write(table.concat(lines, '\n') .. '\n')
  f:close()
  vim.cmd('qall!')
end

local ok, err = pcall(function()
  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].filetype = 'procedo'
  local config = {
    name = 'procedo',
    cmd = { bin, 'lsp' },
    root_dir = vim.fn.fnamemodify(file, ':h'),
  }
  local client_id
  if vim.lsp.start then
    client_id = vim.lsp.start(config)
  else
    client_id = vim.lsp.start_client(config)
    vim.lsp.buf_attach_client(buf, client_id)
  end
  local client = vim.lsp.get_client_by_id(client_id)
  say('client ' .. (client and client.name or 'none'))

  local got = vim.wait(20000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
  if not got then
    say('diagnostic none')
  else
    local d = vim.diagnostic.get(buf)[1]
    local code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code)
    say(string.format('diagnostic %s %d:%d %s', tostring(code), d.lnum, d.col,
      vim.split(d.message, '\n')[1]))
  end

  local uri = vim.uri_from_bufnr(buf)
  local function at(line, character)
    return { textDocument = { uri = uri }, position = { line = line, character = character } }
  end
  -- Hover on the step `answer` (line 19, column 8).
  local hover = client.request_sync('textDocument/hover', at(19, 8), 10000, buf)
  if hover and hover.result then
    say('hover ' .. vim.split(hover.result.contents.value, '\n')[1])
  else
    say('hover none ' .. vim.inspect(hover and hover.err))
  end
  -- Definition of the role in `by handler` (line 21, column 8).
  local def = client.request_sync('textDocument/definition', at(21, 8), 10000, buf)
  local loc = def and def.result
  if loc and loc[1] then loc = loc[1] end
  if loc and loc.uri then
    say(string.format('definition %s %d:%d', vim.fn.fnamemodify(vim.uri_to_fname(loc.uri), ':t'),
      loc.range.start.line, loc.range.start.character))
  else
    say('definition none')
  end
  client.stop()
end)
if not ok then say('error ' .. tostring(err)) end
finish()
