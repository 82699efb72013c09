"""Every (environment, host) keeps its own state and work directory
(issue 15, "Trust"). A local environment deploys into the project's work/
as batou does; a second local environment either has its own
target_directory or is refused before it touches work/, and each host of a
local environment with several works in work/<host>/."""

from conftest import error_lines
from test_deploy import summary

COMPONENT = """\
Hello = Component { name = Attribute("str", "x") }
function Hello:configure()
  self:add(File { self.name, content = "from " .. self.environment.name .. " on " ..
                                       self.host.name })
end
"""


def env(name, extra=""):
    return (f"[environment]\nconnect_method = local\n{extra}\n[hosts]\nlocalhost = hello\n\n"
            f"[component:hello]\nname = {name}.txt\n")


def make(make_project, test_extra=""):
    return make_project({
        "components/hello/component.lua": COMPONENT,
        "environments/dev/environment.cfg": env("dev"),
        "environments/test/environment.cfg": env("test", test_extra),
    })


def files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and "environments" not in p.parts and
                  "components" not in p.parts)


def test_another_environment_cannot_take_over_work(batou, make_project):
    root = make(make_project)
    assert batou("dev").returncode == 0
    manifest = (root / "work/.batou-ng/manifest").read_bytes()
    before = files(root)
    for args in (("--prune", "test"), ("test",)):
        result = batou(*args)
        assert result.returncode == 1, result.stdout + result.stderr
        assert error_lines(result.stderr)[0] == (
            f"batou-ng: error: localhost: '{root}/work/.batou-ng' holds the deploy of "
            "environment 'dev', host 'localhost': deploying here would overwrite it and "
            "prune its files; give each environment its own target_directory")
        assert (root / "work/hello/dev.txt").read_text() == "from dev on localhost"
        assert not (root / "work/hello/test.txt").exists()
        assert (root / "work/.batou-ng/manifest").read_bytes() == manifest
    assert files(root) == before
    assert summary(batou("dev")) == (0, 1, 0, 0)


def test_an_environment_with_its_own_target_directory_is_apart(batou, make_project):
    root = make(make_project, "target_directory = test-target\n")
    assert batou("dev").returncode == 0
    result = batou("--prune", "test")
    assert result.returncode == 0, result.stderr
    assert (root / "test-target/work/hello/test.txt").read_text() == "from test on localhost"
    assert (root / "test-target/.batou-ng/manifest").is_file()
    assert (root / "work/hello/dev.txt").read_text() == "from dev on localhost"
    assert summary(batou("--prune", "dev")) == (0, 1, 0, 0)
    assert summary(batou("--verify=content", "test")) == (0, 1, 0, 0)
    assert (root / "test-target/work/hello/test.txt").is_file()


def test_each_local_host_gets_its_own_content(batou, make_project):
    root = make_project({
        "components/hello/component.lua": COMPONENT,
        "environments/local/environment.cfg": (
            "[environment]\nconnect_method = local\n\n[hosts]\nh1 = hello\nh2 = hello\n\n"
            "[component:hello]\nname = same.txt\n"),
    })
    result = batou("local")
    assert summary(result) == (2, 0, 0, 0), result.stdout + result.stderr
    assert (root / "work/h1/hello/same.txt").read_text() == "from local on h1"
    assert (root / "work/h2/hello/same.txt").read_text() == "from local on h2"
    assert not (root / "work/hello").exists()
    assert summary(batou("local")) == (0, 2, 0, 0)
    assert summary(batou("--verify=content", "local")) == (0, 2, 0, 0)
