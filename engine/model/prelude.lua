-- The batou-ng prelude (DESIGN.md §2): Component, Attribute, instances,
-- resources and the configure fixed point. engine/model*.c loads it with a
-- table of C helpers and keeps the table it returns (B, the internal API).
--
-- C helpers: expand(name, src, ctx) -> text | nil, msg, line, col;
-- literal(text) -> true, value | false, msg, col; validate(kind, params) ->
-- true | nil, msg; suggest(word, list) -> word | nil; kind(path) -> "file" |
-- "directory" | nil.
local C = ...

local B = {}
local PRELUDE = debug.getinfo(1, "S").source
local PRELUDE_SHORT = debug.getinfo(1, "S").short_src

local type, pairs, ipairs, tostring, setmetatable, getmetatable, rawget, rawset =
    type, pairs, ipairs, tostring, setmetatable, getmetatable, rawget, rawset
local format, sort, concat = string.format, table.sort, table.concat

------------------------------------------------------------------------------
-- Errors: a raised value is a string (Lua's own, "file:line: msg"), a Failure
-- (file, line, col, message) or a Wait (a strict require nobody satisfies yet).

local Failure = {}
Failure.__tostring = function(e)
  if e.file then return format("%s:%d: %s", e.file, e.line or 0, e.message) end
  return e.message
end
local Wait = {}

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
      src = s.what ~= "C" and s.source ~= PRELUDE and clean_source(s.source)
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

-- xpcall message handler: errors raised inside the prelude, and error
-- objects that are not strings, are placed at the user's line that raised
-- them; everything else is kept as is.
local to_record
local function handler(e)
  local mt = getmetatable(e)
  if mt == Failure or mt == Wait then return e end
  if type(e) == "string" then
    if e:sub(1, #PRELUDE_SHORT + 1) ~= PRELUDE_SHORT .. ":" then return e end
    local file, line = user_where()
    return failure(file, line, 0, (e:gsub("^[^:]*:%d+: ", "", 1)))
  end
  local file, line = user_where()
  return failure(file, line, 0, to_record(e).message)
end

local function first_line(message)
  return (message:match("^[^\n]*"):gsub(":%s*$", ""))
end

-- Any raised value as {file, line, col, message}; never raises.
to_record = function(e)
  local mt = getmetatable(e)
  if mt == Failure then
    return {file = e.file, line = e.line, col = e.col, message = e.message}
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

-- Configuring computes a model: it must not end the process.
os.exit = function() error("os.exit is not allowed in a component", 2) end

local TYPES = {"Address", "bool", "float", "int", "list", "literal", "str"}
local TYPE_SET = {}
for _, t in ipairs(TYPES) do TYPE_SET[t] = true end

local RESERVED = {host = true, environment = true, workdir = true, defdir = true,
                  parent = true, root = true, namevar = true}

local function is_class(v) return type(v) == "table" and getmetatable(v) == class_mt end
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

-- A non-string value for an attribute of type t: the value to store, or nil
-- and a message.
local function check_value(t, v)
  if t == "str" then
    if type(v) == "number" then return tostring(v) end
  elseif t == "int" then
    if math.type(v) == "integer" then return v end
    if math.type(v) == "float" and math.tointeger(v) then return math.tointeger(v) end
  elseif t == "float" then
    if type(v) == "number" then return v + 0.0 end
  elseif t == "bool" then
    if type(v) == "boolean" then return v end
  elseif t == "list" then
    if type(v) == "table" and getmetatable(v) == nil then
      local copy = {}
      for i, x in ipairs(v) do copy[i] = x end
      return copy
    end
  elseif t == "literal" then
    return deep_copy(v)
  elseif t == "Address" then
    if type(v) == "table" or type(v) == "userdata" then return v end
  end
  return nil, format("expected %s, got %s", t, describe(v))
end

function Attribute(t, default)
  if type(t) ~= "string" or not TYPE_SET[t] then
    error(format("unknown attribute type %s%s (types: %s)", describe(t),
                 type(t) == "string" and did_you_mean(t, TYPES) or "", concat(TYPES, ", ")), 2)
  end
  if default ~= nil and type(default) ~= "string" then
    local _, message = check_value(t, default)
    if message then error("attribute default: " .. message, 2) end
  end
  local file, line = user_where()
  return setmetatable({type = t, default = default, file = file, line = line}, Attr)
end

-- rolling = N or "N%": a root component's hosts deploy in batches (DESIGN.md
-- §4 Scheduling). Returns the number and whether it is a percentage, or nil.
local function parse_rolling(v)
  if math.type(v) == "integer" and v >= 1 and v <= 100000 then return v, false end
  if type(v) ~= "string" then return nil end
  local n, pct = v:match("^%s*(%d+)%s*(%%?)%s*$")
  n = tonumber(n)
  if not n or n < 1 or n > 100000 or (pct == "%" and n > 100) then return nil end
  return math.tointeger(n), pct == "%"
end

local function rolling_error(v)
  return format("rolling must be a number of hosts or a percentage like '50%%', got %s",
                describe(v))
end

local function health_error(v)
  return format("health must be a shell command, got %s", describe(v))
end

function Component(def)
  if type(def) ~= "table" or getmetatable(def) ~= nil then
    error("Component expects a table of attributes and fields, got " .. describe(def), 2)
  end
  for k, v in pairs(def) do
    if type(k) ~= "string" then
      error(format("Component fields must be named, got [%s]", describe(k)), 2)
    end
    if k:sub(1, 2) == "__" then
      error(format("field '%s' is reserved for batou-ng", k), 2)
    end
    if RESERVED[k] and k ~= "namevar" then
      error(format("field '%s' is reserved: every component has it", k), 2)
    end
  end
  if def.namevar ~= nil and type(def.namevar) ~= "string" then
    error("namevar must be the name of a field, got " .. describe(def.namevar), 2)
  end
  if def.rolling ~= nil and not parse_rolling(def.rolling) then
    error(rolling_error(def.rolling), 2)
  end
  if def.health ~= nil and (type(def.health) ~= "string" or def.health == "") then
    error(health_error(def.health), 2)
  end
  local file = user_where()
  def.__defdir = file and dirname(file) or "."
  def.__platforms = {}
  return setmetatable(def, class_mt)
end

class_mt.__index = Base
class_mt.__tostring = function(cls) return "class " .. (rawget(cls, "__name") or "Component") end

local function class_name(cls) return rawget(cls, "__name") or "Component" end

------------------------------------------------------------------------------
-- Instances

local instance_mts = setmetatable({}, {__mode = "k"})
local resolve_attribute

local function instance_index(cls)
  return function(inst, key)
    local attr = class_attribute(cls, key)
    if attr then return resolve_attribute(inst, key, attr) end
    return cls[key]
  end
end

local function instance_mt(cls)
  local mt = instance_mts[cls]
  if not mt then
    mt = {__index = instance_index(cls), __name = "component"}
    mt.__tostring = function(inst)
      local st = instance_state[inst]
      return format("<%s %s>", class_name(cls), st and st.label or "?")
    end
    instance_mts[cls] = mt
  end
  return mt
end

-- Constructing `Sub { "x", port = 80 }` makes an instance that is configured
-- when a component adds it.
class_mt.__call = function(cls, args)
  if args == nil then args = {} end
  if type(args) ~= "table" or getmetatable(args) ~= nil then
    raise(format("%s expects a table, got %s", class_name(cls), describe(args)))
  end
  local namevar = rawget(cls, "namevar")
  local values = {}
  for k, v in pairs(args) do
    if k == 1 then
      if not namevar then
        raise(format("%s has no namevar: name its fields", class_name(cls)))
      end
      if args[namevar] ~= nil then
        raise(format("%s got both a positional value and '%s'", class_name(cls), namevar))
      end
      values[namevar] = v
    elseif type(k) ~= "string" then
      raise(format("unexpected positional value %s for %s", describe(v), class_name(cls)))
    elseif class_attribute(cls, k) or k == namevar then
      values[k] = v
    else
      local candidates = {table.unpack(attribute_names(cls))}
      if namevar then candidates[#candidates + 1] = namevar end
      raise(format("%s has no attribute '%s'%s", class_name(cls), k,
                   did_you_mean(k, candidates)))
    end
  end
  local file, line = user_where()
  local inst = setmetatable({}, instance_mt(cls))
  instance_state[inst] = {class = cls, args = values, file = file, line = line}
  return inst
end

local configuring = {} -- stack of instances whose configure runs

-- Template context of an instance.
local function context(inst)
  return {component = inst, host = rawget(inst, "host"), environment = rawget(inst, "environment")}
end

-- Position of a template error inside a value that starts at line:col.
local function shift(line, col, tline, tcol)
  if not tline or tline <= 1 then return line, col > 0 and col + (tcol or 1) - 1 or 0 end
  return line + tline - 1, tcol or 0
end

local function list_of(s)
  local out = {}
  for item in s:gmatch("[^,\n]+") do
    item = item:match("^%s*(.-)%s*$")
    if item ~= "" then out[#out + 1] = item end
  end
  return out
end

local BOOLS = {["true"] = true, yes = true, on = true, ["1"] = true,
               ["false"] = false, no = false, off = false, ["0"] = false}

-- Convert string s to attribute type t: value, or nil, message, col offset.
local function convert(t, s, secret)
  local shown = secret and "the secret value" or format("'%s'", s)
  if t == "str" then return s end
  if t == "int" then
    local stripped = s:match("^%s*(.-)%s*$")
    local n = stripped:match("^[+-]?%d+$") and math.tointeger(tonumber(stripped))
    if n then return n end
    return nil, format("cannot convert %s to int", shown)
  end
  if t == "float" then
    local n = tonumber((s:match("^%s*(.-)%s*$")))
    if n then return n + 0.0 end
    return nil, format("cannot convert %s to float", shown)
  end
  if t == "bool" then
    local b = BOOLS[s:match("^%s*(.-)%s*$"):lower()]
    if b ~= nil then return b end
    return nil, format("cannot convert %s to bool (use true/false, yes/no, on/off or 1/0)",
                       shown)
  end
  if t == "list" then return list_of(s) end
  if t == "literal" then
    local ok, value, col = C.literal(s)
    if ok then return value end
    return nil, format("cannot parse literal %s: %s", shown, value), col
  end
  if t == "Address" then
    local ok, value = pcall(Address, s)
    if ok then return value end
    local record = to_record(value)
    return nil, record.message
  end
  return nil, "unknown type " .. t
end

local function attr_label(inst, name)
  local st = instance_state[inst]
  if st.root_instance == inst then return format("attribute '%s'", name) end
  return format("%s: attribute '%s'", st.label, name)
end

-- The value of attribute name: [component:x] override, constructor value or
-- default; strings templated (overrides and defaults) and converted.
local function compute_attribute(inst, st, name, attr)
  local label = attr_label(inst, name)
  local value, file, line, col, templated, secret
  local given = st.args and st.args[name]
  local override = st.overrides and st.overrides[name]
  if given ~= nil then
    value, file, line, col, templated = given, st.file, st.line, 0, false
  elseif override then
    value, file, line, col, templated = override.value, override.file, override.line,
        override.col, true
    secret = override.secret
  elseif attr.default ~= nil then
    value, file, line, col, templated = attr.default, attr.file, attr.line, 0, true
  else
    local where = st.root_instance == inst and
        format("set it in [component:%s]", st.root.name) or "pass it to the constructor"
    error(failure(attr.file, attr.line, 0,
                  format("%s is required but has no value: %s", label, where)), 0)
  end
  if type(value) ~= "string" then
    local v, message = check_value(attr.type, value)
    if message then error(failure(file, line, col, format("%s: %s", label, message)), 0) end
    return v
  end
  if templated and value:find("{", 1, true) then
    local failures = st.failures
    local text, message, tline, tcol = C.expand(file or "?", value, context(inst))
    if not text then
      -- An attribute it uses failed: that error is the one to report.
      if st.failures > failures then error(st.last_failure, 0) end
      local l, c = shift(line, col, tline, tcol)
      error(failure(file, l, c, format("%s: %s", label, message)), 0)
    end
    value = text
  end
  local v, message, mcol = convert(attr.type, value, secret)
  if message then
    local l, c = line, col
    if mcol and col > 0 and not value:sub(1, mcol):find("\n", 1, true) then c = col + mcol - 1 end
    error(failure(file, l, c, format("%s: %s", label, message)), 0)
  end
  return v
end

resolve_attribute = function(inst, name, attr)
  local st = instance_state[inst]
  if not st.host then
    -- Not added yet: only what the constructor was given.
    if st.args[name] ~= nil then return st.args[name] end
    raise(format("attribute '%s' of %s is not known before the component is added",
                 name, class_name(st.class)))
  end
  if st.resolved[name] then return nil end
  if st.failed[name] then
    -- Whoever uses a failed attribute reports that failure, not an echo.
    st.failures, st.last_failure = st.failures + 1, st.failed[name]
    error(st.failed[name], 0)
  end
  if st.resolving[name] then
    local chain = {}
    for i = st.resolving[name], #st.chain do chain[#chain + 1] = st.chain[i] end
    chain[#chain + 1] = name
    local e = failure(attr.file, attr.line, 0, format("%s refers to itself: %s",
                      attr_label(inst, name), concat(chain, " -> ")))
    st.failures, st.last_failure = st.failures + 1, e
    error(e, 0)
  end
  st.chain[#st.chain + 1] = name
  st.resolving[name] = #st.chain
  local ok, value = xpcall(compute_attribute, handler, inst, st, name, attr)
  st.resolving[name] = nil
  st.chain[#st.chain] = nil
  if not ok then
    st.failed[name] = value
    st.failures, st.last_failure = st.failures + 1, value
    error(value, 0)
  end
  st.resolved[name] = true
  rawset(inst, name, value)
  return value
end

-- Set up inst (made by a constructor or for a root) under parent/root and
-- resolve all its attributes; every failure is recorded in the root.
-- How deep sub-components may nest below a root component.
local MAX_NESTING = 50

local function instantiate(inst, root, parent, seg)
  local st = instance_state[inst]
  local cls = st.class
  st.root = root
  st.root_instance = parent and root.instance or inst
  st.parent = parent
  st.host = root.host
  st.children = {}
  st.resolved, st.failed, st.resolving, st.chain, st.failures = {}, {}, {}, {}, 0
  st.segment = seg
  st.label = parent and instance_state[parent].label .. "/" .. seg or seg
  st.added = true
  for k, v in pairs(cls) do
    if type(k) == "string" and k:sub(1, 2) ~= "__" and type(v) == "table" and
        getmetatable(v) == nil then
      rawset(inst, k, deep_copy(v))
    end
  end
  rawset(inst, "host", root.host)
  rawset(inst, "environment", root.environment)
  rawset(inst, "workdir", root.workdir)
  rawset(inst, "defdir", rawget(cls, "__defdir"))
  rawset(inst, "parent", parent and parent or nil)
  rawset(inst, "root", parent and root.instance or inst)
  local namevar = rawget(cls, "namevar")
  if namevar and not class_attribute(cls, namevar) and st.args[namevar] ~= nil then
    rawset(inst, namevar, st.args[namevar])
  end
  local first
  for _, name in ipairs(attribute_names(cls)) do
    local ok, e = pcall(resolve_attribute, inst, name, class_attribute(cls, name))
    if not ok then
      root.errors[#root.errors + 1] = e
      first = first or e
    end
  end
  return first
end

local function configure_instance(inst)
  configuring[#configuring + 1] = inst
  inst:configure()
  local platform = rawget(inst, "host").platform
  for _, p in ipairs(rawget(instance_state[inst].class, "__platforms")) do
    if p.name == platform then p.fn(inst) end
  end
  configuring[#configuring] = nil
end

------------------------------------------------------------------------------
-- Methods of every component

function Base:configure() end

function Base:platform(name, fn)
  if not is_class(self) then raise("platform: call it on a class: Tick:platform(...)") end
  if type(name) ~= "string" or type(fn) ~= "function" then
    raise("platform expects a platform name and a function")
  end
  local list = rawget(self, "__platforms")
  list[#list + 1] = {name = name, fn = fn}
end

local function check_self(self, method)
  if not is_instance(self) or not instance_state[self].added then
    raise(format("%s: call it on a configured component (self:%s(...))", method, method))
  end
  return instance_state[self]
end

-- Label of a child for its path: Class(namevar) or Kind(namevar).
local function segment(kind, name)
  if name == nil then return kind end
  return kind .. "(" .. tostring(name) .. ")" -- once per rule: cheaper than format
end

local function child_label(st, base)
  st.labels = st.labels or {}
  local n = (st.labels[base] or 0) + 1
  st.labels[base] = n
  if n > 1 then return base .. "#" .. n end
  return base
end

function Base:add(c)
  local st = check_self(self, "add")
  if is_rule(c) then
    local rs = rule_state[c]
    if rs.parent then raise("add: this rule was already added") end
    rs.parent = self
    rs.label = child_label(st, segment(rs.kind, c[rs.namevar]))
    st.children[#st.children + 1] = c
    return c
  end
  if not is_instance(c) then
    raise("add expects a component or a rule, got " .. describe(c))
  end
  local cs = instance_state[c]
  if cs.added then raise("add: this component was already added") end
  -- A component that adds itself (directly or not) would recurse forever.
  local depth = (st.depth or 1) + 1
  if depth > MAX_NESTING then
    raise(format("components nested deeper than %d levels (does a component add itself?)",
                 MAX_NESTING))
  end
  cs.depth = depth
  local cls = cs.class
  local namevar = rawget(cls, "namevar")
  local name = namevar and cs.args[namevar]
  local label = child_label(st, segment(class_name(cls), name))
  st.children[#st.children + 1] = c
  local failed = instantiate(c, st.root, self, label)
  if failed then error(failed, 0) end
  configure_instance(c)
  return c
end

function Base:expand(s)
  check_self(self, "expand")
  if type(s) ~= "string" then raise("expand expects a string, got " .. describe(s)) end
  local file, line = user_where()
  local text, message, tline, tcol = C.expand(file or "?", s, context(self))
  if not text then
    local l, c = shift(line, 0, tline, tcol)
    error(failure(file, l, c, "expand: " .. message), 0)
  end
  return text
end

function Base:template(path)
  check_self(self, "template")
  if type(path) ~= "string" then raise("template expects a file name, got " .. describe(path)) end
  local full = path
  if path:sub(1, 1) ~= "/" then full = rawget(self, "defdir") .. "/" .. path end
  local src, err = C.read(full)
  if not src then raise(format("template: cannot read '%s': %s", full, err)) end
  local text, message, tline, tcol = C.expand(full, src, context(self))
  if not text then error(failure(full, tline, tcol, message), 0) end
  return text
end

function Base:log(message)
  local st = check_self(self, "log")
  local logs = st.root.logs
  logs[#logs + 1] = tostring(message)
end

------------------------------------------------------------------------------
-- Resources

local host_index = {}   -- host name -> position in the environment
local provided = {}     -- key -> {root = true}
local subscribers = {}  -- key -> {root = true}
local roots = {}        -- every root, in environment order

local function provide_seq(root) root.seq = root.seq + 1; return root.seq end

function Base:provide(key, value)
  local st = check_self(self, "provide")
  if type(key) ~= "string" then raise("provide expects a key (string), got " .. describe(key)) end
  local file, line = user_where()
  local root = st.root
  root.provides[#root.provides + 1] = {key = key, value = value, file = file, line = line,
                                       seq = provide_seq(root)}
  provided[key] = provided[key] or {}
  provided[key][root] = true
end

local function provider_order(a, b)
  local ha, hb = host_index[a.host.name], host_index[b.host.name]
  if ha ~= hb then return ha < hb end
  return a.name < b.name
end

-- Roots providing key (on host when given), in result order.
local function providers(key, host)
  local list = {}
  for root in pairs(provided[key] or {}) do
    if not host or root.host.name == host then list[#list + 1] = root end
  end
  sort(list, provider_order)
  return list
end

local function values_of(key, host)
  local values = {}
  for _, root in ipairs(providers(key, host)) do
    for _, p in ipairs(root.provides) do
      if p.key == key then values[#values + 1] = p.value end
    end
  end
  return values
end

local function require_options(opts, method)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then raise(method .. ": options must be a table") end
  for k in pairs(opts) do
    if k ~= "host" and k ~= "strict" and k ~= "reverse" then
      raise(format("%s: unknown option %s%s", method, describe(k),
                   type(k) == "string" and did_you_mean(k, {"host", "strict", "reverse"}) or ""))
    end
  end
  local host = opts.host
  if type(host) == "table" then host = rawget(host, "name") or host.name end
  if host ~= nil and type(host) ~= "string" then
    raise(method .. ": host must be a host or a host name, got " .. describe(opts.host))
  end
  return host, opts.strict ~= false, opts.reverse == true
end

local function do_require(self, key, opts, method)
  local st = check_self(self, method)
  if type(key) ~= "string" then raise(method .. " expects a key (string), got " .. describe(key)) end
  local host, strict, reverse = require_options(opts, method)
  local file, line = user_where()
  local root = st.root
  local record = {key = key, host = host, strict = strict, reverse = reverse, file = file,
                  line = line, method = method}
  root.requires[#root.requires + 1] = record
  subscribers[key] = subscribers[key] or {}
  subscribers[key][root] = true
  local values = values_of(key, host)
  if #values == 0 and strict then error(setmetatable(record, Wait), 0) end
  return values, record
end

function Base:require(key, opts)
  return (do_require(self, key, opts, "require"))
end

function Base:require_one(key, opts)
  local values, record = do_require(self, key, opts, "require_one")
  if #values ~= 1 then
    error(failure(record.file, record.line, 0,
                  format("require_one: resource '%s' has %d values%s, expected exactly 1", key,
                         #values, record.host and format(" on host '%s'", record.host) or "")), 0)
  end
  return values[1]
end

------------------------------------------------------------------------------
-- Rules: one global constructor per rule kind (File, Directory, ...).

local function basename(path) return path:match("([^/]*)/*$") end

local function current_defdir(file)
  local inst = configuring[#configuring]
  if inst then return rawget(inst, "defdir") end
  return file and dirname(file) or "."
end

local function local_path(defdir, path)
  if path:sub(1, 1) == "/" then return path end
  path = path:gsub("^%./", "")
  return defdir .. "/" .. path
end

-- File-like rules read local files relative to the defining component: a
-- File with neither content nor source reads defdir/<basename of path>.
local function locate_sources(kind, params, defdir)
  if kind == "File" or kind == "BinaryFile" then
    if params.content == nil and params.source == nil and type(params.path) == "string" then
      params.source = basename(params.path)
    end
  end
  if (kind == "File" or kind == "BinaryFile" or kind == "Directory") and
      type(params.source) == "string" and params.source ~= "" then
    params.source = local_path(defdir, params.source)
  end
end

local function check_sources(kind, params)
  if type(params.source) ~= "string" then return nil end
  if kind == "File" or kind == "BinaryFile" then
    local what = C.kind(params.source)
    if what ~= "file" then
      return format("source file '%s' %s", params.source,
                    what and "is not a regular file" or "does not exist")
    end
  elseif kind == "Directory" and C.kind(params.source) ~= "directory" then
    return format("source directory '%s' does not exist", params.source)
  end
end

function B.define_rule(kind, namevar)
  _G[kind] = function(args)
    if type(args) ~= "table" or getmetatable(args) ~= nil then
      raise(format("%s expects a table of parameters, got %s", kind, describe(args)))
    end
    -- Skip this function's own frame: one getinfo less per rule.
    local file, line = user_where(3)
    local params = {}
    for k, v in pairs(args) do params[k] = v end
    if params[1] ~= nil and params[namevar] == nil and params[2] == nil then
      params[namevar], params[1] = params[1], nil
    end
    locate_sources(kind, params, current_defdir(file))
    local ok, message = C.validate(kind, params)
    if ok then message = check_sources(kind, params) end
    if message then error(failure(file, line, 0, message), 0) end
    local rule = setmetatable(params, Rule)
    rule_state[rule] = {kind = kind, namevar = namevar,
                        defined_at = (file or "?") .. ":" .. line}
    return rule
  end
end

Rule.__tostring = function(r)
  local rs = rule_state[r]
  return rs and segment(rs.kind, r[rs.namevar]) or "rule"
end

------------------------------------------------------------------------------
-- Loading components/<dir>/component.lua

local class_files = {} -- class -> {file, line} where it was registered
local component_dirs = {} -- dir -> "pending" | "loading" | "loaded"
local load_errors = {}

-- Run chunk (a loaded component.lua) and register the classes it assigns to
-- globals. Returns a list of error records.
local function load_file(chunk, dir, file)
  local assigned = {}
  local env = setmetatable({}, {
    __index = _G,
    __newindex = function(_, k, v)
      rawset(_G, k, v)
      if is_class(v) then
        local info = debug.getinfo(2, "l")
        assigned[#assigned + 1] = {name = k, class = v, line = info and info.currentline or 0}
      end
    end,
  })
  debug.setupvalue(chunk, 1, env)
  local ok, e = xpcall(chunk, handler)
  local errors = {}
  if not ok then
    errors[1] = to_record(e)
    errors[1].file = errors[1].file or file
  end
  rawset(components, dir, rawget(components, dir) or {})
  for _, a in ipairs(assigned) do
    local name, cls = a.name, a.class
    if type(name) == "string" and rawget(_G, name) == cls then
      local lname = name:lower()
      local other = classes[lname]
      if other and other ~= cls then
        local where = class_files[other]
        errors[#errors + 1] = {file = file, line = a.line, col = 0,
          message = format("component '%s' is defined twice: in %s:%d and here", lname,
                           where.file, where.line)}
      elseif not other then
        classes[lname] = cls
        class_files[cls] = {file = file, line = a.line}
        if not rawget(cls, "__name") then
          rawset(cls, "__name", name)
          rawset(cls, "__lname", lname)
        end
      end
      rawget(components, dir)[name] = cls
    end
  end
  return errors
end

local function load_dir(dir)
  component_dirs[dir] = "loading"
  local file = "components/" .. dir .. "/component.lua"
  local chunk, message = loadfile(file, "t")
  local errors
  if chunk then
    errors = load_file(chunk, dir, file)
  else
    errors = {to_record(message)}
  end
  for _, e in ipairs(errors) do load_errors[#load_errors + 1] = e end
  component_dirs[dir] = "loaded"
end

-- components.<dir>.<Class>: a directory not loaded yet is loaded on first
-- use, so files may refer to each other in any order.
components = setmetatable({}, {__index = function(t, dir)
  if component_dirs[dir] == "pending" then
    load_dir(dir)
    return rawget(t, dir)
  end
  return nil
end})

-- Load components/<dir>/component.lua for every dir of the list (sorted);
-- returns every error record.
function B.load_all(dirs)
  for _, dir in ipairs(dirs) do component_dirs[dir] = "pending" end
  for _, dir in ipairs(dirs) do
    if component_dirs[dir] == "pending" then load_dir(dir) end
  end
  return load_errors
end

function B.class_names()
  local names = {}
  for k in pairs(classes) do names[#names + 1] = k end
  sort(names)
  return names
end

------------------------------------------------------------------------------
-- Configuring an environment

local environment_info -- {name, secret_files}

local function reset_root(root)
  for _, p in ipairs(root.provides) do
    if provided[p.key] then provided[p.key][root] = nil end
  end
  for _, r in ipairs(root.requires) do
    if subscribers[r.key] then subscribers[r.key][root] = nil end
  end
  root.provides, root.requires, root.errors, root.logs = {}, {}, {}, {}
  root.waiting, root.seq = nil, 0
  root.generation = root.generation + 1
end

-- Identity of values across runs: instances by path and generation, other
-- tables by content, so an unchanged provide does not wake requirers.
local function fingerprint(v, out, depth)
  local t = type(v)
  if t == "string" then out[#out + 1] = format("%q", v)
  elseif t == "function" then
    -- A closure made again by the next run is the same code.
    local info = debug.getinfo(v, "S")
    out[#out + 1] = format("function:%s:%d", info.source, info.linedefined)
  elseif t ~= "table" then out[#out + 1] = t .. ":" .. tostring(v)
  elseif is_instance(v) then
    local st = instance_state[v]
    out[#out + 1] = format("<%s#%d>", tostring(st.label),
                           st.root and st.root.generation or 0)
  elseif is_rule(v) or is_class(v) then
    out[#out + 1] = tostring(v)
  elseif getmetatable(v) and getmetatable(v).__tostring then
    local ok, s = pcall(tostring, v)
    out[#out + 1] = ok and format("%q", tostring(s)) or "?"
  elseif depth > 20 then
    out[#out + 1] = "..."
  else
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    sort(keys, function(a, b)
      if type(a) == type(b) and (type(a) == "string" or type(a) == "number") then return a < b end
      return type(a) < type(b)
    end)
    out[#out + 1] = "{"
    for _, k in ipairs(keys) do
      fingerprint(k, out, depth + 1)
      out[#out + 1] = "="
      fingerprint(v[k], out, depth + 1)
      out[#out + 1] = ","
    end
    out[#out + 1] = "}"
  end
end

local function provides_by_key(root)
  local by_key = {}
  for _, p in ipairs(root.provides) do
    local out = by_key[p.key] or {}
    fingerprint(p.value, out, 0)
    out[#out + 1] = ";"
    by_key[p.key] = out
  end
  for k, out in pairs(by_key) do by_key[k] = concat(out) end
  return by_key
end

local function run_root(root)
  local before = provides_by_key(root)
  reset_root(root)
  configuring = {}
  local cls = root.class
  local inst = setmetatable({}, instance_mt(cls))
  instance_state[inst] = {class = cls, args = {}, overrides = root.overrides}
  root.instance = inst
  local failed = instantiate(inst, root, nil, root.name)
  if not failed then
    local ok, e = xpcall(configure_instance, handler, inst)
    if not ok then
      if getmetatable(e) == Wait then root.waiting = e
      else root.errors[#root.errors + 1] = e end
    end
  end
  -- Wake every requirer of a key whose values changed.
  local after = provides_by_key(root)
  for key, text in pairs(after) do
    if before[key] ~= text then
      for r in pairs(subscribers[key] or {}) do r.dirty = true end
    end
  end
  for key in pairs(before) do
    if after[key] == nil then
      for r in pairs(subscribers[key] or {}) do r.dirty = true end
    end
  end
end

local function host_table(h)
  local data = {}
  for k, v in pairs(h.data or {}) do data[k] = v end
  return {name = h.name, fqdn = h.fqdn, platform = h.platform, data = data}
end

-- Check [component:x] sections against the classes.
local function check_overrides(env, errors)
  local by_component, order = {}, {}
  for _, o in ipairs(env.overrides) do
    if not by_component[o.component] then
      by_component[o.component] = {}
      order[#order + 1] = o
    end
    by_component[o.component][o.attribute] = o
  end
  local names = B.class_names()
  for _, first in ipairs(order) do
    local cls = classes[first.component]
    if not cls then
      errors[#errors + 1] = {file = first.file, line = first.line, col = 0,
        message = format("[component:%s]: no component '%s'%s", first.component,
                         first.component, did_you_mean(first.component, names))}
    end
  end
  for _, o in ipairs(env.overrides) do
    local cls = classes[o.component]
    if cls and (o.attribute == "rolling" or o.attribute == "health") then
      -- Deploy settings, not attributes.
      local bad = o.attribute == "rolling" and not parse_rolling(o.value) and
          rolling_error(o.value) or o.attribute == "health" and o.value == "" and
          health_error(o.value)
      if bad then
        errors[#errors + 1] = {file = o.file, line = o.line, col = 0, component = o.component,
                               message = bad}
      end
    elseif cls and not class_attribute(cls, o.attribute) then
      errors[#errors + 1] = {file = o.file, line = o.line, col = 0, component = o.component,
        message = format("attribute '%s' does not exist%s", o.attribute,
                         did_you_mean(o.attribute, attribute_names(cls)))}
    end
  end
  return by_component
end

local function make_roots(env, overrides, errors)
  local names = B.class_names()
  environment_info = {name = env.name, secret_files = env.secret_files or {}}
  for i, h in ipairs(env.hosts) do
    host_index[h.name] = i
    local host = host_table(h)
    for _, c in ipairs(h.components) do
      local cls = classes[c.name]
      if not cls then
        errors[#errors + 1] = {file = h.file, line = c.line, col = c.col or 0, host = h.name,
          message = format("no component '%s'%s", c.name, did_you_mean(c.name, names))}
      else
        roots[#roots + 1] = {
          name = c.name, class = cls, host = host, environment = environment_info,
          workdir = env.work .. "/" .. c.name, ignore = c.ignore or h.ignore,
          overrides = overrides[c.name], provides = {}, requires = {}, errors = {},
          logs = {}, seq = 0, generation = 0, dirty = true, runs = 0,
        }
      end
    end
  end
end

local function root_label(root) return root.host.name .. ":" .. root.name end

-- Configure every root until no provided value changes.
local function fixed_point(errors)
  local limit = 10 * #roots + 10
  local runs = 0
  while true do
    local any = false
    for _, root in ipairs(roots) do
      if root.dirty then
        if runs >= limit then
          local still = {}
          for _, r in ipairs(roots) do
            if r.dirty then still[#still + 1] = root_label(r) end
          end
          errors[#errors + 1] = {line = 0, col = 0, message = format(
            "configuration did not converge after %d runs of configure: still changing: %s",
            runs, concat(still, ", "))}
          return
        end
        root.dirty = false
        runs = runs + 1
        run_root(root)
        any = true
      end
    end
    if not any then return end
  end
end

-- Resource edges between roots (provider -> requirer unless reverse) and the
-- errors the final state has. When a root failed, what it would have
-- provided or required is unknown: unused provides are not reported then,
-- and an unsatisfied require says that it may be an echo.
local function resource_checks(errors, failed)
  local edges, seen = {}, {}
  for ti, root in ipairs(roots) do
    for _, r in ipairs(root.requires) do
      for _, provider in ipairs(providers(r.key, r.host)) do
        if provider ~= root then
          local from, to = provider.index, ti
          if r.reverse then from, to = ti, provider.index end
          local id = from .. ">" .. to
          if not seen[id] then
            seen[id] = true
            edges[#edges + 1] = {from = from, to = to}
          end
        end
      end
    end
  end
  for _, root in ipairs(roots) do
    local w = root.waiting
    if w then
      errors[#errors + 1] = {file = w.file, line = w.line, col = 0, host = root.host.name,
        component = root.name, message = format("%s: nothing provides resource '%s'%s%s",
          w.method, w.key, w.host and format(" on host '%s'", w.host) or "",
          failed and " (components that failed to configure provide nothing)" or "")}
    end
    for _, p in ipairs(root.provides) do
      if not failed and not next(subscribers[p.key] or {}) then
        errors[#errors + 1] = {file = p.file, line = p.line, col = 0, host = root.host.name,
          component = root.name,
          message = format("resource '%s' is provided but nothing requires it", p.key)}
      end
    end
  end
  return edges
end

-- Dependency cycles between roots, each printed as its path.
local function cycle_checks(edges, errors)
  local out = {}
  for i = 1, #roots do out[i] = {} end
  for _, e in ipairs(edges) do out[e.from][#out[e.from] + 1] = e.to end
  local color, stack, reported = {}, {}, 0
  local function visit(v)
    color[v] = 1
    stack[#stack + 1] = v
    for _, w in ipairs(out[v]) do
      if color[w] == 1 and reported < 10 then
        local path, on = {}, false
        for _, x in ipairs(stack) do
          if x == w then on = true end
          if on then path[#path + 1] = root_label(roots[x]) end
        end
        path[#path + 1] = root_label(roots[w])
        errors[#errors + 1] = {line = 0, col = 0,
                               message = "dependency cycle: " .. concat(path, " -> ")}
        reported = reported + 1
      elseif not color[w] then
        visit(w)
      end
    end
    stack[#stack] = nil
    color[v] = 2
  end
  for i = 1, #roots do
    if not color[i] then visit(i) end
  end
end

-- env: {name, work, hosts = {{name, fqdn, platform, data, ignore, file,
-- components = {{name, ignore, line}}}}, overrides = {{component, attribute,
-- value, file, line, col, secret}}}. Returns the error records; keeps the
-- resource edges ({from, to} root positions) in B.edges.
function B.configure(env)
  local errors = {}
  local overrides = check_overrides(env, errors)
  make_roots(env, overrides, errors)
  for i, root in ipairs(roots) do root.index = i end
  fixed_point(errors)
  local failed = false
  for _, root in ipairs(roots) do
    failed = failed or #root.errors > 0
    for _, e in ipairs(root.errors) do
      local r = to_record(e)
      r.host, r.component = root.host.name, root.name
      errors[#errors + 1] = r
    end
  end
  local edges = resource_checks(errors, failed)
  cycle_checks(edges, errors)
  B.edges = edges
  return errors
end

function B.resource_edges() return B.edges or {} end

function B.logs()
  local out = {}
  for _, root in ipairs(roots) do
    for _, line in ipairs(root.logs) do
      out[#out + 1] = {host = root.host.name, component = root.name, message = line}
    end
  end
  return out
end

------------------------------------------------------------------------------
-- Flattening the configured model for the graph

-- Returns roots, errors, nodes. roots: {host, name, ignore, workdir} in
-- environment order. nodes: every rule of every root, depth first in add
-- order, as {path, kind, rule, component, root (position in roots), workdir,
-- host, defined_at, watch, after}; watch/after hold the positions in nodes
-- of the rules they name (a component names all of its rules), or are nil.
function B.flatten()
  local out, all, rule_pos, range = {}, {}, {}, {}
  local function walk(inst, prefix, ri)
    local st = instance_state[inst]
    local first = #all + 1
    for _, c in ipairs(st.children or {}) do
      if is_rule(c) then
        local rs = rule_state[c]
        all[#all + 1] = {path = prefix .. "/" .. rs.label, kind = rs.kind, rule = c,
                         component = inst, defined_at = rs.defined_at, root = ri}
        rule_pos[c] = #all
      else
        walk(c, prefix .. "/" .. instance_state[c].segment, ri)
      end
    end
    range[inst] = {first, #all}
  end
  local errors = {}
  local function refs(list, node, param)
    if list == nil then return nil end
    local positions = {}
    for _, ref in ipairs(list) do
      if rule_pos[ref] then
        positions[#positions + 1] = rule_pos[ref]
      elseif range[ref] then
        for p = range[ref][1], range[ref][2] do positions[#positions + 1] = p end
      else
        local file, line = node.defined_at:match("^(.*):(%d+)$")
        errors[#errors + 1] = {file = file, line = tonumber(line), col = 0,
          host = node.host, component = out[node.root].name,
          message = format("%s: '%s' names %s, which is not part of the model", node.path,
                           param, is_rule(ref) and tostring(ref) .. " (never added)" or
                           describe(ref))}
      end
    end
    return positions
  end
  for ri, root in ipairs(roots) do
    local o = root.overrides or {}
    local rolling, percent = parse_rolling(o.rolling and o.rolling.value or
                                           rawget(root.class, "rolling"))
    out[ri] = {host = root.host.name, name = root.name, ignore = root.ignore,
               workdir = root.workdir, rolling = rolling, rolling_percent = percent,
               health = o.health and o.health.value or rawget(root.class, "health")}
    if root.instance and instance_state[root.instance].children then
      walk(root.instance, root.name, ri)
    end
  end
  for _, node in ipairs(all) do
    local root = out[node.root]
    node.host, node.workdir = root.host, root.workdir
    node.watch = refs(rawget(node.rule, "watch"), node, "watch")
    node.after = refs(rawget(node.rule, "after"), node, "after")
  end
  return out, errors, all
end

return B
