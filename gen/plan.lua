-- plan.lua — the static workspace, planned by liveness. Every tensor the forward pass writes gets an offset in one
-- workspace so that no two tensors alive at the same time overlap: a layer's output (a concatenation's output is one
-- tensor, its inputs written into their channel ranges by the layers that make them, algo.lua), a copy in the other
-- layout that a reader needs (NCHW or blocked; one copy serves every reader), and a layer's scratch (im2col,
-- Winograd transforms), alive only during its call. The calls run in order (steps); a tensor is alive from the step
-- that writes it to the last step that reads it. Identity layers (dropout, a flatten, a same-size adaptive pool, a
-- pool or Add fused into its conv) pass their input's tensor on. The first layer reads the caller's input and the
-- last writes the caller's output (through a conversion when it computes blocked). Offsets are chosen greedily, each
-- tensor at the lowest offset free for its whole life, in the best of a few orders (place); every tensor starts on
-- a 64-byte boundary, so the report's bytes are what the C declares.
local algo = require("algo")
local errors = require("errors")

local ALIGN = 16 -- floats

local M = {}

-- A value as the generated C names it: the caller's input or output, or a tensor (plus the offset of a channel
-- range).
function M.expr(v)
  if v.input then return "input" end
  if v.output then return "output" end
  if v.offset and v.offset > 0 then return string.format("%s + %d", v.tensor.name, v.offset) end
  return v.tensor.name
end

local function aligned(floats)
  return (floats + ALIGN - 1) // ALIGN * ALIGN
end

-- ---- tensors and their lives ----------------------------------------------------------------------------------

