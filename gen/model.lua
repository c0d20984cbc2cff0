-- model.lua — turn what the user named (a preset, an inline cfg list, or a Lua model file) plus the command-line
-- options into one normalized model description:
--   { name, source, features = {{kind = "conv", out = 64, k = 3}, {kind = "maxpool"}, {kind = "lrn", ...}},
--     batch_norm, input = {C, H, W}, batch, avgpool = {H, W} or false, classifier = {W1, ...}, classes }
local errors = require("errors")
local presets = require("presets")

local M = {}

local LIMIT = 1 << 20 -- no dimension, width or count past a million: keeps every C index in range

local function whole(where, text, what, limit)
  local n = type(text) == "number" and text or (type(text) == "string" and text:match("^%d+$") and tonumber(text))
  if math.type(n) ~= "integer" or n < 1 then errors.raise(where, "%s must be a whole number >= 1", what) end
  if n > (limit or LIMIT) then errors.raise(where, "%s %d is too large (at most %d)", what, n, limit or LIMIT) end
  return n
end

-- "3x224x224" -> {3, 224, 224}
function M.parse_dims(where, text, count, example)
  if type(text) == "table" then
    if #text ~= count then errors.raise(where, "expected %d numbers, e.g. %s", count, example) end
    local dims = {}
    for i, v in ipairs(text) do dims[i] = whole(where, v, "every dimension") end
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
  out = tonumber(out)
  if out < 1 then errors.raise(where, "%d is not a positive channel count", out) end
  if out > 65536 then errors.raise(where, "%d channels is too many (at most 65536)", out) end
  k = tonumber(k or 3)
  if k ~= 1 and k ~= 3 then errors.raise(where, "kernel %d is not supported (1 or 3)", k) end
  return { kind = "conv", out = out, k = k }
end

local function parse_features(where, list, label)
  if type(list) ~= "table" or #list == 0 then
    errors.raise(where, "features must be a non-empty list like {64, 'M', 128, 'M'}")
  end
  local features, convs = {}, 0
  for i, tok in ipairs(list) do
    features[i] = parse_token(string.format(label, i, tostring(tok)), tok)
    if features[i].kind == "conv" then convs = convs + 1 end
  end
  if convs == 0 then errors.raise(where, "features have no conv layer") end
  return features
end

local function parse_inline(text)
  local where = string.format("cfg \"%s\"", text)
  local list = {}
  for tok in (text .. ","):gmatch("([^,]*),") do list[#list + 1] = tok end
  return parse_features(where, list, where .. ": token %d")
end

local FILE_FIELDS = { name = 1, features = 1, batch_norm = 1, input = 1, batch = 1, avgpool = 1, classifier = 1,
                      classes = 1 }

-- A Lua message "path:12: reason" raised as the user error "path:12: reason".
local function raise_lua(path, msg)
  local line, reason = tostring(msg):match(":(%d+): (.*)$")
  if line then errors.raise(path .. ":" .. line, "%s", reason) end
  errors.raise(path, "%s", tostring(msg))
end

local function read_model_file(path)
  local f, err = io.open(path, "rb")
  if not f then errors.raise(path, "cannot read the model file (%s)", (err:gsub("^.-: ", ""))) end
  local text = f:read("a")
  f:close()
  local chunk, msg = load(text, "=" .. path, "t", {})
  if not chunk then raise_lua(path, msg) end
  local ok, spec = pcall(chunk)
  if not ok then raise_lua(path, spec) end
  if type(spec) ~= "table" then errors.raise(path, "the file must return a table (it returned %s)", type(spec)) end
  for k in pairs(spec) do
    if not FILE_FIELDS[k] then errors.raise(path, "unknown field '%s'", tostring(k)) end
  end
  if spec.features == nil then errors.raise(path, "'features' is missing (a list like {64, 'M', 128, 'M'})") end
  return spec
end

local function default_name(text)
  local name = text:gsub("%.lua$", ""):gsub("^.*/", ""):gsub("[^%w_]", "_"):lower()
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

-- The base description of MODEL before options: {features, batch_norm, source, name, file = spec or nil}
local function resolve(text)
  local preset = presets.find(text)
  if preset then
    local where = "preset " .. text
    return { features = parse_features(where, preset.features, where .. ": token %d"),
             batch_norm = preset.batch_norm, source = where, name = default_name(text) }
  end
  if is_inline(text) then
    return { features = parse_inline(text), batch_norm = false, source = "cfg \"" .. text .. "\"", name = "vgg" }
  end
  if text:match("%.lua$") or file_exists(text) then
    local spec = read_model_file(text)
    local where = text .. ": features"
    return { features = parse_features(where, spec.features, where .. "[%d]"), batch_norm = spec.batch_norm,
             source = "model file " .. text:gsub("^.*/", ""), name = spec.name or default_name(text), file = spec,
             path = text }
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
  if type(v) == "table" then
    local widths = {}
    for i, w in ipairs(v) do widths[i] = whole(string.format("%s[%d]", where, i), w, "a width") end
    return widths
  end
  local widths = {}
  for w in (v .. ","):gmatch("([^,]*),") do widths[#widths + 1] = whole(where, w, "every width") end
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

function M.from_command(cmd)
  local base = resolve(cmd.model)
  local v, where = pick(cmd, base, "input", "3x224x224")
  local model = { source = base.source, features = base.features }
  model.input = M.parse_dims(where, v, 3, "CxHxW like 3x224x224")
  v, where = pick(cmd, base, "batch", 1)
  model.batch = whole(where, v, "the batch size", 4096)
  v, where = pick(cmd, base, "classes", 1000)
  model.classes = whole(where, v, "the class count")
  v, where = pick(cmd, base, "avgpool", "7x7")
  model.avgpool = parse_avgpool(where, v)
  v, where = pick(cmd, base, "classifier", "4096,4096")
  model.classifier = parse_classifier(where, v)
  model.batch_norm = cmd.options.batch_norm or base.batch_norm or false
  if type(model.batch_norm) ~= "boolean" then errors.raise(base.path or "model", "batch_norm must be true or false") end
  v, where = pick(cmd, base, "name", base.name)
  model.name = parse_name(where, v)
  return model
end

return M
