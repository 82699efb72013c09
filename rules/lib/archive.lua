-- batou.lib.archive (docs/reference/library.md): Extract, an archive
-- (tar.gz, tar.bz2, tar.xz, tar.zst, tar, zip) unpacked on the target. It
-- records the archive's sha256 in a marker file in the target directory and
-- extracts again only when the archive differs from the one extracted, or
-- the marker (the tree) is gone: a live check. With create_target_dir (the
-- default) the tree is made beside the target and swapped in whole, and
-- --prune removes it (owns).
local LIB = ...
local q = LIB.quote

local M = {}

-- suffix -> how sh unpacks "$archive" into the current directory
local FORMATS = {
  {".tar.gz", "gzip -dc"}, {".tgz", "gzip -dc"}, {".tar.bz2", "bzip2 -dc"},
  {".tbz2", "bzip2 -dc"}, {".tar.xz", "xz -dc"}, {".txz", "xz -dc"},
  {".tar.zst", "zstd -dcq"}, {".tzst", "zstd -dcq"}, {".tar", "cat"}, {".zip", "zip"},
}

local function format_of(archive)
  for _, f in ipairs(FORMATS) do
    if archive:sub(-#f[1]) == f[1] then return f[1], f[2] end
  end
end

local Extract = LIB.component("Extract", {
  namevar = "archive",
  target = Attribute("str", None),
  strip = Attribute("int", 0),
  create_target_dir = Attribute("bool", true),
})
M.Extract = Extract

-- The Download (or File, BinaryFile) added before this Extract in the same
-- component that makes the archive: the Extract watches it, so a new
-- archive is unpacked in the same deploy that fetched it.
local function maker_of(self, archive)
  local parent = rawget(self, "parent")
  local Download = LIB.import("download").Download
  for _, child in ipairs(LIB.children(parent)) do
    if getmetatable(child) and child.target == archive and LIB.class_of(child) == Download then
      return child
    end
    if LIB.is_rule(child) and child.path == archive then return child end
  end
end

function Extract:configure()
  local archive = self.archive
  if type(archive) ~= "string" or archive == "" then
    LIB.fail(self, "the archive is required: Extract { ARCHIVE, ... }")
  end
  local suffix, unpack = format_of(archive)
  if not suffix then
    LIB.fail(self, string.format("no handler for archive '%s' (tar.gz, tgz, tar.bz2, tar.xz, " ..
                                 "tar.zst, tar, zip)", archive))
  end
  if self.strip < 0 then LIB.fail(self, "strip must be 0 or more") end
  if self.create_target_dir then
    self.target = self.target or archive:match("([^/]*)$"):sub(1, -#suffix - 1)
    if self.target == "" or self.target == "." then
      LIB.fail(self, "no target given, and none follows from the archive's name")
    end
  else
    self.target = self.target or "."
  end
  local marker = self.target .. "/.batou-ng-extract-" .. archive:match("([^/]*)$")
  local extract
  if unpack == "zip" then
    -- unzip has no --strip-components: go down strip levels of one directory.
    extract = string.format([[
unzip -q -o "$archive" -d "$stage"
i=0
while [ "$i" -lt %d ]; do
  set -- "$stage"/*
  if [ $# -ne 1 ] || [ ! -d "$1" ]; then
    echo "Extract: strip: the archive has no single directory at level $((i + 1))" >&2; exit 1
  fi
  mv "$1" "$stage.strip" && rmdir "$stage" 2>/dev/null || rm -rf "$stage"
  mv "$stage.strip" "$stage"
  i=$((i + 1))
done]], self.strip)
  else
    extract = string.format('%s < "$archive" | tar -x -f - -C "$stage" --strip-components=%d',
                            unpack, self.strip)
  end
  local run
  if self.create_target_dir then
    -- Unpack beside the target, then swap it in whole.
    run = string.format([[
set -e
archive=%s
target=%s
stage="$target.batou-ng-new"
rm -rf "$stage" "$target.batou-ng-old"
mkdir -p "$stage"
%s
echo "$(sha256sum < "$archive" | cut -d' ' -f1) strip=%d" > "$stage/"%s
if [ -e "$target" ]; then mv "$target" "$target.batou-ng-old"; fi
mv "$stage" "$target"
rm -rf "$target.batou-ng-old"]], q(archive), q(self.target), extract, self.strip,
      q(marker:match("([^/]*)$")))
  else
    run = string.format([[
set -e
archive=%s
stage=%s
mkdir -p "$stage"
%s
echo "$(sha256sum < "$archive" | cut -d' ' -f1) strip=%d" > %s]], q(archive), q(self.target),
      extract, self.strip, q(marker))
    if unpack == "zip" and self.strip > 0 then
      LIB.fail(self, "strip with create_target_dir = false is not supported for zip archives")
    end
  end
  local maker = maker_of(self, archive)
  self.command = self:add(LIB.command {
    "extract", run = run, live = true,
    -- the marker holds what was extracted, and how
    unless = string.format('test -f %s && test "$(cat %s)" = "$(sha256sum < %s | cut -d" " -f1) ' ..
                           'strip=%d"', q(marker), q(marker), q(archive), self.strip),
    owns = self.create_target_dir and self.target or nil,
    watch = maker,
  })
end

return M
