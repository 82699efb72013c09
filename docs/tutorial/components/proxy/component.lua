-- A reverse proxy in front of every app server of the environment.
Proxy = Component {
  address     = Attribute("Address", "{{host.fqdn}}:80"),
  server_name = Attribute("str", "{{host.fqdn}}"),
}

function Proxy:configure()
  -- Every "app" provided anywhere in the environment, as a list. batou-ng
  -- re-runs this configure when an app server provides later (fixed point),
  -- and deploys the app servers before the proxy.
  self.backends = self:require("app")
  self.config = self:add(File { "upstreams.conf" })
  -- Shown by `batou-ng -v`.
  local names = {}
  for _, backend in ipairs(self.backends) do names[#names + 1] = tostring(backend) end
  self:log("app servers: " .. table.concat(names, ", "))
end

-- Only on Debian hosts: reload nginx whenever the configuration changes.
Proxy:platform("debian", function(self)
  self:add(Command { "reload-nginx", run = "sudo systemctl reload nginx",
                     watch = { self.config } })
end)
