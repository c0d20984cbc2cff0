-- svg.lua — `vggc report MODEL --svg FILE`: the network drawn as people draw VGG. One block per layer (a report
-- row), left to right: a feature map is a box whose height grows with its height H, whose depth grows with its
-- width W and whose thickness grows with its channels C (each with the square root, so 3 and 512 both fit); a flat
-- output (a linear layer's) is a thin bar whose height grows with its size. Colour says the kind; under each
-- block its row number, kind, output shape and parameter count. Pure SVG 1.1, no script, no external font.
local format = require("format")

local M = {}

-- fill colour per unit kind; other kinds are grey
local COLOURS = {
  input = "#d9d9d9", conv = "#f2b134", maxpool = "#e4575d", avgpool = "#9b6bc3", avgpool2d = "#9b6bc3",
  lrn = "#5bb58a", linear = "#3f86c8", dropout = "#b8b8b8", relu = "#f7d27a", softmax = "#4fb3bf",
}
local NAMES = {
  input = "input", conv = "convolution (+ BatchNorm) + ReLU", maxpool = "max pool", avgpool = "adaptive avg pool",
  avgpool2d = "avg pool", lrn = "local response norm", linear = "fully connected", dropout = "dropout",
  relu = "ReLU", softmax = "softmax",
}
local OTHER = "#8c8c8c"
local FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'

-- The block of one shape: thickness t (x), height h (y), oblique depth d; no side larger than a 512x224x224 map's.
local function geometry(shape)
  local function size(n, scale, base, most) return math.min(base + scale * math.sqrt(n), most) end
  if #shape == 3 then
    return { t = size(shape[1], 2.2, 3, 53), h = size(shape[2], 11, 10, 175), d = size(shape[3], 3.2, 3, 51) }
  end
  return { t = 8, h = size(format.product(shape), 2.2, 16, 175), d = 6 }
end

-- "#rrggbb" mixed with white (amount > 0) or black (amount < 0)
local function shade(hex, amount)
  local out = {}
  for i = 0, 2 do
    local c = tonumber(hex:sub(2 + 2 * i, 3 + 2 * i), 16)
    c = amount > 0 and c + (255 - c) * amount or c * (1 + amount)
    out[i + 1] = string.format("%02x", math.floor(c + 0.5))
  end
  return "#" .. table.concat(out)
end

local function escape(text)
  return (tostring(text):gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end

local function polygon(out, points, fill)
  local parts = {}
  for i = 1, #points, 2 do parts[#parts + 1] = string.format("%.1f,%.1f", points[i], points[i + 1]) end
  out[#out + 1] = string.format('<polygon points="%s" fill="%s" stroke="#333333" stroke-width="0.8"/>',
                                table.concat(parts, " "), fill)
end

-- The three visible faces of a box whose front face has its left edge at x, centred on the axis y.
local function box(out, x, y, g, colour)
  local top, bottom, dx, dy = y - g.h / 2, y + g.h / 2, g.d * 0.7, -g.d * 0.7
  polygon(out, { x, top, x + g.t, top, x + g.t + dx, top + dy, x + dx, top + dy }, shade(colour, 0.35))
  polygon(out, { x + g.t, top, x + g.t + dx, top + dy, x + g.t + dx, bottom + dy, x + g.t, bottom },
          shade(colour, -0.25))
  polygon(out, { x, top, x + g.t, top, x + g.t, bottom, x, bottom }, colour)
end

local function text(out, x, y, size, content, extra)
  out[#out + 1] = string.format('<text x="%.1f" y="%.1f" font-size="%d" text-anchor="middle" %s%s>%s</text>', x, y,
                                size, FONT, extra or "", escape(content))
end

-- The blocks in order: the input, then one per report row.
local function blocks(net)
  local list = { { kind = "input", label = "input", shape = net.model.input, params = 0, row = "" } }
  for i, u in ipairs(net.units) do
    list[#list + 1] = { kind = u.kind, label = u.label, shape = u.output, params = u.params, row = tostring(i) }
  end
  for _, b in ipairs(list) do b.g = geometry(b.shape) end
  return list
end

local function columns(list)
  local x, tallest = 30, 0
  for _, b in ipairs(list) do
    b.width = math.max(b.g.t + b.g.d * 0.7 + 18, 7 * #b.label + 8, 84)
    b.x = x
    x = x + b.width
    tallest = math.max(tallest, b.g.h + b.g.d * 0.7)
  end
  return x + 30, tallest
end

local function legend(out, list, y)
  local seen, x = {}, 30
  for _, b in ipairs(list) do
    if not seen[b.kind] then
      seen[b.kind] = true
      local name = NAMES[b.kind] or b.kind
      out[#out + 1] = string.format('<rect x="%d" y="%.1f" width="14" height="14" fill="%s" stroke="#333333" '
                                    .. 'stroke-width="0.8"/>', x, y - 11, COLOURS[b.kind] or OTHER)
      out[#out + 1] = string.format('<text x="%d" y="%.1f" font-size="12" %s>%s</text>', x + 20, y, FONT,
                                    escape(name))
      x = x + 34 + 7 * #name
    end
  end
  return x
end

function M.render(net, version)
  local list = blocks(net)
  local width, tallest = columns(list)
  local axis = 60 + tallest / 2 + 10
  local body = {}
  local m = net.model
  body[1] = string.format('<text x="30" y="30" font-size="16" font-weight="bold" %s>%s</text>', FONT,
                          escape(string.format("%s: input %s, %s classes, %s params", m.name, format.shape(m.input),
                                               format.thousands(m.classes), format.thousands(net.total_params))))
  for _, b in ipairs(list) do
    local cx = b.x + b.width / 2
    box(body, cx - (b.g.t + b.g.d * 0.7) / 2, axis, b.g, COLOURS[b.kind] or OTHER)
    local y = axis + tallest / 2 + 22
    text(body, cx, y, 10, b.row, ' fill="#555555"')
    text(body, cx, y + 14, 11, b.label)
    text(body, cx, y + 28, 11, format.shape(b.shape))
    text(body, cx, y + 42, 10, b.params > 0 and format.thousands(b.params) or "-", ' fill="#555555"')
  end
  local legend_y = axis + tallest / 2 + 88
  width = math.max(width, legend(body, list, legend_y) + 30)
  local out = {
    '<?xml version="1.0" encoding="UTF-8"?>',
    string.format("<!-- %s, drawn by vggc %s (report, option svg). One block per layer: height ~ sqrt H, "
                  .. "depth ~ sqrt W, thickness ~ sqrt C. -->", escape(m.name):gsub("%-%-", "- -"), version),
    string.format('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">',
                  math.ceil(width), math.ceil(legend_y + 20), math.ceil(width), math.ceil(legend_y + 20)),
    string.format('<rect width="%d" height="%d" fill="#ffffff"/>', math.ceil(width), math.ceil(legend_y + 20)),
  }
  for _, line in ipairs(body) do out[#out + 1] = line end
  out[#out + 1] = "</svg>"
  return table.concat(out, "\n") .. "\n"
end

return M
