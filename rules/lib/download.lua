-- batou.lib.download (docs/reference/library.md): Download, a file fetched
-- on the target (http, https: the target's curl or wget; file: a path on the
-- target) and kept only when its checksum is the one given. The checksum is
-- a live check: a file changed or corrupted on the target is fetched again
-- on the next deploy. --prune removes the file (owns).
local LIB = ...
local q = LIB.quote

local M = {}

-- The digests batou's `checksum = "ALGO:HEX"` names, with coreutils' tool
-- and the length of their hex digest.
local DIGESTS = {md5 = 32, sha1 = 40, sha224 = 56, sha256 = 64, sha384 = 96, sha512 = 128}
M.DIGESTS = DIGESTS

-- "sha256:HEX" -> "sha256", "hex", or nil and why.
function M.parse_checksum(checksum)
  if type(checksum) ~= "string" then return nil, "checksum is required ('sha256:HEX' or 'md5:HEX')" end
  local algo, hex = checksum:match("^(%w+):(%x+)$")
  local length = algo and DIGESTS[algo:lower()]
  if not length or #hex ~= length then
    return nil, string.format("checksum must be 'sha256:HEX' or 'md5:HEX' (or sha1, sha224, " ..
                              "sha384, sha512), got '%s'", checksum)
  end
  return algo:lower(), hex:lower()
end

-- sh: exit 0 when path holds the content whose ALGO digest is hex.
function M.checksum_test(path, algo, hex)
  return string.format("test -f %s && printf '%%s  %%s\\n' %s %s | %ssum -c --status -",
                       q(path), hex, q(path), algo)
end

local Download = LIB.component("Download", {
  namevar = "uri",
  url = Attribute("str", None),
  target = Attribute("str", None),
  checksum = Attribute("str", None),
})
M.Download = Download

function Download:configure()
  local uri = self.uri or self.url
  if self.uri and self.url and self.uri ~= self.url then
    LIB.fail(self, "give the URL once: as its first value or as url, not both")
  end
  if type(uri) ~= "string" then LIB.fail(self, "the URL is required: Download { URL, ... }") end
  self.uri, self.url = uri, uri
  local scheme, rest = uri:match("^(%a[%w+.-]*)://(.*)$")
  scheme = scheme and scheme:lower()
  if scheme ~= "http" and scheme ~= "https" and scheme ~= "file" then
    LIB.fail(self, string.format("URL '%s': the scheme must be http, https or file", uri))
  end
  if uri:find("[%c]") then LIB.fail(self, "the URL holds a control character") end
  local algo, hex = M.parse_checksum(self.checksum)
  if not algo then LIB.fail(self, hex) end
  self.checksum_function, self.checksum_value = algo, hex
  if not self.target then
    self.target = (rest:match("^[^?#]*") or ""):match("([^/]*)$")
    if self.target == "" then
      LIB.fail(self, string.format("URL '%s' names no file: give target", uri))
    end
  end
  if self.target:find("[%c]") then LIB.fail(self, "target holds a control character") end
  local tmp = self.target .. ".batou-ng-download"
  local fetch
  if scheme == "file" then
    local path = rest:match("^[^/]*(/.*)$") or LIB.fail(self, "a file URL needs a path: file:///...")
    fetch = string.format("cp -- %s \"$tmp\"", q(path))
  else
    fetch = string.format([[
if command -v curl >/dev/null 2>&1; then
  curl -fsSL --proto =http,https -o "$tmp" %s
elif command -v wget >/dev/null 2>&1; then
  wget -q -O "$tmp" %s
else
  echo "Download: neither curl nor wget on this host" >&2; exit 1
fi]], q(uri), q(uri))
  end
  local run = string.format([[
set -e
tmp=%s
rm -f "$tmp"
%s
got=$(%ssum < "$tmp" | cut -d' ' -f1)
if [ "$got" != %s ]; then
  rm -f "$tmp"
  echo "Download: checksum mismatch for "%s": expected %s:%s, got %s:$got" >&2
  exit 1
fi
mv -f "$tmp" %s]], q(tmp), fetch, algo, hex, q(uri), algo, hex, algo, q(self.target))
  self.command = self:add(LIB.command {
    "download", run = run, unless = M.checksum_test(self.target, algo, hex), live = true,
    owns = self.target,
  })
end

return M