-- A tensor: {name, floats, layout, shape (as stored: C, H, W, or the vector), first, last, offset, role}; the
-- caller's input and output are values without a tensor. A scratch's floats are the layer's work (u.work: for the
-- whole batch), not a shape times the batch.
local function new_tensor(ctx, name, layout, shape, role, floats)
  local t = { name = name, layout = layout, shape = shape, role = role,
              floats = aligned(floats or algo.floats(layout, ctx.batch, shape)) }
  ctx.tensors[#ctx.tensors + 1] = t
  return t
end

local function use(value, step)
  local t = value.tensor
  if not t then return end
  t.first, t.last = math.min(t.first or step, step), math.max(t.last or step, step)
end

local function next_step(ctx, u)
  ctx.steps = ctx.steps + 1
  ctx.step_unit[ctx.steps] = u
  return ctx.steps
end

-- The value v in layout want: itself, or its copy in that layout (made at the step before the reader, once).
local function in_layout(ctx, u, v, want)
  if v.layout == want then return v end
  local key = v.tensor or "input"
  ctx.copies[key] = ctx.copies[key] or {}
  local copy = ctx.copies[key][want]
  if not copy then
    local t = new_tensor(ctx, (v.tensor and v.tensor.name or "input") .. "_" .. want, want, v.shape, "layout copy")
    copy = { tensor = t, layout = want, shape = v.shape }
    local step = next_step(ctx, u)
    use(v, step)
    use(copy, step)
    u.converts[#u.converts + 1] = { op = want == "blocked" and "to_blocked" or "from_blocked", src = v, dst = copy,
                                    shape = v.shape }
    ctx.copies[key][want] = copy
  end
  return copy
end

-- ---- one unit -----------------------------------------------------------------------------------------------

-- The layer whose tensor the network's output is (following identities and fusions back from the last layer).
local function output_writer(net)
  local u = net.units[#net.units]
  while u and not u.computes and not u.is_input do
    u = u.fused or u.inputs[1]
  end
  if not u or u.is_input then
    errors.raise(net.model.source, "the network computes nothing (its output would be its input; add a layer that "
                 .. "computes, such as a Linear)")
  end
  return u
end

-- The first layer's direct conv reads the network's NCHW input itself (vggc_conv_direct_nchw, the plain call):
-- at most 16 channels, 3x3 or 1x1, stride 1, ReLU, and its output of its own.
local function reads_nchw_input(u, v)
  return u.algo == "direct" and v.is_input_value and u.input[1] <= 16 and u.win.h.k <= 3 and u.win.h.s == 1
         and u.relu and not u.residual and not u.into
end

-- What u reads: each input in the layout u needs (u.srcs), and a fused conv's residual (u.residual_src).
local function read_inputs(ctx, u)
  u.srcs = {}
  local want = u.layout or u.layout_out
  local wanted = {}
  if u.kind == "concat" then
    for _, c in ipairs(u.copies) do wanted[c.input] = true end
  else
    for i in ipairs(u.inputs) do wanted[i] = true end
  end
  for i, v in ipairs(u.inputs) do
    local value = ctx.value[v]
    if wanted[i] and u.kind == "conv" and i == 1 and want == "blocked" and reads_nchw_input(u, value) then
      u.scratch = new_tensor(ctx, "scratch" .. u.number, "blocked", value.shape, "scratch")
      u.srcs[i] = value
    elseif wanted[i] then
      u.srcs[i] = in_layout(ctx, u, value, want)
    end
  end
  if u.residual then u.residual_src = in_layout(ctx, u, ctx.value[u.residual], "blocked") end
end

-- Where u writes: its channels of a concatenation, the caller's output, or a tensor of its own.
local function output_value(ctx, u, writer)
  if u.into then
    local cat = ctx.value[u.into.concat]
    local shape = u.written or u.output
    return { tensor = cat.tensor, layout = "blocked", shape = shape, offset = u.into.c0 * shape[2] * shape[3],
             blocks = algo.cpad(cat.shape[1]) // 16 }
  end
  local layout = u.layout_out
  if u == writer and layout == "nchw" then return { layout = "nchw", shape = u.output, output = true } end
  local shape = u.written or u.output
  return { tensor = new_tensor(ctx, "t" .. u.number, layout, shape, "output of layer " .. u.number), layout = layout,
           shape = shape }
end

local function plan_unit(ctx, u, writer)
  u.converts, u.finish, u.scratch = {}, nil, nil
  if not u.computes then
    ctx.value[u] = u.kind == "concat" and ctx.value[u] or ctx.value[u.fused or u.inputs[1]]
    u.value = ctx.value[u]
    return
  end
  read_inputs(ctx, u)
  local step = next_step(ctx, u)
  for _, v in pairs(u.srcs) do use(v, step) end
  if u.residual_src then use(u.residual_src, step) end
  if u.scratch then use({ tensor = u.scratch }, step) end
  if u.work > 0 then
    u.work_tensor = new_tensor(ctx, "work" .. u.number, "nchw", { u.work }, "scratch of layer " .. u.number, u.work)
    use({ tensor = u.work_tensor }, step)
  end
  local out = u.kind == "concat" and ctx.value[u] or output_value(ctx, u, writer)
  use(out, step)
  ctx.value[u], u.dst_value, u.value = out, out, out
  u.src, u.dst = M.expr(u.srcs[1] or ctx.value[u.inputs[1]]), M.expr(out)
  if u == writer and out.layout == "blocked" then
    local final = { layout = "nchw", shape = out.shape, output = true }
    local finish = next_step(ctx, u)
    use(out, finish)
    u.finish = { op = "from_blocked", src = out, dst = final, shape = out.shape }
  end
end

-- ---- offsets --------------------------------------------------------------------------------------------------

local function overlap(a, b)
  return a.first <= b.last and b.first <= a.last
end

-- Each tensor in the given order at the lowest offset where it overlaps no tensor placed before it that is alive at
-- the same time; returns the end of the highest one.
local function place_in_order(order)
  local placed, top = {}, 0
  for _, t in ipairs(order) do
    local busy = {}
    for _, p in ipairs(placed) do if overlap(p, t) then busy[#busy + 1] = p end end
    table.sort(busy, function(a, b) return a.offset < b.offset end)
    local offset = 0
    for _, p in ipairs(busy) do
      if p.offset >= offset + t.floats then break end
      offset = math.max(offset, p.offset + p.floats)
    end
    t.offset, placed[#placed + 1] = offset, t
    top = math.max(top, offset + t.floats)
  end
  return top
end

-- The orders tried, each falling back on the name so the plan is the same on every run: the largest first
-- (TFLite's greedy by size), and in the order they are written, the larger first on a step (resnet18 at 224:
-- 6,422,528 bytes, the bytes alive at its busiest step, against 7,225,344 by size alone).
local ORDERS = {
  function(a, b) return a.floats > b.floats end,
  function(a, b) return a.first < b.first or (a.first == b.first and a.floats > b.floats) end,
}

-- Offsets from the order that gives the smallest workspace (the first such order on a tie).
local function place(tensors)
  local best, best_offsets
  for _, before in ipairs(ORDERS) do
    local order = {}
    for i, t in ipairs(tensors) do order[i] = t end
    table.sort(order, function(a, b)
      if before(a, b) then return true end
      if before(b, a) then return false end
      return a.name < b.name
    end)
    local top = place_in_order(order)
    if not best or top < best then
      best, best_offsets = top, {}
      for i, t in ipairs(tensors) do best_offsets[i] = t.offset end
    end
  end
  for i, t in ipairs(tensors) do t.offset = best_offsets[i] end
  return best
end

-- Per step: the bytes of the tensors alive (live) and the end of the highest one (in use); per unit the most of
-- its steps. And two plans without liveness to compare with: a buffer per tensor, and ping-pong (as many buffers
-- as tensors are alive at once, each as large as the largest, plus the largest scratch).
local function measure(ctx, plan, net)
  local most_alive, largest, largest_scratch, every = 0, 0, 0, 0
  for step = 1, ctx.steps do
    local live, in_use, alive = 0, 0, 0
    for _, t in ipairs(ctx.tensors) do
      if t.first <= step and step <= t.last then
        live, in_use = live + t.floats, math.max(in_use, t.offset + t.floats)
        if t.role:match("^scratch") == nil then alive = alive + 1 end
      end
    end
    local u = ctx.step_unit[step]
    u.live_bytes, u.in_use_bytes = math.max(u.live_bytes or 0, live * 4), math.max(u.in_use_bytes or 0, in_use * 4)
    most_alive, plan.live_peak_bytes = math.max(most_alive, alive), math.max(plan.live_peak_bytes, live * 4)
  end
  for _, t in ipairs(ctx.tensors) do
    every = every + t.floats
    if t.role:match("^scratch") then largest_scratch = math.max(largest_scratch, t.floats)
    else largest = math.max(largest, t.floats) end
  end
  plan.per_tensor_bytes, plan.pingpong_bytes = every * 4, (most_alive * largest + largest_scratch) * 4
  for _, u in ipairs(net.units) do -- a unit without a call of its own shows what its tensor's writers saw
    if not u.in_use_bytes then
      local from = u.fused and { u.fused } or u.kind == "concat" and u.inputs or { u.inputs[1] }
      u.live_bytes, u.in_use_bytes = 0, 0
      for _, v in ipairs(from) do
        u.live_bytes = math.max(u.live_bytes, v.live_bytes or 0)
        u.in_use_bytes = math.max(u.in_use_bytes, v.in_use_bytes or 0)
      end
    end
  end
end

-- plan(net) -> {buffers = {tensor, ...} (name, offset, floats, layout, shape, first, last, role), floats,
-- static_bytes, live_peak_bytes, per_tensor_bytes, pingpong_bytes}; sets on every unit that computes u.srcs (its
-- inputs' values), u.residual_src, u.dst_value (and u.src, u.dst: the first input and the output as C), u.converts (before its call) and u.finish (after), u.scratch and
-- u.work_tensor; on every unit u.value (where its output is), u.live_bytes and u.in_use_bytes. A value is {tensor
-- or input/output = true, layout, shape, offset (floats into the tensor), blocks (of the concatenation it is a
-- channel range of)}.
function M.plan(net)
  local ctx = { batch = net.model.batch, tensors = {}, value = {}, copies = {}, steps = 0, step_unit = {} }
  ctx.value[net.input] = { layout = "nchw", shape = net.model.input, input = true, is_input_value = true }
  for _, u in ipairs(net.units) do
    u.live_bytes, u.in_use_bytes, u.work_tensor = nil, nil, nil
    if u.kind == "concat" then
      local t = new_tensor(ctx, "t" .. u.number, u.layout, u.output, "output of layer " .. u.number)
      ctx.value[u] = { tensor = t, layout = u.layout, shape = u.output }
    end
  end
  local writer = output_writer(net)
  for _, u in ipairs(net.units) do plan_unit(ctx, u, writer) end
  local plan = { buffers = ctx.tensors, live_peak_bytes = 0 }
  plan.floats = place(ctx.tensors)
  plan.static_bytes = plan.floats * 4
  measure(ctx, plan, net)
  return plan
end

return M
