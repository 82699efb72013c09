/* link: engine/model/model*.c engine/template/template_*.c engine/model/literal.c engine/model/address.c engine/graph/graph.c engine/graph/check.c engine/diag.c engine/util.c environments/environment*.c environments/secrets*.c environments/ini.c rules/?*.c hosts/host.c rules/fetch.c hosts/fetch.c hosts/shell.c */
/* Loading a project's components and configuring them (engine/model/):
 * classes registered across files, load errors, attributes (conversions,
 * errors, overrides), instances, sub-components, platforms, Lua that fails
 * in configure, and secrets as attribute values. Resources are in
 * test_model_resources.c, the nodes rules make in test_model_rules.c. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "model_testing.h"

static void test_classes_registered(void **state)
{
    (void)state;
    write_file("lib/helpers.lua", "return { greet = function(n) return 'hi ' .. n end }\n");
    /* myapp uses zbase's class before zbase's turn to load. */
    write_file("components/zbase/component.lua",
               "BaseThing = Component { port = Attribute('int', 7) }\n"
               "function BaseThing:configure()\n"
               "  self:add(Command { 'base', run = 'echo ' .. self.port })\n"
               "end\n");
    write_file("components/myapp/component.lua",
               "local helpers = require 'lib.helpers'\n"
               "MyApp = Component {}\n"
               "function MyApp:configure()\n"
               "  local base = self:add(components.zbase.BaseThing { port = 9 })\n"
               "  self:add(Command { 'greet', run = helpers.greet(self.host.name) })\n"
               "end\n");
    write_file(CFG, "[environment]\nconnect_method = local\n\n"
                    "[hosts]\nweb01 = myapp, !basething\n!web02 = myapp\n");
    struct run r;
    run_project(&r, NULL);
    assert_clean(&r);
    assert_int_equal(r.g.ncomponents, 3);
    assert_false(r.g.components[component_index(&r, "web01", "myapp")].ignore);
    assert_true(r.g.components[component_index(&r, "web01", "basething")].ignore);
    assert_true(r.g.components[component_index(&r, "web02", "myapp")].ignore);
    assert_string_equal(param(node_at(&r, "web01", "myapp/Command(greet)"), "run"), "hi web01");
    assert_string_equal(
        param(node_at(&r, "web01", "myapp/BaseThing/Command(base)"), "run"), "echo 9");
    assert_string_equal(param(node_at(&r, "web01", "basething/Command(base)"), "run"), "echo 7");
    run_release(&r);
}

static void test_load_errors(void **state)
{
    (void)state;
    write_file("components/a/component.lua", "Tick = Component {}\n");
    write_file("components/b/component.lua", "-- another\n\nTICK = Component {}\n");
    write_file("components/c/component.lua", "X = Component {\n  a = 1,\n  b = = 2,\n}\n");
    write_file("components/d/component.lua", "local t = nil\nY = t.field\n");
    write_file("components/e/component.lua", "Z = Component { a = Attribute('intt', 1) }\n");
    write_file("components/f/component.lua", "error({})\n");
    write_file(CFG, "[hosts]\nweb01 = tick\n");
    struct run r;
    diags_init(&r.d);
    assert_int_equal(environment_load(&r.env, "dev", &r.d), 0);
    struct model *m = model_new(&r.env, NULL, 0, &r.d);
    assert_non_null(m);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    diags_report(&r.d, f);
    fclose(f);
    r.report = text;
    assert_reported(&r, "components/b/component.lua:3: component 'tick' is defined twice: in "
                        "components/a/component.lua:1 and here");
    assert_reported(&r, "components/c/component.lua:3: unexpected symbol near '='");
    assert_reported(&r, "components/d/component.lua:2: attempt to index a nil value");
    assert_reported(&r, "components/e/component.lua:1: unknown attribute type 'intt' (did you "
                        "mean 'int'?)");
    assert_reported(&r, "components/f/component.lua:1: error object is a table value");
    model_free(m);
    diags_release(&r.d);
    environment_release(&r.env);
    free(r.report);
}

