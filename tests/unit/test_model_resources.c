/* link: engine/model/model*.c engine/template/template_*.c engine/model/literal.c engine/model/address.c engine/graph/graph.c engine/graph/check.c engine/diag.c engine/util.c environments/environment*.c environments/secrets*.c environments/ini.c rules/?*.c hosts/host.c rules/fetch.c hosts/fetch.c hosts/shell.c */
/* Resources between components (engine/model/): provide and require,
 * their errors, the fixed point that configures again until they settle,
 * and 1,000 roots configured at once. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "model_testing.h"

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
        cmocka_unit_test_setup_teardown(test_resources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fixed_point, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_thousand_roots, setup, teardown),
    };
    if (getenv("TEST_MODEL_ONLY")) /* a glob of test names, to run a few */
        cmocka_set_test_filter(getenv("TEST_MODEL_ONLY"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
