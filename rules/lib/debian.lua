-- batou.lib.debian (docs/reference/library.md): DebianPackage, a system
-- package installed with apt-get when dpkg-query does not list it as
-- installed. The dpkg-query is a live check: a package removed by hand is
-- installed again on the next deploy. --prune does not remove packages
-- (other software may need them): it forgets the record.
local LIB = ...
local q = LIB.quote

local M = {}

local DebianPackage = LIB.component("DebianPackage", {
  namevar = "package",
  source = Attribute("str", None),
  sudo = Attribute("bool", false),
})
M.DebianPackage = DebianPackage

function DebianPackage:configure()
  local name = self.package
  if type(name) ~= "string" or not name:match("^[a-z0-9][a-z0-9+.-]+$") then
    LIB.fail(self, string.format("'%s' is not a Debian package name", tostring(name)))
  end
  local sudo = self.sudo and "sudo -n " or ""
  local what = self.source and q(self.source) or q(name)
  if self.source and not self.source:match("^[/.]") then what = q("./" .. self.source) end
  self.command = self:add(LIB.command {
    "install", live = true,
    run = sudo .. "apt-get install -y -q --no-install-recommends " .. what,
    unless = string.format("dpkg-query -W -f='${db:Status-Status}' %s 2>/dev/null | grep -qx installed",
                           q(name)),
    env = { DEBIAN_FRONTEND = "noninteractive", LANG = "C" },
  })
end

-- batou.lib.package.DPKG, by its batou name.
M.DPKG = DebianPackage

return M
