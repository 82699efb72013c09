-- The web app: its wheel (built into the project's dist/) copied to the
-- target, a venv with it installed (no index), its config rendered from the
-- template hello.ini, and a supervisord program that runs it.
local python = require("batou.lib.python")
local Program = require("batou.lib.supervisor").Program

Hello = Component {
  address  = Attribute("str", "127.0.0.1"),
  port     = Attribute("int", 8080),
  greeting = Attribute("str", "Hello from {{host.name}}"),
  version  = Attribute("str", "1.0"),
}

function Hello:configure()
  local wheel = "hello-" .. self.version .. "-py3-none-any.whl"
  self:add(BinaryFile { "wheels/" .. wheel, source = "../../dist/" .. wheel, leading = true })
  local venv = self:add(python.VirtualEnv { "3", path = "venv" })
  venv:add(python.Package { "hello", version = self.version,
                            install_options = { "--no-index", "--find-links", "wheels" } })
  self:add(File { "hello.ini" })
  -- restarted when anything added above changes: the package, the config
  self:add(Program { "hello", command = "venv/bin/hello", args = self.workdir .. "/hello.ini",
                     options = { startsecs = 1 } })
end
