-- The prelude, part 5 of 6: the component library (docs/reference/library.md).
-- The modules of rules/lib/ (embedded: engine/model/model_library.c) become
-- require("batou.lib.NAME"), as batou's `from batou.lib.NAME import X`. A
-- module is compiled when it is first required and gets LIB, the helpers
-- below, as its argument. Library code is not the user's: errors are placed
-- at the user's line (core.lua, is_ours), and a library component's local
-- files are read where the component using it lives (components.lua).
-- Uses core.lua, components.lua and rules.lua.

local LIB = {rules = rule_constructors}
local library = {sources = {}, modules = {}, env = nil}

-- A library class: named like batou's, marked as the library's.
function LIB.component(name, def)
  local cls = Component(def)
  rawset(cls, "__name", name)
  rawset(cls, "__lname", name:lower())
  rawset(cls, "__library", true)
  return cls
end

-- Raise message at the line that made inst (Download { ... }): that is the
-- user's call whose values are wrong, never the library's line.
function LIB.fail(inst, message)
  local st = instance_state[inst]
  error(failure(st.file, st.line, 0, format("%s: %s", class_name(st.class), message)), 0)
end

-- What inst added so far (rules and components), its class; whether v is a rule.
function LIB.children(inst)
  local st = instance_state[inst]
  return st and st.children or {}
end
function LIB.class_of(inst)
  local st = instance_state[inst]
  return st and st.class
end
LIB.is_rule = is_rule

-- The text of a local file (relative to the using component's defdir).
function LIB.read(inst, path)
  local full = path
  if path:sub(1, 1) ~= "/" then full = rawget(inst, "defdir") .. "/" .. path end
  local text, err = C.read(full)
  if not text then LIB.fail(inst, format("cannot read '%s': %s", full, err)) end
  return text, full
end

-- s as one word of sh.
function LIB.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- A path as one word of sh: a leading ~/ stays outside the quotes, so that
-- the target's shell expands it (a workdir under ~/deployment).
function LIB.quote_path(path)
  path = tostring(path)
  if path:sub(1, 2) == "~/" then return "~/" .. LIB.quote(path:sub(3)) end
  return LIB.quote(path)
end

-- Whether Command takes live = true (docs/reference/lua.md, "Live checks").
LIB.live = C.validate("Command", {name = "x", unless = "true", live = true}) == true

-- A Command whose text the library wrote itself: never a template (the
-- user's values were expanded as attributes already; shell text such as
-- awk '{print $1}' must reach the target as written). live is dropped
-- where the engine has no live checks.
function LIB.command(params)
  params.is_template = false
  if not LIB.live then params.live = nil end
  return rule_constructors.Command(params)
end

-- The module NAME (rules/lib/NAME.lua), compiled once.
function LIB.import(name)
  local module = library.modules[name]
  if module ~= nil then return module end
  local source = library.sources[name]
  if not source then error(format("no library module 'batou.lib.%s'", name), 2) end
  local env = setmetatable({}, {__index = library.env})
  local chunk, message = load(source, LIBRARY_PREFIX .. name .. ".lua", "t", env)
  if not chunk then error(message, 0) end
  module = chunk(LIB)
  library.modules[name] = module
  return module
end

function B.define_library(name, source)
  if not library.env then
    -- The globals as they are before any project code runs: a project's
    -- own File or Download never reaches into the library.
    library.env = {}
    for k, v in pairs(_G) do library.env[k] = v end
  end
  library.sources[name] = source
  package.preload["batou.lib." .. name] = function() return LIB.import(name) end
end

-- require("batou.lib.supervisr") names the module meant.
local library_require = require
require = function(name, ...)
  if type(name) == "string" and name:sub(1, 10) == "batou.lib." and
      not library.sources[name:sub(11)] then
    local names = {}
    for k in pairs(library.sources) do names[#names + 1] = "batou.lib." .. k end
    sort(names)
    raise(format("no library module '%s'%s (the library: %s)", name, did_you_mean(name, names),
                 concat(names, ", ")))
  end
  return library_require(name, ...)
end
