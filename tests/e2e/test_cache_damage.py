"""A damaged controller cache (.batou-ng/data.mdb cut short by a full disk or
an interrupted copy, or bytes overwritten) costs one notice and the cache,
never the run: read-only commands say so and read it as empty, a deploy
moves it aside to data.mdb.damaged-<time> and builds a new one
(docs/safety.md, "What happens to a damaged or missing cache")."""

import random
import re

import pytest

from conftest import NO_GIT, without_no_git, check_error_lines
from test_deploy import summary

READ_ONLY = (["-n", "local"], ["status", "local"], ["graph", "local"], ["explain", "local"],
             ["run", "local", "--", "true"])
IGNORED = re.compile(r"^batou-ng: notice: state cache '\.batou-ng' is damaged \((.+)\); "
                     r"ignored \(the next deploy moves it aside\)$", re.M)
MOVED = re.compile(r"^batou-ng: notice: state cache '\.batou-ng' was damaged \((.+)\): moved "
                   r"aside to '(\.batou-ng/data\.mdb\.damaged-\d{8}T\d{6}Z(?:\.\d+)?)' and "
                   r"rebuilt$", re.M)
PAGE = 4096


@pytest.fixture
def deployed(batou, tutorial):
    """The tutorial deployed three times (a cache of several pages) and the
    good data.mdb's bytes."""
    for _ in range(3):
        result = batou("local", cwd=tutorial)
        assert result.returncode == 0, result.stderr
    data = tutorial / ".batou-ng" / "data.mdb"
    return tutorial, data, data.read_bytes()


def damage(data, good, how):
    (data.parent / "lock.mdb").unlink(missing_ok=True)
    for old in data.parent.glob("data.mdb.damaged-*"):
        old.unlink()
    if how == "empty":
        data.write_bytes(b"")
    elif how == "one page":
        data.write_bytes(good[:PAGE])
    elif how == "half":
        data.write_bytes(good[:len(good) // 2])
    elif how == "overwritten":
        # Junk over every page after the two meta pages: the tree is gone.
        junk = random.Random(7).randbytes(len(good) - 2 * PAGE)
        data.write_bytes(good[:2 * PAGE] + junk)
    else:
        raise AssertionError(how)


CASES = ["empty", "one page", "half", "overwritten"]


@pytest.mark.parametrize("how", CASES)
def test_read_only_commands_say_so_and_work(batou, deployed, how):
    project, data, good = deployed
    damage(data, good, how)
    before = data.read_bytes()
    for args in READ_ONLY:
        result = batou(*args, cwd=project)
        assert result.returncode == 0, f"{args}: {result.stderr}"
        notices = IGNORED.findall(result.stderr)
        assert len(notices) == 1, f"{args}: {result.stderr}"
        check_error_lines(result.stderr)
        assert data.read_bytes() == before, f"{args} changed the damaged cache"
        assert not list(data.parent.glob("data.mdb.damaged-*"))
    # -c never reads the cache: nothing to say, nothing touched.
    result = batou("-c", "local", cwd=project)
    assert result.returncode == 0 and result.stderr == ""
    assert data.read_bytes() == before


@pytest.mark.parametrize("how", CASES)
def test_a_deploy_moves_it_aside_and_rebuilds(batou, deployed, how):
    project, data, good = deployed
    damage(data, good, how)
    before = data.read_bytes()
    result = batou("local", cwd=project)
    assert result.returncode == 0, result.stderr
    assert summary(result) == (0, 2, 0, 0)  # the targets decide, not the cache
    moved = MOVED.findall(result.stderr)
    assert len(moved) == 1, result.stderr
    check_error_lines(result.stderr)
    aside = project / moved[0][1]
    assert aside.read_bytes() == before, "the damaged file was not kept as it was"
    assert data.stat().st_size >= 2 * PAGE
    # Rebuilt for good: the next runs say nothing and use it.
    again = batou("local", cwd=project)
    assert again.returncode == 0 and "notice" not in without_no_git(again.stderr), again.stderr
    status = batou("status", "local", cwd=project)
    assert status.returncode == 0 and status.stderr == ""
    assert "last deploy from here: " in status.stdout


def test_the_notice_says_what_is_wrong(batou, deployed):
    project, data, good = deployed
    data.write_bytes(good[:len(good) - PAGE])
    result = batou("-n", "local", cwd=project)
    assert IGNORED.findall(result.stderr) == [
        f"data.mdb is {len(good) - PAGE} bytes, its header says at least {len(good)}"]


def test_random_bytes_never_crash(batou, deployed):
    """Random overwrites (a few bytes, a run, a page): every command works;
    a crash, a sanitizer report or a second kind of line fails."""
    project, data, good = deployed
    for seed in range(12):
        rng = random.Random(seed)
        copy = bytearray(good)
        kind = seed % 3
        if kind == 0:
            for _ in range(rng.randint(1, 20)):
                copy[rng.randrange(len(copy))] = rng.randrange(256)
        elif kind == 1:
            at = rng.randrange(len(copy))
            copy[at:at + 300] = rng.randbytes(len(copy[at:at + 300]))
        else:
            page = rng.randrange(len(copy) // PAGE)
            copy[page * PAGE:(page + 1) * PAGE] = rng.randbytes(PAGE)
        for args in (["-n", "local"], ["status", "local"], ["local"]):
            (data.parent / "lock.mdb").unlink(missing_ok=True)
            data.write_bytes(copy)
            result = batou(*args, cwd=project)
            assert result.returncode == 0, f"seed {seed} {args}: {result.stderr}"
            check_error_lines(result.stderr)
