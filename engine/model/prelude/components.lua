-- The prelude, part 3 of 6: component classes and instances. Component{}
-- declares a class (with rolling and health); a constructor call makes an
-- instance, which instantiate() sets up under its root when it is added;
-- the methods every component has (add, expand, template, log, platform).
-- Uses core.lua and attributes.lua.

-- rolling = N or "N%": a root component's hosts deploy in batches (docs/reference/lua.md,
-- "rolling"). Returns the number and whether it is a percentage, or nil.
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

-- batou methods that batou-ng replaces: defining one would be silently
-- ignored (nothing calls it), so it is an error naming the replacement.
local REPLACED = {
  verify = "batou-ng checks every rule on the target itself (the manifest, --verify); " ..
           "a custom check is a Command's 'unless' or 'creates'",
  update = "add a Command { run = ... } (with 'unless' or 'creates') in configure",
  deploy = "batou-ng deploys the rules configure adds",
  last_updated = "batou-ng records what is deployed in the target's manifest",
  cmd = "add a Command { run = ... } in configure: it runs on the target",
  assert_cmd = "a Command's 'unless' is the check that decides whether it runs",
  assert_file_is_current = "a File is compared with the target by batou-ng itself",
  assert_component_is_current = "'watch' says what runs again when something changed",
  assert_no_subcomponent_changes = "'watch' says what runs again when something changed",
  assert_no_changes = "'watch' says what runs again when something changed",
  touch = "File { path, content = '' }",
  chdir = "a Command's 'cwd'",
}

local function replaced_error(name)
  return format("'%s' is a batou method that batou-ng replaces: %s", name, REPLACED[name])
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
    if REPLACED[k] then error(replaced_error(k), 2) end
  end
  if def.namevar ~= nil and type(def.namevar) ~= "string" then
    error("namevar must be the name of a field, got " .. describe(def.namevar), 2)
  end
  if def.rolling ~= nil and not parse_rolling(def.rolling) then
    error(rolling_error(def.rolling), 2)
  end
  if def.health ~= nil and (type(def.health) ~= "string" or def.health == "" or
                            def.health:find("\0", 1, true)) then
    error(health_error(def.health), 2)
  end
  if def.health_always ~= nil and type(def.health_always) ~= "boolean" then
    error("health_always must be true or false, got " .. describe(def.health_always), 2)
  end
  if def.health_always and def.health == nil then
    error("health_always = true needs a health command", 2)
  end
  local file = user_where()
  def.__defdir = file and dirname(file) or "."
  def.__platforms = {}
  return setmetatable(def, class_mt)
end

class_mt.__index = Base

-- Defining one on a class (function App:verify() ... end) is refused at that line.
class_mt.__newindex = function(cls, k, v)
  if REPLACED[k] then error(replaced_error(k), 2) end
  rawset(cls, k, v)
end

-- Calling one (self:cmd("...")) says the same.
for name in pairs(REPLACED) do
  Base[name] = function() raise(replaced_error(name)) end
end
class_mt.__tostring = function(cls) return "class " .. (rawget(cls, "__name") or "Component") end

------------------------------------------------------------------------------
-- Instances

local instance_mts = setmetatable({}, {__mode = "k"})

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

-- A field the class declares with a plain value (servers = {}), not an
-- Attribute: a constructor may set it, as batou's keyword arguments do.
local function is_plain_field(cls, k)
  local v = rawget(cls, k)
  return v ~= nil and type(v) ~= "function" and not RESERVED[k] and k:sub(1, 2) ~= "__"
end

-- Constructing `Sub { "x", port = 80 }` makes an instance that is configured
-- when a component adds it.
class_mt.__call = function(cls, args)
  if args == nil then args = {} end
  if type(args) ~= "table" or getmetatable(args) ~= nil then
    raise(format("%s expects a table, got %s", class_name(cls), describe(args)))
  end
  local namevar = rawget(cls, "namevar")
  local values, fields = {}, {}
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
    elseif is_plain_field(cls, k) then
      fields[k] = v
    else
      local candidates = {table.unpack(attribute_names(cls))}
      if namevar then candidates[#candidates + 1] = namevar end
      local hint = did_you_mean(k, candidates)
      if hint == "" then
        hint = format(" (declare it in the class: %s = Attribute(...), or a plain field %s = ...)",
                      k, k)
      end
      raise(format("%s has no attribute '%s'%s", class_name(cls), k, hint))
    end
  end
  -- The namevar names its nodes: a NUL byte would cut their names.
  local name = namevar and values[namevar]
  if type(name) == "string" and name:find("\0", 1, true) then
    raise(format("%s: its %s holds a NUL byte", class_name(cls), namevar))
  end
  local file, line = user_where()
  local inst = setmetatable({}, instance_mt(cls))
  for k, v in pairs(fields) do rawset(inst, k, v) end
  instance_state[inst] = {class = cls, args = values, fields = fields, file = file, line = line}
  return inst
end

local configuring = {} -- stack of instances whose configure runs

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
  local given = st.fields or {}
  for k, v in pairs(cls) do
    if type(k) == "string" and k:sub(1, 2) ~= "__" and type(v) == "table" and
        getmetatable(v) == nil and given[k] == nil then
      rawset(inst, k, deep_copy(v))
    end
  end
  rawset(inst, "host", root.host)
  rawset(inst, "environment", root.environment)
  rawset(inst, "workdir", root.workdir)
  -- A library component reads local files where the component using it lives.
  rawset(inst, "defdir", rawget(cls, "__library") and parent and rawget(parent, "defdir") or
                         rawget(cls, "__defdir"))
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
  -- A class may show its name otherwise (Download: a URL without its
  -- password): labels reach the output, the manifest and the state.
  local label_of = rawget(cls, "__label")
  if label_of and name ~= nil then name = label_of(name) end
  local label = child_label(st, segment(class_name(cls), name))
  st.children[#st.children + 1] = c
  local failed = instantiate(c, st.root, self, label)
  if failed then error(failed, 0) end
  configure_instance(c)
  return c
end

-- self:expand(text, {name = value, ...}): batou's expand(string, **kw): the
-- names are added to the context; component = c expands in c's context.
function Base:expand(s, args)
  check_self(self, "expand")
  if type(s) ~= "string" then raise("expand expects a string, got " .. describe(s)) end
  if args ~= nil and (type(args) ~= "table" or getmetatable(args) ~= nil) then
    raise("expand: the second argument must be a table of names, got " .. describe(args))
  end
  local of = self
  if args and args.component ~= nil then
    if not is_instance(args.component) then
      raise("expand: component must be a component, got " .. describe(args.component))
    end
    of = args.component
  end
  local ctx = context(of)
  for k, v in pairs(args or {}) do
    if type(k) ~= "string" then raise("expand: names must be strings, got " .. describe(k)) end
    if k ~= "component" then ctx[k] = v end
  end
  local file, line = user_where()
  local text, message, tline, tcol = C.expand(file or "?", s, ctx)
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
