-- wrk script: sends pre-built raw HTTP requests (files req-0.http … in $WXOPEN_REQUESTS), in
-- rotation. `wxopen-load fixtures` writes them: signed, encrypted pushes with a realistic query
-- string, or token API GETs.
local dir = os.getenv("WXOPEN_REQUESTS")
local reqs = {}

function init(args)
  local i = 0
  while true do
    local f = io.open(dir .. "/req-" .. i .. ".http", "rb")
    if not f then break end
    reqs[#reqs + 1] = f:read("*a")
    f:close()
    i = i + 1
  end
  if #reqs == 0 then error("no requests in " .. tostring(dir)) end
end

local n = 0
function request()
  n = n + 1
  return reqs[(n % #reqs) + 1]
end
