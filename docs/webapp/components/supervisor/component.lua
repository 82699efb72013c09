-- One supervisord for the deployment: it runs every Program of this host.
local supervisor = require("batou.lib.supervisor")

Supervisor = Component {}

function Supervisor:configure()
  self:add(supervisor.Supervisor {})
end
