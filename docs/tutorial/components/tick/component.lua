-- The tick component: a shell script that prints the time and a greeting
-- every few seconds. Both are attributes, so each environment can set them.
Tick = Component {
  sleep    = Attribute("int", 1),
  greeting = Attribute("str", "Hello from {{host.name}}"),
}

function Tick:configure()
  -- No content and no source: the template components/tick/tick.sh,
  -- rendered into the component's work directory.
  local script = self:add(File { "tick.sh", mode = "rwxr-xr-x" })
  -- Syntax-check the script on the target whenever it changes.
  self:add(Command { "check", run = "sh -n tick.sh", watch = { script } })
end
