-- The batou-ng prelude (docs/reference/lua.md): Component, Attribute,
-- instances, resources and the configure fixed point, in six parts by
-- concept: core.lua (this: the C helpers, errors, the shared tables),
-- attributes.lua, components.lua, rules.lua, library.lua, configure.lua. The build
-- (engine/model/embed.py) joins them, in that order, into one chunk that
-- engine/model/model.c loads with a table of C helpers; it keeps the table
-- the chunk returns (B, the internal API). One chunk: a later part uses the
-- locals of the parts before it, never the other way round.
--
-- C helpers: expand(name, src, ctx) -> text | nil, msg, line, col;
-- literal(text) -> true, value | false, msg, col; validate(kind, params) ->
-- true | nil, msg; suggest(word, list) -> word | nil; kind(path) -> "file" |
-- "directory" | nil.
local C = ...

local B = {}
-- The full debug library: users get only part of it (model_sandbox.c).
local debug = debug
local PRELUDE = debug.getinfo(1, "S").source
local PRELUDE_SHORT = debug.getinfo(1, "S").short_src
-- The component library's chunks (library.lua) are not the user's code either.
local LIBRARY_PREFIX = "=batou-ng/lib/"
local function is_ours(source)
  return source == PRELUDE or source:sub(1, #LIBRARY_PREFIX) == LIBRARY_PREFIX
end

local type, pairs, ipairs, tostring, setmetatable, getmetatable, rawget, rawset =
    type, pairs, ipairs, tostring, setmetatable, getmetatable, rawget, rawset
local format, sort, concat = string.format, table.sort, table.concat

------------------------------------------------------------------------------
-- Errors: a raised value is a string (Lua's own, "file:line: msg"), a Failure
-- (file, line, col, message), a Wait (a strict require nobody satisfies yet)
-- or an Echo (the use of something whose own error is reported already: a
-- component file that failed to load), which fails without a report.

local Failure = {}
Failure.__tostring = function(e)
  if e.file then return format("%s:%d: %s", e.file, e.line or 0, e.message) end
  return e.message
end
local Wait = {}
local Echo = {}
local function is_echo(e) return getmetatable(e) == Echo end

local function failure(file, line, col, message)
  return setmetatable({file = file, line = line or 0, col = col or 0, message = message}, Failure)
end

local function clean_source(src)
  if src:sub(1, 1) == "@" or src:sub(1, 1) == "=" then src = src:sub(2) end
  if src:sub(1, 2) == "./" then src = src:sub(3) end
  return src
end

-- Per function: its cleaned source file, or false for C and the prelude.
-- Every rule and component records where it was made, so this runs once per
-- rule: getinfo's "S" costs several times "fl" (it builds three strings).
local getinfo = debug.getinfo
local user_source = setmetatable({}, {__mode = "k"})

-- The innermost frame of user code (not the prelude, not C) calling us;
-- start (default 2: our caller) skips frames known to be the prelude's.
local function user_where(start)
  local level = start or 2
  while true do
    local info = getinfo(level, "fl")
    if not info then return nil, 0 end
    local src = user_source[info.func]
    if src == nil then
      local s = getinfo(info.func, "S")
      src = s.what ~= "C" and not is_ours(s.source) and clean_source(s.source)
      user_source[info.func] = src
    end
    if src and info.currentline > 0 then return src, info.currentline end
    level = level + 1
  end
end

-- Raise message at the user's call site.
local function raise(message)
  local file, line = user_where()
  error(failure(file, line, 0, message), 0)
end

local function describe(v)
  if type(v) == "string" then
    if #v > 40 then v = v:sub(1, 40) .. "..." end
    return "'" .. v .. "'"
  end
  if type(v) == "number" or type(v) == "boolean" then return tostring(v) end
  return "a " .. type(v)
end

local function did_you_mean(word, candidates)
  local guess = C.suggest(word, candidates)
  if guess then return format(" (did you mean '%s'?)", guess) end
  return ""
end

local function first_line(message)
  return (message:match("^[^\n]*"):gsub(":%s*$", ""))
end

-- -d (batou's debug mode): an error keeps the user frames that led to it.
local debug_mode = false
function B.set_debug(on) debug_mode = on == true end

-- The user's frames from level on (not the prelude's, not C), innermost
-- first, as "file:line: in function NAME" lines; nil when there are none.
local function user_traceback(level)
  local lines = {}
  while #lines < 20 do
    local info = getinfo(level, "Sln")
    if not info then break end
    if info.what ~= "C" and not is_ours(info.source) and info.currentline > 0 then
      local name = info.name and format("function '%s'", info.name) or
                   (info.what == "main" and "the file" or "a function")
      lines[#lines + 1] = format("%s:%d: in %s", clean_source(info.source), info.currentline,
                                 name)
    end
    level = level + 1
  end
  return #lines > 0 and concat(lines, "\n") or nil
end

-- xpcall message handler: errors raised inside the prelude, and error
-- objects that are not strings, are placed at the user's line that raised
-- them; everything else is kept as is.
local to_record
local function placed(e)
  local mt = getmetatable(e)
  if mt == Failure or mt == Wait or mt == Echo then return e end
  if type(e) == "string" then
    if e:sub(1, #PRELUDE_SHORT + 1) == PRELUDE_SHORT .. ":" then
      local file, line = user_where()
      return failure(file, line, 0, first_line((e:gsub("^[^:]*:%d+: ", "", 1))))
    end
    -- A fault inside a library module: at the user's line, naming where.
    local lib_file, lib_line, lib_message = e:match("^(batou%-ng/lib/[^:]*):(%d+): (.*)$")
    if lib_file then
      local file, line = user_where()
      return failure(file, line, 0, format("%s (in %s:%s)", first_line(lib_message), lib_file,
                                           lib_line))
    end
    -- error(message, 0) carries no position: place it at the user's line
    -- that raised it, like any other error.
    if not e:match("^[^\n]-:%d+: ") then
      local file, line = user_where()
      if file then return failure(file, line, 0, first_line(e)) end
    end
    return e
  end
  local file, line = user_where()
  return failure(file, line, 0, to_record(e).message)
end

local function handler(e)
  local r = placed(e)
  if not debug_mode or getmetatable(r) == Wait or getmetatable(r) == Echo then return r end
  local trace = user_traceback(2)
  if not trace then return r end
  if getmetatable(r) ~= Failure then
    local rec = to_record(r)
    r = failure(rec.file, rec.line, rec.col, rec.message)
  end
  if not r.traceback then r.traceback = trace end
  return r
end

-- Any raised value as {file, line, col, message}; never raises.
to_record = function(e)
  local mt = getmetatable(e)
  if mt == Echo then return {line = 0, col = 0, message = "(reported already)", echo = true} end
  if mt == Failure then
    return {file = e.file, line = e.line, col = e.col, message = e.message,
            traceback = e.traceback}
  end
  if type(e) == "string" then
    -- One line per error: Lua's multi-line messages (require's search list)
    -- keep their first line.
    local file, line, message = e:match("^([^\n]-):(%d+): (.*)$")
    if file and not file:find(" ", 1, true) then
      return {file = clean_source(file), line = tonumber(line), col = 0,
              message = first_line(message)}
    end
    return {line = 0, col = 0, message = first_line(e)}
  end
  if mt and mt.__tostring then
    local ok, s = pcall(tostring, e)
    if ok and type(s) == "string" then return {line = 0, col = 0, message = s} end
    return {line = 0, col = 0, message = "error object whose __tostring fails"}
  end
  return {line = 0, col = 0, message = format("error object is a %s value", type(e))}
end

------------------------------------------------------------------------------
-- Classes and attributes

local Base = {}          -- methods every component has
local class_mt = {}      -- metatable of every class
local Attr = {}          -- metatable of Attribute descriptors
local classes = {}       -- lower-cased name -> class
local instance_state = setmetatable({}, {__mode = "k"})
local rule_state = setmetatable({}, {__mode = "k"})
local Rule = {__name = "rule"}

local TYPES = {"Address", "bool", "float", "int", "list", "literal", "str"}
local TYPE_SET = {}
for _, t in ipairs(TYPES) do TYPE_SET[t] = true end

local RESERVED = {host = true, environment = true, workdir = true, defdir = true,
                  parent = true, root = true, namevar = true}

local function is_class(v) return type(v) == "table" and getmetatable(v) == class_mt end
local function class_name(cls) return rawget(cls, "__name") or "Component" end
local function is_attribute(v) return type(v) == "table" and getmetatable(v) == Attr end
local function is_instance(v) return type(v) == "table" and instance_state[v] ~= nil end
local function is_rule(v) return type(v) == "table" and rule_state[v] ~= nil end

local function class_attribute(cls, name)
  local v = rawget(cls, name)
  if is_attribute(v) then return v end
  return nil
end

-- Sorted attribute names of cls (cached: classes do not change after load).
local function attribute_names(cls)
  local names = rawget(cls, "__attributes")
  if names then return names end
  names = {}
  for k, v in pairs(cls) do
    if type(k) == "string" and is_attribute(v) then names[#names + 1] = k end
  end
  sort(names)
  rawset(cls, "__attributes", names)
  return names
end

local function dirname(path)
  return path:match("^(.*)/[^/]*$") or "."
end

-- Plain tables are copied, so no instance shares one with its class.
local function deep_copy(v, seen)
  if type(v) ~= "table" or getmetatable(v) ~= nil then return v end
  seen = seen or {}
  if seen[v] then return seen[v] end
  local copy = {}
  seen[v] = copy
  for k, x in pairs(v) do copy[deep_copy(k, seen)] = deep_copy(x, seen) end
  return copy
end
