-- The prelude, part 2 of 6: attributes and their conversions. Attribute()
-- declares one; convert() turns an override's text into its type (str, int,
-- float, bool, list, literal, Address); compute_attribute() resolves an
-- instance's value from [component:x] overrides, secrets, the constructor or
-- the default, templated. Uses core.lua.

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

-- Attribute(type, default): type is a name of TYPES or a function (batou's
-- callable conversion: it gets the override's text and returns the value).
-- The default None (batou's Attribute(str, None)) makes it optional: nil
-- unless set. Without a default (nil) it is required.
None = setmetatable({}, {__name = "None", __tostring = function() return "None" end,
                         __newindex = function() error("None cannot be changed", 2) end})

function Attribute(t, default)
  if type(t) ~= "function" and (type(t) ~= "string" or not TYPE_SET[t]) then
    error(format("unknown attribute type %s%s (types: %s, or a function)", describe(t),
                 type(t) == "string" and did_you_mean(t, TYPES) or "", concat(TYPES, ", ")), 2)
  end
  local optional = rawequal(default, None)
  if optional then default = nil end
  if default ~= nil and type(default) ~= "string" and type(t) == "string" then
    local _, message = check_value(t, default)
    if message then error("attribute default: " .. message, 2) end
  end
  local file, line = user_where()
  return setmetatable({type = t, default = default, optional = optional,
                       file = file, line = line}, Attr)
end

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
  if type(t) == "function" then
    local ok, value = pcall(t, s)
    if ok then return value end
    -- The function's message may quote the value: not for a secret.
    if secret then return nil, format("cannot convert %s", shown) end
    return nil, format("cannot convert %s: %s", shown, to_record(value).message)
  end
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
  elseif attr.optional then
    return nil
  else
    local where = st.root_instance == inst and
        format("set it in [component:%s]", st.root.name) or "pass it to the constructor"
    if rawget(st.class, "__library") then
      -- The library's class is not the user's: the constructor call is.
      error(failure(st.file, st.line, 0, format("%s is required but has no value: %s",
                                                label, where)), 0)
    end
    error(failure(attr.file, attr.line, 0,
                  format("%s is required but has no value: %s", label, where)), 0)
  end
  if type(value) ~= "string" and type(attr.type) == "function" then
    return value -- batou converts only text (overrides, string defaults)
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

local function resolve_attribute(inst, name, attr)
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
