/* link: environments/environment.c environments/environment_hosts.c environments/environment_local.c environments/ini.c engine/diag.c engine/util.c */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/diag.h"
#include "engine/util.h"
#include "environments/environment.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFG "environments/e/environment.cfg"

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
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_environment.XXXXXX");
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

static void write_env(const char *name, const char *text)
{
    mkdir("environments", 0777);
    char *dir = xasprintf("environments/%s", name);
    mkdir(dir, 0777);
    char *path = xasprintf("%s/environment.cfg", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(path);
    free(dir);
}

struct loaded {
    struct environment env;
    struct diags d;
    int result;
};

static void load(struct loaded *l, const char *text)
{
    write_env("e", text);
    diags_init(&l->d);
    l->result = environment_load(&l->env, "e", &l->d);
}

static void release(struct loaded *l)
{
    environment_release(&l->env);
    diags_release(&l->d);
}

static void assert_error(const struct loaded *l, size_t i, const char *expected)
{
    assert_true(i < l->d.count);
    const struct diag *e = &l->d.items[i];
    char *text = e->file ? xasprintf("%s:%d:%d: %s", e->file, e->line, e->col, e->message)
                         : xstrdup(e->message);
    assert_string_equal(text, expected);
    free(text);
}

static void assert_only_error(const struct loaded *l, const char *expected)
{
    assert_int_equal(l->result, -1);
    assert_error(l, 0, expected);
    assert_int_equal(l->d.count, 1);
}

static const struct env_host *host(const struct loaded *l, const char *name)
{
    for (size_t i = 0; i < l->env.nhosts; i++)
        if (strcmp(l->env.hosts[i].name, name) == 0)
            return &l->env.hosts[i];
    fail_msg("no host '%s'", name);
    return NULL;
}

static void test_defaults(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "");
    assert_int_equal(l.result, 0);
    assert_string_equal(l.env.name, "e");
    assert_string_equal(l.env.file, CFG);
    assert_string_equal(l.env.connect_method, "ssh");
    assert_string_equal(l.env.target_directory, "~/deployment");
    assert_null(l.env.host_domain);
    assert_null(l.env.service_user);
    assert_null(l.env.platform);
    assert_null(l.env.branch);
    assert_null(l.env.host_key_policy);
    assert_int_equal(l.env.timeout, 30);
    assert_int_equal(l.env.jobs, 0);
    assert_int_equal(l.env.require_v4, ADDRESS_REQUIRED);
    assert_int_equal(l.env.require_v6, ADDRESS_SKIPPED);
    assert_int_equal(l.env.nhosts, 0);
    assert_int_equal(l.env.nnotices, 0);
    release(&l);
}

static void expect_dirs(const struct environment *env, const char *host, const char *work,
                        const char *statedir)
{
    char *w, *st;
    environment_local_dirs(env, host, &w, &st);
    assert_string_equal(w, work);
    assert_string_equal(st, statedir);
    free(w);
    free(st);
}

/* One place says where a local environment deploys each host. */
static void test_local_dirs(void **state)
{
    (void)state;
    char *cwd = getcwd(NULL, 0);
    char *work = xasprintf("%s/work", cwd), *st = xasprintf("%s/work/.batou-ng", cwd);
    struct loaded l;
    load(&l, "[environment]\nconnect_method = local\n[hosts]\nweb = app\n");
    assert_false(l.env.target_directory_set);
    expect_dirs(&l.env, "web", work, st);
    release(&l);
    load(&l, "[environment]\nconnect_method = local\n[hosts]\na = app\n!b = app\n");
    char *wa = xasprintf("%s/a", work), *sa = xasprintf("%s/a", st);
    expect_dirs(&l.env, "a", wa, sa);
    release(&l);
    load(&l, "[environment]\ntarget_directory = t//\n");
    assert_true(l.env.target_directory_set);
    char *tw = xasprintf("%s/t/work", cwd), *ts = xasprintf("%s/t/.batou-ng", cwd);
    expect_dirs(&l.env, "x", tw, ts);
    release(&l);
    setenv("HOME", "/home/me", 1);
    load(&l, "[environment]\ntarget_directory = ~/dep\n");
    expect_dirs(&l.env, "x", "/home/me/dep/work", "/home/me/dep/.batou-ng");
    release(&l);
    load(&l, "[environment]\ntarget_directory = /srv/app\n");
    expect_dirs(&l.env, "x", "/srv/app/work", "/srv/app/.batou-ng");
    release(&l);
    free(cwd);
    free(work);
    free(st);
    free(wa);
    free(sa);
    free(tw);
    free(ts);
}

