/* link: hosts/ssh_config.c hosts/ssh.c hosts/known_hosts.c engine/util.c hosts/loop.c hosts/session.c */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser),
        cmocka_unit_test(test_ssh_g_agrees),
        cmocka_unit_test(test_bad_config_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
