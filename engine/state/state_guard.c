/* The last line of defence against a damaged data.mdb: a fault inside LMDB.
 *
 * state_file_check catches a file cut short before it is mapped, and LMDB
 * reports most damage it meets as MDB_CORRUPTED or MDB_PAGE_NOTFOUND. But
 * LMDB trusts the sizes and offsets inside a page: a few overwritten bytes
 * can send it past the end of the file (SIGBUS) or out of the map (SIGSEGV).
 * The cache is disposable, so such a fault must cost a notice, not the run:
 * each LMDB call runs under state_guard, and a fault while one runs jumps
 * back there as MDB_CORRUPTED, as does a failed assertion inside LMDB (which
 * would abort()). Guarded code is LMDB and copying out what it returned,
 * nothing else, so such a fault is the file's doing. Any other fault goes to
 * the handler that was there before (default: the process dies as it would
 * have). state_verify keeps the writes from meeting a lying page.
 *
 * batou-ng is single-threaded; the handler is installed while a handle is
 * open. */
#include "engine/state/state_internal.h"

#include <setjmp.h>
#include <signal.h>
#include <string.h>

static sigjmp_buf *jump; /* set while state_guard runs fn */
static struct sigaction old_bus, old_segv;
static size_t installed;

static void on_fault(int sig, siginfo_t *info, void *context)
{
    (void)info;
    (void)context;
    if (jump) {
        sigjmp_buf *j = jump;
        jump = NULL;
        siglongjmp(*j, 1);
    }
    /* Not ours: put the previous handler back; the faulting instruction runs
     * again and faults under it. */
    sigaction(sig, sig == SIGBUS ? &old_bus : &old_segv, NULL);
}

void state_guard_assert(MDB_env *env, const char *msg)
{
    (void)env;
    (void)msg;
    /* LMDB calls this on a failed internal check, then abort()s: a page
     * that contradicts itself. Inside a guarded call that is damage too. */
    if (jump) {
        sigjmp_buf *j = jump;
        jump = NULL;
        siglongjmp(*j, 1);
    }
}

void state_guard_install(void)
{
    if (installed++)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    /* SA_NODEFER: the jump leaves the handler without restoring the mask,
     * so the signal must not be blocked while it runs (state_guard saves no
     * mask: that would cost a system call on every cache read). */
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &old_bus);
    sigaction(SIGSEGV, &sa, &old_segv);
}

void state_guard_uninstall(void)
{
    if (installed == 0 || --installed)
        return;
    sigaction(SIGBUS, &old_bus, NULL);
    sigaction(SIGSEGV, &old_segv, NULL);
}

/* After a fault: end what fn left open. The fault was a read of the map, so
 * LMDB's own bookkeeping (reader slot, writer lock, dirty pages) is whole. */
static void abandon(struct state *s)
{
    if (s->cursor)
        mdb_cursor_close(s->cursor);
    if (s->txn)
        mdb_txn_abort(s->txn);
    s->cursor = NULL;
    s->txn = NULL;
}

int state_guard(struct state *s, int (*fn)(struct state *s, void *arg), void *arg)
{
    sigjmp_buf here;
    sigjmp_buf *volatile outer = jump;
    if (sigsetjmp(here, 0) != 0) {
        jump = outer;
        abandon(s);
        return MDB_CORRUPTED;
    }
    jump = &here;
    int rc = fn(s, arg);
    jump = outer;
    return rc;
}
