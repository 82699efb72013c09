-- The prelude, part 6 of 6: resources and the fixed point. provide and
-- require; configuring an environment (each root until no provided value
-- changes), the checks of the final state (unused provides, unsatisfied
-- requires, cycles between roots), and flattening the model into nodes for
-- the graph (engine/model/model_graph.c). Uses the parts before it.

-- Resources

local host_index = {}   -- host name -> position in the environment
local provided = {}     -- key -> {root = true}
local subscribers = {}  -- key -> {root = wake on change (false: dirty = true)}
local roots = {}        -- every root, in environment order

local function provide_seq(root) root.seq = root.seq + 1; return root.seq end

function Base:provide(key, value)
  local st = check_self(self, "provide")
  if type(key) ~= "string" then raise("provide expects a key (string), got " .. describe(key)) end
  local file, line = user_where()
  local root = st.root
  root.provides[#root.provides + 1] = {key = key, value = value, file = file, line = line,
                                       seq = provide_seq(root)}
  if root.speculative then return end
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
  local known = {"dirty", "host", "reverse", "strict"}
  for k in pairs(opts) do
    if k ~= "host" and k ~= "strict" and k ~= "reverse" and k ~= "dirty" then
      raise(format("%s: unknown option %s%s", method, describe(k),
                   type(k) == "string" and did_you_mean(k, known) or ""))
    end
  end
  local host = opts.host
  if type(host) == "table" then host = rawget(host, "name") or host.name end
  if host ~= nil and type(host) ~= "string" then
    raise(method .. ": host must be a host or a host name, got " .. describe(opts.host))
  end
  return host, opts.strict ~= false, opts.reverse == true, opts.dirty == true
end

