-- batou.lib.file (docs/reference/library.md): batou's file module. The rules
-- File, BinaryFile, Directory, Symlink and Purge, and JSONFile and YAMLFile:
-- a File whose content is a Lua table written as JSON or YAML, keys sorted,
-- so that unchanged data gives the same bytes and never redeploys.
-- Optionally merged over a base file (`source`), as batou's dict_merge does.
local LIB = ...
local R = LIB.rules

local M = {File = R.File, BinaryFile = R.BinaryFile, Directory = R.Directory,
           Symlink = R.Symlink, Purge = R.Purge}

------------------------------------------------------------------------------
-- Values: a table with the keys 1..n is a list, any other table a mapping;
-- an empty table is a mapping unless made with list {}. None is null.

local LIST = {}
function M.list(t)
  return setmetatable(t or {}, LIST)
end

local function is_list(t)
  if getmetatable(t) == LIST then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

local function sorted_keys(t, fail)
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" then fail("keys of a mapping must be strings, got " .. tostring(k)) end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  return keys
end

-- Python's repr of a float (what json.dumps and yaml.safe_dump write).
local function float_text(x)
  if x ~= x then return nil end
  if x == math.huge or x == -math.huge then return nil end
  local s
  for digits = 15, 17 do
    s = string.format("%." .. digits .. "g", x)
    if tonumber(s) == x then break end
  end
  if not s:find("[%.eEn]") then s = s .. ".0" end
  s = s:gsub("e%+?(%-?)0*(%d)", "e%1%2"):gsub("e(%d)", "e+%1")
  return s
end

