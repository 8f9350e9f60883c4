-- Argo CD health check for parley.dev/ChatBot (Lua 5.1, as Argo CD runs it).
-- Reads the kstatus conditions the operator writes: Stalled=True is Degraded (a rolled-back or
-- aborted canary, a bad spec), a canary waiting for `parley.dev/promote` is Suspended, Reconciling
-- (a canary walking its steps) or an unobserved generation is Progressing, Ready=True is Healthy;
-- after a promotion the message asks for git to say what was promoted (spec.version, the config fields).
local hs = {}

local function condition(conditions, kind)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  if c == nil then
    return fallback
  end
  local text = c.reason or fallback
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  return text
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Parley operator to report status"
  return hs
end

local status = obj.status
local generation = obj.metadata.generation
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end

local stalled = condition(status.conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled, "Stalled")
  return hs
end

if status.canary ~= nil and status.canary.phase == "Paused" then
  hs.status = "Suspended"
  hs.message = "Canary " .. (status.canary.version or "") .. " at " .. (status.canary.weight or 0) ..
    "% waits for the parley.dev/promote annotation"
  return hs
end

local reconciling = condition(status.conditions, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = describe(reconciling, "Reconciling")
  return hs
end

local ready = condition(status.conditions, "Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  if status.canary ~= nil and status.canary.phase == "Promoted" then
    -- What git still has to say: the promoted version and/or the fields a config canary changed.
    local asks = {}
    local overlay = status.canary.overlay
    if status.canary.version ~= nil and (overlay == nil or overlay.version ~= nil) then
      table.insert(asks, "set spec.version to " .. status.canary.version)
    end
    if overlay ~= nil then
      for _, field in ipairs({"persona", "models", "plugins"}) do
        if overlay[field] ~= nil then
          table.insert(asks, "copy spec.canary." .. field .. " to spec." .. field)
        end
      end
    end
    if #asks > 0 then
      local what = status.canary.version or "canary"
      hs.message = "Canary " .. what .. " promoted; " .. table.concat(asks, ", ") .. " in git"
    end
  end
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready, "Waiting for the bot to become ready")
return hs