static void test_environment_keys(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "[environment]\n"
             "connect_method = local\n"
             "host_domain = example.com\n"
             "service_user = app\n"
             "target_directory = /srv/app\n"
             "platform = ubuntu\n"
             "branch = production\n"
             "timeout = 1_0\n"
             "jobs = 4\n"
             "require_v4 = optional\n"
             "require_v6 = TRUE\n"
             "host_key_policy = accept-new\n");
    assert_int_equal(l.result, 0);
    assert_string_equal(l.env.connect_method, "local");
    assert_string_equal(l.env.host_domain, "example.com");
    assert_string_equal(l.env.service_user, "app");
    assert_string_equal(l.env.target_directory, "/srv/app");
    assert_string_equal(l.env.platform, "ubuntu");
    assert_string_equal(l.env.branch, "production");
    assert_int_equal(l.env.timeout, 10);
    assert_int_equal(l.env.jobs, 4);
    assert_int_equal(l.env.require_v4, ADDRESS_OPTIONAL);
    assert_int_equal(l.env.require_v6, ADDRESS_REQUIRED);
    assert_string_equal(l.env.host_key_policy, "accept-new");
    release(&l);

    load(&l, "[environment]\nconnect_method = local\nrequire_v4 = no\nrequire_v6 = 1\n"
             "host_key_policy = strict\nplatform =\n");
    assert_int_equal(l.result, 0);
    assert_string_equal(l.env.connect_method, "local");
    assert_int_equal(l.env.require_v4, ADDRESS_SKIPPED);
    assert_int_equal(l.env.require_v6, ADDRESS_REQUIRED);
    assert_null(l.env.host_key_policy);
    assert_null(l.env.platform);
    release(&l);
}

static void test_notices(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "[environment]\nconnect_method = local\nupdate_method = rsync\n"
             "repository_url = ssh://x/y\nrepository_root = ..\n");
    assert_int_equal(l.result, 0);
    assert_int_equal(l.d.count, 0);
    assert_int_equal(l.env.nnotices, 3);
    assert_string_equal(l.env.notices[0], CFG ":3: 'update_method' is not needed by "
                                              "batou-ng (it ships no repository to the target); "
                                              "ignored");
    assert_string_equal(l.env.notices[2], CFG ":5: 'repository_root' is not needed by "
                                              "batou-ng (it ships no repository to the target); "
                                              "ignored");
    release(&l);
}

static void test_hosts_short_form(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "[hosts]\n"
             "web01 = nginx, MyApp\n"
             "!db01 = postgres\n"
             "lb = !haproxy,\n"
             "    varnish\n"
             "\n"
             "    monitoring ,\n"
             "bare =\n");
    assert_int_equal(l.result, 0);
    assert_int_equal(l.env.nhosts, 4);
    const struct env_host *h = host(&l, "web01");
    assert_int_equal(h->ignore, 0);
    assert_int_equal(h->ncomponents, 2);
    assert_string_equal(h->components[0].name, "nginx");
    assert_string_equal(h->components[1].name, "myapp");
    assert_int_equal(h->components[1].line, 2);
    assert_int_equal(h->components[1].col, 16);
    assert_string_equal(h->file, CFG);
    assert_int_equal(h->line, 2);
    assert_string_equal(h->fqdn, "web01");
    h = host(&l, "db01");
    assert_int_equal(h->ignore, 1);
    assert_int_equal(h->ncomponents, 1);
    h = host(&l, "lb");
    assert_int_equal(h->ncomponents, 3);
    assert_string_equal(h->components[0].name, "haproxy");
    assert_int_equal(h->components[0].ignore, 1);
    assert_string_equal(h->components[1].name, "varnish");
    assert_int_equal(h->components[1].ignore, 0);
    assert_int_equal(h->components[1].line, 5);
    assert_int_equal(h->components[1].col, 5);
    assert_string_equal(h->components[2].name, "monitoring");
    assert_int_equal(h->components[2].line, 7);
    h = host(&l, "bare");
    assert_int_equal(h->ncomponents, 0);
    release(&l);
}

