-- Argo CD health check for every serverless.scaleway.com kind (ServerlessNamespace,
-- ServerlessContainer, ServerlessTrigger and later kinds with the same kstatus status).
-- deploy/argocd/argocd-cm.yaml embeds this file verbatim; tests/argocd_health.rs runs it
-- and checks the copies. Argo CD opens only Lua's base, table, package and a safe os
-- library for custom checks: no string library here.
local hs = {}

local generation = nil
if obj.metadata ~= nil then
  generation = tonumber(obj.metadata.generation)
end

-- A condition stamped with an older generation describes an older spec: ignore it.
local function current(condition)
  local observed = tonumber(condition.observedGeneration)
  return generation == nil or observed == nil or observed >= generation
end

-- The condition's message, else its reason, else the fallback.
local function describe(condition, fallback)
  if condition ~= nil then
    if type(condition.message) == "string" and condition.message ~= "" then
      return condition.message
    end
    if type(condition.reason) == "string" and condition.reason ~= "" then
      return condition.reason
    end
  end
  return fallback
end

local status = obj.status
local conditions = {}
if type(status) == "table" and type(status.conditions) == "table" then
  for _, condition in ipairs(status.conditions) do
    if type(condition) == "table" and type(condition.type) == "string" and current(condition) then
      conditions[condition.type] = condition
    end
  end
end

local function isTrue(kind)
  return conditions[kind] ~= nil and conditions[kind].status == "True"
end

-- Paused first: a paused object's deletion waits until it is unpaused, and the Paused
-- message says so.
if isTrue("Paused") then
  hs.status = "Suspended"
  hs.message = describe(conditions["Paused"], "managementPolicy is Paused")
  return hs
end

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Deleting"
  local why = nil
  if isTrue("Stalled") then
    why = conditions["Stalled"]
  elseif isTrue("Reconciling") then
    why = conditions["Reconciling"]
  elseif conditions["Ready"] ~= nil and conditions["Ready"].status ~= "True" then
    why = conditions["Ready"]
  end
  local detail = describe(why, nil)
  if detail ~= nil then
    hs.message = "Deleting: " .. detail
  end
  return hs
end

local waiting = "Waiting for the operator to observe the latest spec"
if type(status) ~= "table" then
  hs.status = "Progressing"
  hs.message = waiting
  return hs
end

local observed = tonumber(status.observedGeneration)
if generation ~= nil and observed ~= nil and observed < generation then
  hs.status = "Progressing"
  hs.message = waiting .. " (generation " .. tostring(generation) .. ", observed " .. tostring(observed) .. ")"
  return hs
end

if isTrue("Stalled") then
  hs.status = "Degraded"
  hs.message = describe(conditions["Stalled"], "Stalled: the operator needs a change to the object")
  return hs
end

-- No current Ready condition (no conditions yet, or only older ones): not observed yet.
local ready = conditions["Ready"]
if ready == nil then
  hs.status = "Progressing"
  hs.message = waiting
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

if isTrue("Reconciling") then
  hs.status = "Progressing"
  hs.message = describe(conditions["Reconciling"], describe(ready, "Reconciling"))
  return hs
end

-- Ready=Unknown (or anything but True/False): not a failure yet.
if ready.status ~= "False" then
  hs.status = "Progressing"
  hs.message = describe(ready, waiting)
  return hs
end

hs.status = "Degraded"
local fallback = "Not ready"
if type(status.errorMessage) == "string" and status.errorMessage ~= "" then
  fallback = status.errorMessage
end
hs.message = describe(ready, fallback)
return hs