static void test_attribute_conversions(void **state)
{
    (void)state;
    write_file("components/tick/component.lua",
               SHOW_FN "Tick = Component {\n"
               "  sleep = Attribute('int', 1),\n"
               "  ratio = Attribute('float', '0.5'),\n"
               "  on = Attribute('bool', 'Yes'),\n"
               "  off = Attribute('bool', 'OFF'),\n"
               "  items = Attribute('list', 'a, b,\\n c,,'),\n"
               "  lit = Attribute('literal', \"[1, 'x', True]\"),\n"
               "  name = Attribute('str', '{{host.fqdn}}:{{component.sleep}}'),\n"
               "  addr = Attribute('Address', 'www.example.com:8080'),\n"
               "}\n"
               "function Tick:configure()\n" SHOW("sleep", "self.sleep") SHOW("ratio", "self.ratio")
                   SHOW("on", "self.on") SHOW("off", "self.off") SHOW("items", "self.items")
                       SHOW("lit", "self.lit") SHOW("name", "self.name")
                           SHOW("addr", "tostring(self.addr.listen)") "end\n");
    write_file(CFG, "[environment]\nhost_domain = example.com\n\n"
                    "[hosts]\nweb01 = tick\n\n"
                    "[component:tick]\nsleep = 42\n\n"
                    "[resolver]\nwww.example.com = 192.0.2.10\n");
    struct run r;
    run_project(&r, NULL);
    assert_clean(&r);
    const char *expected[][2] = {
        {"sleep", "integer:42"},
        {"ratio", "float:0.5"},
        {"on", "boolean:true"},
        {"off", "boolean:false"},
        {"items", "[string:a,string:b,string:c]"},
        {"lit", "[integer:1,string:x,boolean:true]"},
        {"name", "string:web01.example.com:42"},
        {"addr", "string:192.0.2.10:8080"},
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        char *path = xasprintf("tick/Command(%s)", expected[i][0]);
        assert_string_equal(param(node_at(&r, "web01", path), "run"), expected[i][1]);
        free(path);
    }
    run_release(&r);
}

static void test_attribute_errors(void **state)
{
    (void)state;
    write_file("components/tick/component.lua",
               "Tick = Component {\n"
               "  sleep = Attribute('int', 1),\n"
               "  flag = Attribute('bool', 'maybe'),\n"
               "  lit = Attribute('literal', '1'),\n"
               "  password = Attribute('str', nil),\n"
               "  name = Attribute('str', '{{host.nope}}'),\n"
               "  echo = Attribute('str', 'x{{component.sleep}}'),\n"
               "}\n"
               "Loop = Component {\n"
               "  a = Attribute('str', '{{component.b}}'),\n"
               "  b = Attribute('str', '{{component.a}}'),\n"
               "}\n");
    write_file(CFG, "[hosts]\n"
                    "web01 = tick, tock, loop\n"
                    "\n"
                    "[component:tick]\n"
                    "sleep = abc\n"
                    "lit = [1, 2\n"
                    "slep = 3\n"
                    "\n"
                    "[component:tack]\n"
                    "x = 1\n");
    struct run r;
    run_project(&r, NULL);
    assert_int_equal(r.configured, -1);
    assert_reported(&r, CFG ":5:9: host 'web01': component 'tick': attribute 'sleep': cannot "
                        "convert 'abc' to int");
    assert_reported(&r, CFG ":6:");
    assert_reported(&r, "host 'web01': component 'tick': attribute 'lit': cannot parse literal "
                        "'[1, 2':");
    assert_reported(&r, CFG ":7: component 'tick': attribute 'slep' does not exist (did you mean "
                        "'sleep'?)");
    assert_reported(&r, CFG ":10: [component:tack]: no component 'tack' (did you mean "
                        "'tick'?)");
    assert_reported(&r, CFG ":2:15: host 'web01': no component 'tock' (did you mean 'tick'?)");
    assert_reported(&r, "components/tick/component.lua:3: host 'web01': component 'tick': "
                        "attribute 'flag': cannot convert 'maybe' to bool");
    assert_reported(&r, "components/tick/component.lua:5: host 'web01': component 'tick': "
                        "attribute 'password' is required but has no value: set it in "
                        "[component:tick]");
    assert_reported(&r, "components/tick/component.lua:6: host 'web01': component 'tick': "
                        "attribute 'name': ");
    /* echo uses sleep: only sleep's error is reported */
    assert_null(strstr(r.report, "'echo'"));
    assert_reported(&r, "components/tick/component.lua:10: host 'web01': component 'loop': "
                        "attribute 'a' refers to itself: a -> b -> a\n");
    assert_int_equal(r.d.count, 9);
    run_release(&r);
}