static void test_host_sections(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "[environment]\nplatform = debian\n\n"
             "[host:web01]\n"
             "components =\n"
             "    nginx\n"
             "    !myapp\n"
             "platform = ubuntu\n"
             "service_user = www\n"
             "data-alias = www.example.com\n"
             "data-Weight = 3\n"
             "\n"
             "[host:web02]\n"
             "ignore = Yes\n"
             "\n"
             "[host:web03]\n"
             "ignore = off\n");
    assert_int_equal(l.result, 0);
    const struct env_host *h = host(&l, "web01");
    assert_int_equal(h->line, 4);
    assert_int_equal(h->ncomponents, 2);
    assert_string_equal(h->components[0].name, "nginx");
    assert_int_equal(h->components[0].line, 6);
    assert_string_equal(h->components[1].name, "myapp");
    assert_int_equal(h->components[1].ignore, 1);
    assert_string_equal(h->platform, "ubuntu");
    assert_string_equal(h->service_user, "www");
    assert_int_equal(h->ignore, 0);
    assert_int_equal(h->ndata, 2);
    assert_string_equal(h->data[0].key, "alias");
    assert_string_equal(h->data[0].value, "www.example.com");
    assert_int_equal(h->data[0].line, 10);
    assert_int_equal(h->data[0].col, 14);
    assert_string_equal(h->data[1].key, "weight");
    assert_string_equal(h->data[1].value, "3");
    h = host(&l, "web02");
    assert_int_equal(h->ignore, 1);
    assert_int_equal(h->ncomponents, 0);
    assert_null(h->platform);
    assert_null(h->service_user);
    assert_int_equal(host(&l, "web03")->ignore, 0);
    release(&l);
}

static void test_fqdn(void **state)
{
    (void)state;
    struct loaded l;
    /* host_domain may come after the hosts */
    load(&l, "[hosts]\nweb01 = a\nweb02.example.com = b\n[host:db01]\n"
             "[environment]\nhost_domain = example.com\n");
    assert_int_equal(l.result, 0);
    assert_string_equal(host(&l, "web01")->fqdn, "web01.example.com");
    assert_string_equal(host(&l, "web02.example.com")->fqdn, "web02.example.com");
    assert_string_equal(host(&l, "db01")->fqdn, "db01.example.com");
    release(&l);
}

static void test_component_overrides(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "[component:MyApp]\n"
             "workers = 8\n"
             "address = {{host.fqdn}}:9000\n"
             "servers =\n"
             "    a\n"
             "    b\n"
             "[component:nginx]\n"
             "port = 80\n");
    assert_int_equal(l.result, 0);
    assert_int_equal(l.env.noverrides, 4);
    const struct env_override *o = &l.env.overrides[0];
    assert_string_equal(o->component, "myapp");
    assert_string_equal(o->attribute, "workers");
    assert_string_equal(o->value, "8");
    assert_string_equal(o->file, CFG);
    assert_int_equal(o->line, 2);
    assert_int_equal(o->col, 11);
    assert_int_equal(o->secret, 0);
    o = &l.env.overrides[1];
    assert_string_equal(o->value, "{{host.fqdn}}:9000");
    assert_int_equal(o->line, 3);
    o = &l.env.overrides[2];
    assert_string_equal(o->value, "\na\nb");
    o = &l.env.overrides[3];
    assert_string_equal(o->component, "nginx");
    assert_string_equal(o->attribute, "port");
    release(&l);
}

static void test_resolver(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "[resolver]\n"
             "www.example.com =\n"
             "    192.0.2.10\n"
             "    2001:db8::10\n"
             "db = 192.0.2.20, 192.0.2.21\n");
    assert_int_equal(l.result, 0);
    assert_int_equal(l.env.nresolver, 2);
    const struct env_resolve *r = environment_resolve(&l.env, "WWW.example.com");
    assert_non_null(r);
    assert_int_equal(r->count, 2);
    assert_string_equal(r->addresses[0], "192.0.2.10");
    assert_string_equal(r->addresses[1], "2001:db8::10");
    assert_int_equal(r->line, 2);
    r = environment_resolve(&l.env, "db");
    assert_non_null(r);
    assert_int_equal(r->count, 2);
    assert_string_equal(r->addresses[1], "192.0.2.21");
    assert_null(environment_resolve(&l.env, "other"));
    release(&l);
}

static void test_error_resolver(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "[resolver]\n"
             "a =\n"
             "    192.0.2.10\n"
             "    not-an-ip\n"
             "b = 300.1.2.3\n"
             "c =\n");
    assert_int_equal(l.result, -1);
    assert_int_equal(l.d.count, 3);
    assert_error(&l, 0,
                 CFG ":4:5: invalid address 'not-an-ip' for 'a' in [resolver]: not an "
                     "IPv4 or IPv6 address");
    assert_error(&l, 1,
                 CFG ":5:5: invalid address '300.1.2.3' for 'b' in [resolver]: not an "
                     "IPv4 or IPv6 address");
    assert_error(&l, 2, CFG ":6:1: no address for 'c' in [resolver]");
    assert_null(environment_resolve(&l.env, "a"));
    release(&l);
}

