/* link: engine/model/model*.c engine/template/template_*.c engine/model/literal.c engine/model/address.c engine/graph/graph.c engine/graph/check.c engine/diag.c engine/util.c environments/environment*.c environments/secrets*.c environments/ini.c rules/?*.c hosts/host.c rules/fetch.c hosts/fetch.c hosts/shell.c */
/* The nodes the model's rules add to the graph (engine/model/, rules/):
 * parameter errors, File templates, directory sync, the edges between
 * nodes and components, and a component's expand, template and log. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "model_testing.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rule_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_template, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expand_template_log, setup, teardown),
    };
    if (getenv("TEST_MODEL_ONLY")) /* a glob of test names, to run a few */
        cmocka_set_test_filter(getenv("TEST_MODEL_ONLY"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
