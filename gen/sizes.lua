-- sizes.lua — every formula for an output size lives here, as PyTorch computes it.
local M = {}

-- One dimension of a sliding window (Conv2d, MaxPool2d, AvgPool2d), PyTorch's pooling_output_shape:
--   floor((n + pad_begin + pad_end - dilation * (kernel - 1) - 1) / stride) + 1, or ceil(...) + 1 in ceil mode,
--   where in ceil mode the last window must start inside the input or its leading padding.
-- w = {k, s, p0, p1, d, ceil} for this dimension. A result below 1 means the window does not fit.
function M.window(n, w)
  local span = n + w.p0 + w.p1 - w.d * (w.k - 1) - 1
  if span < 0 then return 0 end
  if not w.ceil then return span // w.s + 1 end
  local out = (span + w.s - 1) // w.s + 1
  if (out - 1) * w.s >= n + w.p0 then out = out - 1 end
  return out
end

-- The smallest n with window(n, w) >= want: the window's reach plus (want - 1) strides, less the padding.
function M.window_input(want, w)
  local n = math.max(1, (want - 1) * w.s + w.d * (w.k - 1) + 1 - w.p0 - w.p1)
  while M.window(n, w) < want do n = n + 1 end -- ceil mode can need one more
  return n
end

-- The padding of Conv2d(padding='same') for one dimension (stride 1): PyTorch puts the odd pixel at the end.
function M.same_padding(k, d)
  local total = d * (k - 1)
  return total // 2, total - total // 2
end

return M
