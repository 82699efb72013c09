-- batou.lib.git (docs/reference/library.md): Clone, a git checkout on the
-- target at a pinned revision or following a branch. Whether the checkout
-- is where the model says is a live check (HEAD, and no local changes), so
-- a checkout moved or edited by hand is noticed on the next deploy. A
-- checkout with local changes is refused unless clobber = true. --prune
-- removes the checkout (owns).
local LIB = ...
local q = LIB.quote

local M = {}

local Clone = LIB.component("Clone", {
  namevar = "url",
  target = Attribute("str", None),
  revision = Attribute("str", None),
  branch = Attribute("str", None),
  update_unpinned = Attribute("bool", true),
  clobber = Attribute("bool", false),
})
M.Clone = Clone

-- sh: exit 0 when the checkout at target is at what the model says.
local function current_test(self)
  local t = q(self.target)
  local clean = string.format("test -z \"$(git -C %s status --porcelain)\"", t)
  if self.revision then
    return string.format(
      'test -d %s/.git && test "$(git -C %s rev-parse -q --verify HEAD)" = ' ..
      '"$(git -C %s rev-parse -q --verify %s)" && %s',
      t, t, t, q(self.revision .. "^{commit}"), clean)
  end
  local on_branch = string.format(
    'test -d %s/.git && test "$(git -C %s symbolic-ref -q --short HEAD)" = %s && %s',
    t, t, q(self.branch), clean)
  if not self.update_unpinned then return on_branch end
  return on_branch .. string.format(
    ' && test "$(git -C %s rev-parse HEAD)" = "$(git -C %s ls-remote origin %s | cut -f1)"',
    t, t, q("refs/heads/" .. self.branch))
end

function Clone:configure()
  local url = self.url
  if type(url) ~= "string" or url == "" then LIB.fail(self, "the URL is required: Clone { URL, ... }") end
  if (self.revision == nil) == (self.branch == nil) then
    LIB.fail(self, "needs exactly one of revision or branch")
  end
  if not self.target then
    self.target = url:gsub("/+$", ""):match("([^/:]*)$"):gsub("%.git$", "")
    if self.target == "" then LIB.fail(self, "no target given, and none follows from the URL") end
  end
  if self.target == "." or self.target == "" then
    LIB.fail(self, "target '.' would make the component's whole directory a checkout: name a directory")
  end
  local refuse_dirty = self.clobber and
    'echo "git.Clone: $target has local changes: discarding them (clobber = true)" >&2' or
    'echo "git.Clone: $target has local changes: refusing to touch it (commit or discard them, ' ..
    'or set clobber = true):" >&2; git status --porcelain >&2; exit 1'
  local refuse_other = self.clobber and 'rm -rf "$target"' or
    'echo "git.Clone: $target exists and is not a git checkout: refusing to replace it ' ..
    '(clobber = true replaces it)" >&2; exit 1'
  local checkout
  if self.revision then
    checkout = string.format("git checkout -q -f --detach %s", q(self.revision .. "^{commit}"))
  else
    checkout = string.format("git checkout -q -f -B %s %s", q(self.branch),
                             q("refs/remotes/origin/" .. self.branch))
  end
  local run = string.format([[
set -e
target=%s
url=%s
if [ ! -d "$target/.git" ] && [ -e "$target" ]; then
  if [ -n "$(ls -A "$target")" ]; then %s; fi
  rm -rf "$target"
fi
if [ ! -d "$target/.git" ]; then
  git clone -q --no-checkout "$url" "$target"
  cd "$target"
else
  cd "$target"
  if [ -n "$(git status --porcelain)" ]; then %s; fi
  git remote set-url origin "$url"
  git fetch -q --tags origin '+refs/heads/*:refs/remotes/origin/*'
fi
%s
git reset -q --hard
git clean -q -fd
git submodule -q update --init --recursive]], q(self.target), q(url), refuse_other, refuse_dirty,
    checkout)
  self.command = self:add(LIB.command {
    "clone", run = run, unless = current_test(self), live = true, owns = self.target,
    env = { GIT_TERMINAL_PROMPT = "0" },
  })
end

return M
