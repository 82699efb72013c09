-- batou.lib.python (docs/reference/library.md): VirtualEnv, a venv made by
-- `PYTHON -m venv`, and Package, a pinned distribution pip installs into
-- it. Both are live checks that ask the venv itself: the venv's python runs
-- and has pip (at the version asked), the installed distribution has the
-- pinned version (importlib.metadata, what pip installed: no marker file of
-- ours). --prune uninstalls a Package and removes a venv's directories.
local LIB = ...
local q = LIB.quote
local qp = LIB.quote_path

local M = {}

-- What `python -m venv DIR` makes in DIR.
local VENV_ENTRIES = {"bin", "include", "lib", "lib64", "pyvenv.cfg"}

local VirtualEnv = LIB.component("VirtualEnv", {
  namevar = "version",
  executable = Attribute("str", None),
  path = Attribute("str", "."),
})
M.VirtualEnv = VirtualEnv

-- "3.11" -> "(3, 11)", the tuple sys.version_info[:2] prints as.
local function version_tuple(self, version)
  local parts = {}
  for part in (version .. "."):gmatch("([^.]*)%.") do
    if not part:match("^%d+$") then
      LIB.fail(self, string.format("version must be like '3' or '3.11', got '%s'", version))
    end
    parts[#parts + 1] = part
  end
  if #parts > 3 then LIB.fail(self, "version has at most three parts: '3.11.2'") end
  if #parts == 1 then return "(" .. parts[1] .. ",)", 1 end
  return "(" .. table.concat(parts, ", ") .. ")", #parts
end

function VirtualEnv:configure()
  if self.version ~= nil then self.version = tostring(self.version) end
  self.executable = self.executable or ("python" .. (self.version or "3"))
  local path = self.path:gsub("/+$", "")
  if path == "" then path = "." end
  if path:find("%.%.") or path:find("[%c]") then
    LIB.fail(self, string.format("path '%s': a directory below the workdir, without '..'", path))
  end
  self.path = path
  local dir = path == "." and rawget(self, "workdir") or
              (path:sub(1, 1) == "/" and path or rawget(self, "workdir") .. "/" .. path)
  self.python = dir .. "/bin/python"
  self.pip = self.python .. " -m pip"
  local python = qp(self.python)
  -- The venv answers for its version and has pip; with no version asked, it
  -- is the executable's (one more python start).
  local check
  if self.version then
    local tuple, n = version_tuple(self, self.version)
    check = string.format("%s -c 'import sys, pip; sys.exit(sys.version_info[:%d] != %s)'",
                          python, n, tuple)
  else
    local show = "-c 'import sys; print(sys.version_info[:3])'"
    check = string.format("v=$(%s %s) && test \"$(%s -c 'import sys, pip; " ..
                          "print(sys.version_info[:3])')\" = \"$v\"", q(self.executable), show,
                          python)
  end
  local owns = {}
  if path == "." then
    owns = VENV_ENTRIES
  else
    owns = {path}
  end
  -- Never rm -rf: a venv at "." shares the workdir with the component's
  -- files. venv over an old venv repoints it and brings pip back; packages
  -- are checked on their own.
  self.command = self:add(LIB.command {
    "venv", run = string.format("%s -m venv %s", q(self.executable), qp(dir)),
    unless = check, live = true, owns = owns,
  })
end

local Package = LIB.component("Package", {
  namevar = "package",
  version = Attribute("str", None),
  install_options = Attribute("literal", {}),
  dependencies = Attribute("bool", true),
  env = Attribute("literal", None),
  timeout = Attribute("int", None),
})
M.Package = Package

-- sh: exit 0 when the venv's python finds distribution NAME at VERSION
-- (compared as versions: 1.0 is 1.0.0).
local INSTALLED = [[
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    have = version(sys.argv[1])
except PackageNotFoundError:
    sys.exit(1)
try:
    from pip._vendor.packaging.version import Version
    sys.exit(Version(have) != Version(sys.argv[2]))
except ImportError:
    sys.exit(have != sys.argv[2])]]

function Package:configure()
  local venv = rawget(self, "parent")
  if LIB.class_of(venv) ~= VirtualEnv then
    LIB.fail(self, "add it to a VirtualEnv: venv:add(Package { ... })")
  end
  if type(self.package) ~= "string" or not self.package:match("^[%w][%w._-]*$") then
    LIB.fail(self, "the package's name is required: Package { NAME, version = ... }")
  end
  if type(self.version) ~= "string" or not self.version:match("^[%w][%w.+!_-]*$") then
    LIB.fail(self, string.format("version is required (pinned): Package { '%s', version = '1.0' }",
                                 self.package))
  end
  local options = self.install_options
  if type(options) == "string" then options = {options} end
  if type(options) ~= "table" then LIB.fail(self, "install_options must be a list of strings") end
  local words = {}
  for _, option in ipairs(options) do words[#words + 1] = q(option) end
  if not self.dependencies then words[#words + 1] = "--no-deps" end
  if self.timeout then words[#words + 1] = "--timeout=" .. self.timeout end
  local python = qp(venv.python)
  local spec = q(self.package .. "==" .. self.version)
  self.command = self:add(LIB.command {
    "install", env = self.env,
    run = string.format("%s -m pip install --no-input --disable-pip-version-check %s%s",
                        python, #words > 0 and table.concat(words, " ") .. " " or "", spec),
    unless = string.format("%s -c %s %s %s", python, q(INSTALLED), q(self.package),
                           q(self.version)),
    live = true,
    -- gone with its venv: nothing to uninstall
    undo = string.format("if [ -x %s ]; then %s -m pip uninstall -y -q %s; fi", python, python,
                         q(self.package)),
  })
end

return M
