-- sizes.lua — every formula for an output size lives here, as PyTorch computes it (floor mode).
local M = {}

-- Conv2d / MaxPool2d: floor((n + 2 * pad - kernel) / stride) + 1
function M.window(n, kernel, stride, pad)
  return (n + 2 * pad - kernel) // stride + 1
end

-- Conv k x k, stride 1, pad k // 2: the map keeps its size for odd k
function M.conv(n, k)
  return M.window(n, k, 1, k // 2)
end

-- MaxPool2d(2, 2)
function M.maxpool2(n)
  return M.window(n, 2, 2, 0)
end

return M