static void test_override_templated(void **state)
{
    (void)state;
    write_file("components/tick/component.lua",
               "Tick = Component { url = Attribute('str', 'x'), port = Attribute('int', 80) }\n"
               "function Tick:configure()\n"
               "  self:add(Command { 'url', run = self.url })\n"
               "end\n");
    write_file(CFG, "[environment]\nhost_domain = example.com\n\n"
                    "[host:web01]\ncomponents = tick\ndata-n = 1\n\n"
                    "[host:web02]\ncomponents = tick\ndata-n = 2\n\n"
                    "[component:tick]\nurl = http://{{host.fqdn}}:{{component.port}}/\n"
                    "port = 8{{host.data.n}}\n");
    struct run r;
    run_project(&r, NULL);
    assert_clean(&r);
    assert_string_equal(param(node_at(&r, "web01", "tick/Command(url)"), "run"),
                        "http://web01.example.com:81/");
    assert_string_equal(param(node_at(&r, "web02", "tick/Command(url)"), "run"),
                        "http://web02.example.com:82/");
    run_release(&r);
}

static void test_instances_independent(void **state)
{
    (void)state;
    write_file("components/tick/component.lua",
               "Tick = Component { servers = {}, count = Attribute('list', '') }\n"
               "function Tick:configure()\n"
               "  table.insert(self.servers, self.host.name)\n"
               "  table.insert(self.count, 'x')\n"
               "  self.mine = (self.mine or 0) + 1\n"
               "  self:add(Command { 'state', run = table.concat(self.servers, ',') .. '|' .. "
               "#self.count .. '|' .. self.mine .. '|' .. #Tick.servers })\n"
               "end\n");
    write_file(CFG, "[hosts]\nweb01 = tick\nweb02 = tick\n");
    struct run r;
    run_project(&r, NULL);
    assert_clean(&r);
    assert_string_equal(param(node_at(&r, "web01", "tick/Command(state)"), "run"), "web01|1|1|0");
    assert_string_equal(param(node_at(&r, "web02", "tick/Command(state)"), "run"), "web02|1|1|0");
    run_release(&r);
}

static void test_subcomponents(void **state)
{
    (void)state;
    write_file("components/tick/component.lua",
               "Sub = Component { namevar = 'name', port = Attribute('int', 1) }\n"
               "function Sub:configure()\n"
               "  self:add(Command { 'run', run = self.name .. ':' .. self.port .. ':' .. "
               "self.parent.host.name })\n"
               "end\n"
               "Plain = Component {}\n"
               "function Plain:configure() self:add(Command { 'x' }) end\n"
               "Tick = Component {}\n"
               "function Tick:configure()\n"
               "  local s = self:add(Sub { 'a', port = '80' })\n"
               "  self:add(Sub { 'a' })\n"
               "  self:add(Plain {})\n"
               "  self:add(Plain {})\n"
               "  assert(s.port == 80)\n"
               "end\n"
               "Bad = Component {}\n"
               "function Bad:configure()\n"
               "  self:add(Sub { 'b', prot = 80 })\n"
               "end\n");
    write_file(CFG, "[hosts]\nweb01 = tick\nweb02 = bad\n");
    struct run r;
    run_project(&r, NULL);
    assert_reported(&r, "components/tick/component.lua:17: host 'web02': component 'bad': Sub "
                        "has no attribute 'prot' (did you mean 'port'?)");
    run_release(&r);

    write_file(CFG, "[hosts]\nweb01 = tick\n");
    run_project(&r, NULL);
    assert_clean(&r);
    assert_string_equal(param(node_at(&r, "web01", "tick/Sub(a)/Command(run)"), "run"),
                        "a:80:web01");
    assert_string_equal(param(node_at(&r, "web01", "tick/Sub(a)#2/Command(run)"), "run"),
                        "a:1:web01");
    node_at(&r, "web01", "tick/Plain/Command(x)");
    node_at(&r, "web01", "tick/Plain#2/Command(x)");
    run_release(&r);
}