-- batou's dict_merge: mappings merged key by key, lists appended, anything
-- else replaced.
local function merge(base, over)
  if type(over) ~= "table" or is_list(over) or type(base) ~= "table" or is_list(base) then
    return over
  end
  local out = {}
  for k, v in pairs(base) do out[k] = v end
  for k, v in pairs(over) do
    local b = out[k]
    if type(b) == "table" and not is_list(b) and type(v) == "table" and not is_list(v) then
      out[k] = merge(b, v)
    elseif type(b) == "table" and is_list(b) and type(v) == "table" then
      local joined = M.list({})
      for _, x in ipairs(b) do joined[#joined + 1] = x end
      for _, x in ipairs(v) do joined[#joined + 1] = x end
      out[k] = joined
    else
      out[k] = v
    end
  end
  return out
end
M.merge = merge

------------------------------------------------------------------------------
-- JSON: as Python's json.dumps(data, sort_keys=True, indent=4) (batou's
-- JSONFile), or separators=(",", ":") when not human_readable.

local JSON_ESCAPES = {['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                      ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t"}

local function json_string(s)
  local out = {}
  for _, c in utf8.codes(s) do
    local ch = utf8.char(c)
    if JSON_ESCAPES[ch] then
      out[#out + 1] = JSON_ESCAPES[ch]
    elseif c < 0x20 or c > 0x7e then
      if c >= 0x10000 then
        c = c - 0x10000
        out[#out + 1] = string.format("\\u%04x\\u%04x", 0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff))
      else
        out[#out + 1] = string.format("\\u%04x", c)
      end
    else
      out[#out + 1] = ch
    end
  end
  return '"' .. table.concat(out) .. '"'
end

local function json_encode(v, indent, level, fail)
  local t = type(v)
  if v == None then return "null" end
  if t == "boolean" then return tostring(v) end
  if t == "string" then
    if not utf8.len(v) then fail("a string is not UTF-8 text") end
    return json_string(v)
  end
  if math.type(v) == "integer" then return string.format("%d", v) end
  if t == "number" then
    if v ~= v then return "NaN" end
    if v == math.huge then return "Infinity" end
    if v == -math.huge then return "-Infinity" end
    return float_text(v)
  end
  if t ~= "table" then fail("cannot write a " .. t .. " value") end
  if level > 100 then fail("data nested deeper than 100 levels") end
  local items = {}
  local list = is_list(v)
  if list then
    for i = 1, #v do items[i] = json_encode(v[i], indent, level + 1, fail) end
  else
    for _, k in ipairs(sorted_keys(v, fail)) do
      items[#items + 1] = json_string(k) .. (indent and ": " or ":") ..
                          json_encode(v[k], indent, level + 1, fail)
    end
  end
  local open, close = list and "[" or "{", list and "]" or "}"
  if #items == 0 then return open .. close end
  if not indent then return open .. table.concat(items, ",") .. close end
  local pad = string.rep(indent, level + 1)
  return open .. "\n" .. pad .. table.concat(items, ",\n" .. pad) .. "\n" ..
         string.rep(indent, level) .. close
end

function M.json_encode(v, human_readable, fail)
  return json_encode(v, human_readable ~= false and "    " or nil, 0, fail or error)
end

-- A JSON text as Lua values (objects as tables, arrays as list {}, null as None).
function M.json_decode(text, fail)
  local pos = 1
  local function err(what)
    local line = select(2, text:sub(1, pos):gsub("\n", "")) + 1
    fail(string.format("%s at line %d", what, line))
  end
  local function skip() pos = text:find("[^ \t\r\n]", pos) or #text + 1 end
  local value
  local function str()
    local out = {}
    pos = pos + 1
    while true do
      local c = text:sub(pos, pos)
      if c == "" then err("unterminated string") end
      if c == '"' then pos = pos + 1; return table.concat(out) end
      if c == "\\" then
        local e = text:sub(pos + 1, pos + 1)
        local simple = {b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"',
                        ["\\"] = "\\", ["/"] = "/"}
        if simple[e] then
          out[#out + 1] = simple[e]; pos = pos + 2
        elseif e == "u" then
          local code = tonumber(text:sub(pos + 2, pos + 5), 16) or err("bad \\u escape")
          pos = pos + 6
          if code >= 0xd800 and code < 0xdc00 and text:sub(pos, pos + 1) == "\\u" then
            local low = tonumber(text:sub(pos + 2, pos + 5), 16) or err("bad \\u escape")
            code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00)
            pos = pos + 6
          end
          out[#out + 1] = utf8.char(code)
        else
          err("bad escape")
        end
      else
        out[#out + 1] = c; pos = pos + 1
      end
    end
  end
  value = function()
    skip()
    local c = text:sub(pos, pos)
    if c == "{" then
      local t = {}
      pos = pos + 1; skip()
      if text:sub(pos, pos) == "}" then pos = pos + 1; return t end
      while true do
        skip()
        if text:sub(pos, pos) ~= '"' then err("expected a string key") end
        local k = str()
        skip()
        if text:sub(pos, pos) ~= ":" then err("expected ':'") end
        pos = pos + 1
        t[k] = value()
        skip()
        local d = text:sub(pos, pos)
        pos = pos + 1
        if d == "}" then return t end
        if d ~= "," then err("expected ',' or '}'") end
      end
    elseif c == "[" then
      local t = M.list({})
      pos = pos + 1; skip()
      if text:sub(pos, pos) == "]" then pos = pos + 1; return t end
      while true do
        t[#t + 1] = value()
        skip()
        local d = text:sub(pos, pos)
        pos = pos + 1
        if d == "]" then return t end
        if d ~= "," then err("expected ',' or ']'") end
      end
    elseif c == '"' then
      return str()
    end
    for word, v in pairs({["true"] = true, ["false"] = false, null = None}) do
      if text:sub(pos, pos + #word - 1) == word then pos = pos + #word; return v end
    end
    local num = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
    if num and num ~= "" and num ~= "-" then
      pos = pos + #num
      return math.tointeger(tonumber(num)) or tonumber(num) or err("bad number")
    end
    err("unexpected " .. (c == "" and "end of text" or "'" .. c .. "'"))
  end
  local v = value()
  skip()
  if pos <= #text then err("text after the value") end
  return v
end

------------------------------------------------------------------------------
-- YAML: block style, keys sorted, two spaces, sequences in mappings not
-- indented (as yaml.safe_dump writes them); strings quoted when YAML would
-- read them as something else.

local YAML_WORDS = {}
for w in ("true false yes no on off y n null ~"):gmatch("%S+") do YAML_WORDS[w] = true end

local function yaml_plain_ok(s)
  if s == "" or YAML_WORDS[s:lower()] then return false end
  if tonumber(s) or s:match("^[%d%.:_+-]+$") or s:match("^%d%d%d%d%-%d") then return false end
  if s:match("^[%s]") or s:match("[%s]$") then return false end
  if s:match("^[-?:,%[%]{}#&*!|>'\"%%@`]") then return false end
  if s:find(": ", 1, true) or s:find(" #", 1, true) or s:sub(-1) == ":" then return false end
  return not s:find("[%c\128-\255]")
end

local function yaml_string(s)
  if yaml_plain_ok(s) then return s end
  if not s:find("[%c]") then return "'" .. s:gsub("'", "''") .. "'" end
  return json_string(s) -- a YAML double-quoted scalar
end

local function yaml_scalar(v, fail)
  if v == None then return "null" end
  if type(v) == "boolean" then return tostring(v) end
  if math.type(v) == "integer" then return string.format("%d", v) end
  if type(v) == "number" then
    if v ~= v then return ".nan" end
    if v == math.huge then return ".inf" end
    if v == -math.huge then return "-.inf" end
    return float_text(v)
  end
  if type(v) == "string" then
    if not utf8.len(v) then fail("a string is not UTF-8 text") end
    return yaml_string(v)
  end
  fail("cannot write a " .. type(v) .. " value")
end

local function is_collection(v)
  return type(v) == "table" and v ~= None and next(v) ~= nil
end

local yaml_lines
-- Lines of a value that follows "key:" or "- " at indent pad.
local function yaml_value(v, pad, out, fail, level, after_dash)
  if level > 100 then fail("data nested deeper than 100 levels") end
  if not is_collection(v) then return " " .. (type(v) == "table" and v ~= None and
    (is_list(v) and "[]" or "{}") or yaml_scalar(v, fail)) end
  yaml_lines(v, pad, out, fail, level + 1, after_dash)
  return nil
end

yaml_lines = function(v, pad, out, fail, level, after_dash)
  if is_list(v) then
    for i = 1, #v do
      local item = v[i]
      if is_collection(item) then
        local first = #out + 1
        yaml_lines(item, pad .. "  ", out, fail, level + 1, true)
        out[first] = pad .. "- " .. out[first]:sub(#pad + 3)
      else
        out[#out + 1] = pad .. "-" .. yaml_value(item, pad, out, fail, level)
      end
    end
  else
    for _, k in ipairs(sorted_keys(v, fail)) do
      local item = v[k]
      local key = pad .. yaml_string(k) .. ":"
      if is_collection(item) then
        out[#out + 1] = key
        -- a sequence in a mapping is not indented; a mapping is
        yaml_lines(item, is_list(item) and pad or pad .. "  ", out, fail, level + 1)
      else
        out[#out + 1] = key .. yaml_value(item, pad, out, fail, level)
      end
    end
  end
end

function M.yaml_encode(v, fail)
  fail = fail or error
  if type(v) ~= "table" or v == None then return yaml_scalar(v, fail) .. "\n...\n" end
  if not is_collection(v) then return (is_list(v) and "[]" or "{}") .. "\n" end
  local out = {}
  yaml_lines(v, "", out, fail, 0)
  return table.concat(out, "\n") .. "\n"
end

-- The block YAML a configuration base file is written in: mappings,
-- sequences, plain and quoted scalars, comments, and flow collections
-- written as JSON. Anchors, tags and multi-line scalars are refused.
function M.yaml_decode(text, fail)
  local lines = {}
  local n = 0
  for raw in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local line = raw:gsub("\r$", "")
    if line:match("^%s*#") or line:match("^%s*$") or line == "---" or line == "..." then
      line = nil
    end
    if line then
      if line:find("\t", 1, true) and line:match("^%s*"):find("\t") then
        fail(string.format("a tab in the indentation at line %d", n))
      end
      lines[#lines + 1] = {indent = #line:match("^ *"), text = line:match("^ *(.-)%s*$"), n = n}
    end
  end
  local i = 1
  local function err(what, at) fail(string.format("%s at line %d", what, at or lines[i].n)) end
  local function scalar(s, at)
    s = s:gsub("%s+#.*$", "")
    if s:match("^[&*!|>]") then err("anchors, tags and block scalars are not read", at) end
    local first = s:sub(1, 1)
    if first == "[" or first == "{" or first == '"' then
      return M.json_decode(s, function(m) err(m, at) end)
    end
    if first == "'" then
      if s:sub(-1) ~= "'" or #s < 2 then err("unterminated quoted string", at) end
      return (s:sub(2, -2):gsub("''", "'"))
    end
    local lower = s:lower()
    if lower == "true" or lower == "yes" or lower == "on" then return true end
    if lower == "false" or lower == "no" or lower == "off" then return false end
    if lower == "null" or s == "~" or s == "" then return None end
    if s:match("^[-+]?%d+$") then return math.tointeger(tonumber(s)) end
    if s:match("^[-+]?%d*%.%d+[eE]?[-+]?%d*$") or s:match("^[-+]?%d+%.?%d*[eE][-+]?%d+$") then
      return tonumber(s)
    end
    return s
  end
  local function split_key(s, at)
    local key, rest
    if s:sub(1, 1) == '"' or s:sub(1, 1) == "'" then
      local q = s:sub(1, 1)
      local close = s:find(q, 2, true)
      if not close then err("unterminated quoted key", at) end
      key, rest = scalar(s:sub(1, close), at), s:sub(close + 1)
      if rest:sub(1, 1) ~= ":" or not rest:match("^:%s") and rest ~= ":" then return nil end
      rest = rest:sub(2)
    else
      key, rest = s:match("^(.-):%s+(.*)$")
      if not key then key = s:match("^(.-):$"); rest = "" end
      if not key then return nil end
    end
    return tostring(key), rest:match("^%s*(.-)$")
  end
  local block
  block = function(indent)
    local line = lines[i]
    if line.text:sub(1, 1) == "-" and (line.text == "-" or line.text:sub(2, 2) == " ") then
      local list = M.list({})
      while lines[i] and lines[i].indent == indent and lines[i].text:sub(1, 1) == "-" do
        local l = lines[i]
        local rest = l.text:match("^%-%s*(.*)$")
        if rest == "" then
          i = i + 1
          if not lines[i] or lines[i].indent <= indent then err("empty item", l.n) end
          list[#list + 1] = block(lines[i].indent)
        elseif split_key(rest, l.n) or rest:match("^%- ") then
          -- "- key: value": a mapping (or list) starting on the dash's line
          l.indent, l.text = indent + 2 + #rest:match("^(%s*)"), rest
          list[#list + 1] = block(l.indent)
        else
          list[#list + 1] = scalar(rest, l.n)
          i = i + 1
        end
      end
      return list
    end
    local map = {}
    while lines[i] and lines[i].indent == indent do
      local l = lines[i]
      local key, rest = split_key(l.text, l.n)
      if not key then err("expected 'key: value'", l.n) end
      i = i + 1
      if rest == "" then
        local nxt = lines[i]
        if nxt and (nxt.indent > indent or (nxt.indent == indent and nxt.text:sub(1, 2) == "- ")) then
          map[key] = block(nxt.indent)
        else
          map[key] = None
        end
      else
        map[key] = scalar(rest, l.n)
      end
    end
    return map
  end
  if #lines == 0 then return {} end
  local v = block(lines[1].indent)
  if lines[i] then err("unexpected indentation") end
  return v
end

------------------------------------------------------------------------------
-- The components

local function data_file(name, encode, decode)
  local cls = LIB.component(name, {
    namevar = "path",
    data = Attribute("literal", None),
    override = Attribute("literal", None),
    source = Attribute("str", None),
    human_readable = Attribute("bool", true),
    mode = Attribute("str", None),
    owner = Attribute("str", None),
    group = Attribute("str", None),
    leading = Attribute("bool", false),
    sensitive = Attribute("bool", None),
  })
  function cls:configure()
    local function fail(message) LIB.fail(self, message) end
    if type(self.path) ~= "string" or self.path == "" then fail("path is required") end
    if self.data ~= nil and self.source ~= nil then
      fail("'data' and 'source' exclude each other (merge over 'source' with 'override')")
    end
    local data = self.data
    if self.source ~= nil then
      local text, full = LIB.read(self, self.source)
      data = decode(text, function(m) fail(string.format("%s: %s", full, m)) end)
    end
    if data == nil and self.override == nil then
      fail("give 'data', or 'source' (a base file) and 'override'")
    end
    if self.override ~= nil then data = merge(data or {}, self.override) end
    self.data = data
    self.content = encode(data, self.human_readable, fail)
    self.file = self:add(R.File {
      self.path, content = self.content, is_template = false, mode = self.mode,
      owner = self.owner, group = self.group, leading = self.leading,
      sensitive = self.sensitive,
    })
  end
  return cls
end

M.JSONFile = data_file("JSONFile", M.json_encode, M.json_decode)
M.YAMLFile = data_file("YAMLFile", function(data, _, fail) return M.yaml_encode(data, fail) end,
                       M.yaml_decode)

return M
