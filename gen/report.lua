-- report.lua — the report a user reads before building: per layer its kind, output shape, params and MACs, then
-- the totals. Three renderings of the same rows: text (like torchsummary), JSON, Markdown.
local format = require("format")
local json = require("json")
local emit = require("emit")
local net_ = require("net")

local M = {}

local function title(net, version)
  local m = net.model
  return string.format("vggc %s report: %s, input %s, batch %d, %d classes", version, m.source,
                       format.shape(m.input), m.batch, m.classes)
end

-- Where a unit's output is: "output" (the caller's), "input", or a tensor and its byte offset in the workspace
-- ("t5 @12,845,056"; a channel range of a concatenation at the range's offset).
local function location(v)
  if v.output then return "output" end
  if v.input then return "input" end
  return string.format("%s @%s", v.tensor.name, format.thousands((v.tensor.offset + (v.offset or 0)) * 4))
end

local function rows(net)
  local list = {}
  for i, u in ipairs(net.units) do
    list[i] = { i, u.label, emit.from_text(u, ","), format.shape(u.output), format.thousands(u.params),
                u.macs > 0 and format.thousands(u.macs) or "-", u.algo or "", location(u.value),
                format.thousands(u.in_use_bytes) }
  end
  return list
end

local HEADER = { "#", "layer", "from", "output", "params", "MACs", "algorithm", "tensor", "in use (B)" }

local function plan_text(plan)
  return string.format("%s (liveness: %d tensors; a buffer per tensor %s, ping-pong %s)",
                       format.thousands(plan.static_bytes), #plan.buffers, format.thousands(plan.per_tensor_bytes),
                       format.thousands(plan.pingpong_bytes))
end

-- The totals as {label, value} pairs; total params comes last, the number people look for.
local function totals(net, plan)
  return {
    { "Total MACs", format.thousands(net.total_macs) },
    { "Activations (MB)", format.mb(net.activation_floats * 4) },
    { "Params size (MB)", format.mb(net.total_params * 4) },
    { "Static buffers (bytes)", plan_text(plan) },
    { "Prepared weights (B)", format.thousands(net.prepared_floats * 4)
      .. " (conv and linear weights rearranged at load; convs: " .. net.conv_mode .. ")" },
    { "Total params", format.thousands(net.total_params) },
  }
end

-- totals, and for a Cortex-M target its flash and RAM (target.lua) before the total params
local function all_totals(net, plan)
  local list = totals(net, plan)
  if not net.target then return list end
  local last = table.remove(list)
  list[#list] = nil -- prepared weights: none on a Cortex-M target (the generator prepares them)
  for _, line in ipairs(require("target").report_lines(net.target, net.memory)) do list[#list + 1] = line end
  list[#list + 1] = last
  return list
end

function M.text(net, plan, version)
  local out = { title(net, version), "" }
  local fmt = "%4s  %-18s %-10s %-16s %13s %16s  %-13s %-20s %14s"
  out[#out + 1] = string.format(fmt, table.unpack(HEADER))
  for _, r in ipairs(rows(net)) do out[#out + 1] = (string.format(fmt, table.unpack(r)):gsub(" +$", "")) end
  out[#out + 1] = ""
  for _, t in ipairs(all_totals(net, plan)) do out[#out + 1] = string.format("%-24s %s", t[1] .. ":", t[2]) end
  return table.concat(out, "\n") .. "\n"
end

function M.markdown(net, plan, version)
  local out = { "**" .. title(net, version) .. "**", "", "| " .. table.concat(HEADER, " | ") .. " |",
                "|--:|:--|:--|:--|--:|--:|:--|:--|--:|" }
  for _, r in ipairs(rows(net)) do out[#out + 1] = "| " .. table.concat(r, " | ") .. " |" end
  out[#out + 1] = ""
  for _, t in ipairs(all_totals(net, plan)) do out[#out + 1] = string.format("- %s: %s", t[1], t[2]) end
  return table.concat(out, "\n") .. "\n"
end

local function json_layers(net)
  local list = {}
  for i, u in ipairs(net.units) do
    local names, from = {}, {}
    for j, t in ipairs(u.tensors) do names[j] = t.name end
    for j, v in ipairs(u.inputs) do from[j] = v.number end
    local v = u.value
    list[i] = json.ordered({ index = i, kind = u.label, from = from, out = u.output, params = u.params, macs = u.macs,
                             algorithm = u.algo, tensors = names,
                             buffer = v.tensor and v.tensor.name or (v.output and "output" or "input"),
                             offset = v.tensor and (v.tensor.offset + (v.offset or 0)) * 4 or nil,
                             in_use_bytes = u.in_use_bytes, live_bytes = u.live_bytes },
                           { "index", "kind", "from", "out", "params", "macs", "algorithm", "tensors", "buffer",
                             "offset", "in_use_bytes", "live_bytes" })
  end
  return list
end

-- The plan's tensors: where each is, how large, in which layout, and the steps it is alive.
local function json_buffers(plan)
  local list = {}
  for i, b in ipairs(plan.buffers) do
    list[i] = json.ordered({ name = b.name, offset = b.offset * 4, bytes = b.floats * 4, layout = b.layout,
                             shape = b.shape, first = b.first, last = b.last, role = b.role },
                           { "name", "offset", "bytes", "layout", "shape", "first", "last", "role" })
  end
  return list
end

local function json_modules(net)
  local list = net_.modules(net)
  for i, m in ipairs(list) do
    local keys = { "name", "type" }
    for k in pairs(m) do if k ~= "name" and k ~= "type" then keys[#keys + 1] = k end end
    table.sort(keys, function(a, b)
      local rank = { name = 1, type = 2 }
      if (rank[a] or 3) ~= (rank[b] or 3) then return (rank[a] or 3) < (rank[b] or 3) end
      return a < b
    end)
    list[i] = json.ordered(m, keys)
  end
  return list
end

-- A Cortex-M target's memory: upper bounds in bytes, and the part's sizes they are checked against.
local function json_target(net)
  local t, mem = net.target, net.memory
  return json.ordered({ name = t.name, part = t.part, machine = t.machine, flash_limit = t.flash, ram_limit = t.ram,
                        weights = mem.weights, code = mem.code, workspace = mem.workspace, stack = mem.stack,
                        io = mem.io, fits = mem.flash <= t.flash and mem.ram + mem.io <= t.ram },
                      { "name", "part", "machine", "flash_limit", "ram_limit", "weights", "code", "workspace",
                        "stack", "io", "fits" })
end

function M.json(net, plan, version)
  local m = net.model
  local fields = {
    vggc = version, name = m.name, source = m.source, input = m.input, batch = m.batch, classes = m.classes,
    layers = json_layers(net), modules = json_modules(net), total_params = net.total_params,
    total_macs = net.total_macs, activation_bytes = net.activation_floats * 4, static_bytes = plan.static_bytes,
    live_peak_bytes = plan.live_peak_bytes, per_tensor_bytes = plan.per_tensor_bytes,
    pingpong_bytes = plan.pingpong_bytes, buffers = json_buffers(plan), prepared_bytes = net.prepared_floats * 4,
    conv = net.conv_mode,
  }
  local order = { "vggc", "name", "source", "input", "batch", "classes", "total_params", "total_macs", "static_bytes",
                  "live_peak_bytes", "per_tensor_bytes", "pingpong_bytes", "activation_bytes", "buffers",
                  "prepared_bytes", "conv", "layers", "modules" }
  if net.target then
    fields.flash_bytes, fields.ram_bytes, fields.target = net.memory.flash, net.memory.ram, json_target(net)
    table.insert(order, 9, "flash_bytes")
    table.insert(order, 10, "ram_bytes")
    table.insert(order, 11, "target")
  end
  return json.encode(json.ordered(fields, order), "  ") .. "\n"
end

return M
