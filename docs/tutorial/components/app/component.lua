-- The application server. Every instance provides its address under the
-- key "app", so that other components (the proxy) can find all of them.
App = Component {
  address = Attribute("Address", "{{host.fqdn}}:8080"),
  workers = Attribute("int", 2),
  debug   = Attribute("bool", false),
}

function App:configure()
  self:provide("app", self.address)
  self:add(File { "app.ini" })
end
