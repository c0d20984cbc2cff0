-- format.lua — numbers as people read them: thousands separators, megabytes, shapes.
local M = {}

-- 132863336 -> "132,863,336"
function M.thousands(n)
  local s = string.format("%d", n)
  local sign, digits = s:match("^(-?)(%d+)$")
  digits = digits:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", "")
  return sign .. digits
end

-- 86704128 -> "86.7 M"
function M.mega(n)
  if n == 0 then return "-" end
  return string.format("%.1f M", n / 1e6)
end

-- bytes -> "506.83" (MB as torchsummary counts them, 2^20 bytes)
function M.mb(bytes)
  return string.format("%.2f", bytes / 1048576)
end

-- {64, 224, 224} -> "64x224x224"; sep defaults to "x"
function M.shape(dims, sep)
  local parts = {}
  for i, d in ipairs(dims) do parts[i] = string.format("%d", d) end
  return table.concat(parts, sep or "x")
end

-- {64, 224, 224} -> "(64, 224, 224)"
function M.tuple(dims)
  return "(" .. M.shape(dims, ", ") .. ")"
end

-- A C float's digits, enough to give back the same float: 1e-05 -> "1e-05", 2 -> "2.0" (append "f")
function M.float(x)
  local s = string.format("%.9g", x)
  if not s:find("[.eEn]") then s = s .. ".0" end
  return s
end

function M.product(dims)
  local p = 1
  for _, d in ipairs(dims) do p = p * d end
  return p
end

return M
