// Bundle src/ into ../xnaming_widget/static/widget.js (+ widget.css). Deterministic: no source
// maps, no timestamps, fixed target, so a rebuild is byte-identical and staleness is testable.
// Usage: node build.mjs [--outdir DIR]
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const flag = process.argv.indexOf("--outdir");
const outdir = flag >= 0 ? path.resolve(process.argv[flag + 1]) : path.join(here, "..", "xnaming_widget", "static");

await esbuild.build({
  entryPoints: { widget: path.join(here, "src", "index.js") },
  absWorkingDir: here,
  bundle: true,
  format: "esm",
  target: "es2020",
  outdir,
  minify: true,
  sourcemap: false,
  legalComments: "none",
  charset: "utf8",
  logLevel: "warning",
});