static void test_error_host_twice(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "[environment]\n\n[hosts]\nweb01 = a\n\n[host:Web01]\ncomponents = b\n");
    assert_only_error(&l, CFG ":6:1: host 'Web01' is defined twice (first at " CFG ":4)");
    assert_int_equal(l.env.nhosts, 1);
    assert_string_equal(l.env.hosts[0].components[0].name, "a");
    release(&l);

    load(&l, "[hosts]\nweb01 = a\n!web01 = b\n");
    assert_only_error(&l, CFG ":3:1: host 'web01' is defined twice (first at " CFG ":2)");
    release(&l);

    load(&l, "[host:x]\n[host:y]\n[host: x ]\n");
    assert_only_error(&l, CFG ":3:1: host 'x' is defined twice (first at " CFG ":1)");
    release(&l);
}

static void test_error_unknown_section(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "[hots]\n[hots:web01]\n[Environment]\n[compnent:x]\n[whatever]\n");
    assert_int_equal(l.result, -1);
    assert_int_equal(l.d.count, 5);
    assert_error(&l, 0, CFG ":1:1: unknown section '[hots]' (did you mean '[hosts]'?)");
    assert_error(&l, 1, CFG ":2:1: unknown section '[hots:web01]' (did you mean '[host:web01]'?)");
    assert_error(&l, 2,
                 CFG ":3:1: unknown section '[Environment]' (did you mean '[environment]'?)");
    assert_error(&l, 3, CFG ":4:1: unknown section '[compnent:x]' (did you mean '[component:x]'?)");
    assert_error(&l, 4, CFG ":5:1: unknown section '[whatever]'");
    release(&l);
}

static void test_error_unsupported_sections(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "[vfs]\nsandbox = x\n[provisioner:default]\nmethod = fc-nixos-dev-container\n");
    assert_int_equal(l.result, -1);
    assert_int_equal(l.d.count, 2);
    assert_error(&l, 0, CFG ":1:1: section '[vfs]' is not supported by batou-ng");
    assert_error(&l, 1, CFG ":3:1: section '[provisioner:default]' is not supported by batou-ng");
    release(&l);
}

static void test_error_unknown_keys(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "[environment]\n"
             "  colour = blue\n"
             "conect_method = ssh\n"
             "[host:web01]\n"
             "platfrom = ubuntu\n"
             "data_alias = x\n"
             "provisioner = default\n"
             "data- = x\n");
    assert_int_equal(l.result, -1);
    assert_int_equal(l.d.count, 6);
    assert_error(&l, 0, CFG ":2:3: unknown key 'colour' in section '[environment]'");
    assert_error(&l, 1,
                 CFG ":3:1: unknown key 'conect_method' in section '[environment]' (did "
                     "you mean 'connect_method'?)");
    assert_error(&l, 2,
                 CFG ":5:1: unknown key 'platfrom' in section '[host:web01]' (did you "
                     "mean 'platform'?)");
    assert_error(&l, 3,
                 CFG ":6:1: unknown key 'data_alias' in section '[host:web01]' (did you "
                     "mean 'data-alias'?)");
    assert_error(&l, 4,
                 CFG ":7:1: key 'provisioner' is not supported by batou-ng (it has no "
                     "provisioners)");
    assert_error(&l, 5, CFG ":8:1: missing name after 'data-'");
    release(&l);
}

