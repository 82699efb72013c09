"""Fixture projects shared by several test files."""

# "shop": three hosts in the [hosts] and [host:x] forms, host_domain, data-*,
# platforms, [component:x] overrides (one per Attribute type, templated with
# {{host.fqdn}}), provide/require across hosts, components.<dir>.<Class>,
# plain Lua require, sub-components. Every check is an assertion in Lua, so
# a wrong conversion fails -c with a message saying which one.
#
# Nodes: web01/nginx 3 (File(upstreams-2-1), Vhost's File, debian Command),
# web01/app 3,
# web02/app 3 (File, Logrotate's File, Directory), db01/postgres 2
# (Command, ubuntu File) = 11 nodes, 4 components, 3 hosts.
SHOP = {
    "lib/naming.lua": """\
        -- A plain Lua module shipped in the project, found by require().
        local M = {}
        function M.conf_name(host)
          return "app-" .. host .. ".conf"
        end
        return M
        """,
    "components/common/component.lua": """\
        -- Reused from other files as components.common.Logrotate.
        Logrotate = Component {
          namevar = "name",
          days = Attribute("int", 7),
        }

        function Logrotate:configure()
          self:add(File { "logrotate-" .. self.name, content = "rotate " .. self.days .. "\\n" })
        end
        """,
    "components/app/component.lua": """\
        local naming = require("lib.naming")

        App = Component {
          workers  = Attribute("int", 2),
          ratio    = Attribute("float", 1.0),
          debug    = Attribute("bool", false),
          verbose  = Attribute("bool", true),
          flag_true = Attribute("bool", false),
          flag_false = Attribute("bool", true),
          flag_on = Attribute("bool", false),
          flag_no = Attribute("bool", true),
          flag_one = Attribute("bool", false),
          flag_zero = Attribute("bool", true),
          names    = Attribute("list", ""),
          servers  = Attribute("list", ""),
          settings = Attribute("literal", "{}"),
          listen   = Attribute("Address", "{{host.fqdn}}:8080"),
          greeting = Attribute("str", "hi"),
          motto    = Attribute("str", "default on {{host.name}}"),
          count    = Attribute("int", 3),
        }

        local function check(ok, what)
          if not ok then
            error("check failed: " .. what, 2)
          end
        end

        function App:configure()
          local h = self.host
          check(h.fqdn == h.name .. ".example.com", "host.fqdn is " .. tostring(h.fqdn))
          check(h.platform == "debian", "host.platform is " .. tostring(h.platform))
          check(self.environment.name == "prod", "environment.name")
          check(self.workers == 8 and math.type(self.workers) == "integer", "int: " .. tostring(self.workers))
          check(self.count == 3 and math.type(self.count) == "integer", "int default")
          check(self.ratio == 0.25 and math.type(self.ratio) == "float", "float: " .. tostring(self.ratio))
          check(self.debug == true, "bool yes")
          check(self.verbose == false, "bool off")
          check(self.flag_true == true, "bool true")
          check(self.flag_false == false, "bool false")
          check(self.flag_on == true, "bool on")
          check(self.flag_no == false, "bool no")
          check(self.flag_one == true, "bool 1")
          check(self.flag_zero == false, "bool 0")
          check(type(self.names) == "table" and #self.names == 3, "list by comma: length")
          check(self.names[1] == "alpha" and self.names[2] == "beta" and self.names[3] == "gamma",
                "list by comma: items")
          check(#self.servers == 2 and self.servers[1] == "one" and self.servers[2] == "two",
                "list by newline")
          local s = self.settings
          check(type(s) == "table", "literal: table")
          check(s.a == 1 and math.type(s.a) == "integer", "literal: int")
          check(s.b[1] == true and s.b[2] == "x" and #s.b == 2, "literal: list")
          check(s.c == 2.5, "literal: float")
          check(s.n == nil, "literal: None")
          check(s.t[1] == 1 and s.t[2] == 2, "literal: tuple")
          check(tostring(self.listen.connect) == h.fqdn .. ":9000", "Address.connect: " .. tostring(self.listen.connect))
          check(self.listen.connect.host == h.fqdn, "Address.connect.host")
          check(tostring(self.listen.connect.port) == "9000", "Address.connect.port")
          local ip = ({ web01 = "192.0.2.1", web02 = "192.0.2.2" })[h.name]
          check(tostring(self.listen.listen) == ip .. ":9000", "Address.listen: " .. tostring(self.listen.listen))
          check(self.listen.listen.host == ip, "Address.listen.host")
          check(self.greeting == "hello " .. h.name .. " at " .. h.fqdn, "str override: " .. self.greeting)
          check(self.motto == "default on " .. h.name, "str default: " .. self.motto)
          check(self:expand("{{ host.name }}/{{ component.workers }}") == h.name .. "/8", "expand")
          check(self.workdir:sub(-9) == "/work/app", "workdir: " .. tostring(self.workdir))
          check(self.defdir:match("^(.-)/?$"):match("components/app$"), "defdir: " .. tostring(self.defdir))

          self:provide("app", self.listen)
          self.db = self:require_one("database")
          check(tostring(self.db.connect) == "db01.example.com:5433", "require_one across hosts")
          local extras = self:require("extras", { strict = false })
          check(type(extras) == "table" and #extras == 0, "require strict = false")

          self:add(File { naming.conf_name(h.name), source = "app.conf" })
          local rotate = self:add(components.common.Logrotate { "app", days = 14 })
          check(rotate.days == 14 and rotate.name == "app", "sub-component fields")
          self:add(Directory { "data" })
        end
        """,
    "components/app/app.conf": """\
        # {{ host.fqdn }} ({{ environment.name }})
        workers = {{ component.workers }}
        listen = {{ component.listen.listen }}
        database = {{ component.db.connect }}
        names = {{ component.names | join(",") }}
        {% for s in component.servers %}server{{ loop.index }} = {{ s }}
        {% endfor %}role = {{ host.data.role | default("none") }}
        """,
    "components/nginx/component.lua": """\
        Nginx = Component {}

        Vhost = Component {
          namevar = "server_name",
          port = Attribute("int", 80),
        }

        function Vhost:configure()
          self:add(File { "vhost-" .. self.server_name .. ".conf", source = "vhost.conf" })
        end

        function Nginx:configure()
          -- The counts go into a node's name (no error() here: configure may
          -- run before every app has provided, and runs again then).
          self.backends = self:require("app")
          local mine = self:require("app", { host = self.host })
          self:add(File { "upstreams-" .. #self.backends .. "-" .. #mine, content = "x" })
          self.vhost = self:add(Vhost { "www.example.com", port = 8080 })
          if self.vhost.port ~= 8080 or self.vhost.server_name ~= "www.example.com" then
            error("sub-component fields")
          end
        end

        Nginx:platform("debian", function(self)
          self:add(Command { "reload", run = "systemctl reload nginx", watch = { self.vhost } })
        end)
        """,
    "components/nginx/vhost.conf": """\
        server {
          listen {{ component.port }};
          server_name {{ component.server_name }};
        }
        """,
    "components/postgres/component.lua": """\
        Postgres = Component {
          port = Attribute("int", 5432),
        }

        function Postgres:configure()
          if self.host.data.role ~= "primary" then
            error("host.data.role is " .. tostring(self.host.data.role))
          end
          self:provide("database", Address(self.host.fqdn .. ":" .. self.port))
          self:add(Command { "initdb", run = "initdb data", creates = "data/PG_VERSION" })
        end

        Postgres:platform("ubuntu", function(self)
          self:add(File { "pg-ubuntu.conf", content = "ubuntu\\n" })
        end)

        Postgres:platform("debian", function(self)
          self:add(File { "pg-debian.conf", content = "debian\\n" })
        end)
        """,
    "environments/prod/environment.cfg": """\
        [environment]
        connect_method = ssh
        host_domain = example.com
        platform = debian
        service_user = shop

        [hosts]
        web01 = nginx, app
        web02 = app

        [host:db01]
        components = postgres
        platform = ubuntu
        data-role = primary

        [component:app]
        workers = 8
        ratio = 0.25
        debug = yes
        verbose = off
        flag_true = true
        flag_false = false
        flag_on = on
        flag_no = no
        flag_one = 1
        flag_zero = 0
        names = alpha, beta,gamma
        servers =
            one
            two
        settings = {'a': 1, 'b': [True, 'x',], 'c': 2.5, 'n': None, 't': (1, 2)}
        listen = {{host.fqdn}}:9000
        greeting = hello {{host.name}} at {{ host.fqdn }}

        [component:postgres]
        port = 5433

        [resolver]
        web01.example.com = 192.0.2.1
        web02.example.com = 192.0.2.2
        db01.example.com = 192.0.2.3
        """,
}

SHOP_HOSTS = {"web01": ["nginx", "app"], "web02": ["app"], "db01": ["postgres"]}
