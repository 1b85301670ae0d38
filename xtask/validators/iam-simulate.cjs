// Reference policy simulator: runs each case through @cloud-copilot/iam-simulate (pinned 0.1.173)
// so a test can compare kmsctl's own evaluation with it.
// Usage: node iam-simulate.cjs CASES.json|-   (cases: a JSON array, see below); prints a JSON array
// [{id, outcome: "allowed"|"implicitly denied"|"explicitly denied", detail}] or [{id, error}].
// Case fields: id, principal, action, resource, resource_account, context, scps, rcps (levels root
// first, each a list of {name, document}), key_policy (or null), identity (list of policy documents).
const fs = require("fs");
const path = require("path");
// require.resolve with `paths` honours the package's "exports" map (it has no "main"), and picks
// its CommonJS build.
const { runSimulation } = require(
  require.resolve("@cloud-copilot/iam-simulate", { paths: [path.resolve(process.env.KMSCTL_TOOLS)] }),
);

// AWS's default SCP. The library adds no default SCP: a level without an Allow denies implicitly.
// kmsctl assumes FullAWSAccess stays attached at every level, so every given level gets it.
// (RCPFullAWSAccess is NOT added here: runSimulation already puts it in every RCP level it is given.)
const FULL_AWS_ACCESS = {
  name: "p-FullAWSAccess",
  policy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] },
};

const OUTCOME = { Allowed: "allowed", ImplicitlyDenied: "implicitly denied", ExplicitlyDenied: "explicitly denied" };

// The library wants context values as strings or string arrays: a JSON `true` silently fails to
// match Bool "true", so scalars are stringified.
function contextVariables(context) {
  const out = {};
  for (const [k, v] of Object.entries(context || {})) out[k] = Array.isArray(v) ? v.map(String) : String(v);
  return out;
}

function levels(input, kind, withDefault) {
  return (input || []).map((level, i) => ({
    orgIdentifier: `${kind}-level-${i}`,
    policies: [...(withDefault ? [FULL_AWS_ACCESS] : []), ...level.map((p) => ({ name: p.name, policy: p.document }))],
  }));
}

// "policy#sid" of the statements that decided a part of the evaluation.
const ids = (statements) => statements.map((s) => `${s.policyId ?? "key_policy"}#${s.explain.identifier}`);

function summarize(result) {
  const a = result.analysis;
  const control = (c) =>
    Object.fromEntries(c.ouAnalysis.map((ou) => [ou.orgIdentifier, { result: ou.result, deny: ids(ou.denyStatements) }]));
  return {
    result: a.result,
    sameAccount: a.sameAccount,
    blockedBy: a.blockedBy,
    identity: { result: a.identityAnalysis.result, allow: ids(a.identityAnalysis.allowStatements), deny: ids(a.identityAnalysis.denyStatements) },
    keyPolicy: a.resourceAnalysis && {
      result: a.resourceAnalysis.result,
      allow: ids(a.resourceAnalysis.allowStatements),
      deny: ids(a.resourceAnalysis.denyStatements),
    },
    scp: control(a.scpAnalysis),
    rcp: control(a.rcpAnalysis),
    // Context keys the library dropped as not applicable to this action/resource type.
    ignoredContextKeys: result.ignoredContextKeys,
    ...(result.resourcePattern ? { resourcePattern: result.resourcePattern } : {}),
  };
}

async function simulate(c) {
  const response = await runSimulation(
    {
      request: {
        principal: c.principal,
        action: c.action,
        resource: { resource: c.resource, accountId: c.resource_account },
        contextVariables: contextVariables(c.context),
      },
      identityPolicies: (c.identity || []).map((policy, i) => ({ name: `identity-${i}`, policy })),
      serviceControlPolicies: levels(c.scps, "scp", true),
      resourceControlPolicies: levels(c.rcps, "rcp", false),
      resourcePolicy: c.key_policy || undefined,
    },
    { simulationMode: "Strict" },
  );
  if (response.resultType === "error") return { id: c.id, error: JSON.stringify(response.errors) };
  const results = response.resultType === "single" ? [response.result] : response.results;
  return {
    id: c.id,
    outcome: OUTCOME[response.overallResult] ?? response.overallResult,
    detail: results.length === 1 ? summarize(results[0]) : results.map(summarize),
  };
}

(async () => {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: node iam-simulate.cjs CASES.json|-");
    process.exit(2);
  }
  const cases = JSON.parse(fs.readFileSync(file === "-" ? 0 : file, "utf8"));
  const out = [];
  for (const c of cases) {
    try {
      out.push(await simulate(c));
    } catch (e) {
      out.push({ id: c.id, error: String(e && e.message ? e.message : e) });
    }
  }
  console.log(JSON.stringify(out, null, 2));
})();