static void test_error_bad_values(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "[environment]\n"
             "timeout = abc\n"
             "jobs = 0\n"
             "require_v4 = maybe\n"
             "require_v6 =\n"
             "connect_method = ftp\n"
             "host_key_policy = yolo\n"
             "target_directory =\n"
             "platform = a\n"
             "  b\n"
             "[host:x]\n"
             "ignore = perhaps\n");
    assert_int_equal(l.result, -1);
    assert_int_equal(l.d.count, 9);
    assert_error(&l, 0, CFG ":2:11: 'timeout' must be a positive integer, got 'abc'");
    assert_error(&l, 1, CFG ":3:8: 'jobs' must be a positive integer, got '0'");
    assert_error(&l, 2, CFG ":4:14: 'require_v4' must be True, False or optional, got 'maybe'");
    assert_error(&l, 3, CFG ":5:13: 'require_v6' must be True, False or optional, got ''");
    assert_error(&l, 4,
                 CFG ":6:18: 'connect_method' must be 'local' or 'ssh', got "
                     "'ftp'");
    assert_error(&l, 5,
                 CFG ":7:19: 'host_key_policy' must be 'accept-new' or 'strict', got "
                     "'yolo'");
    assert_error(&l, 6, CFG ":8:19: 'target_directory' must not be empty");
    assert_error(&l, 7, CFG ":9:12: 'platform' takes one line, not several");
    assert_error(&l, 8, CFG ":12:10: 'ignore' must be true or false, got 'perhaps'");
    /* the defaults stay */
    assert_int_equal(l.env.timeout, 30);
    assert_string_equal(l.env.connect_method, "ssh");
    release(&l);
}

static void test_error_inline_comment_hint(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "[environment]\nconnect_method = ssh    # local | ssh\n");
    assert_only_error(&l, CFG ":2:18: 'connect_method' must be 'local' or 'ssh', got "
                              "'ssh    # local | ssh' (comments must be on a line of their own)");
    release(&l);
}

/* batou's vagrant: refused at -c with the way to do it, never accepted by
 * -c and then refused by every deploy. */
static void test_vagrant_is_refused_with_the_way_to_it(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "[environment]\nconnect_method = vagrant\n");
    assert_only_error(&l, CFG ":2:18: 'connect_method = vagrant' is not supported: write "
                              "'vagrant ssh-config' into ssh_config_e at the project's root and "
                              "use 'connect_method = ssh'");
    release(&l);
}

static void test_value_on_next_line(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "[environment]\ntimeout =\n    abc\n");
    assert_only_error(&l, CFG ":3:5: 'timeout' must be a positive integer, got 'abc'");
    release(&l);
    load(&l, "[environment]\ntimeout =\n    45\n");
    assert_int_equal(l.result, 0);
    assert_int_equal(l.env.timeout, 45);
    release(&l);
}

static void test_error_components(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "[hosts]\nweb01 = nginx, app,\n    NGINX\nweb02 = !, x\n-evil = a\n");
    assert_int_equal(l.result, -1);
    assert_int_equal(l.d.count, 3);
    assert_error(&l, 0,
                 CFG ":3:5: component 'nginx' is listed twice for host 'web01' (first at "
                     "line 2)");
    assert_error(&l, 1, CFG ":4:9: missing component name after '!'");
    assert_error(&l, 2, CFG ":5:1: invalid host name '-evil'");
    assert_int_equal(host(&l, "web01")->ncomponents, 2);
    release(&l);
}

static void test_all_errors_reported(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "[environment]\ntimeout = x\nthis line is junk\n[vfs]\n[hosts]\na = b\n!a = c\n");
    assert_int_equal(l.result, -1);
    assert_int_equal(l.d.count, 4);
    assert_error(&l, 0, CFG ":3:1: expected 'key = value', a '[section]' header or a comment");
    assert_error(&l, 1, CFG ":2:11: 'timeout' must be a positive integer, got 'x'");
    assert_error(&l, 2, CFG ":4:1: section '[vfs]' is not supported by batou-ng");
    assert_error(&l, 3, CFG ":7:1: host 'a' is defined twice (first at " CFG ":6)");
    release(&l);
}

static void test_not_found(void **state)
{
    (void)state;
    write_env("production", "");
    write_env("staging", "");
    mkdir("environments/empty", 0777);
    struct loaded l;
    diags_init(&l.d);
    l.result = environment_load(&l.env, "prodution", &l.d);
    assert_only_error(&l, "environment 'prodution' not found (did you mean 'production'?)");
    assert_null(l.d.items[0].file);
    assert_int_equal(l.d.items[0].line, 0);
    release(&l);

    diags_init(&l.d);
    l.result = environment_load(&l.env, "zzz", &l.d);
    assert_only_error(&l, "environment 'zzz' not found");
    release(&l);

    diags_init(&l.d);
    l.result = environment_load(&l.env, "../environments/production", &l.d);
    assert_int_equal(l.result, -1);
    release(&l);

    diags_init(&l.d);
    l.result = environment_load(&l.env, "empty", &l.d);
    assert_only_error(&l, "environment 'empty' not found");
    release(&l);
}

