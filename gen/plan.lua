-- plan.lua — plan the static activation buffers. Units that compute read their input and write their output;
-- identity units (dropout, a same-size avgpool, a max pool fused into its conv) pass the pointer on. The first
-- computing unit reads the caller's input, the last writes the caller's output, and the ones between alternate
-- between two buffers, a and b, each as large as the largest tensor it holds. When a unit needs its input in the
-- other layout (algo.lua: NCHW or blocked), a conversion copies it into the other buffer first and the unit
-- writes back; a last unit that computes blocked writes a buffer that is converted into the output. One scratch
-- buffer, work, serves every conv (im2col, Winograd transforms). The three share one static workspace; each
-- starts on a 64-byte boundary, so the report's bytes are what the C declares.
local algo = require("algo")

local ALIGN = 16 -- floats

local M = {}

local function other(buffer)
  return buffer == "a" and "b" or "a"
end

-- plan(net) -> {buffers = {{name, offset, floats}...}, floats, static_bytes}; sets u.src, u.dst on every unit,
-- and u.convert (before) and u.finish (after) on units that need a layout conversion: {op, src, dst, shape}; a
-- first-layer direct conv that reads the NCHW input itself gets u.scratch instead of u.convert
function M.plan(net)
  local batch = net.model.batch
  local sizes = { a = 0, b = 0, work = 0 }
  local function hold(buffer, layout, shape)
    sizes[buffer] = math.max(sizes[buffer], algo.floats(layout, batch, shape))
  end
  local last
  for _, u in ipairs(net.units) do if u.computes then last = u end end
  -- held: the (C, H, W) the current buffer holds, which a Flatten does not change in memory
  local current, layout, held = "input", "nchw", net.model.input
  for _, u in ipairs(net.units) do
    u.convert, u.finish, u.scratch = nil, nil, nil
    if u.computes then
      local want = u.layout or layout
      if want == "blocked" and layout == "nchw" and current == "input" and u.algo == "direct" and held[1] <= 16 then
        -- the first layer's direct conv reads the network's NCHW input itself; the other buffer is its scratch,
        -- where kernels that read only blocked input convert it first (vggc_conv_direct_nchw)
        u.scratch = other(current)
        hold(u.scratch, "blocked", held)
        current, layout = u.scratch, want -- the output goes to the buffer after the scratch, as after a conversion
        u.src = "input"
      elseif want ~= layout then
        local dst = other(current)
        u.convert = { op = want == "blocked" and "to_blocked" or "from_blocked", src = current, dst = dst,
                      shape = held }
        hold(dst, want, held)
        current, layout = dst, want
      end
      if not u.scratch then u.src = current end
      local written = u.written or u.output
      if u == last and want == "nchw" then
        u.dst = "output"
      else
        u.dst = other(current)
        hold(u.dst, want, written)
        if u == last then u.finish = { op = "from_blocked", src = u.dst, dst = "output", shape = written } end
      end
      sizes.work = math.max(sizes.work, u.work)
      current, layout, held = u.dst, want, written
    else
      u.src, u.dst = current, current
    end
    u.layout_out = layout
  end
  local plan = { buffers = {}, floats = 0 }
  for _, name in ipairs({ "a", "b", "work" }) do
    if sizes[name] > 0 then
      local floats = (sizes[name] + ALIGN - 1) // ALIGN * ALIGN
      plan.buffers[#plan.buffers + 1] = { name = name, offset = plan.floats, floats = floats }
      plan.floats = plan.floats + floats
    end
  end
  plan.static_bytes = plan.floats * 4
  return plan
end

return M
