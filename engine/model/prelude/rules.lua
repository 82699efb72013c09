-- The prelude, part 4 of 6: rules and loading. One global constructor per
-- rule kind (File, Directory, ...) and where its local files are; loading
-- components/<dir>/component.lua and the components.<dir>.<Class> table.
-- Uses core.lua and components.lua.

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

-- kind -> constructor, as defined: the library uses these, whatever a
-- project assigns to the globals.
local rule_constructors = {}

-- library: only the component library makes it (LIB.rules.Fetch): no global.
function B.define_rule(kind, namevar, library)
  local constructor = function(args)
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
  rule_constructors[kind] = constructor
  if not library then _G[kind] = constructor end
end

Rule.__tostring = function(r)
  local rs = rule_state[r]
  return rs and segment(rs.kind, r[rs.namevar]) or "rule"
end

------------------------------------------------------------------------------
-- Loading components/<dir>/component.lua

local class_files = {} -- class -> {file, line} where it was registered
local component_dirs = {} -- dir -> "pending" | "loading" | "loaded" | "failed"
local load_errors = {}
-- Lower-cased names a file that failed to load may have defined (its
-- directory, its top-level assignments): a host or a [component:x] naming
-- one is an echo of that file's error, not an error of its own.
local broken_names = {}

local function note_broken(dir, file)
  broken_names[dir:lower()] = file
  local text = C.read(file)
  for line in (text or ""):gmatch("[^\n]+") do
    local name = line:match("^([%a_][%w_]*)%s*=[^=]")
    if name then broken_names[name:lower()] = broken_names[name:lower()] or file end
  end
end

-- components.<dir> of a directory that failed: an echo, whoever asks.
local failed_dir = setmetatable({}, {__index = function() error(setmetatable({}, Echo), 0) end})

-- Run chunk (a loaded component.lua) and register the classes it assigns to
-- globals. Returns a list of error records and whether the file ran to its
-- end; a file that did not registers no class (its classes may be half
-- made).
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
    local r = to_record(e)
    if not r.echo then
      r.file = r.file or file
      errors[1] = r
    end
    for _, a in ipairs(assigned) do
      if type(a.name) == "string" then broken_names[a.name:lower()] = file end
    end
    return errors, false
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
        if not rawget(cls, "__name") or rawget(cls, "__guessed_name") then
          rawset(cls, "__name", name)
          rawset(cls, "__lname", lname)
          rawset(cls, "__guessed_name", nil)
        end
      end
      rawget(components, dir)[name] = cls
    end
  end
  return errors, true
end

local function load_dir(dir)
  component_dirs[dir] = "loading"
  local file = "components/" .. dir .. "/component.lua"
  local chunk, message = loadfile(file, "t")
  local errors, ok
  if chunk then
    errors, ok = load_file(chunk, dir, file)
  else
    errors, ok = {to_record(message)}, false
  end
  for _, e in ipairs(errors) do load_errors[#load_errors + 1] = e end
  component_dirs[dir] = ok and "loaded" or "failed"
  if not ok then
    note_broken(dir, file)
    rawset(components, dir, failed_dir)
  end
end

-- A class a required module returns (or returns in a table, or assigns to a
-- global) is named after its key, the global or the module, so that output
-- and the graph say Nginx(x), not Component(x). Naming only: the environment
-- still sees the classes of components/*/component.lua alone.
local function name_class(cls, name)
  if is_class(cls) and not rawget(cls, "__name") then
    rawset(cls, "__name", name)
    rawset(cls, "__lname", name:lower())
    rawset(cls, "__guessed_name", true) -- a component.lua's global wins
  end
end

local plain_require = require
require = function(name, ...)
  local result, extra = plain_require(name, ...)
  if type(name) == "string" then
    name_class(result, name:match("([^.]+)$"))
    if type(result) == "table" and not is_class(result) and getmetatable(result) == nil then
      for k, v in pairs(result) do
        if type(k) == "string" then name_class(v, k) end
      end
    end
    for k, v in pairs(_G) do
      if type(k) == "string" then name_class(v, k) end
    end
  end
  return result, extra
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

-- The file that failed to load and may have defined component name, or nil.
function B.broken_component(name) return broken_names[name] end

function B.class_names()
  local names = {}
  for k in pairs(classes) do names[#names + 1] = k end
  sort(names)
  return names
end

------------------------------------------------------------------------------