static void test_environment_names(void **state)
{
    (void)state;
    write_env("staging", "");
    write_env("dev", "");
    write_env("production", "");
    mkdir("environments/nocfg", 0777);
    size_t count;
    char **names = environment_names(&count);
    assert_true(count >= 3);
    assert_string_equal(names[0], "dev");
    for (size_t i = 0; i < count; i++) {
        assert_string_not_equal(names[i], "nocfg");
        if (i > 0)
            assert_true(strcmp(names[i - 1], names[i]) < 0);
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

static void test_nul_in_file(void **state)
{
    (void)state;
    struct environment env;
    struct diags d;
    diags_init(&d);
    environment_init(&env, "x");
    static const char text[] = "[hosts]\na = b\0c\n";
    assert_int_equal(environment_parse(&env, "x.cfg", text, sizeof text - 1, &d), -1);
    assert_int_equal(d.count, 1);
    assert_string_equal(d.items[0].message, "NUL byte in the file");
    environment_release(&env);
    diags_release(&d);
}

static void test_secrets(void **state)
{
    (void)state;
    struct loaded l;
    load(&l, "[component:app]\nworkers = 2\n");
    assert_int_equal(l.result, 0);
    const char *secrets = "[batou]\nmembers = a@example.com\n\n[component:app]\n"
                          "password = hunter2\nworkers = 3\n[hosts]\n";
    assert_int_equal(environment_add_secrets(&l.env, "environments/e/secrets.cfg", secrets,
                                             strlen(secrets), &l.d),
                     -1);
    assert_int_equal(l.env.noverrides, 2);
    assert_string_equal(l.env.overrides[1].attribute, "password");
    assert_string_equal(l.env.overrides[1].value, "hunter2");
    assert_int_equal(l.env.overrides[1].secret, 1);
    assert_string_equal(l.env.overrides[1].file, "environments/e/secrets.cfg");
    assert_int_equal(l.d.count, 2);
    assert_error(&l, 0,
                 "environments/e/secrets.cfg:6:1: 'workers' of component 'app' is set "
                 "twice (first at " CFG ":2)");
    assert_error(&l, 1,
                 "environments/e/secrets.cfg:7:1: unknown section '[hosts]' in a secrets "
                 "file (only '[batou]' and '[component:NAME]' are allowed)");
    /* no error message shows a value */
    for (size_t i = 0; i < l.d.count; i++)
        assert_null(strstr(l.d.items[i].message, "hunter2"));
    release(&l);
}

static void test_parse_requirement(void **state)
{
    (void)state;
    enum address_requirement r;
    assert_int_equal(environment_parse_requirement("Optional", &r), 0);
    assert_int_equal(r, ADDRESS_OPTIONAL);
    assert_int_equal(environment_parse_requirement("True", &r), 0);
    assert_int_equal(r, ADDRESS_REQUIRED);
    assert_int_equal(environment_parse_requirement("false", &r), 0);
    assert_int_equal(r, ADDRESS_SKIPPED);
    assert_int_equal(environment_parse_requirement("YES", &r), 0);
    assert_int_equal(r, ADDRESS_REQUIRED);
    assert_int_equal(environment_parse_requirement("0", &r), 0);
    assert_int_equal(r, ADDRESS_SKIPPED);
    assert_int_equal(environment_parse_requirement("sometimes", &r), -1);
    assert_int_equal(environment_parse_requirement("", &r), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_environment_keys),
        cmocka_unit_test(test_notices),
        cmocka_unit_test(test_hosts_short_form),
        cmocka_unit_test(test_host_sections),
        cmocka_unit_test(test_fqdn),
        cmocka_unit_test(test_component_overrides),
        cmocka_unit_test(test_resolver),
        cmocka_unit_test(test_error_resolver),
        cmocka_unit_test(test_error_host_twice),
        cmocka_unit_test(test_error_unknown_section),
        cmocka_unit_test(test_error_unsupported_sections),
        cmocka_unit_test(test_error_unknown_keys),
        cmocka_unit_test(test_error_bad_values),
        cmocka_unit_test(test_error_inline_comment_hint),
        cmocka_unit_test(test_vagrant_is_refused_with_the_way_to_it),
        cmocka_unit_test(test_value_on_next_line),
        cmocka_unit_test(test_error_components),
        cmocka_unit_test(test_all_errors_reported),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_environment_names),
        cmocka_unit_test(test_nul_in_file),
        cmocka_unit_test(test_secrets),
        cmocka_unit_test(test_parse_requirement),
        cmocka_unit_test(test_local_dirs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
