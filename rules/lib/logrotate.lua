-- batou.lib.logrotate (docs/reference/library.md): RotatedLogfile, a log
-- file to rotate, and Logrotate, which collects every RotatedLogfile of its
-- host (a resource) into logrotate.conf in its workdir and runs logrotate
-- from a CronJob (batou.lib.cron: the host needs a CronTab).
local LIB = ...

local M = {KEY = "batou.lib.logrotate:RotatedLogfile"}

local RotatedLogfile = LIB.component("RotatedLogfile", {
  namevar = "path",
  args = Attribute("list", {}),
  prerotate = Attribute("str", None),
  postrotate = Attribute("str", None),
})
M.RotatedLogfile = RotatedLogfile

function RotatedLogfile:configure()
  if type(self.path) ~= "string" or self.path == "" then
    LIB.fail(self, "the path is required: RotatedLogfile { PATH, ... }")
  end
  local path = self.path
  if path:sub(1, 1) ~= "/" then path = rawget(self, "workdir") .. "/" .. path end
  self.path = path
  self:provide(M.KEY, {path = path, args = self.args, prerotate = self.prerotate,
                       postrotate = self.postrotate})
end

-- Debian's batou.lib.debian.Logrotate settings, the defaults here.
M.COMMON = [[
daily
rotate 14
create
dateext
compress
notifempty
nomail
noolddir
missingok
sharedscripts
]]

local Logrotate = LIB.component("Logrotate", {
  common_config = Attribute("str", M.COMMON),
  timing = Attribute("str", "45 2 * * *"),
})
M.Logrotate = Logrotate

function Logrotate:configure()
  local logfiles = self:require(M.KEY, {host = self.host})
  table.sort(logfiles, function(a, b) return a.path < b.path end)
  local out = {self.common_config}
  for _, f in ipairs(logfiles) do
    out[#out + 1] = "\n" .. f.path .. " {"
    for _, arg in ipairs(f.args) do out[#out + 1] = arg end
    if f.prerotate then out[#out + 1] = "prerotate\n" .. f.prerotate .. "\nendscript" end
    if f.postrotate then out[#out + 1] = "postrotate\n" .. f.postrotate .. "\nendscript" end
    out[#out + 1] = "}"
  end
  self.logfiles = logfiles
  self.logrotate_conf = self:add(LIB.rules.File {
    "logrotate.conf", content = table.concat(out, "\n") .. "\n", is_template = false,
  })
  local workdir = rawget(self, "workdir")
  local CronJob = LIB.import("cron").CronJob
  self.cronjob = self:add(CronJob {
    "/usr/sbin/logrotate -s " .. workdir .. "/logrotate.state " .. workdir .. "/logrotate.conf",
    timing = self.timing,
  })
end

return M
