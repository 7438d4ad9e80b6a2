-- Argo CD health check for frugal.dev/CostPolicy, frugal.dev/CostPolicySet and frugal.dev/Notifier
-- (kstatus conventions). Install: argocd-cm, keys resource.customizations.health.frugal.dev_CostPolicy,
-- ..._CostPolicySet and ..._Notifier (see README).
local hs = {}
if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the frugal operator to report status"
  return hs
end
if obj.metadata ~= nil and obj.metadata.generation ~= nil then
  if obj.status.observedGeneration == nil or obj.status.observedGeneration < obj.metadata.generation then
    hs.status = "Progressing"
    hs.message = "Waiting for the operator to observe generation " .. tostring(obj.metadata.generation)
    return hs
  end
end
local ready = nil
local reconciling = nil
for _, condition in ipairs(obj.status.conditions) do
  if condition.type == "Stalled" and condition.status == "True" then
    hs.status = "Degraded"
    hs.message = (condition.reason or "Stalled") .. ": " .. (condition.message or "")
    return hs
  end
  if condition.type == "Ready" then
    ready = condition
  end
  if condition.type == "Reconciling" then
    reconciling = condition
  end
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = (ready and ready.message) or "Reconciling"
  return hs
end
if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = (ready.reason or "NotReady") .. ": " .. (ready.message or "")
  return hs
end
hs.status = "Progressing"
hs.message = "Waiting for the Ready condition"
return hs
