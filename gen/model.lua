-- model.lua — turn what the user named (a preset, an inline cfg list, or a Lua model file in the cfg or the
-- per-layer form) plus the command-line options into one normalized model description:
--   { name, source, input = {C, H, W}, batch, layers = {{kind, type, name, ...}, ...} (modules.lua, cfg.lua),
--     classes (cfg models; net.lua sets it for per-layer ones) }
local cfg = require("cfg")
local errors = require("errors")
local modules = require("modules")
local presets = require("presets")
local sandbox = require("sandbox")

local M = {}

local LIMIT = 1 << 20 -- no dimension, width or count past a million: keeps every C index in range
local MAX_LAYERS = 4096 -- features or classifier widths in one model (VGG19 has 21 features)

-- An integer, or a string of digits, from 1 to limit (default LIMIT). Digits past the integer range are too large.
local function whole(where, v, what, limit)
  limit = limit or LIMIT
  local n = v
  if type(v) == "string" and v:match("^%d+$") then n = math.tointeger(tonumber(v)) or math.huge end
  if n == math.huge or (math.type(n) == "integer" and n > limit) then
    errors.raise(where, "%s %s is too large (at most %d)", what, tostring(v), limit)
  end
  if math.type(n) ~= "integer" or n < 1 then errors.raise(where, "%s must be a whole number >= 1", what) end
  return n
end

