-- batou.lib.download (docs/reference/library.md): Download, a file fetched
-- for the target (http, https: the target's curl or wget, else a transfer
-- from the controller; file: a path on the target) and kept only when its
-- checksum is the one given. The file is the library's Fetch rule
-- (rules/fetch.c): its checksum is a live check, so a file changed or
-- corrupted on the target is fetched again on the next deploy. --prune
-- removes the file (owns).
local LIB = ...

local M = {}

-- The digests batou's `checksum = "ALGO:HEX"` names and the length of
-- their hex digest (rules/fetch.c and hosts/fetch.c know the same).
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

local Download = LIB.component("Download", {
  namevar = "uri",
  url = Attribute("str", None),
  target = Attribute("str", None),
  checksum = Attribute("str", None),
})
M.Download = Download

-- The URL without its user name and password ("https://***@host/x"): in
-- labels, errors and output (hosts/fetch.c's fetch_redact does the same).
function M.redact(uri)
  uri = tostring(uri)
  local scheme, rest = uri:match("^(%a[%w+.-]*://)(.*)$")
  if not scheme then return uri end
  local authority = rest:match("^[^/?#]*")
  if not authority:find("@", 1, true) then return uri end
  return scheme .. "***" .. authority:match("@[^@]*$") .. rest:sub(#authority + 1)
end
rawset(Download, "__label", M.redact)

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
    LIB.fail(self, string.format("URL '%s': the scheme must be http, https or file",
                                 M.redact(uri)))
  end
  if uri:find("[%c]") then LIB.fail(self, "the URL holds a control character") end
  local algo, hex = M.parse_checksum(self.checksum)
  if not algo then LIB.fail(self, hex) end
  self.checksum_function, self.checksum_value = algo, hex
  if not self.target then
    self.target = (rest:match("^[^?#]*") or ""):match("([^/]*)$")
    if self.target == "" then
      LIB.fail(self, string.format("URL '%s' names no file: give target", M.redact(uri)))
    end
  end
  if self.target:find("[%c]") then LIB.fail(self, "target holds a control character") end
  self.fetch = self:add(LIB.rules.Fetch {
    self.target, url = uri, checksum = algo .. ":" .. hex,
    -- a password in the URL: the node is kept out of the state and the
    -- graph's exports, like a file holding a secret
    sensitive = M.redact(uri) ~= uri or nil,
  })
end

return M
