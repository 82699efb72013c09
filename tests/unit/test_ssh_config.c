/* link: hosts/ssh_config.c hosts/ssh.c hosts/ssh_setup.c hosts/ssh_auth.c hosts/ssh_relay.c hosts/known_hosts.c engine/util.c hosts/loop.c hosts/session*.c engine/trace.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "hosts/ssh.h"
#include "hosts/ssh_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *write_config(const char *text)
{
    char *path = strdup("/tmp/batou-ng-ssh-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static const char CONFIG[] = "# comment\n"
                             "Host web* !web9\n"
                             "    HostName %h.example.com\n"
                             "    Port 2200\n"
                             "    User deploy\n"
                             "    IdentityFile ~/keys/a\n"
                             "    IdentitiesOnly yes\n"
                             "Host *\n"
                             "    Port 22\n"
                             "    User nobody\n"
                             "    ConnectTimeout 7\n"
                             "    StrictHostKeyChecking accept-new\n"
                             "    UserKnownHostsFile ~/kh /etc/kh\n";

/* Our parser and `ssh -G` must agree on the keys we take: first value wins. */
static void check_web1(struct ssh_options *o)
{
    assert_string_equal(o->alias, "web1");
    assert_string_equal(o->hostname, "web1.example.com");
    assert_int_equal(o->port, 2200);
    assert_string_equal(o->user, "deploy");
    assert_int_equal(o->nidentity_files, 1);
    assert_string_equal(o->identity_files[0], "/home/tester/keys/a");
    assert_true(o->identities_only);
    assert_int_equal(o->connect_timeout_ms, 7000);
    assert_true(o->accept_new);
    assert_int_equal(o->nknown_hosts_files, 2);
    assert_string_equal(o->known_hosts_files[0], "/home/tester/kh");
    assert_string_equal(o->known_hosts_files[1], "/etc/kh");
}

static void test_parser(void **state)
{
    (void)state;
    char *path = write_config(CONFIG);
    setenv("HOME", "/home/tester", 1);
    struct ssh_options o;
    char *err = NULL;
    assert_int_equal(ssh_config_parse("web1", path, &o, &err), 0);
    check_web1(&o);
    ssh_options_release(&o);
    /* web9 is excluded by !web9: only Host * applies. */
    assert_int_equal(ssh_config_parse("web9", path, &o, &err), 0);
    assert_string_equal(o.hostname, "web9");
    assert_int_equal(o.port, 22);
    assert_string_equal(o.user, "nobody");
    assert_false(o.identities_only);
    assert_int_equal(o.nidentity_files, 3);
    ssh_options_release(&o);
    unlink(path);
    free(path);
}

static void test_ssh_g_agrees(void **state)
{
    (void)state;
    if (access("/usr/bin/ssh", X_OK) != 0)
        skip();
    char *path = write_config(CONFIG);
    setenv("HOME", "/home/tester", 1);
    struct ssh_options o;
    char *err = NULL;
    assert_int_equal(ssh_config_resolve("web1", path, &o, &err), 0);
    check_web1(&o);
    ssh_options_release(&o);
    unlink(path);
    free(path);
}

static void test_bad_config_is_an_error(void **state)
{
    (void)state;
    if (access("/usr/bin/ssh", X_OK) != 0)
        skip();
    char *path = write_config("Host x\n    NoSuchOption 1\n");
    struct ssh_options o;
    char *err = NULL;
    assert_int_equal(ssh_config_resolve("x", path, &o, &err), -1);
    assert_non_null(strstr(err, "ssh configuration for 'x': "));
    assert_null(strchr(err, '\n'));
    free(err);
    unlink(path);
    free(path);
}

static const char JUMPS[] = "Host target\n"
                            "    HostName 10.1.1.1\n"
                            "    ProxyJump alice@bastion:2222,inner\n"
                            "Host inner\n"
                            "    HostName 10.0.0.2\n"
                            "    ProxyJump elsewhere\n"
                            "Host bastion\n"
                            "    HostName bastion.example.com\n"
                            "    User bob\n"
                            "    Port 22\n"
                            "    ProxyJump outer\n"
                            "Host direct\n"
                            "    ProxyJump none\n"
                            "Host outer\n"
                            "    ProxyJump none\n"
                            "Host loop\n"
                            "    ProxyJump loop\n"
                            "Host *\n"
                            "    ProxyJump bastion\n";

/* ProxyJump a,b: b is reached through a (not through b's own ProxyJump), a
 * through what its configuration says, as `ssh -J` resolves the chain. */
static void check_jumps(int (*resolve)(const char *, const char *, struct ssh_options *, char **))
{
    char *path = write_config(JUMPS);
    setenv("HOME", "/home/tester", 1);
    struct ssh_options o;
    char *err = NULL;
    assert_int_equal(resolve("target", path, &o, &err), 0);
    assert_string_equal(o.hostname, "10.1.1.1");
    struct ssh_options *inner = o.via;
    assert_non_null(inner);
    assert_string_equal(inner->hostname, "10.0.0.2");
    assert_string_equal(inner->proxy_jump, "alice@bastion:2222");
    struct ssh_options *bastion = inner->via;
    assert_non_null(bastion);
    assert_string_equal(bastion->hostname, "bastion.example.com");
    assert_string_equal(bastion->user, "alice");
    assert_int_equal(bastion->port, 2222);
    assert_string_equal(bastion->proxy_jump, "outer");
    struct ssh_options *outer = bastion->via;
    assert_non_null(outer);
    assert_string_equal(outer->hostname, "outer");
    assert_null(outer->via);
    ssh_options_release(&o);
    assert_int_equal(resolve("direct", path, &o, &err), 0);
    assert_null(o.via);
    ssh_options_release(&o);
    assert_int_equal(resolve("loop", path, &o, &err), -1);
    /* ssh -G finds this loop itself ("jumphost loop via loop"); a longer
     * one, through several Host blocks, meets our bound. */
    assert_true(strstr(err, "more than 8 jump hosts") || strstr(err, "jumphost loop via loop"));
    assert_null(strchr(err, '\n'));
    free(err);
    unlink(path);
    free(path);
}

static void test_jump_chain_parser(void **state)
{
    (void)state;
    check_jumps(ssh_config_parse);
}

static void test_jump_chain_ssh_g(void **state)
{
    (void)state;
    if (access("/usr/bin/ssh", X_OK) != 0)
        skip();
    check_jumps(ssh_config_resolve);
}

static void test_proxy_command_is_refused(void **state)
{
    (void)state;
    char *path = write_config("Host x\n    ProxyCommand nc %h %p\n");
    struct ssh_options o;
    char *err = NULL;
    assert_int_equal(ssh_config_parse("x", path, &o, &err), -1);
    assert_string_equal(err, "'ProxyCommand nc %h %p' for 'x' is not supported (ProxyJump is)");
    free(err);
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser),
        cmocka_unit_test(test_ssh_g_agrees),
        cmocka_unit_test(test_bad_config_is_an_error),
        cmocka_unit_test(test_jump_chain_parser),
        cmocka_unit_test(test_jump_chain_ssh_g),
        cmocka_unit_test(test_proxy_command_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