static void test_platforms(void **state)
{
    (void)state;
    write_file("components/tick/component.lua",
               "Tick = Component {}\n"
               "function Tick:configure() self:add(Command { 'base' }) end\n"
               "Tick:platform('debian', function(self) self:add(Command { 'apt' }) end)\n"
               "Tick:platform('nixos', function(self) self:add(Command { 'nix' }) end)\n");
    write_file(CFG, "[environment]\nplatform = nixos\n\n"
                    "[hosts]\nweb02 = tick\n\n[host:web01]\ncomponents = tick\nplatform = debian\n");
    struct run r;
    run_project(&r, NULL);
    assert_clean(&r);
    node_at(&r, "web01", "tick/Command(apt)");
    node_at(&r, "web02", "tick/Command(nix)");
    assert_int_equal(r.g.nnodes, 4);
    run_release(&r);

    run_project(&r, "debian");
    assert_clean(&r);
    node_at(&r, "web02", "tick/Command(apt)");
    run_release(&r);
}

static void test_bad_lua(void **state)
{
    (void)state;
    write_file("components/bad/component.lua",
               "Obj = Component {}\n"
               "function Obj:configure() error({}) end\n"
               "Str = Component {}\n"
               "function Str:configure()\n"
               "  error(setmetatable({}, { __tostring = function() error('x') end }))\n"
               "end\n"
               "Deep = Component {}\n"
               "local function f(n) return f(n + 1) + 1 end\n"
               "function Deep:configure() f(1) end\n"
               "Msg = Component {}\n"
               "function Msg:configure() error('plain message') end\n"
               "Misuse = Component {}\n"
               "function Misuse:configure() self:provide(42, 1) end\n"
               "Quit = Component {}\n"
               "function Quit:configure() os.exit(3) end\n");
    write_file(CFG, "[hosts]\nweb01 = obj, str, deep, msg, misuse, quit\n");
    struct run r;
    run_project(&r, NULL);
    assert_reported(&r, "host 'web01': component 'obj': error object is a table value");
    assert_reported(&r, "host 'web01': component 'str': error object whose __tostring fails");
    assert_reported(&r, "components/bad/component.lua:8: host 'web01': component 'deep': "
                        "stack overflow");
    assert_reported(&r, "components/bad/component.lua:11: host 'web01': component 'msg': "
                        "plain message");
    assert_reported(&r, "components/bad/component.lua:13: host 'web01': component 'misuse': "
                        "provide expects a key (string), got 42");
    assert_reported(&r, "components/bad/component.lua:15: host 'web01': component 'quit': "
                        "os.exit is not allowed in the model");
    run_release(&r);
}

static void test_secrets_sensitive(void **state)
{
    (void)state;
    write_file("components/db/component.lua",
               "DB = Component { password = Attribute('str', nil), port = Attribute('int', 1) }\n"
               "function DB:configure()\n"
               "  self:add(File { 'db.conf', content = 'password={{component.password}}' })\n"
               "  self:add(File { 'other.conf', content = 'nothing secret' })\n"
               "end\n");
    write_file(CFG, "[hosts]\ndb01 = db\n");
    struct run r;
    run_full(&r, NULL, "[component:db]\npassword = s3cr3t-value\n", 0);
    assert_clean(&r);
    assert_true(node_at(&r, "db01", "db/File(db.conf)")->sensitive);
    assert_false(node_at(&r, "db01", "db/File(other.conf)")->sensitive);
    run_release(&r);

    run_full(&r, NULL, "[component:db]\npassword = x\nport = s3cr3t\n", 0);
    assert_reported(&r, "attribute 'port': cannot convert the secret value to int");
    assert_null(strstr(r.report, "s3cr3t"));
    run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_classes_registered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attribute_conversions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attribute_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_override_templated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instances_independent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subcomponents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_platforms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_lua, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets_sensitive, setup, teardown),
    };
    if (getenv("TEST_MODEL_ONLY")) /* a glob of test names, to run a few */
        cmocka_set_test_filter(getenv("TEST_MODEL_ONLY"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
