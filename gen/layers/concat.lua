-- layers/concat.lua — torch.cat([a, b, ...], 1): the inputs' channels one after another, every input the same
-- height and width. No code runs where each input's producer writes its channel range of the output itself
-- (plan.lua: a blocked conv whose range starts on a 16-channel boundary); the other inputs are copied there.
local format = require("format")

local K = { computes = true, takes_map = true }

function K.template()
  return "templates/layers/concat_copy.c.in"
end

function K.label()
  return "concat"
end

function K.infer(u, shape, ctx)
  local channels = 0
  for i, s in ipairs(u.input_shapes) do
    if s[2] ~= shape[2] or s[3] ~= shape[3] then
      ctx.fail(u, "input %d (%s) is %dx%d but input 1 (%s) is %dx%d (torch.cat along the channels needs the same "
               .. "height and width)", i, ctx.input_name(u.inputs[i]), s[2], s[3], ctx.input_name(u.inputs[1]),
               shape[2], shape[3])
    end
    channels = channels + s[1]
  end
  return { channels, shape[2], shape[3] }
end

function K.describe(u)
  local parts = {}
  for i, s in ipairs(u.input_shapes) do parts[i] = format.shape(s) end
  return string.format("concat along the channels: %s -> %s", table.concat(parts, " + "), format.shape(u.output))
end

-- One copy per input its producer did not write in place (algo.lua: u.copies).
function K.calls(u, ctx)
  local list, out = {}, u.dst_value
  for _, c in ipairs(u.copies) do
    local s = u.input_shapes[c.input]
    list[#list + 1] = { K.template(u), { dst = ctx.expr(out), src = ctx.expr(u.srcs[c.input]), n = ctx.batch,
                                         ctotal = u.output[1], c0 = c.c0, c = s[1], h = s[2], w = s[3],
                                         blocked = out.layout == "blocked" and "_blocked" or "" } }
  end
  return list
end

return K