local function do_require(self, key, opts, method)
  local st = check_self(self, method)
  if type(key) ~= "string" then raise(method .. " expects a key (string), got " .. describe(key)) end
  local host, strict, reverse, dirty = require_options(opts, method)
  local file, line = user_where()
  local root = st.root
  local record = {key = key, host = host, strict = strict, reverse = reverse, file = file,
                  line = line, method = method}
  -- A speculative run (wait_cycles) never waits and changes nothing.
  if root.speculative then return values_of(key, host), record end
  root.requires[#root.requires + 1] = record
  subscribers[key] = subscribers[key] or {}
  -- true: configure again when the values change; false (dirty = true, as
  -- in batou): only while it waits for a first value.
  subscribers[key][root] = subscribers[key][root] == true or not dirty
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

-- Configure again every requirer of key, but one that said dirty = true
-- and has its values already.
local function wake(key)
  for r, on_change in pairs(subscribers[key] or {}) do
    if on_change or r.waiting then r.dirty = true end
  end
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
    if before[key] ~= text then wake(key) end
  end
  for key in pairs(before) do
    if after[key] == nil then wake(key) end
  end
end

local function host_table(h)
  local data = {}
  for k, v in pairs(h.data or {}) do data[k] = v end
  return {name = h.name, fqdn = h.fqdn, platform = h.platform, data = data}
end

-- The error of a [component:name] section, or nil when the component exists
-- (or a file that failed to load may define it: that file's error says so).
function B.unknown_section(name)
  if classes[name] or B.broken_component(name) then return nil end
  return format("[component:%s]: no component '%s'%s", name, name,
                did_you_mean(name, B.class_names()))
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
  for _, first in ipairs(order) do
    local message = B.unknown_section(first.component)
    if message then
      errors[#errors + 1] = {file = first.file, line = first.line, col = 0, message = message}
    end
  end
  for _, o in ipairs(env.overrides) do
    local cls = classes[o.component]
    if cls and o.attribute == "health_always" then
      local always, bad = convert("bool", o.value)
      if always and rawget(cls, "health") == nil and not by_component[o.component].health then
        bad = "needs a health command (the class has none, nor has this section)"
      end
      if bad then
        errors[#errors + 1] = {file = o.file, line = o.line, col = 0, component = o.component,
                               message = "health_always: " .. bad}
      end
    elseif cls and (o.attribute == "rolling" or o.attribute == "health") then
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

-- Roots for the hosts' components. Returns whether a component a host names
-- failed to load (then its root is missing, and so is what it would require).
local function make_roots(env, overrides, errors)
  local names = B.class_names()
  local missing = false
  environment_info = {name = env.name, secret_files = env.secret_files or {}}
  for i, h in ipairs(env.hosts) do
    host_index[h.name] = i
    local host = host_table(h)
    for _, c in ipairs(h.components) do
      local cls = classes[c.name]
      if not cls and B.broken_component(c.name) then
        missing = true
      elseif not cls then
        errors[#errors + 1] = {file = h.file, line = c.line, col = c.col or 0, host = h.name,
          message = format("no component '%s'%s", c.name, did_you_mean(c.name, names))}
      else
        roots[#roots + 1] = {
          name = c.name, class = cls, host = host, environment = environment_info,
          workdir = h.work .. "/" .. c.name, ignore = c.ignore or h.ignore,
          overrides = overrides[c.name], provides = {}, requires = {}, errors = {},
          logs = {}, seq = 0, generation = 0, dirty = true, runs = 0,
        }
      end
    end
  end
  return missing
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
-- errors the final state has. incomplete says why the model may lack a
-- require (a root failed to configure or is missing), or is nil: unused
-- provides are reported only when none can be missing, and an unsatisfied
-- require says that it may be an echo. Roots in quiet wait on a cycle or
-- on another waiting root: their wait is reported there.
local function resource_checks(errors, incomplete, quiet)
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
    if w and not quiet[root] then
      errors[#errors + 1] = {file = w.file, line = w.line, col = 0, host = root.host.name,
        component = root.name, message = format("%s: nothing provides resource '%s'%s%s",
          w.method, w.key, w.host and format(" on host '%s'", w.host) or "",
          incomplete and format(" (%s)", incomplete) or "")}
    end
    for _, p in ipairs(root.provides) do
      if not incomplete and not next(subscribers[p.key] or {}) then
        errors[#errors + 1] = {file = p.file, line = p.line, col = 0, host = root.host.name,
          component = root.name,
          message = format("resource '%s' is provided but nothing requires it", p.key)}
      end
    end
  end
  return edges
end

-- What root would provide if none of its requires waited: a run on a shadow
-- of the root that changes nothing else (its provides and requires stay its
-- own, errors are ignored). Returns the set of keys.
local function speculate(root)
  local shadow = setmetatable({provides = {}, requires = {}, errors = {}, logs = {}, seq = 0,
                               speculative = true}, {__index = root})
  configuring = {}
  local inst = setmetatable({}, instance_mt(root.class))
  instance_state[inst] = {class = root.class, args = {}, overrides = root.overrides}
  shadow.instance = inst
  if not instantiate(inst, shadow, nil, root.name) then pcall(configure_instance, inst) end
  local keys = {}
  for _, p in ipairs(shadow.provides) do keys[p.key] = true end
  return keys
end

-- Roots that wait for each other: a waits for 'b', which only b would
-- provide, and b waits for 'a'. Each cycle is one error with its path;
-- returns the set of waiting roots whose own wait is not the root error
-- (they are in a cycle, or wait for a root that waits).
local function wait_cycles(errors)
  local waiting = {}
  for _, root in ipairs(roots) do
    if root.waiting then waiting[#waiting + 1] = root end
  end
  local would = {}
  for _, root in ipairs(waiting) do would[root] = speculate(root) end
  local waits_on, quiet = {}, {}
  for _, root in ipairs(waiting) do
    local w = root.waiting
    waits_on[root] = {}
    for _, other in ipairs(waiting) do
      if would[other][w.key] and (not w.host or other.host.name == w.host) then
        waits_on[root][#waits_on[root] + 1] = other
        quiet[root] = true
      end
    end
  end
  local color, stack = {}, {}
  local function visit(v)
    color[v] = 1
    stack[#stack + 1] = v
    for _, x in ipairs(waits_on[v]) do
      if color[x] == 1 then
        local path, on = {}, false
        for _, y in ipairs(stack) do
          if y == x then on = true end
          if on then path[#path + 1] = format("%s requires '%s'", root_label(y), y.waiting.key) end
        end
        path[#path + 1] = root_label(x)
        local w = x.waiting
        errors[#errors + 1] = {file = w.file, line = w.line, col = 0, host = x.host.name,
                               component = x.name,
                               message = "dependency cycle: " .. concat(path, " -> ")}
      elseif not color[x] then
        visit(x)
      end
    end
    stack[#stack] = nil
    color[v] = 2
  end
  for _, root in ipairs(waiting) do
    if not color[root] then visit(root) end
  end
  return quiet
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
  return reported
end

-- env: {name, hosts = {{name, fqdn, platform, data, ignore, file, work,
-- components = {{name, ignore, line}}}}, overrides = {{component, attribute,
-- value, file, line, col, secret}}, hosts_incomplete, names_only}. Returns
-- the error records; keeps the resource edges ({from, to} root positions)
-- in B.edges. names_only: check the names the environment uses and run no
-- component (its values are incomplete).
function B.configure(env)
  local errors = {}
  local overrides = check_overrides(env, errors)
  local missing = make_roots(env, overrides, errors)
  if env.names_only then return errors end
  for i, root in ipairs(roots) do root.index = i end
  fixed_point(errors)
  local failed = false
  for _, root in ipairs(roots) do
    failed = failed or #root.errors > 0
    for _, e in ipairs(root.errors) do
      local r = to_record(e)
      if not r.echo then
        r.host, r.component = root.host.name, root.name
        errors[#errors + 1] = r
      end
    end
  end
  local incomplete = failed and "components that failed to configure provide nothing" or
                     missing and "components that failed to load provide nothing" or
                     env.hosts_incomplete and "environment.cfg has errors: a host may be missing"
  local quiet = wait_cycles(errors)
  local edges = resource_checks(errors, incomplete, quiet)
  B.cyclic = cycle_checks(edges, errors) > 0
  B.edges = edges
  return errors
end

function B.resource_edges() return B.edges or {} end
-- Whether configure found a dependency cycle between roots (the graph's own
-- check would find it again).
function B.roots_cyclic() return B.cyclic == true end

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

-- Whether a root's health is asked on every deploy: its class says, or a
-- [component:x] health_always (checked in check_overrides).
local function health_always(root, override)
  if override then return convert("bool", override.value) == true end
  return rawget(root.class, "health_always") == true
end

-- A root's health command, rendered like an attribute value with its
-- instance's context (an error goes to errors, at the override's line or
-- the class's file).
local function rendered_health(root, override, errors)
  local text = override and override.value or rawget(root.class, "health")
  if not text or not text:find("{", 1, true) or not root.instance then return text end
  local file, line, col = override and override.file, override and override.line or 0,
                          override and override.col or 0
  if not override then
    local where = class_files[root.class]
    file, line = where and where.file or rawget(root.class, "__defdir"), where and where.line or 0
  end
  local out, message, tline, tcol = C.expand(file or "?", text, context(root.instance))
  if out then return out end
  local l, c = shift(line, col, tline, tcol)
  errors[#errors + 1] = {file = file, line = l, col = c, host = root.host.name,
                         component = root.name, message = "health: " .. message}
  return nil
end

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
    -- A root that failed or waits is left out: its nodes are half made.
    local whole = #root.errors == 0 and not root.waiting
    out[ri] = {host = root.host.name, name = root.name, ignore = root.ignore,
               workdir = root.workdir, rolling = rolling, rolling_percent = percent,
               health = whole and rendered_health(root, o.health, errors) or nil,
               health_always = health_always(root, o.health_always)}
    if whole and root.instance and instance_state[root.instance].children then
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
