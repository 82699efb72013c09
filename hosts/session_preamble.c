/* The text a session sends first (hosts/session_preamble.h); the protocol it
 * starts is documented at the top of hosts/session.c. */

#include "hosts/session_preamble.h"

#include "engine/util.h"

#include <string.h>

#define SESSION_DIR "batou-ng-session" /* ${TMPDIR:-/tmp}/batou-ng-session.XXXXXXXX */

/* A session whose shell and watcher died by SIGKILL left its $T (and the
 * last command's unmasked output): remove those whose shell is gone. Only
 * the user's own (-O) with a pid file; an empty one is a session starting
 * this moment, not ours to judge; a zombie (never reaped in some
 * containers) is gone too. No exec: it runs at every session start. */
static const char sweep[] =
    "for _d in \"${TMPDIR:-/tmp}\"/" SESSION_DIR ".*; do\n"
    "[ -d \"$_d\" ] && [ -O \"$_d\" ] && [ -f \"$_d/pid\" ] || continue\n"
    "_p=; _s=; read -r _p <\"$_d/pid\"; [ -n \"$_p\" ] || continue\n"
    "[ -r \"/proc/$_p/stat\" ] && read -r _s <\"/proc/$_p/stat\" && _s=${_s##*) } &&"
    " _s=${_s%% *}\n"
    "[ \"$_s\" != Z ] && kill -0 \"$_p\" 2>/dev/null || rm -rf \"$_d\"\n"
    "done; unset _d _p _s\n";

/* The watcher: the shell ends with its controller. The session leader of
 * the shell (the shell itself on the local transport, sshd's child over
 * SSH) has the controller's end of the channel as its parent: batou-ng, or
 * sshd's session process, which exits when the connection is gone. Once a
 * second the watcher reads that parent from /proc; when it changed (the
 * leader was reparented) it removes $T and kills the whole process group,
 * the request running in it included: nothing is left blocked on a FIFO
 * or spinning for a controller that is gone. It holds none of the
 * channel's descriptors (so a normal close is not delayed), the EXIT trap
 * stops it, and without /proc (not Linux) there is no watcher. */
static const char watcher[] =
    "_bP() { _l=; read -r _l <\"/proc/$1/stat\" 2>/dev/null; _l=${_l##*) }; set -f; set -- $_l;"
    " set +f; _q=${2-}; _r=${4-}; }\n"
    "if [ -r /proc/$$/stat ]; then\n"
    "_bP $$; _s=$_r; _bP \"$_s\"; _a=$_q\n"
    "if [ -n \"$_a\" ]; then\n"
    "( trap - EXIT HUP INT TERM; while sleep 1; do kill -0 $$ 2>/dev/null || exit 0; _bP \"$_s\";"
    " if [ \"$_q\" != \"$_a\" ]; then rm -rf \"$T\"; kill -KILL 0; fi; done )"
    " </dev/null >/dev/null 2>&1 &\n"
    "W=$!\n"
    "fi\nfi\n";

void session_add_preamble(struct buf *b)
{
    buf_adds(b, "set +e\n"
                "unset T\n"
                "trap '[ -z \"${T-}\" ] || rm -rf \"$T\"; [ -z \"${W-}\" ] || kill $W 2>/dev/null'"
                " EXIT\n"
                "trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM\n"
                /* batou-ng gone: the reply cannot be written; exit through
                 * the EXIT trap, which removes $T. */
                "trap 'exit 141' PIPE\n");
    buf_adds(b, sweep);
    buf_adds(b, "T=$(umask 077 && mktemp -d \"${TMPDIR:-/tmp}/" SESSION_DIR ".XXXXXXXX\") ||"
                " exit 97\n"
                "case $T in *'\n'*) exit 97;; esac\n"
                /* Created private: later redirections keep the mode. */
                "(umask 077 && : >\"$T/o\" && : >\"$T/e\" && : >\"$T/x\" &&"
                " printf '%s\\n' $$ >\"$T/pid\") || exit 97\n"
                "W=\n");
    buf_adds(b, watcher);
    /* An upload (hosts/session.c): the acknowledgement says the shell has
     * read the whole line, so the bytes sent after it are head's, never the
     * script's; whatever becomes of the file, all of them are read. */
    buf_adds(b, "_bU() { printf '\\036U %s\\n' \"$1\"; LC_ALL=C head -c \"$2\" 2>/dev/null |"
                " { cat >\"$T/$1\" 2>\"$T/$1.e\" || cat >/dev/null; } 2>/dev/null; }\n");
    buf_adds(b, "_bR() {\n"
                "_bs=$2\n"
                "if [ -s \"$T/o\" ] || [ -s \"$T/e\" ]; then\n"
                "printf '\\036R %s %s\\n' \"$1\" \"$2\"; wc -c \"$T/o\" \"$T/e\";"
                " cat \"$T/o\" \"$T/e\"\n"
                "elif [ -d \"$T\" ]; then\n"
                "printf '\\036R %s %s\\n0 o\\n0 e\\n0 total\\n' \"$1\" \"$2\"\n");
    buf_addf(b, "else printf '\\036R %%s 125\\n0 o\\n%zu e\\n%zu total\\n%%s\\n' \"$1\" '%s'\n",
             strlen(GONE) + 1, strlen(GONE) + 1, GONE);
    buf_adds(b, "fi\n"
                "printf '\\036E %s\\n' \"$1\"\n"
                "}\n"
                /* Linux says it in /proc, read without a program. */
                "_u=; [ -r /proc/sys/kernel/ostype ] && read -r _u </proc/sys/kernel/ostype\n"
                "[ -n \"$_u\" ] || _u=$(uname -s)\n"
                "printf '" HELLO "%s\\n' \"$_u\"; unset _u\n");
}