-- "3x224x224" -> {3, 224, 224}
function M.parse_dims(where, text, count, example)
  if type(text) == "table" then
    if #text ~= count then errors.raise(where, "expected %d numbers, e.g. %s", count, example) end
    local dims = {}
    for i = 1, count do dims[i] = whole(where, text[i], "every dimension") end -- a hole is an error, not an end
    return dims
  end
  local parts = {}
  for p in (tostring(text) .. "x"):gmatch("([^x]*)x") do parts[#parts + 1] = p end
  if #parts ~= count then errors.raise(where, "expected %s", example) end
  local dims = {}
  for i, p in ipairs(parts) do
    if not p:match("^%d+$") then errors.raise(where, "expected %s", example) end
    dims[i] = whole(where, p, "every dimension")
  end
  return dims
end

-- One cfg token -> feature. Tokens: 64 (3x3 conv), "64:1" (1x1 conv, "64:3" is 3x3), "M" (max pool), "L" (LRN).
local function parse_token(where, tok)
  if math.type(tok) == "integer" then tok = string.format("%d", tok) end
  if type(tok) ~= "string" then
    errors.raise(where, "%s is not a channel count, 'M', 'L' or 'N:K'", tostring(tok))
  end
  tok = tok:match("^%s*(.-)%s*$")
  if tok == "M" then return { kind = "maxpool" } end
  if tok == "L" then return { kind = "lrn", size = 5, alpha = 1e-4, beta = 0.75, k = 2.0 } end
  local out, k = tok:match("^(%-?%d+):(%d+)$")
  out = out or tok:match("^%-?%d+$")
  if not out then errors.raise(where, "'%s' is not a channel count, 'M', 'L' or 'N:K' (N:1 is a 1x1 conv)", tok) end
  local n = math.tointeger(tonumber(out)) -- nil past the integer range
  if out:sub(1, 1) == "-" or n == 0 then errors.raise(where, "%s is not a positive channel count", out) end
  if not n or n > 65536 then errors.raise(where, "%s channels is too many (at most 65536)", out) end
  local size = math.tointeger(tonumber(k or 3))
  if size ~= 1 and size ~= 3 then errors.raise(where, "kernel %s is not supported (1 or 3)", k) end
  return { kind = "conv", out = n, k = size }
end

-- label(i) names token i for messages ("cfg \"64,X\": token 2", "net.lua: features[2]").
local function parse_features(where, list, label)
  if type(list) ~= "table" or #list == 0 then
    errors.raise(where, "features must be a non-empty list like {64, 'M', 128, 'M'}")
  end
  if #list > MAX_LAYERS then errors.raise(where, "%d features is too many (at most %d)", #list, MAX_LAYERS) end
  local features, convs = {}, 0
  for i = 1, #list do -- not ipairs: {64, nil, "M"} is an error at [2], not a one-layer list
    local tok = list[i]
    features[i] = parse_token(label(i), tok)
    if features[i].kind == "conv" then convs = convs + 1 end
  end
  if convs == 0 then errors.raise(where, "features have no conv layer") end
  return features
end

local function parse_inline(text)
  local where = string.format("cfg \"%s\"", text)
  local list = {}
  for tok in (text .. ","):gmatch("([^,]*),") do list[#list + 1] = tok end
  return parse_features(where, list, function(i) return where .. ": token " .. i end)
end

local FILE_FIELDS = { name = 1, features = 1, batch_norm = 1, input = 1, batch = 1, avgpool = 1, classifier = 1,
                      classes = 1, layers = 1 }
local CFG_ONLY = { "features", "batch_norm", "avgpool", "classifier", "classes" } -- not beside `layers`

-- A Lua message "path:12: reason" raised as the user error "path:12: reason".
local function raise_lua(path, msg)
  local line, reason = tostring(msg):match(":(%d+): (.*)$")
  if line then errors.raise(path .. ":" .. line, "%s", reason) end
  errors.raise(path, "%s", tostring(msg))
end

local function read_model_file(path)
  local f, err = io.open(path, "rb")
  if not f then errors.raise(path, "cannot read the model file (%s)", (err:gsub("^.-: ", ""))) end
  local text, rerr = f:read("a") -- nil for a directory, which opens fine
  f:close()
  if not text then errors.raise(path, "cannot read the model file (%s)", (tostring(rerr):gsub("^.-: ", ""))) end
  local chunk, msg = load(text, "=" .. path, "t", {})
  if not chunk then raise_lua(path, msg) end
  local ok, spec, why = sandbox.run(chunk)
  if not ok and spec == "instructions" then
    errors.raise(path, "model file ran too long (more than %d instructions)", sandbox.max_instructions)
  elseif not ok and spec == "time" then
    errors.raise(path, "model file ran too long (more than %d s of CPU time)", sandbox.max_seconds)
  elseif not ok and spec == "memory" then
    errors.raise(path, "model file used too much memory (more than %d MiB)", sandbox.max_bytes >> 20)
  elseif not ok then
    raise_lua(path, why)
  end
  if type(spec) ~= "table" then errors.raise(path, "the file must return a table (it returned %s)", type(spec)) end
  for k in pairs(spec) do
    if not FILE_FIELDS[k] then errors.raise(path, "unknown field '%s'", tostring(k)) end
  end
  if spec.layers ~= nil then
    for _, k in ipairs(CFG_ONLY) do
      if spec[k] ~= nil then
        errors.raise(path, "'%s' is for a cfg model, not beside 'layers' (the layers say it all)", k)
      end
    end
  elseif spec.features == nil then
    errors.raise(path, "'layers' or 'features' is missing (a list of layers like {{'Conv2d', 1, 6, 5}}, "
                 .. "or a cfg like {64, 'M', 128, 'M'})")
  end
  return spec
end

local function default_name(text)
  local name = text:gsub("%.lua$", ""):gsub("%.onnx$", ""):gsub("^.*/", ""):gsub("[^%w_]", "_"):lower()
  if not name:match("^[%a_]") then name = "vgg_" .. name end
  return name
end

local function is_inline(text)
  return text:find(",") ~= nil or text:match("^%s*%d+%s*$") or text:match("^%s*%d+:%d+%s*$")
end

local function file_exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- The base description of MODEL before options: {source, name, features and batch_norm (a cfg) or layers (the
-- per-layer form, unparsed), file = spec or nil, path}
local function resolve(text)
  local preset = presets.find(text)
  if preset and preset.layers then
    return { layers = preset.layers, source = "preset " .. text, name = default_name(text), path = "preset " .. text,
             file = { input = preset.input } }
  elseif preset then
    local where = "preset " .. text
    return { features = parse_features(where, preset.features, function(i) return where .. ": token " .. i end),
             batch_norm = preset.batch_norm, source = where, name = default_name(text) }
  end
  if is_inline(text) then
    return { features = parse_inline(text), batch_norm = false, source = "cfg \"" .. text .. "\"", name = "vgg" }
  end
  if text:match("%.lua$") or file_exists(text) then
    local spec = read_model_file(text)
    local base = { source = "model file " .. text:gsub("^.*/", ""), name = spec.name or default_name(text),
                   file = spec, path = text, layers = spec.layers, batch_norm = spec.batch_norm }
    if not spec.layers then
      local where = text .. ": features"
      base.features = parse_features(where, spec.features, function(i) return where .. "[" .. i .. "]" end)
    end
    return base
  end
  errors.raise(text, "unknown model (presets: %s; or an inline list like \"64,M,128,M\"; or a .lua model file)",
               table.concat(presets.order, ", "))
end

local function parse_avgpool(where, v)
  if v == false or v == "none" then return false end
  return M.parse_dims(where, v, 2, "HxW like 7x7, or none")
end

local function parse_classifier(where, v)
  if v == "none" or v == "" then return {} end
  local list = v
  if type(v) ~= "table" then
    list = {}
    for w in (tostring(v) .. ","):gmatch("([^,]*),") do list[#list + 1] = w end
  end
  if #list > MAX_LAYERS then errors.raise(where, "%d widths is too many (at most %d)", #list, MAX_LAYERS) end
  local widths = {}
  for i = 1, #list do
    widths[i] = whole(type(v) == "table" and string.format("%s[%d]", where, i) or where, list[i],
                      type(v) == "table" and "a width" or "every width")
  end
  return widths
end

-- A value from the command line if given, else from the model file, else the default.
local function pick(cmd, base, key, default)
  local v = cmd.options[key]
  if v ~= nil then return v, "--" .. key:gsub("_", "-") .. (v == true and "" or " " .. v) end
  if base.file and base.file[key] ~= nil then return base.file[key], base.path .. ": " .. key end
  return default, "default " .. key
end

local function parse_name(where, name)
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") or #name > 64 then
    errors.raise(where, "'%s' is not a C identifier (letters, digits, _; at most 64)", tostring(name))
  end
  if name:lower() == "vggc" then errors.raise(where, "'%s' is taken by the runtime's vggc.h", name) end
  return name
end

-- A cfg model: the head from the options, the file or the defaults, then torchvision's layers.
local function cfg_model(cmd, base, model)
  local v, where = pick(cmd, base, "classes", 1000)
  model.classes = whole(where, v, "the class count")
  v, where = pick(cmd, base, "avgpool", "7x7")
  model.avgpool = parse_avgpool(where, v)
  v, where = pick(cmd, base, "classifier", "4096,4096")
  model.classifier = parse_classifier(where, v)
  model.features = base.features
  model.batch_norm = cmd.options.batch_norm or base.batch_norm or false
  if type(model.batch_norm) ~= "boolean" then errors.raise(base.path or "model", "batch_norm must be true or false") end
  model.layers = cfg.layers(model)
end

-- A per-layer model: its layers as written; --classes resizes the last Linear.
local function layers_model(cmd, base, model)
  for _, key in ipairs({ "avgpool", "classifier", "batch_norm" }) do
    if cmd.options[key] ~= nil then
      errors.raise("--" .. key:gsub("_", "-"), "not for %s, which lists its layers (it is for cfg models)",
                   base.source)
    end
  end
  model.layers = modules.parse((base.path or base.source) .. ": layers", base.layers)
  if cmd.options.classes == nil then return end
  local last
  for _, layer in ipairs(model.layers) do if layer.kind == "linear" then last = layer end end
  if not last then errors.raise("--classes", "%s has no Linear whose outputs it could set", base.source) end
  last.out = whole("--classes " .. cmd.options.classes, cmd.options.classes, "the class count")
end

M.whole, M.default_name, M.parse_name = whole, default_name, parse_name

function M.from_command(cmd)
  local base = resolve(cmd.model)
  local v, where = pick(cmd, base, "input", "3x224x224")
  local model = { source = base.source }
  model.input = M.parse_dims(where, v, 3, "CxHxW like 3x224x224")
  v, where = pick(cmd, base, "batch", 1)
  model.batch = whole(where, v, "the batch size", 4096)
  if base.layers then layers_model(cmd, base, model) else cfg_model(cmd, base, model) end
  v, where = pick(cmd, base, "name", base.name)
  model.name = parse_name(where, v)
  return model
end

return M
