-- batou.lib.cmmi (docs/reference/library.md): Build, batou's
-- configure-make-make-install of a source tarball: a Download, an Extract
-- (strip = 1) and one Command running ./configure, make and make install in
-- the extracted tree. A marker in the prefix records what was built (the
-- checksum, the arguments, the prefix, the environment); the Command runs
-- when the marker says otherwise or is gone (a live check).
local LIB = ...
local q = LIB.quote

local M = {}

local Build = LIB.component("Build", {
  namevar = "uri",
  checksum = Attribute("str", None),
  configure_args = Attribute("str", ""),
  prefix = Attribute("str", None),
  build_environment = Attribute("literal", {}),
})
M.Build = Build

function Build:configure()
  local Download = LIB.import("download").Download
  local Extract = LIB.import("archive").Extract
  if type(self.uri) ~= "string" then LIB.fail(self, "the URL is required: Build { URL, ... }") end
  if type(self.build_environment) ~= "table" then
    LIB.fail(self, "build_environment must be a table of names to values")
  end
  self.prefix = self.prefix or rawget(self, "workdir")
  self.download = self:add(Download { self.uri, checksum = self.checksum })
  self.extract = self:add(Extract { self.download.target, strip = 1 })
  local names = {}
  for k in pairs(self.build_environment) do names[#names + 1] = tostring(k) end
  table.sort(names)
  local env = {}
  for _, k in ipairs(names) do env[#env + 1] = k .. "=" .. tostring(self.build_environment[k]) end
  -- what was built, one line
  local built = table.concat({self.checksum, self.configure_args, self.prefix,
                              table.concat(env, " ")}, " | "):gsub("[\r\n]", " ")
  local marker = self.prefix .. "/.batou-ng-build-" .. self.extract.target:match("([^/]*)$")
  local run = string.format([[
set -e
./configure --prefix=%s %s
make
make install
printf '%%s\n' %s > %s]], LIB.quote_path(self.prefix), self.configure_args, q(built),
    LIB.quote_path(marker))
  self.command = self:add(LIB.command {
    "configure-make-install", run = run, cwd = self.extract.target, live = true,
    unless = string.format("test \"$(cat %s 2>/dev/null)\" = %s", LIB.quote_path(marker),
                           q(built)),
    env = next(self.build_environment) and self.build_environment or nil,
    watch = self.extract.command,
  })
end

return M
