/* link: engine/model/model*.c engine/template/template_*.c engine/model/literal.c engine/model/address.c engine/graph/graph.c engine/graph/check.c engine/diag.c engine/util.c environments/environment*.c environments/secrets*.c environments/ini.c rules/?*.c hosts/host.c */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/diag.h"
#include "engine/graph/graph.h"
#include "engine/model/model.h"
#include "engine/util.h"
#include "environments/environment.h"
#include "environments/secrets.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CFG "environments/dev/environment.cfg"

static char old_cwd[4096];
static char tmpdir[256];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    (void)state;
    if (!getcwd(old_cwd, sizeof old_cwd))
        return -1;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_model.XXXXXX");
    if (!mkdtemp(tmpdir) || chdir(tmpdir) < 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (chdir(old_cwd) < 0)
        return -1;
    return nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write text to path, creating the directories above it. */
static void write_file(const char *path, const char *text)
{
    char *copy = xstrdup(path);
    for (char *s = strchr(copy, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        mkdir(copy, 0777);
        *s = '/';
    }
    free(copy);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

struct run {
    struct environment env;
    struct diags d;
    struct model *m;
    struct graph g;
    int configured; /* model_configure's result */
    int built;      /* model_build_graph's result, -2 when it did not run */
    char *report;   /* what the user sees: diags_report */
};

/* Load environment dev (plus decrypted secrets text, when given), configure
 * and build the graph, as `batou-ng graph dev` does. */
static void run_full(struct run *r, const char *platform, const char *secrets,
                     enum model_flags flags)
{
    memset(r, 0, sizeof *r);
    diags_init(&r->d);
    graph_init(&r->g, "dev");
    assert_int_equal(environment_load(&r->env, "dev", &r->d), 0);
    if (secrets) {
        /* As decrypted from secrets.cfg.gpg: [batou] lists the members. */
        char *text = xasprintf("[batou]\nmembers = alice@example.com\n%s", secrets);
        assert_int_equal(secrets_merge(&r->env, "environments/dev/secrets.cfg", text,
                                       strlen(text), &r->d),
                         0);
        free(text);
    }
    r->m = model_new(&r->env, platform, flags, &r->d);
    assert_non_null(r->m);
    r->configured = model_configure(r->m, &r->d);
    r->built = -2;
    if (r->configured == 0 && r->d.count == 0)
        r->built = model_build_graph(r->m, &r->g, &r->d);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    diags_report(&r->d, f);
    fclose(f);
    r->report = text;
    if (getenv("TEST_MODEL_SHOW")) /* to see what users see */
        fputs(text, stderr);
}

static void run_project(struct run *r, const char *platform)
{
    run_full(r, platform, NULL, 0);
}

static void run_release(struct run *r)
{
    model_free(r->m);
    graph_release(&r->g);
    diags_release(&r->d);
    environment_release(&r->env);
    free(r->report);
}

static void assert_clean(struct run *r)
{
    if (r->d.count)
        fail_msg("unexpected errors:\n%s", r->report);
    assert_int_equal(r->configured, 0);
    assert_int_equal(r->built, 0);
}

static void assert_reported(struct run *r, const char *text)
{
    if (!strstr(r->report, text))
        fail_msg("expected the report to contain\n  %s\nbut it was:\n%s", text, r->report);
}

static const struct node *node_at(struct run *r, const char *host, const char *path)
{
    char *key = xasprintf("dev/%s/%s", host, path);
    size_t i = graph_find_node(&r->g, key);
    if (i == (size_t)-1) {
        fprintf(stderr, "nodes:\n");
        for (size_t k = 0; k < r->g.nnodes; k++)
            fprintf(stderr, "  %s\n", r->g.nodes[k].key);
        fail_msg("no node '%s'", key);
    }
    free(key);
    return &r->g.nodes[i];
}

static size_t node_index(struct run *r, const char *host, const char *path)
{
    return (size_t)(node_at(r, host, path) - r->g.nodes);
}

static const char *param(const struct node *n, const char *name)
{
    for (size_t i = 0; i < n->nparams; i++)
        if (strcmp(n->params[i].name, name) == 0)
            return n->params[i].value;
    return NULL;
}

static int has_edge(struct run *r, size_t from, size_t to, enum edge_kind kind)
{
    for (size_t i = 0; i < r->g.nedges; i++)
        if (r->g.edges[i].from == from && r->g.edges[i].to == to && r->g.edges[i].kind == kind)
            return 1;
    return 0;
}

static size_t component_index(struct run *r, const char *host, const char *name)
{
    size_t i = graph_find_component(&r->g, host, name);
    assert_true(i != (size_t)-1);
    return i;
}

/* A Command whose name shows a Lua value, to look at values from the graph. */
#define SHOW(name, expr) "self:add(Command { \"" name "\", run = show(" expr ") })\n"
#define SHOW_FN                                                                            \
    "function show(v)\n"                                                                   \
    "  if type(v) == 'table' then\n"                                                       \
    "    local parts = {}\n"                                                               \
    "    for i, x in ipairs(v) do parts[i] = show(x) end\n"                                \
    "    return '[' .. table.concat(parts, ',') .. ']'\n"                                  \
    "  end\n"                                                                              \
    "  return (math.type(v) or type(v)) .. ':' .. tostring(v)\n"                           \
    "end\n"

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

static const char resources_lua[] =
    "App = Component {}\n"
    "function App:configure()\n"
    "  local dbs = self:require('db')\n"
    "  self:add(Command { 'dbs', run = table.concat(dbs, ' ') })\n"
    "  local one = self:require_one('dbmain', { host = 'db02' })\n"
    "  self:add(Command { 'one', run = one })\n"
    "  local mine = self:require('db', { host = self.host, strict = false })\n"
    "  self:add(Command { 'mine', run = '#' .. #mine })\n"
    "end\n"
    "DB = Component { port = Attribute('int', 5432) }\n"
    "function DB:configure()\n"
    "  self:provide('db', self.host.name .. ':' .. self.port)\n"
    "  self:provide('db', self.host.name .. ':' .. (self.port + 1))\n"
    "  self:provide('dbmain', self.host.name)\n"
    "  self:add(Command { 'db' })\n"
    "end\n"
    "Alt = Component {}\n"
    "function Alt:configure() self:provide('db', self.host.name .. ':alt') end\n"
    "Monitor = Component {}\n"
    "function Monitor:configure()\n"
    "  self:require('db', { reverse = true })\n"
    "  self:add(Command { 'mon' })\n"
    "end\n";

static void test_resources(void **state)
{
    (void)state;
    write_file("components/app/component.lua", resources_lua);
    /* Values come by provider host (environment order), root name, provide
     * order. */
    write_file(CFG, "[hosts]\nweb01 = app, monitor\ndb02 = db, alt\ndb01 = db\n");
    struct run r;
    run_project(&r, NULL);
    assert_clean(&r);
    assert_string_equal(param(node_at(&r, "web01", "app/Command(dbs)"), "run"),
                        "db02:alt db02:5432 db02:5433 db01:5432 db01:5433");
    assert_string_equal(param(node_at(&r, "web01", "app/Command(one)"), "run"), "db02");
    assert_string_equal(param(node_at(&r, "web01", "app/Command(mine)"), "run"), "#0");
    size_t app = component_index(&r, "web01", "app");
    size_t mon = component_index(&r, "web01", "monitor");
    size_t db1 = component_index(&r, "db01", "db");
    size_t db2 = component_index(&r, "db02", "db");
    assert_true(has_edge(&r, db1, app, EDGE_RESOURCE));
    assert_true(has_edge(&r, db2, app, EDGE_RESOURCE));
    assert_true(has_edge(&r, mon, db1, EDGE_RESOURCE));
    assert_false(has_edge(&r, db1, mon, EDGE_RESOURCE));
    run_release(&r);
}

static void test_resource_errors(void **state)
{
    (void)state;
    write_file("components/loop/component.lua",
               "A = Component {}\n"
               "function A:configure() self:provide('a', 1); self:require('b') end\n"
               "B = Component {}\n"
               "function B:configure() self:provide('b', 1); self:require('a') end\n"
               "Lonely = Component {}\n"
               "function Lonely:configure() self:require('nothing', { host = 'db01' }) end\n"
               "Spare = Component {}\n"
               "function Spare:configure() self:provide('spare', 1) end\n"
               "Dup = Component {}\n"
               "function Dup:configure() self:provide('dup', 1); self:provide('dup', 2) end\n"
               "One = Component {}\n"
               "function One:configure() self:require_one('dup') end\n");
    write_file(CFG, "[hosts]\nweb01 = a, b, lonely, spare\n");
    struct run r;
    run_project(&r, NULL);
    assert_int_equal(r.configured, -1);
    assert_reported(&r, "components/loop/component.lua:6: host 'web01': component 'lonely': "
                        "require: nothing provides resource 'nothing' on host 'db01'\n");
    assert_reported(&r, "components/loop/component.lua:8: host 'web01': component 'spare': "
                        "resource 'spare' is provided but nothing requires it");
    assert_reported(&r, "dependency cycle: web01:a -> web01:b -> web01:a");
    run_release(&r);

    /* A root that fails provides nothing: unused provides are not reported,
     * unsatisfied requires say why they may be. */
    write_file(CFG, "[hosts]\nweb01 = lonely, spare\ndb01 = dup, one\n");
    run_project(&r, NULL);
    assert_reported(&r, "components/loop/component.lua:12: host 'db01': component 'one': "
                        "require_one: resource 'dup' has 2 values, expected exactly 1");
    assert_reported(&r, "require: nothing provides resource 'nothing' on host 'db01' "
                        "(components that failed to configure provide nothing)");
    assert_null(strstr(r.report, "'spare' is provided"));
    run_release(&r);
}

static void test_fixed_point(void **state)
{
    (void)state;
    /* first provides what second computes from third, listed in the worst
     * order: every configure has to run again. */
    write_file("components/chain/component.lua",
               "First = Component {}\n"
               "function First:configure()\n"
               "  local v = self:require_one('second')\n"
               "  self:add(Command { 'first', run = v })\n"
               "end\n"
               "Second = Component {}\n"
               "function Second:configure()\n"
               "  local v = self:require('third', { strict = false })\n"
               "  self:provide('second', 'second(' .. table.concat(v, ',') .. ')')\n"
               "end\n"
               "Third = Component {}\n"
               "function Third:configure()\n"
               "  self:provide('third', 'third')\n"
               "end\n"
               "Flip = Component {}\n"
               "function Flip:configure()\n"
               "  FLIPS = (FLIPS or 0) + 1\n"
               "  self:provide('flip', FLIPS)\n"
               "  self:require('flip')\n"
               "end\n");
    write_file(CFG, "[hosts]\nweb01 = first, second, third\n");
    struct run r;
    run_project(&r, NULL);
    assert_clean(&r);
    assert_string_equal(param(node_at(&r, "web01", "first/Command(first)"), "run"),
                        "second(third)");
    run_release(&r);

    write_file(CFG, "[hosts]\nweb01 = flip\n");
    run_project(&r, NULL);
    assert_reported(&r, "configuration did not converge after");
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

static void test_rule_errors(void **state)
{
    (void)state;
    write_file("components/tick/component.lua",
               "Tick = Component {}\n"
               "function Tick:configure()\n"
               "  self:add(File { 'a.txt', mdoe = '0644' })\n"
               "end\n"
               "Tock = Component {}\n"
               "function Tock:configure()\n"
               "  self:add(File { 'missing.txt' })\n"
               "end\n"
               "Tack = Component {}\n"
               "function Tack:configure()\n"
               "  self:add(Symlink { 'a' })\n"
               "end\n");
    write_file(CFG, "[hosts]\nweb01 = tick, tock, tack\n");
    struct run r;
    run_project(&r, NULL);
    assert_reported(&r, "components/tick/component.lua:3: host 'web01': component 'tick': "
                        "unknown parameter 'mdoe' for File (did you mean 'mode'?)");
    assert_reported(&r, "components/tick/component.lua:7: host 'web01': component 'tock': "
                        "source file 'components/tick/missing.txt' does not exist");
    assert_reported(&r, "components/tick/component.lua:11: host 'web01': component 'tack': "
                        "missing parameter 'source' for Symlink");
    run_release(&r);
}

static void test_file_template(void **state)
{
    (void)state;
    write_file("components/tick/component.lua",
               "Tick = Component { port = Attribute('int', 8080) }\n"
               "function Tick:configure()\n"
               "  self.servers = { 'a', 'b' }\n"
               "  self:add(File { 'tick.conf', mode = 'rw-r-----' })\n"
               "  self:add(File { '/etc/x', content = 'port={{component.port}}' })\n"
               "  self:add(File { 'args', content = '{{args.n}}', template_args = { n = 5 } })\n"
               "  self:add(BinaryFile { 'raw', source = 'tick.conf' })\n"
               "  self:add(File { 'plain', source = 'tick.conf', is_template = false })\n"
               "end\n"
               "Bad = Component {}\n"
               "function Bad:configure() self:add(File { 'bad.conf' }) end\n");
    write_file("components/tick/tick.conf",
               "{% for s in component.servers %}{{ s }}@{{ host.name }}:{{ component.port }}\n"
               "{% endfor %}");
    write_file("components/tick/bad.conf", "line one\nvalue = {{ component.nope }}\n");
    write_file(CFG, "[environment]\nconnect_method = ssh\ntarget_directory = ~/deploy/\n\n"
                    "[hosts]\nweb01 = tick\n");
    struct run r;
    run_project(&r, NULL);
    assert_clean(&r);
    const struct node *n = node_at(&r, "web01", "tick/File(tick.conf)");
    assert_string_equal(n->content, "a@web01:8080\nb@web01:8080\n");
    assert_string_equal(param(n, "path"), "~/deploy/work/tick/tick.conf");
    assert_string_equal(param(n, "mode"), "0640");
    assert_string_equal(param(n, "source"), "components/tick/tick.conf");
    assert_int_equal(n->nsources, 1);
    assert_string_equal(n->sources[0], "components/tick/tick.conf");
    assert_string_equal(n->defined_at, "components/tick/component.lua:4");
    assert_null(param(n, "content"));
    n = node_at(&r, "web01", "tick/File(/etc/x)");
    assert_string_equal(n->content, "port=8080");
    assert_string_equal(param(n, "path"), "/etc/x");
    assert_string_equal(node_at(&r, "web01", "tick/File(args)")->content, "5");
    assert_memory_equal(node_at(&r, "web01", "tick/BinaryFile(raw)")->content,
                        "{% for s in", 11);
    assert_memory_equal(node_at(&r, "web01", "tick/File(plain)")->content, "{% for s in", 11);
    run_release(&r);

    write_file(CFG, "[hosts]\nweb01 = bad\n");
    run_project(&r, NULL);
    assert_int_equal(r.built, -1);
    assert_reported(&r, "components/tick/bad.conf:2:");
    assert_reported(&r, "host 'web01': component 'bad': ");
    run_release(&r);
}

static void test_directory_sync(void **state)
{
    (void)state;
    write_file("components/site/component.lua",
               "Site = Component {}\n"
               "function Site:configure()\n"
               "  self:add(Directory { 'htdocs', source = 'static', exclude = { '*.pyc', "
               "'cache' } })\n"
               "end\n");
    write_file("components/site/static/index.html", "<h1>hi</h1>\n");
    write_file("components/site/static/x.pyc", "junk");
    write_file("components/site/static/cache/big", "junk");
    write_file("components/site/static/css/a.css", "a{}");
    write_file("components/site/static/run.sh", "#!/bin/sh\n");
    chmod("components/site/static/run.sh", 0755);
    write_file(CFG, "[environment]\nconnect_method = local\n\n[hosts]\nlocalhost = site\n");
    struct run r;
    run_project(&r, NULL);
    assert_clean(&r);
    assert_int_equal(r.g.nnodes, 4);
    char *cwd = getcwd(NULL, 0);
    char *expected = xasprintf("%s/work/site/htdocs", cwd);
    const struct node *dir = node_at(&r, "localhost", "site/Directory(htdocs)");
    assert_string_equal(param(dir, "path"), expected);
    assert_string_equal(param(dir, "exclude"), "[\"*.pyc\",\"cache\"]");
    const struct node *css = node_at(&r, "localhost", "site/Directory(htdocs)/File(css/a.css)");
    assert_string_equal(css->content, "a{}");
    free(expected);
    expected = xasprintf("%s/work/site/htdocs/css/a.css", cwd);
    assert_string_equal(param(css, "path"), expected);
    assert_string_equal(css->sources[0], "components/site/static/css/a.css");
    const struct node *run = node_at(&r, "localhost", "site/Directory(htdocs)/File(run.sh)");
    assert_string_equal(param(run, "mode"), "0755");
    node_at(&r, "localhost", "site/Directory(htdocs)/File(index.html)");
    size_t d = node_index(&r, "localhost", "site/Directory(htdocs)");
    assert_true(has_edge(&r, d, d + 1, EDGE_ORDER));
    free(expected);
    free(cwd);
    run_release(&r);
}

static void test_edges(void **state)
{
    (void)state;
    write_file("components/app/component.lua",
               "Conf = Component {}\n"
               "function Conf:configure()\n"
               "  self:add(File { 'a', content = 'a' })\n"
               "  self:add(File { 'b', content = 'b' })\n"
               "end\n"
               "App = Component {}\n"
               "function App:configure()\n"
               "  local f = self:add(File { 'main', content = 'x' })\n"
               "  local conf = self:add(Conf {})\n"
               "  self:add(Command { 'restart', watch = { f, conf } })\n"
               "  self:add(Command { 'late', after = f })\n"
               "  local orphan = File { 'never', content = '' }\n"
               "  self:add(Command { 'bad', watch = orphan })\n"
               "end\n");
    write_file(CFG, "[hosts]\nweb01 = app\n");
    struct run r;
    run_project(&r, NULL);
    assert_reported(&r, "components/app/component.lua:13: host 'web01': component 'app': "
                        "app/Command(bad): 'watch' names File(never) (never added), which is "
                        "not part of the model");
    run_release(&r);

    write_file("components/app/component.lua",
               "Conf = Component {}\n"
               "function Conf:configure()\n"
               "  self:add(File { 'a', content = 'a' })\n"
               "  self:add(File { 'b', content = 'b' })\n"
               "end\n"
               "App = Component {}\n"
               "function App:configure()\n"
               "  local f = self:add(File { 'main', content = 'x' })\n"
               "  local conf = self:add(Conf {})\n"
               "  self:add(Command { 'restart', watch = { f, conf } })\n"
               "  self:add(Command { 'late', after = f })\n"
               "end\n");
    run_project(&r, NULL);
    assert_clean(&r);
    size_t main_ = node_index(&r, "web01", "app/File(main)");
    size_t a = node_index(&r, "web01", "app/Conf/File(a)");
    size_t b = node_index(&r, "web01", "app/Conf/File(b)");
    size_t restart = node_index(&r, "web01", "app/Command(restart)");
    size_t late = node_index(&r, "web01", "app/Command(late)");
    assert_true(has_edge(&r, main_, a, EDGE_ORDER));
    assert_true(has_edge(&r, a, b, EDGE_ORDER));
    assert_true(has_edge(&r, b, restart, EDGE_ORDER));
    assert_true(has_edge(&r, restart, late, EDGE_ORDER));
    assert_true(has_edge(&r, main_, restart, EDGE_WATCH));
    assert_true(has_edge(&r, a, restart, EDGE_WATCH));
    assert_true(has_edge(&r, b, restart, EDGE_WATCH));
    assert_true(has_edge(&r, main_, late, EDGE_AFTER));
    assert_false(has_edge(&r, late, main_, EDGE_AFTER));
    assert_string_equal(param(&r.g.nodes[restart], "watch"),
                        "[\"dev/web01/app/File(main)\",\"dev/web01/app/Conf/File(a)\","
                        "\"dev/web01/app/Conf/File(b)\"]");
    assert_string_equal(param(&r.g.nodes[late], "after"), "[\"dev/web01/app/File(main)\"]");
    assert_string_equal(param(&r.g.nodes[late], "cwd"), "~/deployment/work/app");
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

static void test_expand_template_log(void **state)
{
    (void)state;
    write_file("components/tick/component.lua",
               "Tick = Component { port = Attribute('int', 80) }\n"
               "function Tick:configure()\n"
               "  self:log('configuring ' .. self.host.name)\n"
               "  self:add(Command { 'expand', run = self:expand('{{host.name}}:{{component.port}}') })\n"
               "  self:add(Command { 'template', run = self:template('snippet.txt') })\n"
               "  self:add(Command { 'dirs', run = self.defdir .. ' ' .. self.workdir })\n"
               "end\n"
               "Bad = Component {}\n"
               "function Bad:configure()\n"
               "  self:expand('{{ nope }}')\n"
               "end\n");
    write_file("components/tick/snippet.txt", "port {{component.port}}");
    write_file(CFG, "[environment]\ntarget_directory = /srv/app\n\n[hosts]\nweb01 = tick\n");
    struct run r;
    fflush(stdout);
    int saved = dup(1);
    FILE *capture = tmpfile();
    dup2(fileno(capture), 1);
    run_full(&r, NULL, NULL, MODEL_VERBOSE);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    rewind(capture);
    char line[256] = "";
    assert_non_null(fgets(line, sizeof line, capture));
    fclose(capture);
    assert_string_equal(line, "web01 tick: configuring web01\n");
    assert_clean(&r);
    assert_string_equal(param(node_at(&r, "web01", "tick/Command(expand)"), "run"), "web01:80");
    assert_string_equal(param(node_at(&r, "web01", "tick/Command(template)"), "run"), "port 80");
    assert_string_equal(param(node_at(&r, "web01", "tick/Command(dirs)"), "run"),
                        "components/tick /srv/app/work/tick");
    run_release(&r);

    write_file(CFG, "[hosts]\nweb01 = bad\n");
    run_project(&r, NULL);
    assert_reported(&r, "components/tick/component.lua:10: host 'web01': component 'bad': "
                        "expand: ");
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

/* 50 hosts × 20 components = 1,000 roots, with attributes, templates, a
 * chain of resources listed backwards, and sub-components, all configured.
 * (The time it takes is tests/bench/bench_model.py's business.) */
static void test_a_thousand_roots(void **state)
{
    (void)state;
    struct buf cfg, lua;
    buf_init(&cfg);
    buf_init(&lua);
    buf_adds(&cfg, "[environment]\nhost_domain = example.com\n\n[hosts]\n");
    for (int c = 0; c < 20; c++) {
        buf_addf(&lua,
                 "C%d = Component { port = Attribute('int', %d), url = Attribute('str', "
                 "'{{host.fqdn}}:{{component.port}}') }\n"
                 "function C%d:configure()\n"
                 "  if %d < 19 then self:provide('svc%d', self.url) end\n"
                 "  if %d > 0 then self:require('svc%d', { host = self.host }) end\n"
                 "  self:add(File { 'c%d.conf', content = 'url={{component.url}}' })\n"
                 "  self:add(Part { 'p' })\n"
                 "end\n",
                 c, 8000 + c, c, c, c, c, c - 1, c);
    }
    buf_adds(&lua, "Part = Component { namevar = 'name' }\n"
                   "function Part:configure() self:add(Command { 'run ' .. self.name }) end\n");
    write_file("components/many/component.lua", lua.data);
    for (int h = 0; h < 50; h++) {
        buf_addf(&cfg, "host%02d = ", h);
        for (int c = 19; c >= 0; c--) /* providers last: the fixed point works hardest */
            buf_addf(&cfg, "%sc%d", c < 19 ? ", " : "", c);
        buf_addc(&cfg, '\n');
    }
    write_file(CFG, cfg.data);
    buf_release(&cfg);
    buf_release(&lua);
    struct run r;
    run_project(&r, NULL);
    assert_clean(&r);
    assert_int_equal(r.g.ncomponents, 1000);
    assert_int_equal(r.g.nnodes, 2000);
    /* 19 resource edges per host, and every root's order edges. */
    size_t resources = 0;
    for (size_t e = 0; e < r.g.nedges; e++)
        resources += r.g.edges[e].kind == EDGE_RESOURCE;
    assert_int_equal(resources, 50 * 19);
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
        cmocka_unit_test_setup_teardown(test_resources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fixed_point, setup, teardown),
        cmocka_unit_test_setup_teardown(test_platforms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rule_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_template, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_lua, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expand_template_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets_sensitive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_thousand_roots, setup, teardown),
    };
    if (getenv("TEST_MODEL_ONLY")) /* a glob of test names, to run a few */
        cmocka_set_test_filter(getenv("TEST_MODEL_ONLY"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
